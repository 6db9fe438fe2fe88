"""Per-user risk limits and the record of every violation."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...domain.enums import RiskRuleKind
from ..types import enum_type
from .base import created_at, fk, money, pk, updated_at


class RiskRule(SQLModel, table=True):
    __tablename__ = "risk_rules"
    __table_args__ = (
        sa.UniqueConstraint("user_id"),
        sa.CheckConstraint("daily_loss_limit IS NULL OR CAST(daily_loss_limit AS NUMERIC) > 0",
                           name="daily_loss_limit_positive"),
        sa.CheckConstraint("max_position_size IS NULL OR max_position_size > 0",
                           name="max_position_size_positive"),
        sa.CheckConstraint("max_drawdown_pct IS NULL OR (CAST(max_drawdown_pct AS NUMERIC) > 0 "
                           "AND CAST(max_drawdown_pct AS NUMERIC) <= 100)",
                           name="max_drawdown_pct_range"),
        sa.CheckConstraint("max_risk_per_trade IS NULL OR "
                           "CAST(max_risk_per_trade AS NUMERIC) > 0",
                           name="max_risk_per_trade_positive"),
    )

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id", index=False)
    daily_loss_limit: Decimal | None = money()
    max_position_size: int | None = None
    max_drawdown_pct: Decimal | None = money()
    max_risk_per_trade: Decimal | None = money()
    is_active: bool = Field(default=True, nullable=False)
    created_at: datetime = created_at()
    updated_at: datetime = updated_at()


class RiskEvent(SQLModel, table=True):
    __tablename__ = "risk_events"

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id")
    strategy_id: uuid.UUID | None = fk("strategies.id", nullable=True, ondelete="SET NULL")
    rule: RiskRuleKind = Field(sa_type=enum_type(RiskRuleKind, "rule"), nullable=False)
    message: str = Field(max_length=300)
    observed: Decimal | None = money()
    limit_value: Decimal | None = money()
    created_at: datetime = created_at()
