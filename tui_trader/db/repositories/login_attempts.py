"""Failed-login counting per email address, in one atomic statement per attempt.

Every login attempt first reserves a slot: one conditional upsert counts it (and locks the
address when it is the limit-th) unless the address is locked, and says which. The password
is checked only after the slot is won, so however many attempts race, at most `limit` of
them ever reach a password check per lock period.

Rows are for addresses that exist and addresses that do not alike (the key is a hash of the
address); a row whose round is over (its lock ended, or its last attempt is older than the
window) is deleted when any new round starts, and the table is capped, so made-up addresses
cannot fill the database: each row costs the caller one password check, and lives for at
most a window and a lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from ..models import LoginAttempt
from ..types import UTCDateTime

TABLE = LoginAttempt.__table__
# Far above any real desk's traffic inside one window; past it the rows idle longest (never
# a locked one) make room. Only reached by a flood of made-up addresses.
MAX_TRACKED = 50_000


def email_key(address: str) -> str:
    """The row key of a normalised (stripped, lower-case) address."""
    return hashlib.sha256(b"tui-trader login:" + address.encode("utf-8", "surrogatepass")
                          ).hexdigest()


@dataclass(frozen=True)
class Reservation:
    """The outcome of reserving one attempt.

    granted: the password may be checked; `failures` attempts (this one included) are
    counted in this round, and `locked_until` is set when this attempt was the last one.
    Not granted: the address is locked until `locked_until`.
    """

    granted: bool
    failures: int
    locked_until: datetime | None


class LoginAttemptRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def reserve(self, key: str, now: datetime, *, limit: int, lock_for: timedelta,
                window: timedelta) -> Reservation:
        """Count one attempt for `key` unless it is locked, atomically, and say which.

        A round is over, and counting starts again at 1, when its lock has ended or its
        last attempt is older than `window`. The attempt that makes `limit` locks the
        address for `lock_for`; it is still checked (the right password clears the lock).
        """
        conn = self.session.connection()
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)
        lock_end = now + lock_for
        existing = TABLE.c
        over = sa.or_(existing.locked_until <= now, existing.updated_at <= now - window)
        counted = sa.case((over, 1), else_=existing.failures + 1)
        stmt = insert(TABLE).values(
            email_key=key, failures=1, locked_until=lock_end if limit <= 1 else None,
            updated_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[existing.email_key],
            set_={"failures": counted,
                  "locked_until": sa.case(
                      (counted >= limit, sa.literal(lock_end, UTCDateTime)), else_=None),
                  "updated_at": now},
            where=sa.or_(existing.locked_until.is_(None), existing.locked_until <= now),
        ).returning(TABLE.c.failures, TABLE.c.locked_until)
        row = conn.execute(stmt).first()
        if row is None:  # locked: the conditional update matched nothing
            locked_until = conn.execute(sa.select(existing.locked_until).where(
                existing.email_key == key)).scalar_one()
            return Reservation(False, limit, locked_until)
        if row.failures == 1:
            self._prune(now, window)
        return Reservation(True, row.failures, row.locked_until)

    def clear(self, key: str) -> bool:
        """Forget the address's failures and lock (a right password, or an admin's unlock);
        True when there was something to forget."""
        result = self.session.connection().execute(
            TABLE.delete().where(TABLE.c.email_key == key))
        return bool(result.rowcount)

    def locked_until(self, key: str, now: datetime) -> datetime | None:
        """When the address's lock ends, if it is locked now."""
        until = self.session.connection().execute(sa.select(TABLE.c.locked_until).where(
            TABLE.c.email_key == key)).scalar()
        return until if until is not None and until > now else None

    def _prune(self, now: datetime, window: timedelta) -> None:
        """Delete rounds that are over; past MAX_TRACKED rows, the longest idle unlocked
        ones too."""
        conn = self.session.connection()
        c = TABLE.c
        unlocked = sa.or_(c.locked_until.is_(None), c.locked_until <= now)
        conn.execute(TABLE.delete().where(c.updated_at <= now - window, unlocked))
        count = conn.execute(sa.select(sa.func.count()).select_from(TABLE)).scalar_one()
        if count > MAX_TRACKED:
            idle = sa.select(c.email_key).where(unlocked).order_by(c.updated_at).limit(
                count - MAX_TRACKED)
            conn.execute(TABLE.delete().where(c.email_key.in_(idle)))
