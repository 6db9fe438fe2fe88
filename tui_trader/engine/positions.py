"""Positions and P&L: fills change the SQL position (with a history row), ticks move the
unrealized P&L of open positions in memory, and dirty positions are written and published
at a bounded rate rather than on every tick."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..db.models import Position, PositionHistory
from ..domain.enums import PositionAction, PositionStatus, Side
from .events import PositionChanged

log = logging.getLogger(__name__)
POSITIONS = Position.__table__
POS_HISTORY = PositionHistory.__table__
ZERO = Decimal(0)


@dataclass
class OpenPosition:
    id: uuid.UUID
    user_id: uuid.UUID
    strategy_id: uuid.UUID | None
    symbol: str
    exchange: str
    quantity: int
    average_price: Decimal
    realized_pnl: Decimal
    ltp: Decimal | None = None
    unrealized_pnl: Decimal = ZERO

    def mark(self, price: Decimal) -> bool:
        if price == self.ltp:
            return False
        self.ltp = price
        self.unrealized_pnl = (price - self.average_price) * self.quantity
        return True

    def event(self, status: PositionStatus = PositionStatus.OPEN) -> PositionChanged:
        return PositionChanged(user_id=str(self.user_id), position_id=str(self.id),
                               strategy_id=str(self.strategy_id) if self.strategy_id else None,
                               symbol=self.symbol, quantity=self.quantity,
                               average_price=self.average_price, ltp=self.ltp,
                               unrealized_pnl=self.unrealized_pnl,
                               realized_pnl=self.realized_pnl, status=status.value)


@dataclass(frozen=True)
class StagedFill:
    """A fill written in a transaction not yet committed: what memory becomes after it."""

    after: OpenPosition
    action: PositionAction
    realized: Decimal


@dataclass(frozen=True)
class FillOutcome:
    position_id: uuid.UUID
    action: PositionAction
    realized: Decimal  # P&L realised by this fill
    closed: bool


class PositionKeeper:
    def __init__(self, engine: Engine, publish: Callable[[PositionChanged], None]) -> None:
        self.engine = engine
        self._publish = publish
        self._lock = threading.RLock()
        self._open: dict[uuid.UUID, OpenPosition] = {}
        self._by_symbol: dict[str, list[OpenPosition]] = {}
        # An exit looks up what its strategy holds: one lookup, not a scan of every position.
        self._by_strategy: dict[uuid.UUID, list[OpenPosition]] = {}
        self._dirty: set[uuid.UUID] = set()

    # -- loading ---------------------------------------------------------------------------
    def load_open(self) -> int:
        # Read and swap under the lock: a fill committed after the read settles after the
        # swap (settling takes the lock), never before it to be overwritten by a stale read.
        with self._lock:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.select(POSITIONS).where(
                    POSITIONS.c.status == PositionStatus.OPEN)).mappings().all()
            self._open.clear()
            self._by_symbol.clear()
            self._by_strategy.clear()
            for r in rows:
                self._track(OpenPosition(
                    id=r["id"], user_id=r["user_id"], strategy_id=r["strategy_id"],
                    symbol=r["symbol"], exchange=r["exchange"], quantity=r["quantity"],
                    average_price=r["average_price"], realized_pnl=r["realized_pnl"],
                    ltp=r["ltp"], unrealized_pnl=r["unrealized_pnl"]))
        return len(rows)

    def _track(self, pos: OpenPosition) -> None:
        self._open[pos.id] = pos
        self._by_symbol.setdefault(pos.symbol, []).append(pos)
        if pos.strategy_id is not None:
            self._by_strategy.setdefault(pos.strategy_id, []).append(pos)

    def _untrack(self, pos: OpenPosition) -> None:
        self._open.pop(pos.id, None)
        rest = [p for p in self._by_symbol.get(pos.symbol, ()) if p.id != pos.id]
        if rest:
            self._by_symbol[pos.symbol] = rest
        else:
            self._by_symbol.pop(pos.symbol, None)
        if pos.strategy_id is not None:
            held = [p for p in self._by_strategy.get(pos.strategy_id, ()) if p.id != pos.id]
            if held:
                self._by_strategy[pos.strategy_id] = held
            else:
                self._by_strategy.pop(pos.strategy_id, None)

    def open_for_user(self, user_id: uuid.UUID) -> list[OpenPosition]:
        with self._lock:
            return [p for p in self._open.values() if p.user_id == user_id]

    def open_for_strategy(self, strategy_id: uuid.UUID) -> OpenPosition | None:
        with self._lock:
            held = self._by_strategy.get(strategy_id)
            return held[0] if held else None

    def held_in_sql(self, *, strategy_id: uuid.UUID | None = None,
                    position_id: uuid.UUID | None = None) -> int:
        """The quantity an open position holds according to SQL (0 if none): what an exit
        must close, read where each fill commits with its order."""
        query = sa.select(POSITIONS.c.quantity).where(
            POSITIONS.c.status == PositionStatus.OPEN)
        if position_id is not None:
            query = query.where(POSITIONS.c.id == position_id)
        else:
            query = query.where(POSITIONS.c.strategy_id == strategy_id)
        with self.engine.connect() as conn:
            quantity = conn.execute(query.limit(1)).scalar()
        return abs(quantity or 0)

    def symbols(self) -> set[str]:
        return set(self._by_symbol)

    # -- fills -----------------------------------------------------------------------------
    def apply_fill(self, *, user_id: uuid.UUID, strategy_id: uuid.UUID | None, symbol: str,
                   exchange: str, side: Side, quantity: int, price: Decimal,
                   order_id: uuid.UUID | None, now: datetime) -> FillOutcome:
        """Change the position by one fill, in one transaction with its history row."""
        with self._lock:
            with self.engine.begin() as conn:
                staged = self.stage_fill(conn, user_id=user_id, strategy_id=strategy_id,
                                         symbol=symbol, exchange=exchange, side=side,
                                         quantity=quantity, price=price, order_id=order_id,
                                         now=now)
            return self.settle(staged)

    def stage_fill(self, conn: Connection, *, user_id: uuid.UUID,
                   strategy_id: uuid.UUID | None, symbol: str, exchange: str, side: Side,
                   quantity: int, price: Decimal, order_id: uuid.UUID | None,
                   now: datetime) -> StagedFill:
        """Write one fill's position change and history row in the caller's transaction
        (the order's own record commits with it, so a fill is never half applied). The
        new state is computed from the SQL row and reaches memory only through `settle`,
        once the transaction committed: a commit that fails leaves memory as SQL is."""
        signed = quantity if side is Side.BUY else -quantity
        query = sa.select(POSITIONS).where(
            POSITIONS.c.user_id == user_id, POSITIONS.c.symbol == symbol,
            POSITIONS.c.exchange == exchange, POSITIONS.c.status == PositionStatus.OPEN,
            POSITIONS.c.strategy_id.is_(None) if strategy_id is None
            else POSITIONS.c.strategy_id == strategy_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            after = OpenPosition(uuid.uuid4(), user_id, strategy_id, symbol, exchange, signed,
                                 price, ZERO, price, ZERO)
            action, realized = PositionAction.OPEN, ZERO
            conn.execute(POSITIONS.insert().values(
                id=after.id, user_id=user_id, strategy_id=strategy_id, symbol=symbol,
                exchange=exchange, quantity=signed, average_price=price, ltp=price,
                unrealized_pnl=ZERO, realized_pnl=ZERO, status=PositionStatus.OPEN,
                opened_at=now, created_at=now, updated_at=now))
        else:
            after, action, realized = _after_fill(row, signed, price)
            closed = after.quantity == 0
            values = {"quantity": after.quantity, "average_price": after.average_price,
                      "ltp": price, "unrealized_pnl": after.unrealized_pnl,
                      "realized_pnl": after.realized_pnl,
                      "status": PositionStatus.CLOSED if closed else PositionStatus.OPEN,
                      "updated_at": now}
            if closed:
                values["closed_at"] = now
            conn.execute(POSITIONS.update().where(POSITIONS.c.id == after.id).values(**values))
        conn.execute(POS_HISTORY.insert().values(
            id=uuid.uuid4(), position_id=after.id, user_id=user_id, order_id=order_id,
            action=action, quantity=quantity, price=price, pnl=realized, created_at=now))
        return StagedFill(after, action, realized)

    def settle(self, staged: StagedFill) -> FillOutcome:
        """Bring memory to a committed fill's state and publish it."""
        after = staged.after
        closed = after.quantity == 0
        with self._lock:
            pos = self._open.get(after.id)
            if pos is None:
                pos = after
            else:
                pos.quantity, pos.average_price = after.quantity, after.average_price
                pos.realized_pnl, pos.ltp = after.realized_pnl, after.ltp
                pos.unrealized_pnl = after.unrealized_pnl
            if closed:
                self._untrack(pos)
            elif pos.id not in self._open:
                self._track(pos)
        self._publish(pos.event(PositionStatus.CLOSED if closed else PositionStatus.OPEN))
        return FillOutcome(pos.id, staged.action, staged.realized, closed)

    # -- marks -----------------------------------------------------------------------------
    def mark_prices(self, last_price: Callable[[str], Decimal | None]) -> int:
        """Move unrealized P&L of every open position to the latest prices (called at a
        bounded rate by the maintenance loop, never per tick)."""
        changed = 0
        with self._lock:
            for symbol, group in self._by_symbol.items():
                price = last_price(symbol)
                if price is None:
                    continue
                for pos in group:
                    if pos.mark(price):
                        self._dirty.add(pos.id)
                        changed += 1
        return changed

    def flush(self, now: datetime) -> int:
        """Write and publish the positions whose marks moved since the last flush."""
        with self._lock:
            dirty = [self._open[i] for i in self._dirty if i in self._open]
            self._dirty.clear()
        if not dirty:
            return 0
        with self.engine.begin() as conn:
            conn.execute(POSITIONS.update().where(POSITIONS.c.id == sa.bindparam("pid")).values(
                ltp=sa.bindparam("ltp"), unrealized_pnl=sa.bindparam("upnl"), updated_at=now),
                [{"pid": p.id, "ltp": p.ltp, "upnl": p.unrealized_pnl} for p in dirty])
        for pos in dirty:
            self._publish(pos.event())
        # A fill that closed one of them since it was collected has published CLOSED,
        # maybe before the mark above: say CLOSED again, so the last word is the truth
        # (not "OPEN, 0 held" until the next refresh).
        with self._lock:
            closed = [pos for pos in dirty if pos.id not in self._open]
        for pos in closed:
            self._publish(pos.event(PositionStatus.CLOSED))
        return len(dirty)


def _after_fill(row, signed: int, price: Decimal
                ) -> tuple[OpenPosition, PositionAction, Decimal]:
    """An open position's state after a fill of `signed` quantity at `price`, with the
    action it is and the P&L it realises."""
    old_qty, avg = row["quantity"], row["average_price"]
    new_qty = old_qty + signed
    realized = ZERO
    if old_qty == 0 or (old_qty > 0) == (signed > 0):
        # Adding to the position: a new weighted average price.
        avg = (avg * abs(old_qty) + price * abs(signed)) / abs(new_qty)
        action = PositionAction.INCREASE
    else:
        closing = min(abs(signed), abs(old_qty))
        realized = (price - avg) * closing * (1 if old_qty > 0 else -1)
        if new_qty != 0 and (new_qty > 0) != (old_qty > 0):
            avg = price  # flipped through zero
        action = PositionAction.CLOSE if new_qty == 0 else PositionAction.DECREASE
    after = OpenPosition(row["id"], row["user_id"], row["strategy_id"], row["symbol"],
                         row["exchange"], new_qty, avg, row["realized_pnl"] + realized)
    if new_qty:
        after.mark(price)
    else:
        after.ltp = price
    return after, action, realized
