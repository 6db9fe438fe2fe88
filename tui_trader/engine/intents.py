"""The exactly-once guard in SQL: one order row per intent key, fired by one executor only.

An intent key names (strategy, leg, trading day, sequence). A new intent is inserted
straight into FIRING under its unique key (only one inserter can succeed); one that exists
and was re-armed is won by the conditional UPDATE ARMED -> FIRING, which only one executor
can win. Everything after (SENT, UNKNOWN, DONE, FAILED and each broker status) is recorded
with a row in order_history. On the hot path the claim goes straight to a driver connection
and the rest uses SQLAlchemy Core: the ORM costs several times more per statement.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..brokers.base import BrokerOrder, make_client_tag
from ..db.models import Order, OrderHistory
from ..db.row_security import CONNECT_OPTIONS
from ..domain.enums import IntentState, OrderKind, OrderReason, OrderStatus, Side
from ..domain.intent_key import IntentKey
from ..domain.lifecycle import INTENT, ORDER_STATUS, TransitionTable
from .order_row import OrderRow, Recorded

ORDERS = Order.__table__
HISTORY = OrderHistory.__table__


_CLAIM_COLUMNS = ("id", "user_id", "strategy_id", "broker_account_id", "intent_key",
                  "intent_state", "event_id", "client_tag", "trading_day", "symbol", "exchange",
                  "side", "order_kind", "reason", "quantity", "price", "trigger_price", "status",
                  "filled_quantity", "created_at", "updated_at")


_PG_CLAIM_SQL = (
    f"INSERT INTO orders ({', '.join(_CLAIM_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(_CLAIM_COLUMNS))}) "
    "ON CONFLICT (intent_key) DO NOTHING RETURNING id")


_SQLITE_CLAIM_SQL = (
    f"INSERT INTO orders ({', '.join(_CLAIM_COLUMNS)}) "
    f"VALUES ({', '.join(['?'] * len(_CLAIM_COLUMNS))}) "
    "ON CONFLICT (intent_key) DO NOTHING RETURNING id")


# Exit sequences a day, whatever their outcome (a BUY filling in many parts is followed by
# as many exits); refusals have their own, smaller bound.
MAX_SEQUENCES = 20


def psycopg_errors() -> tuple[type[BaseException], ...]:
    import psycopg

    return (psycopg.OperationalError, psycopg.InterfaceError)


def _is_disconnect(exc: BaseException) -> bool:
    closed = getattr(getattr(exc, "__self__", None), "closed", False)
    return closed or "closed" in str(exc).lower() or "terminat" in str(exc).lower() or \
        "connection" in str(exc).lower()


def _sources(table: TransitionTable, target) -> list:
    """The states a row may be in for a move to `target` (what a conditional UPDATE
    matches)."""
    return [before for before, after in table.all_moves() if after is target]


@dataclass(frozen=True)
class IntentDraft:
    user_id: uuid.UUID
    strategy_id: uuid.UUID | None
    broker_account_id: uuid.UUID | None
    key: IntentKey
    event_id: str | None
    trading_day: date
    symbol: str
    exchange: str
    side: Side
    kind: OrderKind
    reason: OrderReason
    quantity: int
    price: Decimal | None = None
    trigger_price: Decimal | None = None

    @property
    def client_tag(self) -> str:
        # Derived from the intent key: the same intent always carries the same tag, so the
        # broker can be asked about it whichever event or process fired it.
        return make_client_tag(str(self.key), "t")


@dataclass(frozen=True)
class Claim:
    won: bool
    order_id: uuid.UUID
    state: IntentState  # the state found (FIRING when won)
    status: OrderStatus
    client_tag: str
    broker_order_id: str | None
    filled_quantity: int

    @property
    def is_over(self) -> bool:
        """Nothing more will happen under this intent: never placed (FAILED), or final at
        the broker (filled, refused, cancelled). Working or unknown ones are not over."""
        return self.state in (IntentState.FAILED, IntentState.DONE) or self.status in (
            OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.FILLED)

    @property
    def ended_short(self) -> bool:
        """Over without closing what it was for: refused, cancelled, or never placed."""
        return self.state is IntentState.FAILED or self.status in (
            OrderStatus.REJECTED, OrderStatus.CANCELLED)

    @property
    def never_placed(self) -> bool:
        """The broker refused it (or it died before the call and was declared failed):
        nothing is working or filled under this intent."""
        return self.state is IntentState.FAILED or (
            self.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
            and self.filled_quantity == 0)


def _history(conn: Connection, order_id: uuid.UUID, user_id: uuid.UUID, status: OrderStatus,
             state: IntentState, now: datetime, *, filled: int = 0,
             avg: Decimal | None = None, message: str | None = None,
             raw: dict[str, Any] | None = None) -> None:
    conn.execute(HISTORY.insert().values(
        id=uuid.uuid4(), order_id=order_id, user_id=user_id, status=status, intent_state=state,
        filled_quantity=filled, average_price=avg, message=message, raw=raw, created_at=now))


class IntentLedger:
    """Claims and records order intents. Thread-safe: each call is its own transaction,
    except `record` given the caller's connection (a fill commits with its position)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._binds: list[tuple[str, Any]] | None = None  # SQLite: each column's processor
        self._postgres = engine.dialect.name == "postgresql"
        self._raw: dict[int, Any] = {}

    def claim(self, draft: IntentDraft, now: datetime) -> Claim:
        """Win the right to call the broker for this intent, or learn who already did.

        A new intent is inserted straight into FIRING under its unique key: one statement,
        one commit, and only one inserter can succeed. An intent that exists and was re-armed
        (ARMED) is won by the conditional UPDATE ARMED -> FIRING. The FIRING history row is
        written with the broker's answer (`record`), keeping the hot path to one commit.
        """
        new_id = uuid.uuid4()
        params = {
            "id": new_id, "user_id": draft.user_id, "strategy_id": draft.strategy_id,
            "broker_account_id": draft.broker_account_id, "intent_key": str(draft.key),
            "intent_state": IntentState.FIRING, "event_id": draft.event_id,
            "client_tag": draft.client_tag, "trading_day": draft.trading_day,
            "symbol": draft.symbol, "exchange": draft.exchange, "side": draft.side,
            "order_kind": draft.kind, "reason": draft.reason, "quantity": draft.quantity,
            "price": draft.price, "trigger_price": draft.trigger_price,
            "status": OrderStatus.PENDING, "filled_quantity": 0, "created_at": now,
            "updated_at": now,
        }
        if self._fast_insert(params):
            return Claim(won=True, order_id=new_id, state=IntentState.FIRING,
                         status=OrderStatus.PENDING, client_tag=draft.client_tag,
                         broker_order_id=None, filled_quantity=0)
        with self.engine.begin() as conn:
            fired = conn.execute(
                ORDERS.update()
                .where(ORDERS.c.intent_key == str(draft.key),
                       ORDERS.c.intent_state == IntentState.ARMED)
                .values(intent_state=IntentState.FIRING, updated_at=now)
                .returning(ORDERS.c.id)).first()
            row = conn.execute(sa.select(
                ORDERS.c.id, ORDERS.c.intent_state, ORDERS.c.status, ORDERS.c.client_tag,
                ORDERS.c.broker_order_id, ORDERS.c.filled_quantity, ORDERS.c.user_id,
            ).where(ORDERS.c.intent_key == str(draft.key))).one()
            if fired is not None:
                _history(conn, row.id, row.user_id, OrderStatus.PENDING, IntentState.FIRING, now,
                         message=f"intent {draft.reason} re-fired")
            return Claim(won=fired is not None, order_id=row.id,
                         state=IntentState(row.intent_state), status=OrderStatus(row.status),
                         client_tag=row.client_tag, broker_order_id=row.broker_order_id,
                         filled_quantity=row.filled_quantity)

    def claim_next_attempt(self, draft: IntentDraft, now: datetime, max_attempts: int,
                           held: Callable[[], int]) -> tuple[IntentDraft, Claim]:
        """Claim the exit's intent; while the one of this sequence is over and something is
        still held, claim the next sequence of the same leg instead: the broker ended it
        short (refused, or cancelled after a partial fill), or it filled and more was
        bought since (a BUY that filled in parts). Only for exits: getting out of a
        position is worth another try, getting in is not. Refusals are bounded by
        `max_attempts` a day; exits that filled do not count (at most MAX_SEQUENCES in all).

        `held` reads the quantity still held from SQL, where a fill commits with its order
        (never from memory, which may lag a fill just recorded): each next attempt is for
        that quantity, and none is made when nothing is held."""
        claim = self.claim(draft, now)
        seq, refused = 1, 0
        while not claim.won and claim.is_over and seq < MAX_SEQUENCES:
            refused += claim.ended_short
            if refused >= max_attempts:
                break
            quantity = held()
            if quantity <= 0:
                break
            seq += 1
            draft = replace(draft, key=draft.key.next_attempt(), quantity=quantity)
            claim = self.claim(draft, now)
        return draft, claim

    def exit_refusals(self, strategy_id: uuid.UUID, day: date) -> int:
        """How many of the strategy's exits on `day` the broker refused (or were never
        placed): what the daily bound on exit attempts counts."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(ORDERS).where(
                    ORDERS.c.strategy_id == strategy_id, ORDERS.c.trading_day == day,
                    ORDERS.c.reason != OrderReason.BUY,
                    sa.or_(ORDERS.c.intent_state == IntentState.FAILED,
                           ORDERS.c.status.in_([OrderStatus.REJECTED,
                                                OrderStatus.CANCELLED])))).scalar_one()

    def _fast_insert(self, params: dict[str, Any]) -> bool:
        """The claim straight on a driver connection kept by this thread, in autocommit: one
        statement and one commit, without SQLAlchemy's per-execution work (a third of the
        stop-loss path's time on PostgreSQL, most of it on SQLite). PostgreSQL gets plain
        values psycopg adapts exactly (UUID, Decimal, aware datetime, date); SQLite gets
        each value through its column type's own bind processor, so the row is stored
        exactly as the ORM would store it."""
        if self._postgres:
            values = [params[c].value if isinstance(params[c], StrEnum) else params[c]
                      for c in _CLAIM_COLUMNS]
            sql = _PG_CLAIM_SQL
        else:
            values = [bind(params[c]) if bind else params[c]
                      for c, bind in self._sqlite_binds()]
            sql = _SQLITE_CLAIM_SQL
        for attempt in (1, 2):
            raw = self._raw.get(threading.get_ident())
            if raw is None:
                raw = self._connect_raw()
            try:
                if self._postgres:
                    row = raw.execute(sql, values, prepare=True).fetchone()
                else:
                    row = raw.execute(sql, values).fetchone()
                return row is not None
            except self._driver_errors() as exc:
                self._raw.pop(threading.get_ident(), None)
                try:
                    raw.close()
                except Exception:  # already broken: nothing more to release
                    pass
                if attempt == 2 or not self._postgres or not _is_disconnect(exc):
                    raise
        return False

    def _sqlite_binds(self) -> list[tuple[str, Any]]:
        if self._binds is None:
            dialect = self.engine.dialect
            self._binds = [(c, ORDERS.c[c].type.dialect_impl(dialect).bind_processor(dialect))
                           for c in _CLAIM_COLUMNS]
        return self._binds

    def _driver_errors(self) -> tuple[type[BaseException], ...]:
        if self._postgres:
            return psycopg_errors()
        import sqlite3

        return (sqlite3.Error,)

    def _connect_raw(self):
        """A dedicated autocommit connection for this thread, outside the pool (it is held
        for the life of the engine, which would otherwise starve the pool)."""
        if self._postgres:
            import psycopg

            url = self.engine.url.set(drivername="postgresql")
            # Acting for every user under row-level security, set as the connection opens.
            raw = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True,
                                  connect_timeout=5, options=CONNECT_OPTIONS)
        else:
            # Detached from the pool: the engine's connect hook has set the pragmas (WAL,
            # foreign keys, busy timeout), and the connection is this thread's for good.
            pooled = self.engine.raw_connection()
            raw = pooled.driver_connection
            pooled.detach()
            raw.isolation_level = None  # autocommit: each statement commits
        self._raw[threading.get_ident()] = raw
        return raw

    def close(self) -> None:
        """Release the per-thread connections (the engine is stopping)."""
        for raw in list(self._raw.values()):
            try:
                raw.close()
            except Exception:  # closing a broken connection is not worth an error
                pass
        self._raw.clear()

    def rearm(self, order_id: uuid.UUID, now: datetime, message: str) -> None:
        """The broker never received it (proved by asking): allow it to fire again."""
        self._set_state(order_id, IntentState.ARMED, OrderStatus.PENDING, now, message)

    def mark_unknown(self, order_id: uuid.UUID, now: datetime, message: str) -> bool:
        """The call's outcome is unknown: FIRING -> UNKNOWN. False, and nothing written, when
        the broker's own update already answered it (SENT or DONE) while the call failed."""
        return self._set_state(order_id, IntentState.UNKNOWN, OrderStatus.UNKNOWN, now,
                               message, unless={IntentState.SENT, IntentState.DONE})

    def mark_failed(self, order_id: uuid.UUID, now: datetime, message: str,
                    status: OrderStatus = OrderStatus.REJECTED,
                    raw: dict[str, Any] | None = None) -> None:
        self._set_state(order_id, IntentState.FAILED, status, now, message, error=message,
                        raw=raw)

    def _set_state(self, order_id: uuid.UUID, state: IntentState, status: OrderStatus,
                   now: datetime, message: str, *, error: str | None = None,
                   raw: dict[str, Any] | None = None,
                   unless: set[IntentState] | frozenset[IntentState] = frozenset()) -> bool:
        """Move an intent and its status, only along their tables: one conditional UPDATE
        (only rows in a state allowed to move there match); a move from anywhere else is
        refused with IllegalTransition and writes nothing, except from a state in `unless`
        (the move is moot there): then False."""
        with self.engine.begin() as conn:
            values: dict[str, Any] = {"intent_state": state, "status": status, "updated_at": now}
            if error is not None:
                values["error"] = error[:500]
            if raw is not None:
                values["raw_response"] = raw
            user_id = conn.execute(
                ORDERS.update()
                .where(ORDERS.c.id == order_id,
                       ORDERS.c.intent_state.in_(_sources(INTENT, state)),
                       ORDERS.c.status.in_(_sources(ORDER_STATUS, status)))
                .values(**values).returning(ORDERS.c.user_id)).scalar()
            if user_id is None:
                found = conn.execute(sa.select(ORDERS.c.intent_state, ORDERS.c.status)
                                     .where(ORDERS.c.id == order_id)).one()
                if IntentState(found.intent_state) in unless:
                    return False
                INTENT.check(IntentState(found.intent_state), state)
                ORDER_STATUS.check(OrderStatus(found.status), status)
                raise AssertionError("the conditional update matched no row")  # unreachable
            _history(conn, order_id, user_id, status, state, now, message=message[:500],
                     raw=raw)
        return True

    def record(self, order_id: uuid.UUID, update: BrokerOrder, now: datetime,
               conn: Connection | None = None
               ) -> tuple[int, OrderStatus | None, Recorded]:
        """Apply one broker snapshot. Returns (newly filled quantity, the status before, row).

        Idempotent: the same snapshot twice changes nothing the second time; fills only ever
        grow, so an older snapshot arriving late cannot undo a newer one.
        """
        if conn is None:
            with self.engine.begin() as own:
                return self.record(order_id, update, now, own)
        query = sa.select(ORDERS).where(ORDERS.c.id == order_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().one()
        before_status = OrderStatus(row["status"])
        before_filled = row["filled_quantity"]
        filled = max(update.filled_quantity, before_filled)
        status = update.status
        unchanged = Recorded(OrderRow.of(row), row["average_price"], before_filled)
        if before_status.is_final and before_filled >= filled:
            return 0, before_status, unchanged
        state = IntentState.DONE if status.is_final else IntentState.SENT
        if filled == before_filled and not ORDER_STATUS.allows(before_status, status):
            # An older snapshot arriving after a newer one (a listener's update overtaken
            # by the call's own answer): it says nothing new, so nothing moves back.
            return 0, before_status, unchanged
        INTENT.check(IntentState(row["intent_state"]), state)
        ORDER_STATUS.check(before_status, status)
        raw = json.loads(json.dumps(update.raw, default=str))
        changed = (status != before_status or filled != before_filled
                   or row["broker_order_id"] != update.broker_order_id)
        values = {"status": status, "intent_state": state, "filled_quantity": filled,
                  "average_price": update.average_price or row["average_price"],
                  "broker_order_id": update.broker_order_id, "raw_response": raw,
                  "updated_at": now}
        if row["placed_at"] is None:
            values["placed_at"] = now
        if status is OrderStatus.REJECTED and update.message:
            values["error"] = update.message[:500]
        conn.execute(ORDERS.update().where(ORDERS.c.id == order_id).values(**values))
        if before_status is OrderStatus.PENDING and row["intent_state"] == IntentState.FIRING:
            _history(conn, order_id, row["user_id"], OrderStatus.PENDING,
                     IntentState.FIRING, row["updated_at"],
                     message=f"intent {row['reason']} fired")
        if changed:
            _history(conn, order_id, row["user_id"], status, state, now, filled=filled,
                     avg=update.average_price, message=update.message, raw=raw)
        merged = Recorded(OrderRow.of({**dict(row), **values}), row["average_price"],
                          before_filled)
        return filled - before_filled, before_status, merged

    def by_tag(self, client_tag: str) -> OrderRow | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(ORDERS).where(ORDERS.c.client_tag == client_tag)
                               ).mappings().first()
            return OrderRow.of(row) if row else None

    def exit_working(self, strategy_id: uuid.UUID, day: date) -> bool:
        """Whether an exit of the strategy's on `day` may still be at the broker (firing,
        sent and not final, or its outcome unknown)."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(ORDERS.c.id).where(
                    ORDERS.c.strategy_id == strategy_id, ORDERS.c.trading_day == day,
                    ORDERS.c.reason != OrderReason.BUY,
                    ORDERS.c.intent_state.in_([IntentState.FIRING, IntentState.SENT,
                                               IntentState.UNKNOWN])).limit(1)
            ).first() is not None

    def filled_exit_since_entry(self, strategy_id: uuid.UUID) -> OrderRow | None:
        """The strategy's latest exit that filled, if none of its BUYs came after it (an
        exit and its BUY may carry the same time: the exit is the later one)."""
        with self.engine.connect() as conn:
            exit_row = conn.execute(
                sa.select(ORDERS).where(ORDERS.c.strategy_id == strategy_id,
                                        ORDERS.c.reason != OrderReason.BUY,
                                        ORDERS.c.filled_quantity > 0)
                .order_by(ORDERS.c.created_at.desc()).limit(1)).mappings().first()
            if exit_row is None:
                return None
            last_buy = conn.execute(
                sa.select(sa.func.max(ORDERS.c.created_at))
                .where(ORDERS.c.strategy_id == strategy_id,
                       ORDERS.c.reason == OrderReason.BUY)).scalar()
        if last_buy is not None and last_buy > exit_row["created_at"]:
            return None
        return OrderRow.of(exit_row)

    def account_of_position(self, strategy_id: uuid.UUID | None,
                            symbol: str) -> uuid.UUID | None:
        """The broker account of the latest filled order of a strategy's position in
        `symbol` (None: the paper broker, or a position no strategy opened)."""
        if strategy_id is None:
            return None
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(ORDERS.c.broker_account_id)
                .where(ORDERS.c.strategy_id == strategy_id, ORDERS.c.symbol == symbol,
                       ORDERS.c.filled_quantity > 0)
                .order_by(ORDERS.c.created_at.desc()).limit(1)).scalar()

    def get(self, order_id: uuid.UUID) -> OrderRow:
        with self.engine.connect() as conn:
            return OrderRow.of(conn.execute(sa.select(ORDERS).where(ORDERS.c.id == order_id)
                                            ).mappings().one())

    def unresolved(self, older_than: datetime | None = None) -> list[OrderRow]:
        """Intents whose outcome is not known: FIRING (crashed mid-call), UNKNOWN, and SENT
        ones not yet final (to be refreshed from the broker)."""
        with self.engine.connect() as conn:
            query = sa.select(ORDERS).where(ORDERS.c.intent_state.in_(
                [IntentState.FIRING, IntentState.UNKNOWN, IntentState.SENT]))
            if older_than is not None:
                query = query.where(ORDERS.c.updated_at <= older_than)
            return [OrderRow.of(r) for r in conn.execute(query).mappings()]
