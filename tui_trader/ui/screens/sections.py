"""The section screens by mode name, imported together (off the UI thread at start-up)."""

from __future__ import annotations

from .backtests import BacktestsScreen
from .brokers import BrokersScreen
from .notifications import NotificationsScreen
from .orders import OrdersScreen
from .positions import PositionsScreen
from .strategies import StrategiesScreen

SCREENS = {
    "positions": PositionsScreen,
    "strategies": StrategiesScreen,
    "orders": OrdersScreen,
    "brokers": BrokersScreen,
    "notifications": NotificationsScreen,
    "backtests": BacktestsScreen,
}
