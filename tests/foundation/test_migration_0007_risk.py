"""Migration 0007_risk on a database with data: risk rules carried over to the renamed
columns, old risk events kept under the new rule names, the new per-user risk_states table
under row-level security on PostgreSQL -- and back down again."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic import command

from tui_trader.db import migrate
from tui_trader.db.engine import create_db_engine

from .test_migration_0005 import pg_scratch  # noqa: F401 - a scratch PostgreSQL db

STAMP = "2026-11-20 04:00:00.000000"


def _seed_0005(engine) -> None:
    sqlite = engine.dialect.name == "sqlite"
    ids = {name: uuid.uuid4() for name in ("a", "b", "rules_a", "rules_b", "event")}

    def key(name: str):
        return ids[name].hex if sqlite else ids[name]

    stamp = STAMP if sqlite else STAMP + "+00"
    with engine.begin() as conn:
        for who in ("a", "b"):
            conn.execute(sa.text(
                "INSERT INTO users (id, email, password_hash, role, is_active, failed_logins, "
                "created_at, updated_at) VALUES (:id, :email, 'x', 'trader', true, 0, "
                ":t, :t)"), {"id": key(who), "email": f"{who}@example.com", "t": stamp})
        rules = ("INSERT INTO risk_rules (id, user_id, daily_loss_limit, max_position_size, "
                 "max_drawdown_pct, max_risk_per_trade, is_active, created_at, updated_at) "
                 "VALUES (:id, :u, :loss, :size, :dd, :risk, true, :t, :t)")
        conn.execute(sa.text(rules), {"id": key("rules_a"), "u": key("a"), "loss": "5000",
                                      "size": 200000, "dd": "3", "risk": "1.5", "t": stamp})
        conn.execute(sa.text(rules), {"id": key("rules_b"), "u": key("b"), "loss": None,
                                      "size": None, "dd": None, "risk": "2500", "t": stamp})
        conn.execute(sa.text(
            "INSERT INTO risk_events (id, user_id, rule, message, observed, limit_value, "
            "created_at) VALUES (:id, :u, 'MAX_POSITION_SIZE', 'too big', '250000', "
            "'200000', :t)"), {"id": key("event"), "u": key("a"), "t": stamp})


def _check_upgraded(engine) -> None:
    with engine.connect() as conn:
        rules = conn.execute(sa.text(
            "SELECT u.email, r.daily_loss_limit, r.max_position_value, r.max_drawdown_pct, "
            "r.max_risk_per_trade_pct FROM risk_rules r JOIN users u ON u.id = r.user_id "
            "ORDER BY u.email")).all()
        event = conn.execute(sa.text(
            "SELECT rule, kind, message, details FROM risk_events")).one()
    as_numbers = [tuple(None if v is None else float(v) for v in row[1:]) for row in rules]
    assert [row[0] for row in rules] == ["a@example.com", "b@example.com"]
    # a per-trade risk of 2,500 was never a percentage: dropped, not clipped
    assert as_numbers == [(5000, 200000, 3, 1.5), (None, None, None, None)]
    assert (event.rule, event.kind, event.message) == ("MAX_POSITION_VALUE", "DENIAL",
                                                       "too big")
    assert event.details in ({}, "{}")
    # the rule's CHECK is back, with the new names only
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("UPDATE risk_events SET rule = 'MAX_POSITION_SIZE'"))


def _check_downgraded(engine) -> None:
    with engine.connect() as conn:
        assert "risk_states" not in sa.inspect(conn).get_table_names()
        rules = conn.execute(sa.text(
            "SELECT max_position_size, max_risk_per_trade FROM risk_rules "
            "ORDER BY max_position_size")).all()
        assert conn.execute(sa.text("SELECT rule FROM risk_events")).scalar_one() == \
            "MAX_POSITION_SIZE"
    assert [(r[0], None if r[1] is None else float(r[1])) for r in rules] in (
        [(200000, 1.5), (None, None)], [(None, None), (200000, 1.5)])


def _cycle(engine) -> None:
    migrate.upgrade(engine, "0006_strategy_kinds")
    _seed_0005(engine)
    migrate.upgrade(engine)
    _check_upgraded(engine)
    command.downgrade(migrate.alembic_config(engine), "0006_strategy_kinds")
    _check_downgraded(engine)
    migrate.upgrade(engine)
    _check_upgraded(engine)


def test_sqlite_upgrade_keeps_every_rule_and_event(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _cycle(engine)
    engine.dispose()


def test_postgres_upgrade_keeps_every_rule_and_event(pg_scratch):  # noqa: F811
    engine = create_db_engine(pg_scratch)
    _cycle(engine)
    with engine.connect() as conn:
        secured = conn.execute(sa.text(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = 'risk_states'")).one()
        policies = conn.execute(sa.text(
            "SELECT policyname FROM pg_policies WHERE tablename = 'risk_states'")).scalars()
        assert tuple(secured) == (True, True) and list(policies) == ["acting_user"]
    engine.dispose()
