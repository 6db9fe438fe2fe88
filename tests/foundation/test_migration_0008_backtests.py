"""Migration 0008_backtests on a database with a stored run: the run keeps everything it had,
gains an empty equity curve and no data range -- and back down again."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from alembic import command

from tui_trader.db import migrate
from tui_trader.db.engine import create_db_engine

from .test_migration_0005 import pg_scratch  # noqa: F401 - a scratch PostgreSQL db

STAMP = "2026-11-20 04:00:00.000000"
NEW = {"kind", "symbol", "interval", "data_source", "data_from", "data_to", "equity_curve"}


def _seed(engine) -> None:
    sqlite = engine.dialect.name == "sqlite"
    user, run = uuid.uuid4(), uuid.uuid4()
    stamp = STAMP if sqlite else STAMP + "+00"
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO users (id, email, password_hash, role, is_active, failed_logins, "
            "created_at, updated_at) VALUES (:id, 'a@example.com', 'x', 'trader', true, 0, "
            ":t, :t)"), {"id": user.hex if sqlite else user, "t": stamp})
        conn.execute(sa.text(
            "INSERT INTO backtest_runs (id, user_id, status, params, strategy_snapshot, "
            "summary, trades, created_at) VALUES (:id, :u, 'DONE', :p, '{}', :s, '[]', :t)"),
            {"id": run.hex if sqlite else run, "u": user.hex if sqlite else user,
             "p": json.dumps({"fill": "next-open"}), "s": json.dumps({"net_pnl": 12.5}),
             "t": stamp})


def _columns(engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("backtest_runs")}


def _cycle(engine) -> None:
    migrate.upgrade(engine, "0007_risk")
    _seed(engine)
    for _ in range(2):
        migrate.upgrade(engine)
        assert NEW <= _columns(engine)
        with engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT summary, equity_curve, kind, data_from FROM backtest_runs")).one()
        loaded = [json.loads(v) if isinstance(v, str) else v for v in row[:2]]
        assert loaded == [{"net_pnl": 12.5}, []] and row.kind is None and row.data_from is None
        command.downgrade(migrate.alembic_config(engine), "0007_risk")
        assert not NEW & _columns(engine)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM backtest_runs")).scalar_one() == 1


def test_sqlite_upgrade_keeps_stored_runs(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _cycle(engine)
    engine.dispose()


def test_postgres_upgrade_keeps_stored_runs(pg_scratch):  # noqa: F811
    engine = create_db_engine(pg_scratch)
    _cycle(engine)
    engine.dispose()
