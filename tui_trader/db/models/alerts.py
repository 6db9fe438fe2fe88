"""External notification channels (their addresses sealed by the vault), each user's alert
preferences, and the audit trail of security-relevant actions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...domain.alerts import AlertKind, AlertMode, ChannelKind
from ...domain.audit import AuditAction, AuditOutcome
from ..types import enum_type
from .base import created_at, fk, json_field, pk, ts, updated_at


class NotificationChannel(SQLModel, table=True):
    """Where a user's alerts go besides the console. `target_enc` is the channel's whole
    configuration (bot token, SMTP password, webhook URL) as one vault ciphertext; `hint`
    is what may be shown (never a secret). The delivery columns say how it is going."""

    __tablename__ = "notification_channels"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "label"),
        sa.CheckConstraint("target_enc LIKE 'v1:%'", name="target_encrypted"),
    )

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id")
    kind: ChannelKind = Field(sa_type=enum_type(ChannelKind, "kind"), nullable=False)
    label: str = Field(max_length=60)
    target_enc: str = Field(max_length=4096)
    key_id: str = Field(max_length=40)
    hint: str = Field(default="", max_length=120)
    is_active: bool = Field(default=True, nullable=False)
    failures: int = Field(default=0, nullable=False)
    last_error: str | None = Field(default=None, max_length=300)
    last_attempt_at: datetime | None = ts()
    last_success_at: datetime | None = ts()
    created_at: datetime = created_at()
    updated_at: datetime = updated_at()

    def __repr__(self) -> str:  # the ciphertext stays out of logs too
        return f"NotificationChannel(id={self.id}, kind={self.kind}, label={self.label!r})"


class NotificationPreference(SQLModel, table=True):
    """One user's mode (on, silent, off) for one kind of alert; no row: the default."""

    __tablename__ = "notification_preferences"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind"),)

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id", index=False)
    kind: AlertKind = Field(sa_type=enum_type(AlertKind, "kind"), nullable=False)
    mode: AlertMode = Field(sa_type=enum_type(AlertMode, "mode"), nullable=False)
    updated_at: datetime = updated_at()


class AuditEvent(SQLModel, table=True):
    """One security-relevant action: who (a user, or none for an unknown address), what,
    how it ended, on what (`subject`: a name, never a secret)."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_user_created", "user_id", "created_at"),
                      sa.Index("ix_audit_events_created", "created_at"))

    id: uuid.UUID = pk()
    user_id: uuid.UUID | None = fk("users.id", nullable=True, index=False,
                                   ondelete="SET NULL")
    action: AuditAction = Field(sa_type=enum_type(AuditAction, "action"), nullable=False)
    outcome: AuditOutcome = Field(default=AuditOutcome.OK,
                                  sa_type=enum_type(AuditOutcome, "outcome"), nullable=False)
    subject: str = Field(default="", max_length=200)
    details: dict[str, Any] = json_field()
    created_at: datetime = created_at()
