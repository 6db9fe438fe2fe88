"""The database itself rejects what the seeds forbid, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from tui_trader.db.engine import create_db_engine, session_factory
from tui_trader.db.models import Order, Position, Strategy, User


@pytest.fixture
def sessions(database_url):
    engine = create_db_engine(database_url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def user_id(sessions) -> uuid.UUID:
    with sessions.begin() as s:
        user = User(email="a@example.com", password_hash="x")
        s.add(user)
    return user.id


def _strategy_sql(user_id, **over):
    values = {"id": uuid.uuid4().hex, "user_id": user_id.hex, "name": f"s{uuid.uuid4().hex[:6]}",
              "kind": "scheduled", "symbol": "INFY", "exchange": "NSE", "buy_time": "09:30:00",
              "sell_time": "15:00:00", "stop_loss": "1500", "quantity": 10, "parameters": "{}",
              "execution_mode": "PAPER", "status": "created",
              "created_at": "2026-11-22 00:00:00", "updated_at": "2026-11-22 00:00:00"}
    values.update(over)
    return values


def _raw_insert(sessions, values):
    """Bypass the ORM entirely: the database, not Python, must refuse."""
    engine = sessions.kw["bind"]
    cols = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    if engine.dialect.name == "postgresql":
        values = {k: (str(uuid.UUID(v)) if k in ("id", "user_id") else v)
                  for k, v in values.items()}
    with engine.begin() as conn:
        conn.execute(sa.text(f"INSERT INTO strategies ({cols}) VALUES ({marks})"), values)


def test_valid_raw_row_is_accepted(sessions, user_id):
    _raw_insert(sessions, _strategy_sql(user_id))


@pytest.mark.parametrize("override", [
    {"stop_loss": None},
    {"stop_loss": "0"},
    {"stop_loss": "-5"},
    {"quantity": 0},
    {"quantity": -3},
    {"buy_time": "15:00:00", "sell_time": "09:30:00"},
    {"buy_time": "10:00:00", "sell_time": "10:00:00"},
    {"status": "exploded"},
    {"execution_mode": "YOLO"},
])
def test_database_rejects_seed_violations(sessions, user_id, override):
    with pytest.raises(IntegrityError):
        _raw_insert(sessions, _strategy_sql(user_id, **override))
    with sessions() as s:
        assert s.scalar(sa.text("SELECT count(*) FROM strategies")) == 0


def test_unique_email(sessions, user_id):
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(User(email="a@example.com", password_hash="y"))


def test_one_open_position_per_strategy_and_instrument(sessions, user_id):
    with sessions.begin() as s:
        strat = Strategy(user_id=user_id, name="one", symbol="INFY", buy_time=time(9, 30),
                         sell_time=time(15), stop_loss=Decimal("1400"), quantity=1)
        s.add(strat)
    with sessions.begin() as s:
        s.add(Position(user_id=user_id, strategy_id=strat.id, symbol="INFY", quantity=1,
                       average_price=Decimal("1500")))
        s.add(Position(user_id=user_id, strategy_id=strat.id, symbol="INFY", quantity=0,
                       average_price=Decimal("1500"), status="CLOSED"))
    with pytest.raises(IntegrityError), sessions.begin() as s:
        s.add(Position(user_id=user_id, strategy_id=strat.id, symbol="INFY", quantity=2,
                       average_price=Decimal("1500")))


def test_money_is_exact_and_times_are_utc_aware(sessions, user_id):
    price = Decimal("1234.05")
    with sessions.begin() as s:
        strat = Strategy(user_id=user_id, name="exact", symbol="INFY", buy_time=time(9, 30),
                         sell_time=time(15), stop_loss=Decimal("0.1") + Decimal("0.2"),
                         quantity=1)
        s.add(strat)
        s.add(Order(user_id=user_id, strategy_id=strat.id, intent_key="k1", client_tag="t1",
                    trading_day=datetime(2026, 11, 23, tzinfo=UTC).date(), symbol="INFY",
                    side="BUY", reason="BUY", quantity=3, price=price))
    with sessions() as s:
        row = s.get(Strategy, strat.id)
        assert row.stop_loss == Decimal("0.3")
        assert isinstance(row.stop_loss, Decimal)
        assert row.created_at.tzinfo is not None and row.created_at.utcoffset().total_seconds() == 0
        order = s.scalars(sa.select(Order)).one()
        assert order.price == price and order.price * 3 == Decimal("3702.15")


def test_float_money_and_naive_time_are_refused(sessions, user_id):
    with pytest.raises(StatementError), sessions.begin() as s:
        s.add(Strategy(user_id=user_id, name="f", symbol="INFY", buy_time=time(9, 30),
                       sell_time=time(15), stop_loss=1500.5, quantity=1))
    with pytest.raises(StatementError), sessions.begin() as s:
        s.add(User(email="n@example.com", password_hash="x",
                   last_login=datetime(2026, 1, 1)))  # noqa: DTZ001 - naive on purpose


def test_updated_at_is_maintained(sessions, user_id):
    with sessions.begin() as s:
        user = s.get(User, user_id)
        before = user.updated_at
    with sessions.begin() as s:
        user = s.get(User, user_id)
        user.name = "New Name"
    with sessions() as s:
        assert s.get(User, user_id).updated_at > before
