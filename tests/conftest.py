"""Shared fixtures: the live store and the SQL database, each on the embedded/SQLite default
and, when TUI_TRADER_TEST_REDIS_URL / TUI_TRADER_TEST_DATABASE_URL are set, on the real
servers too. With TUI_TRADER_REQUIRE_SERVERS=1 (CI) a missing server fails, never skips.

Each xdist worker gets its own Redis db number and its own PostgreSQL database, so workers
never see each other's data; runs from two checkouts (git worktrees) on one machine get their
own too, so one run never drops the tables another is using.
"""

from __future__ import annotations

import os
import zlib
from urllib.parse import urlsplit, urlunsplit

import pytest

REDIS_URL = os.environ.get("TUI_TRADER_TEST_REDIS_URL")
DATABASE_URL = os.environ.get("TUI_TRADER_TEST_DATABASE_URL")
REQUIRE = os.environ.get("TUI_TRADER_REQUIRE_SERVERS") == "1"


def worker_index(request: pytest.FixtureRequest) -> int:
    worker = getattr(request.config, "workerinput", {}).get("workerid", "gw0")
    return int(worker.removeprefix("gw") or 0)


def checkout_tag(request: pytest.FixtureRequest) -> str:
    """A short, stable name for this checkout (its root path), to keep runs apart."""
    return f"{zlib.crc32(str(request.config.rootpath).encode()):08x}"


def _missing(what: str) -> None:
    if REQUIRE:
        pytest.fail(f"{what} is required in CI but its URL is not set")
    pytest.skip(f"{what} not configured")


def redis_url_for_worker(request: pytest.FixtureRequest) -> str:
    if not REDIS_URL:
        _missing("TUI_TRADER_TEST_REDIS_URL")
    parts = urlsplit(REDIS_URL)
    # Counting down from the URL's db: two runs given different dbs never share one.
    db = int(parts.path.strip("/") or 15) - worker_index(request)
    blocks = (_redis_databases(REDIS_URL) - 16) // 8
    if blocks > 0:
        # A server started with more than the 16 default dbs (a shared development box):
        # each checkout gets its own block of 8 above them.
        block = int(checkout_tag(request), 16) % blocks
        db = 16 + 8 * block + worker_index(request) % 8
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


_DATABASES: dict[str, int] = {}


def _redis_databases(url: str) -> int:
    """How many numbered dbs the server has (16 unless it was started with more)."""
    if url not in _DATABASES:
        import redis

        client = redis.Redis.from_url(url)
        try:
            _DATABASES[url] = int(client.config_get("databases").get("databases", 16))
        except redis.RedisError:
            _DATABASES[url] = 16
        finally:
            client.close()
    return _DATABASES[url]


@pytest.fixture(params=["embedded", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """None for the embedded store, else a real Redis URL (db flushed before the test)."""
    if request.param == "embedded":
        return None
    url = redis_url_for_worker(request)
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis at {url} unreachable: {exc}")
    finally:
        client.close()
    return url


# -- SQL database --------------------------------------------------------------------------

ALL_TABLES_SQL = None


def pg_url_for_worker(request: pytest.FixtureRequest) -> str:
    if not DATABASE_URL:
        _missing("TUI_TRADER_TEST_DATABASE_URL")
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(DATABASE_URL)
    if base.drivername == "postgresql":
        base = base.set(drivername="postgresql+psycopg")
    # Named after the URL's database and the checkout, so two runs given different ones
    # (or run from two worktrees) never share one.
    name = (f"tui_trader_{base.database or 'test'}_{checkout_tag(request)}_"
            f"{worker_index(request)}")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).first()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"PostgreSQL at {base.host}:{base.port} unreachable: {exc}")
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def _pg_migrated(request: pytest.FixtureRequest) -> str:
    """A per-worker PostgreSQL database at the head revision (built fresh once per run)."""
    import sqlalchemy as sa

    from tui_trader.db import migrate
    from tui_trader.db.engine import create_db_engine

    url = pg_url_for_worker(request)
    engine = create_db_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tui_trader.db import migrate
    from tui_trader.db.engine import create_db_engine

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


def _truncate_pg(url: str) -> None:
    import sqlalchemy as sa

    from tui_trader.db.models import metadata

    engine = sa.create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """A migrated, empty database: a fresh SQLite file, or the worker's PostgreSQL db."""
    if request.param == "sqlite":
        import shutil

        target = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("_pg_migrated")
    _truncate_pg(url)
    return url


@pytest.fixture
def keystore_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUI_TRADER_KEYSTORE", "file")


@pytest.fixture(params=["sqlite+embedded", "postgres+redis"])
def ctx(request: pytest.FixtureRequest, tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A full AppContext on SQLite + embedded store, and on PostgreSQL + real Redis."""
    from datetime import UTC, datetime

    from tui_trader.config import load_settings
    from tui_trader.domain.clock import FrozenClock
    from tui_trader.live.store import connect_store, reset_embedded_store
    from tui_trader.services.context import bootstrap

    monkeypatch.setenv("TUI_TRADER_KEYSTORE", "file")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "config.toml"))
    if request.param == "sqlite+embedded":
        import shutil

        target = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), target)
        db_url, redis_url = f"sqlite:///{target}", None
        reset_embedded_store()
    else:
        db_url = request.getfixturevalue("_pg_migrated")
        _truncate_pg(db_url)
        redis_url = redis_url_for_worker(request)
        connect_store(redis_url).flushdb()
    settings = load_settings(database_url=db_url, redis_url=redis_url,
                             data_dir=tmp_path / "data")
    # Monday 2026-11-23, 09:00 IST: a trading day, before the open.
    clock = FrozenClock(datetime(2026, 11, 23, 3, 30, tzinfo=UTC))
    context = bootstrap(settings, clock=clock)
    yield context
    context.close()
