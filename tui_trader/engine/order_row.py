"""An order as the engine reads it back from SQL: a typed, immutable record built once from
the row (states as their enums), instead of dictionaries indexed by column name."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ..domain.enums import IntentState, OrderKind, OrderReason, OrderStatus, Side


@dataclass(frozen=True, slots=True)
class OrderRow:
    id: uuid.UUID
    user_id: uuid.UUID
    strategy_id: uuid.UUID | None
    broker_account_id: uuid.UUID | None
    intent_key: str
    intent_state: IntentState
    event_id: str | None
    client_tag: str
    trading_day: date
    symbol: str
    exchange: str
    side: Side
    order_kind: OrderKind
    reason: OrderReason
    quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    status: OrderStatus
    broker_order_id: str | None
    filled_quantity: int
    average_price: Decimal | None
    error: str | None
    placed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> OrderRow:
        return cls(
            id=row["id"], user_id=row["user_id"], strategy_id=row["strategy_id"],
            broker_account_id=row["broker_account_id"], intent_key=row["intent_key"],
            intent_state=IntentState(row["intent_state"]), event_id=row["event_id"],
            client_tag=row["client_tag"], trading_day=row["trading_day"],
            symbol=row["symbol"], exchange=row["exchange"], side=Side(row["side"]),
            order_kind=OrderKind(row["order_kind"]), reason=OrderReason(row["reason"]),
            quantity=row["quantity"], price=row["price"],
            trigger_price=row["trigger_price"], status=OrderStatus(row["status"]),
            broker_order_id=row["broker_order_id"],
            filled_quantity=row["filled_quantity"], average_price=row["average_price"],
            error=row["error"], placed_at=row["placed_at"], created_at=row["created_at"],
            updated_at=row["updated_at"])


@dataclass(frozen=True, slots=True)
class Recorded:
    """An order after a broker snapshot was applied, with what it said before."""

    row: OrderRow
    average_price_before: Decimal | None
    filled_before: int
