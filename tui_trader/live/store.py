"""Connecting to the live store: a real Redis by URL, or the embedded in-process one.

Owns the one process-wide embedded server. With no URL configured every client made here
(engine thread, UI, tests) talks to the same `fakeredis.FakeServer`, so the process behaves
exactly as it would against one shared real Redis. Nothing above this module needs to know
which kind it got; `store_kind` says so for the status bar.
"""

from __future__ import annotations

import threading
from typing import Literal
from urllib.parse import unquote, urlsplit

import fakeredis
import redis

from tui_trader.domain.errors import ConfigError

__all__ = ["SETTING", "StoreKind", "connect_store", "db_number", "private_embedded_store",
           "reset_embedded_store", "store_kind"]

SETTING = "TUI_TRADER_REDIS_URL"

StoreKind = Literal["embedded", "redis"]

# Short connect timeout: a wrong host should fail the start-up in seconds, not minutes.
CONNECT_TIMEOUT_S = 3.0
# The read timeout bounds a hung server. Blocking reads on the order stream must block for
# less than this (OrderQueue checks), or redis-py would report a healthy idle wait as a timeout.
SOCKET_TIMEOUT_S = 15.0

# The version the embedded server claims; commands we use (XAUTOCLAIM, SET PX NX, ...) need 6.2+.
_EMBEDDED_VERSION = (7, 4)

_server_lock = threading.Lock()
_server: fakeredis.FakeServer | None = None


def _embedded_server() -> fakeredis.FakeServer:
    global _server
    with _server_lock:
        if _server is None:
            _server = fakeredis.FakeServer(version=_EMBEDDED_VERSION)
        return _server


def private_embedded_store() -> redis.Redis:
    """A client of a new embedded server of its own, shared with nobody else in the
    process: a practice day's live state never meets the real one's."""
    return fakeredis.FakeRedis(server=fakeredis.FakeServer(version=_EMBEDDED_VERSION),
                               version=_EMBEDDED_VERSION, decode_responses=True)


def connect_store(url: str | None) -> redis.Redis:
    """A client with `decode_responses=True`: embedded for `None`, else the Redis at `url`.

    A real server is PINGed before returning; any failure becomes one `ConfigError` naming
    TUI_TRADER_REDIS_URL and host:port, never the password the URL may carry.
    """
    if url is None or not url.strip():
        return fakeredis.FakeRedis(
            server=_embedded_server(), version=_EMBEDDED_VERSION, decode_responses=True
        )
    where = _describe(url)
    # Detect connections silently dropped by NAT/firewalls on long-lived engines (TCP only:
    # a unix socket has no keepalive, and its connection class refuses the option).
    tcp = {} if urlsplit(url).scheme == "unix" else {"socket_keepalive": True}
    try:
        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=SOCKET_TIMEOUT_S,
            health_check_interval=30,
            **tcp,
        )
    except ValueError as exc:  # bad scheme, bad db number, ...
        reason = _scrub(str(exc), url)
        raise ConfigError(SETTING, f"invalid Redis URL for {where} ({reason})") from None
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        reason = _scrub(str(exc) or type(exc).__name__, url)
        # `from None`: the chained exception's text could echo connection details.
        raise ConfigError(SETTING, f"cannot reach Redis at {where} ({reason})") from None
    return client


def reset_embedded_store() -> None:
    """Empty the embedded store (all dbs) for tests and benchmarks.

    The server object is kept, not replaced, so clients made earlier keep sharing data with
    clients made later.
    """
    client = fakeredis.FakeRedis(server=_embedded_server(), version=_EMBEDDED_VERSION)
    try:
        client.flushall()
    finally:
        client.close()


def db_number(client: redis.Redis) -> int:
    """The database a client uses (what namespaces the server-wide pub/sub channels)."""
    return int(client.connection_pool.connection_kwargs.get("db") or 0)


def store_kind(client: redis.Redis) -> StoreKind:
    """'embedded' for the in-process store, 'redis' for a real server."""
    if isinstance(client, fakeredis.FakeRedis | fakeredis.FakeStrictRedis):
        return "embedded"
    return "redis"


def _describe(url: str) -> str:
    """host:port (or the socket path) of a Redis URL, without user or password."""
    try:
        parts = urlsplit(url)
        if parts.scheme == "unix":
            return parts.path or "unix socket"
        host = parts.hostname or "localhost"
        port = parts.port or 6379
    except ValueError:  # e.g. a non-numeric port
        return "the configured URL"
    return f"{host}:{port}"


def _scrub(text: str, url: str) -> str:
    """Remove the URL's password (and the URL itself) from an error text, just in case."""
    try:
        secret = urlsplit(url).password
    except ValueError:
        secret = None
    text = text.replace(url, "<url>")
    if secret:
        # The URL may carry it percent-encoded; redis-py uses the decoded form.
        for form in {secret, unquote(secret)}:
            text = text.replace(form, "***")
    return text
