"""Create the SQLAlchemy engine for the configured URL and prove it is reachable.

SQLite gets WAL, foreign keys and a busy timeout (several threads write: the engine and the
UI's workers); PostgreSQL gets psycopg 3 with pre-ping. A bad URL or unreachable server is a
ConfigError naming TUI_TRADER_DATABASE_URL and what was tried, never the password.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from ..domain.errors import ConfigError
from ..security.files import private_dir, private_file, tighten_if_present
from . import row_security
from .row_security import CONNECT_OPTIONS

SETTING = "TUI_TRADER_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 10_000  # how long a SQLite writer waits for another to commit


def describe(url: URL) -> str:
    """Where a URL points, without credentials."""
    if url.get_backend_name() == "sqlite":
        return f"sqlite file {url.database or ':memory:'}"
    return f"{url.get_backend_name()} at {url.host or 'localhost'}:{url.port or 5432}/" \
           f"{url.database or ''}"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _prepare_sqlite_file(path: Path) -> None:
    """The database file made 0600 before SQLite opens it: SQLite gives its WAL and shared
    memory files the database's mode, so they are private too. A directory that cannot be
    made or written is one ConfigError naming it."""
    try:
        if not path.parent.is_dir():
            private_dir(path.parent, tighten=False)
        private_file(path)
        for suffix in ("-wal", "-shm", "-journal"):  # left by an earlier, looser run
            tighten_if_present(path.with_name(path.name + suffix))
    except OSError as exc:
        where = path if path.parent.is_dir() else path.parent
        raise ConfigError(SETTING, f"cannot create the SQLite file {path}: "
                                   f"{exc.strerror or type(exc).__name__} ({where})") from None


def create_db_engine(url_text: str, *, check: bool = True) -> Engine:
    try:
        url = make_url(url_text)
    except ArgumentError:
        raise ConfigError(SETTING, "not a database URL (expected sqlite:///path or "
                                   "postgresql://user@host/db)") from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            _prepare_sqlite_file(Path(url.database).expanduser())
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        # Row-level security: the engine and admin work act for every user (row_security).
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8,
                                  connect_args={"connect_timeout": 5,
                                                "options": CONNECT_OPTIONS})
    else:
        raise ConfigError(SETTING, f"unsupported database '{backend}' (use sqlite or postgresql)")
    if check:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except (OperationalError, SQLAlchemyError) as exc:
            reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:160]
            if url.password:
                reason = reason.replace(str(url.password), "********")
            engine.dispose()
            raise ConfigError(SETTING, f"cannot connect to {describe(url)} ({reason})") from None
    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, class_=Session, expire_on_commit=False)
    row_security.install(factory)
    return factory
