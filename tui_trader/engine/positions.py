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
from sqlalchemy.engine import Engine

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
class FillOutcome:
    position_id: uuid.UUID
    action: PositionAction
    realized: Decimal  # P&L realised by this fill
    closed: bool


class PositionKeeper:
    def __init__(self, engine: Engine, publish: Callable[[PositionChanged], None]) -> None:
        self.engine = engine
        self._publish = publish
        self._lock = threading.Lock()
        self._open: dict[uuid.UUID, OpenPosition] = {}
        self._by_symbol: dict[str, list[OpenPosition]] = {}
        self._dirty: set[uuid.UUID] = set()

    # -- loading ---------------------------------------------------------------------------
    def load_open(self) -> int:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(POSITIONS).where(
                POSITIONS.c.status == PositionStatus.OPEN)).mappings().all()
        with self._lock:
            self._open.clear()
            self._by_symbol.clear()
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

    def _untrack(self, pos: OpenPosition) -> None:
        self._open.pop(pos.id, None)
        rest = [p for p in self._by_symbol.get(pos.symbol, ()) if p.id != pos.id]
        if rest:
            self._by_symbol[pos.symbol] = rest
        else:
            self._by_symbol.pop(pos.symbol, None)

    def open_for_user(self, user_id: uuid.UUID) -> list[OpenPosition]:
        with self._lock:
            return [p for p in self._open.values() if p.user_id == user_id]

    def open_for_strategy(self, strategy_id: uuid.UUID) -> OpenPosition | None:
        with self._lock:
            return next((p for p in self._open.values() if p.strategy_id == strategy_id), None)

    def symbols(self) -> set[str]:
        return set(self._by_symbol)

    # -- fills -----------------------------------------------------------------------------
    def apply_fill(self, *, user_id: uuid.UUID, strategy_id: uuid.UUID | None, symbol: str,
                   exchange: str, side: Side, quantity: int, price: Decimal,
                   order_id: uuid.UUID | None, now: datetime) -> FillOutcome:
        """Change the position by one fill, in one transaction with its history row."""
        signed = quantity if side is Side.BUY else -quantity
        with self._lock, self.engine.begin() as conn:
            query = sa.select(POSITIONS).where(
                POSITIONS.c.user_id == user_id, POSITIONS.c.symbol == symbol,
                POSITIONS.c.exchange == exchange, POSITIONS.c.status == PositionStatus.OPEN,
                POSITIONS.c.strategy_id.is_(None) if strategy_id is None
                else POSITIONS.c.strategy_id == strategy_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).mappings().first()
            realized = ZERO
            if row is None:
                pos_id = uuid.uuid4()
                conn.execute(POSITIONS.insert().values(
                    id=pos_id, user_id=user_id, strategy_id=strategy_id, symbol=symbol,
                    exchange=exchange, quantity=signed, average_price=price, ltp=price,
                    unrealized_pnl=ZERO, realized_pnl=ZERO, status=PositionStatus.OPEN,
                    opened_at=now, created_at=now, updated_at=now))
                pos = OpenPosition(pos_id, user_id, strategy_id, symbol, exchange, signed, price,
                                   ZERO, price, ZERO)
                self._track(pos)
                action, closed = PositionAction.OPEN, False
            else:
                pos = self._open.get(row["id"]) or OpenPosition(
                    row["id"], user_id, strategy_id, symbol, exchange, row["quantity"],
                    row["average_price"], row["realized_pnl"], row["ltp"],
                    row["unrealized_pnl"])
                old_qty, avg = pos.quantity, pos.average_price
                new_qty = old_qty + signed
                if old_qty == 0 or (old_qty > 0) == (signed > 0):
                    # Adding to the position: a new weighted average price.
                    pos.average_price = (avg * abs(old_qty) + price * quantity) / abs(new_qty)
                    action = PositionAction.INCREASE
                else:
                    closing = min(abs(signed), abs(old_qty))
                    direction = 1 if old_qty > 0 else -1
                    realized = (price - avg) * closing * direction
                    pos.realized_pnl += realized
                    if new_qty != 0 and (new_qty > 0) != (old_qty > 0):
                        pos.average_price = price  # flipped through zero
                    action = PositionAction.CLOSE if new_qty == 0 else PositionAction.DECREASE
                pos.quantity = new_qty
                pos.mark(price)
                closed = new_qty == 0
                status = PositionStatus.CLOSED if closed else (
                    PositionStatus.OPEN if action is PositionAction.INCREASE
                    else PositionStatus.OPEN)
                values = {"quantity": new_qty, "average_price": pos.average_price, "ltp": price,
                          "unrealized_pnl": ZERO if closed else pos.unrealized_pnl,
                          "realized_pnl": pos.realized_pnl, "status": status, "updated_at": now}
                if closed:
                    values["closed_at"] = now
                    pos.unrealized_pnl = ZERO
                conn.execute(POSITIONS.update().where(POSITIONS.c.id == pos.id).values(**values))
                if closed:
                    self._untrack(pos)
                elif pos.id not in self._open:
                    self._track(pos)
            conn.execute(POS_HISTORY.insert().values(
                id=uuid.uuid4(), position_id=pos.id, user_id=user_id, order_id=order_id,
                action=action, quantity=quantity, price=price, pnl=realized, created_at=now))
        self._publish(pos.event(PositionStatus.CLOSED if closed else PositionStatus.OPEN))
        return FillOutcome(pos.id, action, realized, closed)

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
        return len(dirty)
