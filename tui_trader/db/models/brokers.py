"""Broker accounts (credentials encrypted by the vault) and the token refresh log."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...domain.enums import BrokerKind
from ..types import enum_type
from .base import created_at, fk, pk, ts, updated_at


class BrokerAccount(SQLModel, table=True):
    __tablename__ = "broker_accounts"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "label"),
        sa.CheckConstraint("api_key_enc IS NULL OR api_key_enc LIKE 'v1:%'",
                           name="api_key_encrypted"),
        sa.CheckConstraint("api_secret_enc IS NULL OR api_secret_enc LIKE 'v1:%'",
                           name="api_secret_encrypted"),
        sa.CheckConstraint("access_token_enc IS NULL OR access_token_enc LIKE 'v1:%'",
                           name="access_token_encrypted"),
    )

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id")
    broker: BrokerKind = Field(sa_type=enum_type(BrokerKind, "broker_kind"), nullable=False)
    label: str = Field(max_length=60)
    # Ciphertexts "v1:<base64>" from security.vault; key_id names the master key used.
    api_key_enc: str | None = Field(default=None, max_length=1024)
    api_secret_enc: str | None = Field(default=None, max_length=1024)
    access_token_enc: str | None = Field(default=None, max_length=2048)
    key_id: str | None = Field(default=None, max_length=40)
    broker_user_id: str | None = Field(default=None, max_length=40)
    api_root: str | None = Field(default=None, max_length=200)
    token_expires_at: datetime | None = ts()
    is_active: bool = Field(default=True, nullable=False)
    created_at: datetime = created_at()
    updated_at: datetime = updated_at()

    def __repr__(self) -> str:  # ciphertexts stay out of logs too
        return (f"BrokerAccount(id={self.id}, broker={self.broker}, label={self.label!r}, "
                f"token_expires_at={self.token_expires_at})")


class TokenRefreshLog(SQLModel, table=True):
    __tablename__ = "token_refresh_log"

    id: uuid.UUID = pk()
    broker_account_id: uuid.UUID = fk("broker_accounts.id")
    user_id: uuid.UUID = fk("users.id")
    succeeded: bool = Field(nullable=False)
    expires_at: datetime | None = ts()
    message: str | None = Field(default=None, max_length=300)
    created_at: datetime = created_at()
