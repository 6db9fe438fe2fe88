"""Notifications to users, trading sessions per day, and the system log."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...domain.enums import NotificationKind, Severity
from ..types import enum_type
from .base import created_at, fk, json_field, money, pk, ts


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_unread", "user_id", "is_read"),)

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id", index=False)
    kind: NotificationKind = Field(sa_type=enum_type(NotificationKind, "kind"), nullable=False)
    severity: Severity = Field(default=Severity.INFO, sa_type=enum_type(Severity, "severity"),
                               nullable=False)
    title: str = Field(max_length=120)
    body: str = Field(default="", max_length=1000)
    is_read: bool = Field(default=False, nullable=False)
    created_at: datetime = created_at()


class TradingSession(SQLModel, table=True):
    """One row per user per trading day the engine traded: start, end, P&L."""

    __tablename__ = "trading_sessions"
    __table_args__ = (sa.UniqueConstraint("user_id", "day"),)

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id", index=False)
    day: date = Field(nullable=False)
    is_special: bool = Field(default=False, nullable=False)
    started_at: datetime | None = ts()
    ended_at: datetime | None = ts()
    realized_pnl: Decimal = money(nullable=False, default=Decimal(0))
    orders_placed: int = Field(default=0, nullable=False)
    notes: str | None = Field(default=None, max_length=300)


class SystemLog(SQLModel, table=True):
    __tablename__ = "system_logs"
    __table_args__ = (sa.Index("ix_system_logs_created", "created_at"),
                      sa.Index("ix_system_logs_component_created", "component", "created_at"))

    id: uuid.UUID = pk()
    component: str = Field(max_length=40)
    level: Severity = Field(sa_type=enum_type(Severity, "level"), nullable=False)
    message: str = Field(max_length=1000)
    data: dict[str, Any] = json_field()
    created_at: datetime = created_at()
