"""Atomic per-strategy transitions: the lock and position of `runtime:{id}`, done in Lua.

Owns the position state machine none -> bought -> sold and the lock that makes each step
happen once. An executor calls `acquire` (check the event is allowed and take the lock, one
round trip), places the order, then `complete` (record position + order id and free the lock,
one round trip) or `release` (give up without a transition). Each is a single EVALSHA, so two
executors on two machines can never both win the same transition.

The Lua sources live in `live/lua/*.lua`; each is read once per process and registered once
per client (redis-py then sends only its SHA, reloading it if the server lost its cache).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from uuid import UUID

import redis
from redis.commands.core import Script

from tui_trader.domain.enums import RuntimePosition, TriggerEvent
from tui_trader.domain.lifecycle import RUNTIME, IllegalTransition

from . import keys

__all__ = [
    "ORDER_FIELDS",
    "REQUIRED_POSITION",
    "AcquireResult",
    "AcquireStatus",
    "CompleteStatus",
    "PositionLocks",
    "load_lua",
    "new_owner_token",
    "next_position",
    "order_field_for",
]

# The one place the transition rules live; the Lua script only compares against what it is given.
REQUIRED_POSITION: Mapping[TriggerEvent, RuntimePosition] = MappingProxyType(
    {
        TriggerEvent.BUY: RuntimePosition.NONE,
        TriggerEvent.SELL: RuntimePosition.BOUGHT,
        TriggerEvent.STOPLOSS: RuntimePosition.BOUGHT,
        TriggerEvent.EXIT: RuntimePosition.BOUGHT,
    }
)

ORDER_FIELDS = frozenset({"last_buy_order", "last_sell_order"})


class AcquireStatus(StrEnum):
    OK = "OK"
    BUSY = "BUSY"  # another executor holds the lock
    NOT_ALLOWED = "NOT_ALLOWED"  # the position does not allow this event (e.g. SELL before BUY)
    MISSING = "MISSING"  # no runtime:{id}: strategy stopped, or Redis lost its data


class CompleteStatus(StrEnum):
    OK = "OK"
    LOST_LOCK = "LOST_LOCK"  # the lock expired or is someone else's; nothing was written


@dataclass(frozen=True, slots=True)
class AcquireResult:
    status: AcquireStatus
    position: RuntimePosition | None  # as seen by the script; None when MISSING

    @property
    def ok(self) -> bool:
        return self.status is AcquireStatus.OK


def new_owner_token() -> str:
    """A fresh lock owner token (unique per attempt, so a retry by the same executor of the
    same event after losing the lock cannot be confused with its earlier attempt)."""
    return uuid.uuid4().hex


def next_position(event: TriggerEvent) -> RuntimePosition:
    """The position a filled order for `event` leaves the strategy in."""
    return RuntimePosition.BOUGHT if event is TriggerEvent.BUY else RuntimePosition.SOLD


def order_field_for(event: TriggerEvent) -> str:
    """The runtime hash field that records the order placed for `event`."""
    return "last_buy_order" if event is TriggerEvent.BUY else "last_sell_order"


def _sources(to: RuntimePosition) -> str:
    """The positions the RUNTIME table allows to move to `to`, as the scripts take them."""
    return ",".join(before.value for before, after in RUNTIME.all_moves() if after is to)


@cache
def load_lua(name: str) -> str:
    """The source of `live/lua/{name}.lua`, read once per process."""
    return files("tui_trader.live.lua").joinpath(f"{name}.lua").read_text(encoding="utf-8")


class PositionLocks:
    """The lock/transition scripts bound to one client. Thread-safe (redis-py clients are)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._acquire: Script = client.register_script(load_lua("acquire"))
        self._complete: Script = client.register_script(load_lua("complete"))
        self._release: Script = client.register_script(load_lua("release"))
        self._extend: Script = client.register_script(load_lua("extend"))
        self._move: Script = client.register_script(load_lua("move"))

    def acquire(
        self, strategy_id: UUID | str, event: TriggerEvent, owner_token: str, ttl_ms: int
    ) -> AcquireResult:
        """Take the strategy's lock for `event` if its position allows it. One round trip.

        The TTL bounds how long a crashed executor can block the strategy; keep it above the
        broker call's timeout (or `extend` it) so a slow but live owner does not lose it.
        """
        if ttl_ms <= 0:
            raise ValueError("ttl_ms must be positive")
        if not owner_token:
            raise ValueError("owner_token must not be empty")
        required = REQUIRED_POSITION[TriggerEvent(event)]
        status, position = self._acquire(
            keys=[keys.runtime(strategy_id), keys.runtime_lock(strategy_id)],
            args=[required.value, owner_token, int(ttl_ms)],
        )
        return AcquireResult(
            AcquireStatus(status), RuntimePosition(position) if position else None
        )

    def complete(
        self,
        strategy_id: UUID | str,
        owner_token: str,
        new_position: RuntimePosition,
        order_field: str | None,
        order_id: str | None,
    ) -> CompleteStatus:
        """Record the new position (and the order id under `order_field`) and free the lock,
        only if `owner_token` still holds it. One round trip."""
        new_position = RuntimePosition(new_position)
        if order_field is not None and order_field not in ORDER_FIELDS:
            raise ValueError(f"order_field must be one of {sorted(ORDER_FIELDS)}")
        if order_field is not None and not order_id:
            raise ValueError("order_id is required with order_field")
        status = self._complete(
            keys=[keys.runtime(strategy_id), keys.runtime_lock(strategy_id)],
            args=[owner_token, new_position.value, order_field or "", order_id or "",
                  _sources(new_position)],
        )
        if status == "ILLEGAL":
            raise IllegalTransition(RUNTIME.name, "(held)", new_position.value)
        return CompleteStatus(status)

    def release(self, strategy_id: UUID | str, owner_token: str) -> bool:
        """Free the lock without a transition; False if it was not `owner_token`'s."""
        released = self._release(
            keys=[keys.runtime(strategy_id), keys.runtime_lock(strategy_id)], args=[owner_token]
        )
        return bool(released)

    def extend(self, strategy_id: UUID | str, owner_token: str, ttl_ms: int) -> bool:
        """Reset the lock's TTL to `ttl_ms` if `owner_token` still holds it."""
        if ttl_ms <= 0:
            raise ValueError("ttl_ms must be positive")
        extended = self._extend(keys=[keys.runtime_lock(strategy_id)], args=[owner_token, ttl_ms])
        return bool(extended)

    def move(self, strategy_id: UUID | str, to: RuntimePosition, order_field: str | None = None,
             order_id: str | None = None) -> RuntimePosition | None:
        """Set the runtime position outside a lock's complete (a correction from SQL or
        from the broker's answer), only from a position the RUNTIME table allows to move
        to `to`; one round trip. Returns the position before, or None when no runtime
        exists (the strategy is not running: nothing is written). IllegalTransition when
        the current position may not move there."""
        to = RuntimePosition(to)
        if order_field is not None and order_field not in ORDER_FIELDS:
            raise ValueError(f"order_field must be one of {sorted(ORDER_FIELDS)}")
        status, before = self._move(keys=[keys.runtime(strategy_id)],
                                    args=[to.value, _sources(to), order_field or "",
                                          order_id or ""])
        if status == "MISSING":
            return None
        if status == "ILLEGAL":
            raise IllegalTransition(RUNTIME.name, before, to.value)
        return RuntimePosition(before)
