"""An order's history lists in insertion order even when its rows share one timestamp (they
often do: several transitions are recorded with the same `now`), on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tui_trader.brokers.base import BrokerOrder
from tui_trader.db.engine import create_db_engine, session_factory
from tui_trader.db.models import OrderHistory, User
from tui_trader.db.repositories import OrderRepository
from tui_trader.domain.enums import IntentState, OrderKind, OrderReason, OrderStatus, Side
from tui_trader.engine.intents import IntentDraft, IntentLedger

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url):
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def user_id(engine) -> uuid.UUID:
    with session_factory(engine).begin() as s:
        user = User(email="h@example.com", password_hash="x")
        s.add(user)
    return user.id


def _claim(ledger: IntentLedger, user_id: uuid.UUID, key: str) -> uuid.UUID:
    draft = IntentDraft(user_id=user_id, strategy_id=None, broker_account_id=None, key=key,
                        event_id=None, trading_day=date(2026, 11, 23), symbol="INFY",
                        exchange="NSE", side=Side.BUY, kind=OrderKind.MARKET,
                        reason=OrderReason.BUY, quantity=10)
    claim = ledger.claim(draft, NOW)
    assert claim.won
    return claim.order_id


def _snapshot(status: OrderStatus, filled: int) -> BrokerOrder:
    return BrokerOrder(broker_order_id="B1", client_tag="t", symbol="INFY", side=Side.BUY,
                       kind=OrderKind.MARKET, quantity=10, status=status,
                       filled_quantity=filled,
                       average_price=Decimal("1500") if filled else None, message=None,
                       updated_at=NOW, raw={"status": status.value})


def _history(engine, user_id, order_id) -> list[OrderHistory]:
    with session_factory(engine)() as s:
        return OrderRepository(s, user_id).history(order_id)


def test_ledger_rows_with_one_timestamp_list_in_insertion_order(engine, user_id):
    ledger = IntentLedger(engine)
    try:
        order_id = _claim(ledger, user_id, f"{user_id}:ENTRY:2026-11-23:1")
        for status, filled in [(OrderStatus.OPEN, 0), (OrderStatus.PARTIALLY_FILLED, 4),
                               (OrderStatus.FILLED, 10)]:
            ledger.record(order_id, _snapshot(status, filled), NOW)  # all at the same `now`
    finally:
        ledger.close()
    rows = _history(engine, user_id, order_id)
    assert {r.created_at for r in rows} == {NOW}
    assert [(r.status, r.intent_state) for r in rows] == [
        (OrderStatus.PENDING, IntentState.FIRING), (OrderStatus.OPEN, IntentState.SENT),
        (OrderStatus.PARTIALLY_FILLED, IntentState.SENT), (OrderStatus.FILLED, IntentState.DONE)]
    seqs = [r.seq for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_orm_rows_with_one_timestamp_list_in_insertion_order(engine, user_id):
    """The ids run backwards, so a tie broken by id would list the history reversed."""
    ledger = IntentLedger(engine)
    try:
        order_id = _claim(ledger, user_id, f"{user_id}:ENTRY:2026-11-23:2")
    finally:
        ledger.close()
    statuses = [OrderStatus.PENDING, OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED,
                OrderStatus.FILLED]
    sessions = session_factory(engine)
    for n, status in enumerate(statuses):  # one commit each, as separate writers would
        with sessions.begin() as s:
            s.add(OrderHistory(id=uuid.UUID(int=2**100 - n), order_id=order_id,
                               user_id=user_id, status=status, intent_state=IntentState.SENT,
                               created_at=NOW))
    with sessions.begin() as s:  # and several in one flush
        for n, status in enumerate([OrderStatus.CANCELLED, OrderStatus.REJECTED]):
            s.add(OrderHistory(id=uuid.UUID(int=2**90 - n), order_id=order_id,
                               user_id=user_id, status=status, intent_state=IntentState.DONE,
                               created_at=NOW))
    assert [r.status for r in _history(engine, user_id, order_id)] == \
        statuses + [OrderStatus.CANCELLED, OrderStatus.REJECTED]


def test_an_explicit_seq_is_kept(engine, user_id):
    ledger = IntentLedger(engine)
    try:
        order_id = _claim(ledger, user_id, f"{user_id}:ENTRY:2026-11-23:3")
    finally:
        ledger.close()
    with engine.begin() as conn:
        for seq, status in [(2, OrderStatus.FILLED), (1, OrderStatus.OPEN)]:
            conn.execute(sa.insert(OrderHistory.__table__).values(
                id=uuid.uuid4(), order_id=order_id, user_id=user_id, status=status,
                intent_state=IntentState.SENT, filled_quantity=0, created_at=NOW, seq=seq))
    assert [r.status for r in _history(engine, user_id, order_id)] == \
        [OrderStatus.OPEN, OrderStatus.FILLED]


def test_migration_numbers_existing_rows_in_insertion_order(tmp_path):
    """SQLite: rows written before the seq column existed are numbered by rowid."""
    from tui_trader.db import migrate

    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0002")
    with session_factory(engine).begin() as s:
        user = User(email="m@example.com", password_hash="x")
        s.add(user)
    user_id = user.id
    ledger = IntentLedger(engine)
    try:
        order_id = _claim(ledger, user_id, f"{user_id}:ENTRY:2026-11-23:1")
    finally:
        ledger.close()
    statuses = ["PENDING", "OPEN", "PARTIALLY_FILLED", "FILLED"]
    with engine.begin() as conn:
        for n, status in enumerate(statuses):
            conn.execute(sa.text(
                "INSERT INTO order_history (id, order_id, user_id, status, intent_state, "
                "filled_quantity, created_at) VALUES (:id, :o, :u, :s, 'SENT', 0, :t)"),
                {"id": uuid.UUID(int=2**100 - n).hex, "o": order_id.hex, "u": user_id.hex,
                 "s": status, "t": "2026-11-23 04:00:00.000000"})
    migrate.upgrade(engine)
    rows = _history(engine, user_id, order_id)
    assert [r.status.value for r in rows] == statuses
    with session_factory(engine).begin() as s:  # a new row still lists after them
        s.add(OrderHistory(order_id=order_id, user_id=user_id, status=OrderStatus.FILLED,
                           intent_state=IntentState.DONE, created_at=rows[0].created_at))
    assert len(_history(engine, user_id, order_id)) == 5
    assert _history(engine, user_id, order_id)[-1].intent_state is IntentState.DONE
    engine.dispose()
