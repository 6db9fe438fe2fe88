"""Immutable views of a strategy and its live runtime, passed between layers.

The SQL row is the source of truth; these are what the engine, the live store and the UI see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from uuid import UUID

from .enums import ExecutionMode, RuntimePosition, StrategyKind, StrategyStatus


@dataclass(frozen=True, slots=True)
class StrategySpec:
    id: UUID
    user_id: UUID
    name: str
    kind: StrategyKind
    symbol: str
    exchange: str
    buy_time: time
    sell_time: time
    stop_loss: Decimal
    quantity: int
    mode: ExecutionMode
    status: StrategyStatus
    broker_account_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class RuntimeSnapshot:
    """What `runtime:{id}` holds, as rebuilt from SQL or read from Redis."""

    position: RuntimePosition = RuntimePosition.NONE
    last_price: Decimal | None = None
    last_buy_order: str | None = None
    last_sell_order: str | None = None
    lock_state: bool = False
