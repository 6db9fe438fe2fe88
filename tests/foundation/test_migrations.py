"""Migrations build exactly the models' schema, on an empty SQLite file and on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tui_trader.db import migrate
from tui_trader.db.engine import create_db_engine
from tui_trader.db.models import metadata

EXPECTED = {
    "users", "user_sessions", "broker_accounts", "token_refresh_log", "instruments",
    "strategies", "strategy_catalog", "user_strategies", "orders", "order_history",
    "positions", "position_history", "risk_rules", "risk_events", "notifications",
    "trading_sessions", "strategy_performance", "ticks", "candles", "order_book_snapshots",
    "indicator_values", "backtest_runs", "system_logs", "risk_states",
    "notification_channels", "notification_preferences", "audit_events",
}


def _assert_matches_models(engine):
    assert EXPECTED <= set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                metadata)
    assert diff == []
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_upgrade_on_empty_sqlite(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    before, after = migrate.upgrade(engine)
    assert before is None and after == migrate.head_revision(engine)
    _assert_matches_models(engine)
    assert migrate.upgrade(engine) == (after, after)  # idempotent
    assert not migrate.timescale_available(engine)


def test_upgrade_on_postgres(_pg_migrated):
    engine = create_db_engine(_pg_migrated)
    _assert_matches_models(engine)
    # No TimescaleDB on these machines: detected, so the market tables stay plain tables.
    if not migrate.timescale_available(engine):
        with engine.connect() as conn:
            kinds = conn.execute(sa.text(
                "SELECT relname, relkind FROM pg_class WHERE relname IN ('ticks', 'candles')"
            )).all()
        assert {k for _, k in kinds} == {"r"}
    engine.dispose()


def test_downgrade_then_upgrade_sqlite(tmp_path):
    from alembic import command

    engine = create_db_engine(f"sqlite:///{tmp_path / 'cycle.db'}")
    migrate.upgrade(engine)
    command.downgrade(migrate.alembic_config(engine), "base")
    assert "strategies" not in sa.inspect(engine).get_table_names()
    migrate.upgrade(engine)
    _assert_matches_models(engine)
