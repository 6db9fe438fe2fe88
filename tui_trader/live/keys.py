"""Every Redis key name the system uses, built in one place.

The names are the seed schema's (`user:{id}`, `strategy:{id}`, `runtime:{id}`, ...), kept
exactly so `redis-cli` sessions and the seed documents read the same. `schema/redis-keys.md`
documents each key's type, fields, writers, readers and lifetime; keep the two in step.

Ids may be given as UUIDs or strings; they are rendered with `str()` (lower-case, hyphenated).
"""

from __future__ import annotations

from uuid import UUID

__all__ = [
    "ORDER_QUEUE",
    "ORDER_GROUP",
    "RUNNING_STRATEGIES",
    "SENTINEL",
    "daily_stats",
    "engine_events",
    "events",
    "price",
    "runtime",
    "runtime_lock",
    "strategy",
    "symbol_strategies",
    "user",
]

Id = UUID | str

# The order stream (a Stream, not the seed's List: an entry survives its consumer's crash).
ORDER_QUEUE = "queue:orders"
ORDER_GROUP = "executors"

# Written by the engine once its live state is complete; its absence means Redis lost (or
# never had) our data and the engine must rebuild from SQL.
SENTINEL = "tui:sentinel"

# Set of ids that have a `strategy:{id}` hash; avoids SCANning the keyspace at start-up.
RUNNING_STRATEGIES = "strategies:running"


def user(user_id: Id) -> str:
    return f"user:{user_id}"


def strategy(strategy_id: Id) -> str:
    return f"strategy:{strategy_id}"


def runtime(strategy_id: Id) -> str:
    return f"runtime:{strategy_id}"


def runtime_lock(strategy_id: Id) -> str:
    return f"runtime:{strategy_id}:lock"


def symbol_strategies(symbol: str) -> str:
    return f"symbol:{symbol}:strategies"


def price(symbol: str) -> str:
    return f"price:{symbol}"


def daily_stats(strategy_id: Id) -> str:
    """One hash per strategy holding the current IST trading day's counters; its `day` field
    says which day, and the first increment on a new day resets the counters."""
    return f"stats:daily:{strategy_id}"


def events(user_id: Id, db: int) -> str:
    """Pub/sub channel carrying one user's live updates to every UI they have open.

    Pub/sub channels belong to the whole Redis server, not to a database: the database
    number is in the name, so two deployments sharing a server on different databases never
    see each other's events (`store.db_number(client)` gives it)."""
    return f"events:{db}:{user_id}"


def engine_events(db: int) -> str:
    """Pub/sub channel of engine-wide status, for every console of the deployment."""
    return f"events:{db}:engine"


def alert_claim(name: str) -> str:
    """Set (NX, a day's expiry) by the process that sends a notification out to external
    channels, so two relays of one deployment send it once (services.notify_relay)."""
    return f"alerts:sent:{name}"


def prune_claim(day: str) -> str:
    """Set (NX, two days' expiry) by the engine process that runs a day's retention prune,
    so of several engine processes one prunes (services.maintenance)."""
    return f"maintenance:pruned:{day}"
