"""Hands the engine's notifications to the alert dispatcher, from outside the engine.

A thread subscribes to every user's event channel (`events:{db}:*`) and the engine's, decodes
each message with the one event codec (domain.events), and submits an `Alert` for each
`NotificationRaised` (its kind and severity say which alert: domain.alerts.alert_kind), and
one ENGINE_DOWN alert for every user with a channel when the engine reports it stopped or
entries blocked. The engine stores a notification and publishes it only when the broker's
answer is final (a fill on COMPLETE, never on acceptance), so nothing is announced here that the
console does not show.

Two processes may relay the same deployment (a console's own engine and a server's): each
notification is claimed once in the live store (`SET NX` with a day's expiry) before it is
submitted, so it goes out once. A lost connection is retried with a doubling backoff.
"""

from __future__ import annotations

import logging
import threading
import uuid

import redis

from ..domain.alerts import DOWN_STATES, AlertKind, alert_kind
from ..domain.events import EngineStatus, MalformedEvent, NotificationRaised, decode_event
from ..domain.lifecycle import EngineState
from ..live import keys
from ..live.store import db_number
from .notify_delivery import Alert, AlertDispatcher
from .service_thread import ServiceThread

log = logging.getLogger(__name__)
CLAIM_SECONDS = 24 * 3600
# One engine-down alert per state a minute, however many relays saw it.
ENGINE_CLAIM_SECONDS = 60
_DOWN_TITLES = {EngineState.STOPPED: "tui-trader engine stopped",
                EngineState.ENTRIES_BLOCKED: "tui-trader engine: entries blocked"}


class NotificationRelay(ServiceThread):
    thread_name = "alerts-relay"

    def __init__(self, store: redis.Redis, dispatcher: AlertDispatcher) -> None:
        super().__init__()
        self._store = store
        self._db = db_number(store)
        self._pattern = keys.events("*", self._db)
        self._dispatcher = dispatcher
        self._engine_state: EngineState | None = None
        self._closing = threading.Event()
        self.subscribed = threading.Event()
        self.relayed = 0

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                pubsub = self._store.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(self._pattern)
                self.subscribed.set()
                backoff = 0.5
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=0.2)
                    if message is None and self._closing.is_set():
                        self._stop.set()  # everything published before `close` is taken
                    elif message is not None and message.get("type") == "pmessage":
                        self._take(message["data"])
                pubsub.close()
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                self.subscribed.clear()
                log.warning("alerts relay: live store unreachable (%s); retrying",
                            type(exc).__name__)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception:
                log.exception("alerts relay failed; restarting it")
                self._stop.wait(backoff)

    def close(self, timeout: float = 2.0) -> None:
        """Stop once the messages already published are taken (at most `timeout`): the
        engine's last status, published as it stopped, still becomes an alert."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.stop()

    def _take(self, data) -> None:
        try:
            event = decode_event(data)
        except MalformedEvent:
            return  # the console's stream logs these; one report is enough
        if isinstance(event, NotificationRaised):
            if not self._claim(f"n:{event.notification_id}"):
                return
            try:
                user_id = uuid.UUID(event.user_id)
            except ValueError:
                return
            self._submit(Alert(user_id=user_id, kind=alert_kind(event.kind, event.severity),
                               title=event.title, body=event.body))
        elif isinstance(event, EngineStatus):
            was, self._engine_state = self._engine_state, event.state
            if event.state in DOWN_STATES and was not in DOWN_STATES and \
                    self._claim(f"engine:{event.state}", ENGINE_CLAIM_SECONDS):
                detail = f": {event.detail}" if event.detail else ""
                self._submit(Alert(user_id=None, kind=AlertKind.ENGINE_DOWN,
                                   title=_DOWN_TITLES[event.state],
                                   body=f"Engine {event.state.value}{detail}. No new "
                                        f"entries are placed until it runs again."))

    def _submit(self, alert: Alert) -> None:
        if self._dispatcher.submit(alert):
            self.relayed += 1

    def _claim(self, name: str, seconds: int = CLAIM_SECONDS) -> bool:
        try:
            return bool(self._store.set(keys.alert_claim(name), "1", nx=True, ex=seconds))
        except (redis.RedisError, OSError):
            return True  # better twice than never
