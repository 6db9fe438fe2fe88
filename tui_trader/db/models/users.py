"""Accounts, login sessions and failed-login counting."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...domain.enums import Role
from ..types import enum_type
from .base import created_at, fk, pk, ts, updated_at


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("failed_logins >= 0", name="failed_logins_nonnegative"),
        sa.CheckConstraint("length(email) >= 3", name="email_not_empty"),
    )

    id: uuid.UUID = pk()
    email: str = Field(max_length=254, unique=True, index=True)
    username: str | None = Field(default=None, max_length=50, unique=True)
    name: str | None = Field(default=None, max_length=100)
    password_hash: str = Field(max_length=512)
    role: Role = Field(default=Role.TRADER, sa_type=enum_type(Role, "role"), nullable=False)
    is_active: bool = Field(default=True, nullable=False)
    theme: str | None = Field(default=None, max_length=40)
    last_login: datetime | None = ts()
    # No longer written: failed logins are counted per email address in login_attempts.
    # Kept because dropping them rebuilds `users` on SQLite, and dropping a parent table
    # there cascades deletes into every table that refers to it.
    failed_logins: int = Field(default=0, nullable=False)
    locked_until: datetime | None = ts()
    created_at: datetime = created_at()
    updated_at: datetime = updated_at()

    def __repr__(self) -> str:  # never show the hash
        return f"User(id={self.id}, email={self.email!r}, role={self.role})"


class UserSession(SQLModel, table=True):
    __tablename__ = "user_sessions"

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id")
    token_hash: str = Field(max_length=128, unique=True)
    created_at: datetime = created_at()
    expires_at: datetime = ts(nullable=False)
    last_seen_at: datetime | None = ts()
    revoked_at: datetime | None = ts()
    ip_address: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=200)

    def __repr__(self) -> str:
        return f"UserSession(id={self.id}, user_id={self.user_id}, expires_at={self.expires_at})"


class LoginAttempt(SQLModel, table=True):
    """Failed logins counted per email address, whether or not an account has it.

    Keyed by a hash of the normalised address (never the address itself: people type
    passwords into the email field). `failures` counts the attempts of the current round,
    each reserved before its password is checked; `locked_until` is set by the attempt that
    reaches the limit. Not per-user, so no row-level security: the login path runs before
    anyone is signed in.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (
        sa.CheckConstraint("failures >= 0", name="failures_nonnegative"),
        sa.Index("ix_login_attempts_updated_at", "updated_at"),
    )

    email_key: str = Field(primary_key=True, max_length=64)
    failures: int = Field(default=0, nullable=False)
    locked_until: datetime | None = ts()
    updated_at: datetime = ts(nullable=False)
