"""Strategies, the catalog of strategy kinds, subscriptions, daily performance, backtests."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...domain.enums import BacktestStatus, ExecutionMode, StrategyKind, StrategyStatus
from ..types import enum_type
from .base import created_at, fk, json_field, money, pk, ts, updated_at


class Strategy(SQLModel, table=True):
    __tablename__ = "strategies"
    __table_args__ = (
        sa.CheckConstraint("buy_time < sell_time", name="buy_before_sell"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("CAST(stop_loss AS NUMERIC) > 0", name="stop_loss_positive"),
        sa.UniqueConstraint("user_id", "name"),
    )

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id")
    broker_account_id: uuid.UUID | None = fk("broker_accounts.id", nullable=True,
                                             ondelete="SET NULL")
    name: str = Field(max_length=80)
    kind: StrategyKind = Field(default=StrategyKind.SCHEDULED,
                               sa_type=enum_type(StrategyKind, "strategy_kind"), nullable=False)
    symbol: str = Field(max_length=30, index=True)
    exchange: str = Field(default="NSE", max_length=10)
    buy_time: time = Field(nullable=False)
    sell_time: time = Field(nullable=False)
    stop_loss: Decimal = money(nullable=False)
    quantity: int = Field(nullable=False)
    parameters: dict[str, Any] = json_field()
    execution_mode: ExecutionMode = Field(default=ExecutionMode.PAPER,
                                          sa_type=enum_type(ExecutionMode, "execution_mode"),
                                          nullable=False)
    status: StrategyStatus = Field(default=StrategyStatus.CREATED,
                                   sa_type=enum_type(StrategyStatus, "strategy_status"),
                                   nullable=False, index=True)
    status_reason: str | None = Field(default=None, max_length=200)
    last_run: datetime | None = ts()
    created_at: datetime = created_at()
    updated_at: datetime = updated_at()


class StrategyCatalog(SQLModel, table=True):
    """The marketplace of strategy kinds a user can subscribe to."""

    __tablename__ = "strategy_catalog"

    id: uuid.UUID = pk()
    kind: StrategyKind = Field(sa_type=enum_type(StrategyKind, "catalog_kind"), nullable=False,
                               unique=True)
    name: str = Field(max_length=80)
    description: str = Field(default="", max_length=1000)
    parameters_schema: dict[str, Any] = json_field()
    is_active: bool = Field(default=True, nullable=False)
    created_at: datetime = created_at()


class UserStrategy(SQLModel, table=True):
    __tablename__ = "user_strategies"
    __table_args__ = (sa.UniqueConstraint("user_id", "catalog_id"),)

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id")
    catalog_id: uuid.UUID = fk("strategy_catalog.id")
    created_at: datetime = created_at()


class StrategyPerformance(SQLModel, table=True):
    __tablename__ = "strategy_performance"
    __table_args__ = (
        sa.UniqueConstraint("strategy_id", "day"),
        sa.CheckConstraint("total_trades >= 0 AND winning_trades >= 0 AND losing_trades >= 0",
                           name="counts_nonnegative"),
    )

    id: uuid.UUID = pk()
    strategy_id: uuid.UUID = fk("strategies.id")
    user_id: uuid.UUID = fk("users.id")
    day: date = Field(nullable=False)
    total_trades: int = Field(default=0)
    winning_trades: int = Field(default=0)
    losing_trades: int = Field(default=0)
    total_pnl: Decimal = money(nullable=False, default=Decimal(0))
    max_drawdown: Decimal = money(nullable=False, default=Decimal(0))
    sharpe_ratio: Decimal | None = money()
    win_rate: Decimal | None = money()
    metrics: dict[str, Any] = json_field()
    created_at: datetime = created_at()
    updated_at: datetime = updated_at()


class BacktestRun(SQLModel, table=True):
    __tablename__ = "backtest_runs"

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id")
    strategy_id: uuid.UUID | None = fk("strategies.id", nullable=True, ondelete="SET NULL")
    status: BacktestStatus = Field(default=BacktestStatus.PENDING,
                                   sa_type=enum_type(BacktestStatus, "backtest_status"),
                                   nullable=False)
    # what ran: the run's settings (fill options, product, quantity, charges, capital) and
    # the strategy as it was (kind, its version, parameters, exits, a hash of its code)
    params: dict[str, Any] = json_field()
    strategy_snapshot: dict[str, Any] = json_field()
    # on what: the candles' symbol, interval, source ("csv FILE", "database") and range
    kind: str | None = Field(default=None, max_length=40)
    symbol: str | None = Field(default=None, max_length=40)
    interval: str | None = Field(default=None, max_length=16)
    data_source: str | None = Field(default=None, max_length=300)
    data_from: datetime | None = ts()
    data_to: datetime | None = ts()
    # what came out: the metrics (analytics.metrics), every trade, and the equity curve as
    # [time, rupees] points (each day's close and each exit)
    summary: dict[str, Any] = json_field()
    trades: list[Any] = json_field(default_factory=list)
    equity_curve: list[Any] = json_field(default_factory=list)
    error: str | None = Field(default=None, max_length=500)
    started_at: datetime | None = ts()
    finished_at: datetime | None = ts()
    created_at: datetime = created_at()
