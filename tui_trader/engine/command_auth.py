"""Who may command the engine over the live store: only a signed-in session of the user a
command acts for.

A command names its user (`user_id`) and session (`session`, a user_sessions id) and is
signed with that session's key (engine/remote.py). It is carried out only if the session
exists, is that user's, was not logged out, has not expired (on the engine's clock), its
user is still active, the signature matches, and the request id was not seen before. Any
other command is refused with one line that says so; the listener logs it.
"""

from __future__ import annotations

import hmac
import uuid

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..db.models import User, UserSession
from ..domain.clock import Clock
from ..domain.errors import AuthError
from .remote import REPLY_TTL_S, command_signature

SESSIONS = UserSession.__table__
USERS = User.__table__


def seen_key(request_id: str) -> str:
    """Set once per accepted request id: a replayed command finds it taken."""
    return f"control:seen:{request_id}"


class CommandRefused(AuthError):
    def __init__(self, why: str) -> None:
        super().__init__(f"engine: command refused: {why}")


class CommandAuthority:
    def __init__(self, db: Engine, store: redis.Redis, clock: Clock) -> None:
        self._db = db
        self._store = store
        self._clock = clock

    def check(self, fields: dict[str, str]) -> None:
        """Return if the command may be carried out; CommandRefused saying why if not."""
        user_id = _uuid(fields.get("user_id"))
        session_id = _uuid(fields.get("session"))
        signature = fields.get("signature") or ""
        if user_id is None or session_id is None or not signature:
            raise CommandRefused("not signed by a signed-in session")
        with self._db.connect() as conn:
            row = conn.execute(
                sa.select(SESSIONS.c.user_id, SESSIONS.c.token_hash, SESSIONS.c.expires_at,
                          SESSIONS.c.revoked_at, USERS.c.is_active)
                .join(USERS, USERS.c.id == SESSIONS.c.user_id)
                .where(SESSIONS.c.id == session_id)).first()
        # The same answer whether the session is unknown or someone else's: nothing to probe.
        if row is None or row.user_id != user_id or not hmac.compare_digest(
                command_signature(row.token_hash, fields), signature):
            raise CommandRefused("not signed by a session of this user")
        if row.revoked_at is not None:
            raise CommandRefused("the session was logged out; log in again")
        if row.expires_at <= self._clock.now():
            raise CommandRefused("the session has expired; log in again")
        if not row.is_active:
            raise CommandRefused("the account is no longer active")
        request_id = fields.get("request_id") or ""
        if not request_id or not self._store.set(seen_key(request_id), "1", nx=True,
                                                 ex=REPLY_TTL_S):
            raise CommandRefused("already carried out once (a replay)")


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text or "")
    except ValueError:
        return None
