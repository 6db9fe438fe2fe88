"""Login and sessions: request tokens, the checksum exchange, access-token checks and lapse.

The sandbox user approves every login at once. Request tokens are single-use and live
`request_token_ttl_s`; access tokens lapse at the first 06:00 IST after login (Kite flushes
sessions before each trading day), are revoked by logout or `revoke_all`, and every check
reads the injected clock so tests can move time instead of waiting.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from tui_trader.domain.clock import IST, ensure_utc

from .config import SandboxConfig
from .errors import InputError, TokenError

SESSION_LAPSE_AT = time(6, 0)  # IST
BAD_TOKEN = "Incorrect `api_key` or `access_token`."
LAPSED_TOKEN = "Token is invalid or has expired."


def lapse_time(login_at: datetime) -> datetime:
    """The first 06:00 IST strictly after `login_at`, as a UTC instant."""
    local = ensure_utc(login_at).astimezone(IST)
    lapse = datetime.combine(local.date(), SESSION_LAPSE_AT, tzinfo=IST)
    if lapse <= local:
        lapse += timedelta(days=1)
    return ensure_utc(lapse)


def checksum(api_key: str, request_token: str, api_secret: str) -> str:
    return hashlib.sha256((api_key + request_token + api_secret).encode()).hexdigest()


@dataclass(slots=True)
class Session:
    user_id: str
    api_key: str
    access_token: str
    public_token: str
    login_time: datetime
    expires_at: datetime
    revoked: bool = False


class SessionStore:
    """Thread-safe: the HTTP loop and the test thread (revoke_all) both touch it."""

    def __init__(self, config: SandboxConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._request_tokens: dict[str, datetime] = {}  # token -> expiry (UTC)
        self._sessions: dict[str, Session] = {}

    @property
    def api_key(self) -> str:
        return self._config.api_key

    def _now(self) -> datetime:
        return ensure_utc(self._config.clock.now())

    def issue_request_token(self, api_key: str) -> str:
        if api_key != self._config.api_key:
            raise InputError("Invalid `api_key`.")
        token = secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
        with self._lock:
            ttl = timedelta(seconds=self._config.request_token_ttl_s)
            self._request_tokens[token] = self._now() + ttl
        return token

    def exchange(self, api_key: str, request_token: str, sent_checksum: str) -> Session:
        """POST /session/token: trade a request token and its checksum for a session."""
        if not api_key or not request_token or not sent_checksum:
            raise InputError("Missing `api_key`, `request_token` or `checksum`.")
        if api_key != self._config.api_key:
            raise InputError("Invalid `api_key`.")
        expected = checksum(api_key, request_token, self._config.api_secret)
        if not hmac.compare_digest(expected, sent_checksum.lower()):
            raise TokenError("Invalid `checksum`.")
        now = self._now()
        with self._lock:
            expiry = self._request_tokens.pop(request_token, None)  # single use
            if expiry is None or now >= expiry:
                raise TokenError(LAPSED_TOKEN)
            session = Session(
                user_id=self._config.user_id,
                api_key=api_key,
                access_token=secrets.token_hex(16),
                public_token=secrets.token_hex(16),
                login_time=now,
                expires_at=lapse_time(now),
            )
            self._sessions[session.access_token] = session
        return session

    def create_session(self) -> Session:
        """A session without the redirect dance, for tests and scripted practice."""
        token = self.issue_request_token(self._config.api_key)
        return self.exchange(
            self._config.api_key, token,
            checksum(self._config.api_key, token, self._config.api_secret),
        )

    def check(self, api_key: str | None, access_token: str | None) -> Session:
        if not api_key or not access_token or api_key != self._config.api_key:
            raise TokenError(BAD_TOKEN)
        now = self._now()
        with self._lock:
            session = self._sessions.get(access_token)
            if session is None or session.api_key != api_key:
                raise TokenError(BAD_TOKEN)
            if session.revoked or now >= session.expires_at:
                raise TokenError(LAPSED_TOKEN)
            return session

    def check_header(self, authorization: str | None) -> Session:
        """`Authorization: token api_key:access_token`."""
        if not authorization:
            raise TokenError(BAD_TOKEN)
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "token":
            raise TokenError(BAD_TOKEN)
        api_key, _, access_token = credentials.strip().partition(":")
        return self.check(api_key, access_token)

    def invalidate(self, api_key: str | None, access_token: str | None) -> None:
        if api_key != self._config.api_key or not access_token:
            raise InputError("Invalid `api_key` or `access_token`.")
        with self._lock:
            session = self._sessions.get(access_token)
            if session is not None:
                session.revoked = True

    def revoke_all(self) -> None:
        with self._lock:
            for session in self._sessions.values():
                session.revoked = True
