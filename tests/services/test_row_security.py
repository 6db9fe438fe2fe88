"""Isolation in depth on PostgreSQL: row-level security binds the application's own queries.

Superusers bypass row-level security, so these tests run the application as an ordinary
role (as a deployment should): a service acting for user A cannot see or write user B's rows
even with a query that forgets `user_id`, while the engine and admin paths, which act for
every user, see them all. Also: a strategy's broker account must be its user's (both
databases)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import select

from tui_trader.db.models import BrokerAccount, Notification, Strategy, metadata
from tui_trader.db.repositories import StrategyRepository
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.enums import NotificationKind, Severity
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.strategies import StrategyService

FORM = {"name": "INFY morning", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
        "stop_loss": "1500", "quantity": "10"}


def _admin(url: str) -> sa.Engine:
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture
def app_role_url(request) -> Iterator[str]:
    """The worker's migrated, emptied PostgreSQL database, reached as an ordinary role with
    the privileges a deployment's application role has (no superuser, no BYPASSRLS)."""
    url = request.getfixturevalue("_pg_migrated")
    base = make_url(url)
    role = f"tui_rls_{base.database}"
    admin = _admin(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with admin.connect() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
        if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                        {"r": role}).first() is None:
            conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER NOBYPASSRLS'))
        conn.execute(sa.text(f'GRANT CONNECT ON DATABASE "{base.database}" TO "{role}"'))
        conn.execute(sa.text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(sa.text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA '
                             f'public TO "{role}"'))
    try:
        yield base.set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()


@pytest.fixture
def app_ctx(app_role_url, tmp_path, monkeypatch):
    from tui_trader.config import load_settings
    from tui_trader.live.store import reset_embedded_store
    from tui_trader.services.context import bootstrap

    monkeypatch.setenv("TUI_TRADER_KEYSTORE", "file")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "config.toml"))
    reset_embedded_store()
    settings = load_settings(database_url=app_role_url, data_dir=tmp_path / "data")
    context = bootstrap(settings, clock=FrozenClock(datetime(2026, 11, 23, 3, 30, tzinfo=UTC)))
    yield context
    context.close()


@pytest.fixture
def two_users(app_ctx):
    auth = AuthService(app_ctx)
    a = auth.sign_up("a@example.com", "password-a")
    b = auth.sign_up("b@example.com", "password-b")
    for user in (a, b):
        BrokerAccountService(app_ctx, user.id).add_kite(f"key{user.email[0]}123456",
                                                        "secret-1234", label="Main")
        StrategyService(app_ctx, user.id).create(FORM)
    return a.id, b.id


def _count(s, table: str) -> int:
    return s.connection().execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def test_a_query_that_forgets_user_id_sees_only_the_acting_user(app_ctx, two_users):
    a, b = two_users
    with app_ctx.session() as s:
        StrategyRepository(s, a)  # a service acting for A
        assert [r.user_id for r in s.exec(select(Strategy)).all()] == [a]
        assert {r.user_id for r in s.exec(select(BrokerAccount)).all()} == {a}
        # Writes that forget it too: only A's row changes.
        changed = s.connection().execute(sa.text(
            "UPDATE strategies SET name = name || ' (renamed)'")).rowcount
        assert changed == 1
        s.commit()
        # The next transaction of the same session is still A's.
        assert _count(s, "strategies") == 1 and _count(s, "broker_accounts") == 1
    with app_ctx.session() as s:
        names = {r.user_id: r.name for r in s.exec(select(Strategy)).all()}
    assert names == {a: "INFY morning (renamed)", b: "INFY morning"}


def test_acting_for_one_user_cannot_write_anothers_rows(app_ctx, two_users):
    a, b = two_users
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
            app_ctx.session() as s:
        StrategyRepository(s, a)
        s.add(Notification(user_id=b, kind=NotificationKind.SYSTEM, severity=Severity.INFO,
                           title="planted", body="for someone else"))
        s.flush()
    with app_ctx.session() as s:
        assert s.exec(select(Notification)).all() == []


