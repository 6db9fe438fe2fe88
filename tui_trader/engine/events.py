"""The typed events the engine publishes. They are defined in `domain.events`, beside their
one wire codec, so the console can read them without importing the engine; the engine's
modules import them from here."""

from __future__ import annotations

from ..domain.events import (
    EngineEvent,
    EngineStatus,
    NotificationRaised,
    OrderStatusChanged,
    PositionChanged,
    StrategyStatusChanged,
)

__all__ = ["EngineEvent", "EngineStatus", "NotificationRaised", "OrderStatusChanged",
           "PositionChanged", "StrategyStatusChanged"]
