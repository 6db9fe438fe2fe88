"""The fence between writes of encrypted broker credentials and a master-key rotation.

A writer takes the fence before it seals anything (`hold_for_write`), a rotation takes it
exclusively (`hold_for_rotation`); each holds it until its transaction ends. So a credential
is either written before the rotation reads the rows (and is re-encrypted by it), or sealed
after the rotation committed (under the new key): never sealed under a key about to be
retired and saved behind the rotation's back. Readers are never held up.

PostgreSQL: table locks on broker_accounts (writers ROW EXCLUSIVE, which writers share;
a rotation EXCLUSIVE, which conflicts with them and not with plain reads). SQLite has one
writer at a time: both take the database's write lock, which WAL readers do not wait for.

Each first tries without waiting; if it has to wait it says so (a log line, and the
rotation's `waiting` callback), so an operator -- or a test -- can see who waits for whom.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import Session

from .engine import SQLITE_BUSY_TIMEOUT_MS

log = logging.getLogger(__name__)

_PG_LOCK = "LOCK TABLE broker_accounts IN {mode} MODE"
# Any write takes SQLite's write lock for the rest of the transaction, even one that changes
# no row; this one touches nothing.
_SQLITE_WRITE_LOCK = "UPDATE broker_accounts SET key_id = key_id WHERE 0"
_PG_LOCK_NOT_AVAILABLE = "55P03"


def hold_for_write(session: Session) -> None:
    """Call first in a transaction that will seal or change a credential column."""
    _hold(session, "ROW EXCLUSIVE",
          lambda: log.info("credential write waits for a master-key rotation to finish"))


def hold_for_rotation(session: Session, waiting: Callable[[], None] | None = None) -> None:
    """Call first in the rotation's transaction: no credential write runs until it ends."""

    def announce() -> None:
        log.info("master-key rotation waits for a credential write to finish")
        if waiting is not None:
            waiting()

    _hold(session, "EXCLUSIVE", announce)


def _hold(session: Session, pg_mode: str, announce: Callable[[], None]) -> None:
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        lock = _PG_LOCK.format(mode=pg_mode)
        try:
            with conn.begin_nested():  # a failed NOWAIT must not abort the transaction
                conn.exec_driver_sql(lock + " NOWAIT")
            return
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != _PG_LOCK_NOT_AVAILABLE:
                raise
        announce()
        conn.exec_driver_sql(lock)
        return
    conn.exec_driver_sql("PRAGMA busy_timeout=0")
    try:
        conn.exec_driver_sql(_SQLITE_WRITE_LOCK)
        return
    except sa.exc.OperationalError as exc:
        if "locked" not in str(exc.orig).lower():
            raise
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    announce()
    conn.exec_driver_sql(_SQLITE_WRITE_LOCK)
