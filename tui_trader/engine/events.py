"""The typed events the engine publishes to `events:{db}:{user_id}` for every UI to consume.

Each event has a `key`: a newer event with the same key supersedes an older one, which is how
a burst of ticks becomes one repaint (see services.event_stream). Notifications are never
coalesced. Events travel as JSON; Decimals as strings, times as ISO-8601 UTC.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar


@dataclass(frozen=True)
class EngineEvent:
    type: ClassVar[str] = "event"
    user_id: str

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type,)

    def to_json(self) -> str:
        body = {"type": self.type}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, datetime):
                value = value.isoformat()
            body[f.name] = value
        return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True)
class PositionChanged(EngineEvent):
    type: ClassVar[str] = "position"
    position_id: str
    strategy_id: str | None
    symbol: str
    quantity: int
    average_price: Decimal
    ltp: Decimal | None
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    status: str

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type, self.position_id)


@dataclass(frozen=True)
class OrderStatusChanged(EngineEvent):
    type: ClassVar[str] = "order"
    order_id: str
    strategy_id: str | None
    symbol: str
    side: str
    reason: str
    status: str
    quantity: int
    filled_quantity: int
    average_price: Decimal | None
    message: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type, self.order_id)


@dataclass(frozen=True)
class StrategyStatusChanged(EngineEvent):
    type: ClassVar[str] = "strategy"
    strategy_id: str
    status: str
    reason: str | None = None
    position: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type, self.strategy_id)


@dataclass(frozen=True)
class NotificationRaised(EngineEvent):
    type: ClassVar[str] = "notification"
    notification_id: str
    kind: str
    severity: str
    title: str
    body: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type, self.notification_id)


@dataclass(frozen=True)
class EngineStatus(EngineEvent):
    """Engine-wide state; user_id is "*"."""

    type: ClassVar[str] = "engine"
    state: str  # starting | reconciling | running | degraded | stopped
    entries_allowed: bool
    detail: str = ""
    counters: dict[str, int] = field(default_factory=dict)


_TYPES: dict[str, type[EngineEvent]] = {
    cls.type: cls for cls in (PositionChanged, OrderStatusChanged, StrategyStatusChanged,
                              NotificationRaised, EngineStatus)
}
_DECIMALS = {"average_price", "ltp", "unrealized_pnl", "realized_pnl"}


def decode_event(text: str | bytes) -> EngineEvent | None:
    """Parse one published event; None for anything malformed (logged by the caller)."""
    try:
        body: dict[str, Any] = json.loads(text)
        cls = _TYPES[body.pop("type")]
        names = {f.name for f in fields(cls)}
        kwargs = {k: (Decimal(v) if k in _DECIMALS and v is not None else v)
                  for k, v in body.items() if k in names}
        return cls(**kwargs)
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return None


__all__ = ["EngineEvent", "PositionChanged", "OrderStatusChanged", "StrategyStatusChanged",
           "NotificationRaised", "EngineStatus", "decode_event", "asdict"]
