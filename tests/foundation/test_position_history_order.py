"""A position's history lists in insertion order even when its rows share one timestamp (fills
applied in one burst are recorded with the same `now`), on SQLite and PostgreSQL; migration
0004 numbers the rows written before `position_history.seq` existed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tui_trader.db import migrate
from tui_trader.db.engine import create_db_engine, session_factory
from tui_trader.db.models import Position, PositionHistory, User
from tui_trader.db.repositories import PositionRepository
from tui_trader.domain.enums import PositionAction, PositionStatus, Side
from tui_trader.engine.positions import PositionKeeper

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
LIFECYCLE = [PositionAction.OPEN, PositionAction.INCREASE, PositionAction.DECREASE,
             PositionAction.CLOSE]


@pytest.fixture
def engine(database_url):
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def user_id(engine) -> uuid.UUID:
    with session_factory(engine).begin() as s:
        user = User(email="p@example.com", password_hash="x")
        s.add(user)
    return user.id


def _position(engine, user_id) -> uuid.UUID:
    with session_factory(engine).begin() as s:
        pos = Position(user_id=user_id, symbol="INFY", quantity=0,
                       status=PositionStatus.CLOSED)
        s.add(pos)
    return pos.id


def _history(engine, user_id, position_id) -> list[PositionHistory]:
    with session_factory(engine)() as s:
        return PositionRepository(s, user_id).history(position_id)


def test_fills_with_one_timestamp_list_in_insertion_order(engine, user_id):
    keeper = PositionKeeper(engine, publish=lambda event: None)
    outcomes = [keeper.apply_fill(user_id=user_id, strategy_id=None, symbol="INFY",
                                  exchange="NSE", side=side, quantity=qty,
                                  price=Decimal("1500"), order_id=None, now=NOW)
                for side, qty in [(Side.BUY, 10), (Side.BUY, 5), (Side.SELL, 5),
                                  (Side.SELL, 10)]]  # all at the same `now`
    assert [o.action for o in outcomes] == LIFECYCLE
    rows = _history(engine, user_id, outcomes[0].position_id)
    assert {r.created_at for r in rows} == {NOW}
    assert [(r.action, r.quantity) for r in rows] == list(zip(LIFECYCLE, [10, 5, 5, 10],
                                                              strict=True))
    seqs = [r.seq for r in rows]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_orm_rows_with_one_timestamp_list_in_insertion_order(engine, user_id):
    """The ids run backwards, so a tie broken by id would list the history reversed."""
    position_id = _position(engine, user_id)
    sessions = session_factory(engine)
    for n, action in enumerate(LIFECYCLE[:2]):  # one commit each, as separate writers would
        with sessions.begin() as s:
            s.add(PositionHistory(id=uuid.UUID(int=2**100 - n), position_id=position_id,
                                  user_id=user_id, action=action, quantity=1,
                                  price=Decimal("1"), created_at=NOW))
    with sessions.begin() as s:  # and several in one flush
        for n, action in enumerate(LIFECYCLE[2:]):
            s.add(PositionHistory(id=uuid.UUID(int=2**90 - n), position_id=position_id,
                                  user_id=user_id, action=action, quantity=1,
                                  price=Decimal("1"), created_at=NOW))
    assert [r.action for r in _history(engine, user_id, position_id)] == LIFECYCLE


def test_an_explicit_seq_is_kept(engine, user_id):
    position_id = _position(engine, user_id)
    with engine.begin() as conn:
        for seq, action in [(2, PositionAction.CLOSE), (1, PositionAction.OPEN)]:
            conn.execute(sa.insert(PositionHistory.__table__).values(
                id=uuid.uuid4(), position_id=position_id, user_id=user_id, action=action,
                quantity=1, price=Decimal("1"), pnl=Decimal("0"), created_at=NOW, seq=seq))
    assert [r.action for r in _history(engine, user_id, position_id)] == \
        [PositionAction.OPEN, PositionAction.CLOSE]


@pytest.fixture(params=["sqlite", "postgres"])
def engine_at_0003(request, tmp_path):
    """A database at revision 0003: a fresh SQLite file, or a throwaway schema in the
    worker's PostgreSQL database (its `public` schema stays at the head for other tests)."""
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
        migrate.upgrade(engine, "0003")
        yield engine
        engine.dispose()
        return
    url = request.getfixturevalue("_pg_migrated")
    schema = f"ph_{uuid.uuid4().hex[:12]}"
    admin = create_db_engine(url)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate.upgrade(engine, "0003")
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migration_numbers_existing_rows_in_insertion_order(engine_at_0003):
    """SQLite numbers the old rows by rowid (insertion order); PostgreSQL by created_at, the
    lifecycle (OPEN first, CLOSE last) and then the physical row order."""
    engine = engine_at_0003
    with session_factory(engine).begin() as s:
        user = User(email="m@example.com", password_hash="x")
        s.add(user)
    user_id = user.id
    with engine.begin() as conn:
        position_id = uuid.uuid4()
        conn.execute(sa.insert(Position.__table__).values(
            id=position_id, user_id=user_id, symbol="INFY", exchange="NSE", quantity=0,
            average_price=Decimal("0"), unrealized_pnl=Decimal("0"),
            realized_pnl=Decimal("0"), status=PositionStatus.CLOSED, created_at=NOW,
            updated_at=NOW))
        columns = PositionHistory.__table__.c
        insert = sa.text(  # the table as it was at 0003: no seq column
            "INSERT INTO position_history (id, position_id, user_id, action, quantity, "
            "price, pnl, created_at) VALUES (:id, :p, :u, :a, 1, 1, 0, :t)").bindparams(
            sa.bindparam("id", type_=columns.id.type),
            sa.bindparam("p", type_=columns.position_id.type),
            sa.bindparam("u", type_=columns.user_id.type),
            sa.bindparam("t", type_=columns.created_at.type))
        for n, action in enumerate(LIFECYCLE):  # the ids run backwards
            conn.execute(insert, {"id": uuid.UUID(int=2**100 - n), "p": position_id,
                                  "u": user_id, "a": action.value, "t": NOW})
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert [r.action for r in _history(engine, user_id, position_id)] == LIFECYCLE
    with session_factory(engine).begin() as s:  # a new row still lists after them
        s.add(PositionHistory(position_id=position_id, user_id=user_id,
                              action=PositionAction.OPEN, quantity=1, price=Decimal("1"),
                              created_at=NOW))
    rows = _history(engine, user_id, position_id)
    assert [r.action for r in rows] == [*LIFECYCLE, PositionAction.OPEN]

