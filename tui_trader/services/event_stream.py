"""Delivers a user's engine events to a UI, coalesced: at most one batch per interval.

A background thread listens on `events:{db}:{user_id}` and `events:{db}:engine` (named by the
Redis database: channels are server-wide), decodes each message with the one event codec
(domain.events), keeps only the newest event per key (notifications all kept), and hands the
batch to `on_batch` at most every `interval` seconds. `on_batch` must be thread-safe and cheap
— a Textual app passes a function that posts one message. A message that is not an event is
counted and logged in one line, and the stream goes on. A lost connection is reported through
`on_health` and retried.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from uuid import UUID

import redis

from ..domain.events import EngineEvent, MalformedEvent, NotificationRaised, decode_event
from ..live import keys
from ..live.store import db_number

log = logging.getLogger(__name__)


class UserEventStream:
    def __init__(self, store: redis.Redis, user_id: UUID | str,
                 on_batch: Callable[[list[EngineEvent]], None],
                 on_health: Callable[[bool, str], None] | None = None,
                 interval: float = 0.1) -> None:
        self._store = store
        db = db_number(store)
        self._channels = [keys.events(str(user_id), db), keys.engine_events(db)]
        self._on_batch = on_batch
        self._on_health = on_health or (lambda ok, detail: None)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.malformed = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="event-stream", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                pubsub = self._store.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(*self._channels)
                self._on_health(True, "events connected")
                backoff = 0.5
                self._pump(pubsub)
                pubsub.close()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                self._on_health(False, f"live store unreachable ({type(exc).__name__})")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _pump(self, pubsub) -> None:
        pending: dict[tuple[str, ...], EngineEvent] = {}
        deadline = time.monotonic() + self._interval
        while not self._stop.is_set():
            wait = max(deadline - time.monotonic(), 0.0)
            message = pubsub.get_message(timeout=wait) if wait > 0 else None
            if message is not None and message.get("type") == "message":
                self._take(message, pending)
            if time.monotonic() >= deadline:
                if pending:
                    batch = list(pending.values())
                    pending.clear()
                    try:
                        self._on_batch(batch)
                    except Exception:  # a UI bug must not kill the stream
                        log.exception("event batch handler failed")
                deadline = time.monotonic() + self._interval

    def _take(self, message: dict, pending: dict[tuple[str, ...], EngineEvent]) -> None:
        try:
            event = decode_event(message["data"])
        except MalformedEvent as exc:  # another program's message, or a broken one
            self.malformed += 1
            log.warning("dropped a message on %s: %s", _channel(message), exc)
            return
        if isinstance(event, NotificationRaised):
            pending[event.key] = event
        else:
            pending.pop(event.key, None)  # re-insert so order follows recency
            pending[event.key] = event


def _channel(message: dict) -> str:
    channel = message.get("channel")
    return channel.decode("utf-8", "replace") if isinstance(channel, bytes) else str(channel)
