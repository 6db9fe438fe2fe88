"""Migration 0005_security on a database with data: every row kept, and a strategy whose
broker account belongs to another user detached from it and stopped before the rule that
forbids it is installed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tui_trader.db import migrate
from tui_trader.db.engine import create_db_engine

STAMP = "2026-11-20 04:00:00.000000"


def _seed_0004(engine) -> dict[str, uuid.UUID]:
    ids = {name: uuid.uuid4() for name in ("a", "b", "account_b", "strategy_a", "note_a")}

    def key(name: str):
        return ids[name].hex if engine.dialect.name == "sqlite" else ids[name]

    stamp = STAMP if engine.dialect.name == "sqlite" else STAMP + "+00"
    with engine.begin() as conn:
        for who in ("a", "b"):
            conn.execute(sa.text(
                "INSERT INTO users (id, email, password_hash, role, is_active, failed_logins, "
                "created_at, updated_at) VALUES (:id, :email, 'x', 'trader', true, 0, "
                ":t, :t)"), {"id": key(who), "email": f"{who}@example.com", "t": stamp})
        conn.execute(sa.text(
            "INSERT INTO broker_accounts (id, user_id, broker, label, is_active, created_at, "
            "updated_at) VALUES (:id, :u, 'kite', 'B main', true, :t, :t)"),
            {"id": key("account_b"), "u": key("b"), "t": stamp})
        conn.execute(sa.text(
            "INSERT INTO strategies (id, user_id, broker_account_id, name, kind, symbol, "
            "exchange, buy_time, sell_time, stop_loss, quantity, parameters, execution_mode, "
            "status, created_at, updated_at) VALUES (:id, :u, :acc, 'planted', 'scheduled', "
            "'INFY', 'NSE', '09:30:00', '15:00:00', '1500', 1, '{}', 'LIVE', 'running', :t, "
            ":t)"), {"id": key("strategy_a"), "u": key("a"), "acc": key("account_b"),
                     "t": stamp})
        conn.execute(sa.text(
            "INSERT INTO notifications (id, user_id, kind, severity, title, body, is_read, "
            "created_at) VALUES (:id, :u, 'FILL', 'INFO', 't', 'b', false, :t)"),
            {"id": key("note_a"), "u": key("a"), "t": stamp})
    return ids


def _check_upgraded(engine) -> None:
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 2
        assert conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar_one() == 1
        row = conn.execute(sa.text(
            "SELECT broker_account_id, status, status_reason FROM strategies")).one()
    assert row.broker_account_id is None and row.status == "stopped"
    assert "belonged to another user" in row.status_reason


def test_sqlite_upgrade_keeps_every_row(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine, "0004")
    _seed_0004(engine)
    migrate.upgrade(engine)
    _check_upgraded(engine)
    engine.dispose()


@pytest.fixture
def pg_scratch(request) -> Iterator[str]:
    """An empty PostgreSQL database of this test's own (beside the worker's)."""
    base = make_url(request.getfixturevalue("_pg_migrated"))
    name = f"{base.database}_m0005"
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgres_upgrade_keeps_every_row(pg_scratch):
    engine = create_db_engine(pg_scratch)
    migrate.upgrade(engine, "0004")
    _seed_0004(engine)
    migrate.upgrade(engine)
    _check_upgraded(engine)
    engine.dispose()
