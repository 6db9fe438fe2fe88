"""Orders (each one an intent guarded exactly-once), their history, positions and theirs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...domain.enums import (
    IntentState,
    OrderKind,
    OrderReason,
    OrderStatus,
    PositionAction,
    PositionStatus,
    Side,
)
from ..types import enum_type
from .base import created_at, fk, insert_seq, json_field, money, pk, ts, updated_at


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("filled_quantity >= 0 AND filled_quantity <= quantity",
                           name="filled_within_quantity"),
        sa.CheckConstraint("price IS NULL OR CAST(price AS NUMERIC) > 0", name="price_positive"),
        sa.CheckConstraint("trigger_price IS NULL OR CAST(trigger_price AS NUMERIC) > 0",
                           name="trigger_price_positive"),
        sa.Index("ix_orders_user_created", "user_id", "created_at"),
    )

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id")
    strategy_id: uuid.UUID | None = fk("strategies.id", nullable=True, ondelete="SET NULL")
    broker_account_id: uuid.UUID | None = fk("broker_accounts.id", nullable=True,
                                             ondelete="SET NULL")
    # The exactly-once guard: one row per (strategy, leg, trading day, sequence), and only the
    # executor that moves intent_state ARMED -> FIRING may call the broker.
    intent_key: str = Field(max_length=120, unique=True)
    intent_state: IntentState = Field(default=IntentState.ARMED,
                                      sa_type=enum_type(IntentState, "intent_state"),
                                      nullable=False, index=True)
    event_id: str | None = Field(default=None, max_length=64, index=True)
    client_tag: str = Field(max_length=20, unique=True)
    trading_day: date = Field(nullable=False)
    symbol: str = Field(max_length=30)
    exchange: str = Field(default="NSE", max_length=10)
    side: Side = Field(sa_type=enum_type(Side, "side"), nullable=False)
    order_kind: OrderKind = Field(default=OrderKind.MARKET,
                                  sa_type=enum_type(OrderKind, "order_kind"), nullable=False)
    reason: OrderReason = Field(sa_type=enum_type(OrderReason, "reason"), nullable=False)
    quantity: int = Field(nullable=False)
    price: Decimal | None = money()
    trigger_price: Decimal | None = money()
    status: OrderStatus = Field(default=OrderStatus.PENDING,
                                sa_type=enum_type(OrderStatus, "status"), nullable=False,
                                index=True)
    broker_order_id: str | None = Field(default=None, max_length=64, index=True)
    filled_quantity: int = Field(default=0, nullable=False)
    average_price: Decimal | None = money()
    raw_response: dict[str, Any] | None = json_field(default_factory=lambda: None,
                                                     nullable=True)
    error: str | None = Field(default=None, max_length=500)
    placed_at: datetime | None = ts()
    created_at: datetime = created_at()
    updated_at: datetime = updated_at()


class OrderHistory(SQLModel, table=True):
    """Every status transition of an order, in order: by created_at, then seq (stamped at
    insert), since several transitions are often recorded with the same timestamp."""

    __tablename__ = "order_history"

    id: uuid.UUID = pk()
    order_id: uuid.UUID = fk("orders.id")
    user_id: uuid.UUID = fk("users.id")
    status: OrderStatus = Field(sa_type=enum_type(OrderStatus, "status"), nullable=False)
    intent_state: IntentState = Field(sa_type=enum_type(IntentState, "intent_state"),
                                      nullable=False)
    filled_quantity: int = Field(default=0, nullable=False)
    average_price: Decimal | None = money()
    message: str | None = Field(default=None, max_length=500)
    raw: dict[str, Any] | None = json_field(default_factory=lambda: None, nullable=True)
    created_at: datetime = created_at()
    seq: int | None = insert_seq()


class Position(SQLModel, table=True):
    __tablename__ = "positions"
    __table_args__ = (
        # One OPEN position per strategy + instrument, enforced by the database.
        sa.Index("uq_positions_open_per_strategy_instrument", "strategy_id", "symbol",
                 "exchange", unique=True, sqlite_where=sa.text("status = 'OPEN'"),
                 postgresql_where=sa.text("status = 'OPEN'")),
        sa.Index("ix_positions_user_status", "user_id", "status"),
    )

    id: uuid.UUID = pk()
    user_id: uuid.UUID = fk("users.id", index=False)
    strategy_id: uuid.UUID | None = fk("strategies.id", nullable=True, index=False,
                                       ondelete="SET NULL")
    symbol: str = Field(max_length=30)
    exchange: str = Field(default="NSE", max_length=10)
    quantity: int = Field(default=0, nullable=False)  # signed: > 0 long, < 0 short
    average_price: Decimal = money(nullable=False, default=Decimal(0))
    ltp: Decimal | None = money()
    unrealized_pnl: Decimal = money(nullable=False, default=Decimal(0))
    realized_pnl: Decimal = money(nullable=False, default=Decimal(0))
    stop_loss: Decimal | None = money()
    target: Decimal | None = money()
    status: PositionStatus = Field(default=PositionStatus.OPEN,
                                   sa_type=enum_type(PositionStatus, "position_status"),
                                   nullable=False)
    opened_at: datetime | None = ts()
    closed_at: datetime | None = ts()
    created_at: datetime = created_at()
    updated_at: datetime = updated_at()


class PositionHistory(SQLModel, table=True):
    """Every fill applied to a position, in order: by created_at, then seq (stamped at
    insert), since several fills are often recorded with the same timestamp."""

    __tablename__ = "position_history"

    id: uuid.UUID = pk()
    position_id: uuid.UUID = fk("positions.id")
    user_id: uuid.UUID = fk("users.id")
    order_id: uuid.UUID | None = fk("orders.id", nullable=True, ondelete="SET NULL")
    action: PositionAction = Field(sa_type=enum_type(PositionAction, "position_action"),
                                   nullable=False)
    quantity: int = Field(nullable=False)
    price: Decimal = money(nullable=False)
    pnl: Decimal = money(nullable=False, default=Decimal(0))
    created_at: datetime = created_at()
    seq: int | None = insert_seq()
