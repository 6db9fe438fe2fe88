"""Per-user risk rules, the user's risk state today, and the record of every denial and
every state transition."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...domain.enums import RiskEventKind, RiskRuleKind
from ...domain.lifecycle import RiskState
from ..types import enum_type
from .base import created_at, fk, json_field, money, pk, updated_at

AMOUNT_COLUMNS = ("trading_capital", "daily_loss_limit", "max_position_value",
                  "strategy_daily_loss_limit")
PERCENT_COLUMNS = ("daily_loss_pct", "max_drawdown_pct", "max_risk_per_trade_pct")
COUNT_COLUMNS = ("max_open_positions", "max_orders_per_day")


def rule_checks() -> tuple[sa.CheckConstraint, ...]:
    """What the database itself refuses in `risk_rules` (migration 0007_risk makes the
    same): amounts and counts above 0, percentages in (0, 100]."""
    return (
        *(sa.CheckConstraint(f"{c} IS NULL OR CAST({c} AS NUMERIC) > 0", name=f"{c}_positive")
          for c in AMOUNT_COLUMNS),
        *(sa.CheckConstraint(f"{c} IS NULL OR (CAST({c} AS NUMERIC) > 0 AND "
                             f"CAST({c} AS NUMERIC) <= 100)", name=f"{c}_range")
          for c in PERCENT_COLUMNS),
        *(sa.CheckConstraint(f"{c} IS NULL OR {c} > 0", name=f"{c}_positive")
          for c in COUNT_COLUMNS),
    )


class RiskRule(SQLModel, table=True):
    """One user's risk rules (one row per user; a NULL rule is not in force)."""

    __tablename__ = "risk_rules"
    __table_args__ = (sa.UniqueConstraint("user_id"), *rule_checks())

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id", index=False)
    trading_capital: Decimal | None = money()
    daily_loss_limit: Decimal | None = money()
    daily_loss_pct: Decimal | None = money()
    max_position_value: Decimal | None = money()
    max_open_positions: int | None = None
    max_drawdown_pct: Decimal | None = money()
    max_risk_per_trade_pct: Decimal | None = money()
    max_orders_per_day: int | None = None
    strategy_daily_loss_limit: Decimal | None = money()
    is_active: bool = Field(default=True, nullable=False)
    created_at: datetime = created_at()
    updated_at: datetime = updated_at()


class RiskStateRow(SQLModel, table=True):
    """A user's risk state: since when, on which IST trading day, and the limit and figures
    that put it there. One row per user; a user without one is ACTIVE."""

    __tablename__ = "risk_states"
    __table_args__ = (sa.UniqueConstraint("user_id"),)

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id", index=False)
    state: RiskState = Field(sa_type=enum_type(RiskState, "state"), nullable=False)
    trading_day: date = Field(nullable=False)
    since: datetime = created_at()
    rule: RiskRuleKind | None = Field(default=None, sa_type=enum_type(RiskRuleKind, "rule"),
                                      nullable=True)
    observed: Decimal | None = money()
    limit_value: Decimal | None = money()
    reason: str = Field(default="", max_length=300)
    updated_at: datetime = updated_at()


class RiskEvent(SQLModel, table=True):
    """An entry the gate denied (`kind` DENIAL: the rule, the figures, the entry in
    `details`) or a move of the user's risk state (TRANSITION: from, to, the move's name in
    `details`, and the limit behind it if any)."""

    __tablename__ = "risk_events"
    __table_args__ = (sa.Index("ix_risk_events_user_created", "user_id", "created_at"),)

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id")
    strategy_id: uuid.UUID | None = fk("strategies.id", nullable=True, ondelete="SET NULL")
    kind: RiskEventKind = Field(sa_type=enum_type(RiskEventKind, "kind"), nullable=False)
    rule: RiskRuleKind | None = Field(default=None, sa_type=enum_type(RiskRuleKind, "rule"),
                                      nullable=True)
    state_from: RiskState | None = Field(default=None,
                                         sa_type=enum_type(RiskState, "state_from"),
                                         nullable=True)
    state_to: RiskState | None = Field(default=None, sa_type=enum_type(RiskState, "state_to"),
                                       nullable=True)
    message: str = Field(max_length=300)
    observed: Decimal | None = money()
    limit_value: Decimal | None = money()
    details: dict[str, Any] = json_field()
    created_at: datetime = created_at()
