"""The order queue `queue:orders`: a Redis Stream read through one consumer group.

Owns how trigger events travel from the tick router / scheduler to the executors and how they
are encoded. A Stream, not the seed's List, because an entry a consumer has read stays in its
pending list until acked: if the consumer dies, it sees the entry again on restart
(`pending_own`) or another consumer takes it over (`claim_stale`). Delivery is therefore
at-least-once; `OrderEvent.event_id` is the idempotency key the executor uses (as the broker
client tag and in SQL) so a re-delivered event never places a second order.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import redis

from tui_trader.domain.clock import ensure_utc
from tui_trader.domain.enums import RuntimePosition, TriggerEvent

from . import keys
from .scripts import REQUIRED_POSITION, AcquireResult, AcquireStatus, load_lua

__all__ = ["MAXLEN", "MalformedEvent", "OrderEvent", "OrderQueue", "QueuedEvent", "Taken"]

# Bounds memory: ~100k entries is days of a busy desk; trimming is approximate (cheap).
MAXLEN = 100_000
# Encoding version, so a later format can be told apart from this one.
_VERSION = "1"


class MalformedEvent(ValueError):
    """A stream entry that is not a valid order event; ack it (and log) so it stops returning."""

    def __init__(self, entry_id: str, reason: str) -> None:
        super().__init__(f"malformed order event {entry_id}: {reason}")
        self.entry_id = entry_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class OrderEvent:
    strategy_id: UUID
    user_id: UUID
    event: TriggerEvent
    symbol: str
    trigger_price: Decimal | None
    created_at: datetime  # UTC-aware
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        # Refuse naive times here, where the mistake is made, not in the executor later.
        object.__setattr__(self, "created_at", ensure_utc(self.created_at))
        object.__setattr__(self, "event", TriggerEvent(self.event))
        if self.trigger_price is not None and not self.trigger_price.is_finite():
            raise ValueError("trigger_price must be a finite Decimal")

    def to_fields(self) -> dict[str, str]:
        """The flat string fields stored in the stream entry."""
        return {
            "v": _VERSION,
            "event_id": self.event_id,
            "strategy_id": str(self.strategy_id),
            "user_id": str(self.user_id),
            "event": self.event.value,
            "symbol": self.symbol,
            "trigger_price": "" if self.trigger_price is None else str(self.trigger_price),
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_fields(cls, entry_id: str, fields: Mapping[str, str] | None) -> OrderEvent:
        """Decode a stream entry; any problem raises `MalformedEvent` carrying `entry_id`."""
        if not fields:
            # A pending entry whose data was trimmed away, or an empty entry.
            raise MalformedEvent(entry_id, "entry has no fields (trimmed or empty)")
        try:
            if fields.get("v", _VERSION) != _VERSION:
                raise ValueError(f"unknown version {fields.get('v')!r}")
            price = fields.get("trigger_price", "")
            return cls(
                strategy_id=UUID(fields["strategy_id"]),
                user_id=UUID(fields["user_id"]),
                event=TriggerEvent(fields["event"]),
                symbol=_required(fields["symbol"], "symbol"),
                trigger_price=Decimal(price) if price else None,
                created_at=datetime.fromisoformat(fields["created_at"]),
                event_id=_required(fields["event_id"], "event_id"),
            )
        except KeyError as exc:
            raise MalformedEvent(entry_id, f"missing field {exc.args[0]}") from None
        except (ValueError, InvalidOperation, TypeError) as exc:
            raise MalformedEvent(entry_id, str(exc) or type(exc).__name__) from None


def _required(value: str, name: str) -> str:
    if not value:
        raise ValueError(f"{name} is empty")
    return value


class QueuedEvent:
    """One delivered stream entry. `event` is the decoded OrderEvent, or raises
    `MalformedEvent` for an undecodable entry, so one bad entry never hides its batch."""

    __slots__ = ("entry_id", "fields", "_event", "_error")

    def __init__(self, entry_id: str, fields: Mapping[str, str] | None) -> None:
        self.entry_id = entry_id
        self.fields: Mapping[str, str] = dict(fields or {})
        self._event: OrderEvent | None = None
        self._error: MalformedEvent | None = None
        try:
            self._event = OrderEvent.from_fields(entry_id, fields)
        except MalformedEvent as exc:
            self._error = exc

    @classmethod
    def of(cls, entry_id: str, event: OrderEvent) -> QueuedEvent:
        """An entry whose event is already known (just published by this process): no
        decoding on the hot path."""
        queued = cls.__new__(cls)
        queued.entry_id = entry_id
        queued.fields = event.to_fields()
        queued._event = event
        queued._error = None
        return queued

    @property
    def event(self) -> OrderEvent:
        if self._error is not None:
            raise self._error
        assert self._event is not None
        return self._event

    @property
    def malformed(self) -> bool:
        return self._error is not None

    def __repr__(self) -> str:
        inner = self._error if self._error is not None else self._event
        return f"QueuedEvent({self.entry_id!r}, {inner!r})"


@dataclass(frozen=True, slots=True)
class Taken:
    """What `publish_and_take` got back in its one round trip."""

    entry_id: str  # the published event's stream entry
    entries: list[QueuedEvent]  # entries now delivered to this consumer (ours, and any backlog)
    acquired: AcquireResult | None  # the lock for the event, when it was asked for


class OrderQueue:
    """Publisher and consumer of `queue:orders` as consumer `consumer` of group `group`.

    Consumer names must be stable per executor across restarts (e.g. host:pid-slot) for
    `pending_own` to find the entries the previous incarnation read but never acked.
    """

    def __init__(
        self,
        client: redis.Redis,
        consumer: str,
        group: str = keys.ORDER_GROUP,
        stream: str = keys.ORDER_QUEUE,
    ) -> None:
        if not consumer:
            raise ValueError("consumer name must not be empty")
        self._client = client
        self.consumer = consumer
        self.group = group
        self.stream = stream
        # acquire.lua becomes a local function of the enqueue script: one copy of the rule.
        self._enqueue = client.register_script(
            "local function acquire(KEYS, ARGV)\n" + load_lua("acquire") + "\nend\n"
            + load_lua("enqueue"))
        self.ensure_group()

    def ensure_group(self) -> None:
        """Create the stream and group if missing (also after Redis lost its data)."""
        # From id 0, not $: events published before the first executor ever started are
        # still delivered. MKSTREAM so a consumer may start before any publisher.
        try:
            self._client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def publish(self, event: OrderEvent) -> str:
        """Append the event; returns its stream entry id. One round trip."""
        entry_id: str = self._client.xadd(
            self.stream, event.to_fields(), maxlen=MAXLEN, approximate=True
        )
        return entry_id

    def publish_and_take(self, event: OrderEvent, count: int = 50, *,
                         lock_ttl_ms: int | None = None) -> Taken:
        """Append the event and read it back as this consumer, in one round trip.

        The publisher and the executor live in one engine process, so the entry is delivered
        to that executor straight away (it is in this consumer's pending list, as if read
        with XREADGROUP, and recovered from there after a crash) instead of waking a blocked
        reader: one script call instead of two round trips and a thread wake. Entries
        published before it and not yet delivered (a backlog) come back too, oldest first.
        With `lock_ttl_ms`, the same call also takes the strategy's transition lock for this
        event (owner token = its event_id), exactly as `PositionLocks.acquire` would.
        """
        if count <= 0:
            raise ValueError("count must be positive")
        lock = lock_ttl_ms is not None
        if lock and lock_ttl_ms <= 0:
            raise ValueError("lock_ttl_ms must be positive")
        required = REQUIRED_POSITION[event.event].value if lock else ""
        flat = [part for pair in event.to_fields().items() for part in pair]
        entry_id, reply, locked = self._enqueue(
            keys=[self.stream, keys.runtime(event.strategy_id),
                  keys.runtime_lock(event.strategy_id)],
            args=[self.group, self.consumer, count, MAXLEN, "1" if lock else "0", required,
                  event.event_id, lock_ttl_ms or 0, *flat])
        if reply is None or reply is False:
            # Redis lost the group with its data: recreate it (from id 0) and take the entry.
            self.ensure_group()
            entries = self.read(count=count)
        else:
            entries = _entries(reply, known={entry_id: event})
        acquired = None
        if locked:
            status, position = locked
            acquired = AcquireResult(AcquireStatus(status),
                                     RuntimePosition(position) if position else None)
        return Taken(entry_id, entries, acquired)

    def read(self, count: int = 10, block_ms: int | None = None) -> list[QueuedEvent]:
        """Up to `count` entries never delivered to any consumer of the group.

        `block_ms=None` returns at once; otherwise waits up to `block_ms` for the first entry.
        """
        if count <= 0:
            raise ValueError("count must be positive")
        if block_ms is not None:
            self._check_block(block_ms)
        reply = self._client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return _entries(reply)

    def claim_stale(self, min_idle_ms: int, count: int = 10) -> list[QueuedEvent]:
        """Take over up to `count` entries read but not acked for at least `min_idle_ms`
        (their consumer died or hung). The claimed entries become this consumer's.

        Idle time is the only criterion (XAUTOCLAIM), so this consumer's own entries idle that
        long come back too: pick `min_idle_ms` well above the executor's longest order
        placement; a duplicate delivery is harmless anyway (`event_id` idempotency + lock)."""
        if count <= 0:
            raise ValueError("count must be positive")
        claimed: list[QueuedEvent] = []
        cursor = "0-0"
        # XAUTOCLAIM scans the pending list in pages; follow the cursor until we have enough
        # or the whole list has been seen.
        while len(claimed) < count:
            reply = self._client.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=min_idle_ms,
                start_id=cursor,
                count=count - len(claimed),
            )
            cursor, messages = reply[0], reply[1]
            # Entries trimmed from the stream come back as ids in reply[2] (Redis 7) and are
            # removed from the pending list by the server itself: nothing to do for them.
            claimed.extend(QueuedEvent(entry_id, fields) for entry_id, fields in messages)
            if cursor in ("0-0", "0"):
                break
        return claimed

    def pending_own(self, count: int = 100) -> list[QueuedEvent]:
        """Every entry delivered to this consumer but not acked (read again at restart)."""
        result: list[QueuedEvent] = []
        last = "0"
        while True:
            reply = self._client.xreadgroup(
                self.group, self.consumer, {self.stream: last}, count=count
            )
            batch = _entries(reply)
            if not batch:
                return result
            result.extend(batch)
            last = batch[-1].entry_id

    def ack(self, *entry_ids: str) -> int:
        """Mark entries done; returns how many were pending."""
        if not entry_ids:
            return 0
        return int(self._client.xack(self.stream, self.group, *entry_ids))

    def pending_count(self) -> int:
        """Entries delivered to any consumer of the group and not yet acked."""
        summary = self._client.xpending(self.stream, self.group)
        return int(summary["pending"])

    def _check_block(self, block_ms: int) -> None:
        if block_ms <= 0:
            # redis treats BLOCK 0 as "forever": a thread that can never be stopped.
            raise ValueError("block_ms must be positive (or None for no wait)")
        kwargs: dict[str, Any] = self._client.connection_pool.connection_kwargs
        timeout = kwargs.get("socket_timeout")
        if timeout is not None and block_ms / 1000 >= timeout:
            raise ValueError(f"block_ms must be below the socket timeout ({timeout}s)")


def _entries(reply: Any, known: Mapping[str, OrderEvent] | None = None) -> list[QueuedEvent]:
    """Flatten an XREADGROUP reply ([[stream, [(id, fields), ...]]], RESP2) for our stream.
    Raw replies from a script hold fields as a flat [k, v, ...] list; the embedded store's
    script replies drop the outer list for a single stream."""
    if not reply:
        return []
    if isinstance(reply, list) and reply and isinstance(reply[0], str):
        reply = [reply]
    known = known or {}
    return [
        QueuedEvent.of(entry_id, known[entry_id]) if entry_id in known
        else QueuedEvent(entry_id, _pairs(fields))
        for _stream, messages in reply
        for entry_id, fields in messages
    ]


def _pairs(fields: Any) -> Any:
    if isinstance(fields, list):
        return dict(zip(fields[::2], fields[1::2], strict=True))
    return fields
