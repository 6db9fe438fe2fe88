"""Publishes engine events to `events:{db}:{user_id}` and notifications to SQL + the UI.

Publishing never raises: a live store that is down costs a counter, not the engine thread.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

import redis
from sqlalchemy.engine import Engine

from ..db.models import Notification
from ..domain.enums import NotificationKind, Severity
from ..live import keys
from ..live.store import db_number
from .events import EngineEvent, EngineStatus, NotificationRaised

log = logging.getLogger(__name__)
NOTIFICATIONS = Notification.__table__


class EventPublisher:
    def __init__(self, store: redis.Redis) -> None:
        self._store = store
        self._db = db_number(store)  # channels are server-wide: named by the database
        self.failures = 0
        self.published = 0

    def publish(self, event: EngineEvent) -> None:
        channel = keys.engine_events(self._db) if isinstance(event, EngineStatus) \
            else keys.events(event.user_id, self._db)
        try:
            self._store.publish(channel, event.to_json())
            self.published += 1
        except (redis.RedisError, OSError):
            self.failures += 1
            log.debug("event not published (live store unreachable)")


class Notifier:
    """Stores a notification and tells the user's consoles about it."""

    def __init__(self, engine: Engine, publisher: EventPublisher) -> None:
        self._engine = engine
        self._publisher = publisher

    def notify(self, user_id: uuid.UUID, kind: NotificationKind, severity: Severity,
               title: str, body: str, now: datetime) -> None:
        ident = uuid.uuid4()
        try:
            with self._engine.begin() as conn:
                conn.execute(NOTIFICATIONS.insert().values(
                    id=ident, user_id=user_id, kind=kind, severity=severity, title=title[:120],
                    body=body[:1000], is_read=False, created_at=now))
        except Exception:  # a notification must never take an order path down with it
            log.exception("could not store notification %r", title)
        self._publisher.publish(NotificationRaised(
            user_id=str(user_id), notification_id=str(ident), kind=kind.value,
            severity=severity.value, title=title, body=body))