def test_engine_and_admin_paths_act_for_every_user(app_ctx, two_users):
    """The connections start acting for everyone: the engine's claim (its own driver
    connection) and the admin's key rotation reach every user's rows."""
    from tui_trader.engine.embedded import EmbeddedEngine
    from tui_trader.engine.scheduler import ManualSchedule
    from tui_trader.services.brokers import rotate_master_key

    a, b = two_users
    with app_ctx.session() as s:
        assert {r.user_id for r in s.exec(select(Strategy)).all()} == {a, b}
        ids = {r.user_id: r.id for r in s.exec(select(Strategy)).all()}
    report = rotate_master_key(app_ctx)
    assert report.ok and report.rotated == 4, report.summary()

    engine = EmbeddedEngine(app_ctx, runner=ManualSchedule(), consumer="rls")
    engine.start(threads=False)
    try:
        for user, strategy in ids.items():
            engine.start_strategy(user, strategy)
        from decimal import Decimal

        from tui_trader.brokers.feeds.base import Tick
        from tui_trader.domain.clock import IST

        engine.on_ticks([Tick("INFY", Decimal("1520"), app_ctx.clock.now(), 1, 1)])
        local = app_ctx.clock.now().astimezone(IST)
        app_ctx.clock.set(local.replace(hour=9, minute=30))
        engine.scheduler.runner.run_due(app_ctx.clock.now())
        engine.executor.drain()
    finally:
        engine.stop()
    with app_ctx.db.connect() as conn:
        filled = conn.execute(sa.text(
            "SELECT user_id FROM orders WHERE status = 'FILLED'")).scalars().all()
    assert sorted(filled) == sorted([a, b])


def test_a_connection_acting_for_nobody_sees_nothing(app_role_url, two_users):
    url = make_url(app_role_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as conn:
        for table in ("strategies", "broker_accounts", "user_sessions"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (2,)


def test_every_per_user_table_has_forced_row_security(app_ctx):
    """A table added later with a user_id column and no policy fails here."""
    with app_ctx.db.connect() as conn:
        per_user = set(conn.execute(sa.text(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = "
            "'public' AND column_name = 'user_id'")).scalars())
        guarded = set(conn.execute(sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname "
            "WHERE c.relrowsecurity AND c.relforcerowsecurity AND p.schemaname = 'public'"
        )).scalars())
    assert per_user and per_user <= guarded, sorted(per_user - guarded)


# -- a strategy's broker account is its user's (both databases) -----------------------------

def test_a_strategy_cannot_use_another_users_account(ctx):
    auth = AuthService(ctx)
    a = auth.sign_up("a@example.com", "password-a")
    b = auth.sign_up("b@example.com", "password-b")
    theirs = BrokerAccountService(ctx, b.id).add_kite("keyB123456", "secret-b", label="B")
    mine = BrokerAccountService(ctx, a.id).add_kite("keyA123456", "secret-a", label="A")
    strategy = StrategyService(ctx, a.id).create(FORM)

    def param(value: uuid.UUID):
        return value.hex if ctx.db.dialect.name == "sqlite" else value

    with pytest.raises(sa.exc.IntegrityError), ctx.db.begin() as conn:
        conn.execute(sa.text("UPDATE strategies SET broker_account_id = :acc WHERE id = :id"),
                     {"acc": param(theirs.id), "id": param(strategy.id)})
    with ctx.db.begin() as conn:  # its own account is fine
        conn.execute(sa.text("UPDATE strategies SET broker_account_id = :acc WHERE id = :id"),
                     {"acc": param(mine.id), "id": param(strategy.id)})
    with pytest.raises(sa.exc.IntegrityError), ctx.db.begin() as conn:
        conn.execute(sa.text("UPDATE broker_accounts SET user_id = :b WHERE id = :acc"),
                     {"b": param(b.id), "acc": param(mine.id)})
