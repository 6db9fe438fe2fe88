"""Migration 0006: the kind and timeframe columns take the new values, `rsi` becomes
`rsi_reversion`, candles gain vwap/trades -- without touching a strategy's child rows or
the triggers 0005 made (SQLite edits the schema text instead of rebuilding tables)."""

from __future__ import annotations

import os
import uuid
import zlib
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from tui_trader.db import migrate
from tui_trader.db.engine import create_db_engine
from tui_trader.db.types import UTCDateTime


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request, tmp_path):
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'mig.db'}")
    else:
        url = os.environ.get("TUI_TRADER_TEST_DATABASE_URL")
        if not url:
            if os.environ.get("TUI_TRADER_REQUIRE_SERVERS") == "1":
                pytest.fail("TUI_TRADER_TEST_DATABASE_URL is required in CI but not set")
            pytest.skip("TUI_TRADER_TEST_DATABASE_URL not configured")
        base = sa.engine.make_url(url).set(drivername="postgresql+psycopg")
        worker = getattr(request.config, "workerinput", {}).get("workerid", "gw0")
        checkout = f"{zlib.crc32(str(request.config.rootpath).encode()):08x}"
        name = f"tui_trader_{base.database}_kinds_migration_{checkout}_{worker}"
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        engine = create_db_engine(base.set(database=name).render_as_string(
            hide_password=False))
    yield engine
    engine.dispose()


def _run(conn, sql: str, **values) -> None:
    """Textual SQL with its values bound by the schema's own column types."""
    types = {uuid.UUID: sa.Uuid(), datetime: UTCDateTime()}
    conn.execute(sa.text(sql).bindparams(*(sa.bindparam(k, v, type_=types.get(type(v)))
                                           for k, v in values.items())))


def _seed_old(conn) -> tuple[uuid.UUID, uuid.UUID]:
    user, strategy = uuid.uuid4(), uuid.uuid4()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    _run(conn, "INSERT INTO users (id, email, username, password_hash, role, is_active, "
               "failed_logins, created_at, updated_at) VALUES (:id, 'a@example.com', 'a', "
               "'x', 'trader', true, 0, :now, :now)", id=user, now=now)
    _run(conn, "INSERT INTO strategies (id, user_id, name, kind, symbol, exchange, buy_time, "
               "sell_time, stop_loss, quantity, parameters, execution_mode, status, "
               "created_at, updated_at) VALUES (:id, :user, 'r', 'rsi', 'INFY', 'NSE', "
               "'09:30', '15:00', '1', 1, '{}', 'PAPER', 'created', :now, :now)",
         id=strategy, user=user, now=now)
    _run(conn, "INSERT INTO strategy_performance (id, strategy_id, user_id, day, "
               "total_trades, winning_trades, losing_trades, total_pnl, max_drawdown, "
               "metrics, created_at, updated_at) VALUES (:id, :s, :u, :day, 0, 0, 0, '0', "
               "'0', '{}', :now, :now)",
         id=uuid.uuid4(), s=strategy, u=user, day=date(2026, 12, 1), now=now)
    _run(conn, "INSERT INTO strategy_catalog (id, kind, name, description, "
               "parameters_schema, is_active, created_at) VALUES (:id, 'rsi', 'RSI', '', "
               "'{}', false, :now)", id=uuid.uuid4(), now=now)
    return user, strategy


def _triggers(conn) -> int:
    if conn.dialect.name == "sqlite":
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger'"
    else:
        sql = "SELECT COUNT(*) FROM pg_trigger WHERE NOT tgisinternal"
    return conn.execute(sa.text(sql)).scalar()


def test_new_kinds_and_timeframes_without_touching_child_rows(empty_engine):
    engine = empty_engine
    migrate.upgrade(engine, "0005_security")
    with engine.begin() as conn:
        user, strategy = _seed_old(conn)
        triggers = _triggers(conn)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT kind FROM strategies")).scalar() == "rsi_reversion"
        assert conn.execute(sa.text("SELECT kind FROM strategy_catalog")).scalar() == \
            "rsi_reversion"
        assert conn.execute(sa.text("SELECT COUNT(*) FROM strategy_performance")).scalar() == 1
        assert _triggers(conn) == triggers
        conn.execute(sa.text("UPDATE strategies SET kind = 'supertrend'"))
        _run(conn, "INSERT INTO candles (symbol, exchange, timeframe, ts, open, high, low, "
                   "close, volume, vwap, trades) VALUES ('INFY', 'NSE', '125minute', :ts, "
                   "'1', '2', '1', '2', 10, '1.5', 3)",
             ts=datetime(2026, 12, 1, 3, 45, tzinfo=UTC))
    for bad in ("UPDATE strategies SET kind = 'rsi'",
                "UPDATE candles SET timeframe = '2minute'"):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text(bad))


def test_downgrade_refuses_while_a_new_kind_is_used_then_goes_back(empty_engine):
    engine = empty_engine
    migrate.upgrade(engine, "0005_security")
    with engine.begin() as conn:
        _seed_old(conn)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE strategies SET kind = 'breakout'"))
    # Down to this migration's own revision first: SQLite runs DDL outside the transaction,
    # so a later revision undone in the same refused command would stay undone.
    command.downgrade(migrate.alembic_config(engine), "0006_strategy_kinds")
    with pytest.raises(RuntimeError, match="1 strategies use the breakout or supertrend"):
        command.downgrade(migrate.alembic_config(engine), "0005_security")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE strategies SET kind = 'rsi_reversion'"))
    command.downgrade(migrate.alembic_config(engine), "0005_security")
    with engine.begin() as conn:
        assert conn.execute(sa.text("SELECT kind FROM strategies")).scalar() == "rsi"
        assert conn.execute(sa.text("SELECT COUNT(*) FROM strategy_performance")).scalar() == 1
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
