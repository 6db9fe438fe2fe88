"""Notifications of the acting user."""

from __future__ import annotations

import uuid

from sqlmodel import col, func, select

from ..models import Notification
from .scoped import ScopedRepository


class NotificationRepository(ScopedRepository):
    kind = "notification"

    def list(self, limit: int = 200) -> list[Notification]:
        return list(self.session.exec(self._select(Notification).order_by(
            col(Notification.created_at).desc()).limit(limit)).all())

    def unread_count(self) -> int:
        return self.session.exec(select(func.count()).select_from(Notification).where(
            Notification.user_id == self.user_id, Notification.is_read.is_(False))).one()  # type: ignore[attr-defined]

    def add(self, row: Notification) -> Notification:
        row.user_id = self.user_id
        self.session.add(row)
        self.session.flush()
        return row

    def mark_read(self, notification_id: uuid.UUID | str | None = None) -> int:
        if notification_id is not None:
            rows = [self._owned(Notification, notification_id)]
        else:
            rows = list(self.session.exec(self._select(Notification).where(
                Notification.is_read.is_(False))).all())  # type: ignore[attr-defined]
        for row in rows:
            row.is_read = True
        return len(rows)
