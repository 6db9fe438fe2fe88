"""Every SQL table, importable from one place so the metadata is complete."""

from .alerts import AuditEvent, NotificationChannel, NotificationPreference
from .base import metadata
from .brokers import BrokerAccount, TokenRefreshLog
from .market import Candle, IndicatorValue, Instrument, OrderBookSnapshot, Tick
from .risk import RiskEvent, RiskRule, RiskStateRow
from .strategies import BacktestRun, Strategy, StrategyCatalog, StrategyPerformance, UserStrategy
from .system import Notification, SystemLog, TradingSession
from .trading import Order, OrderHistory, Position, PositionHistory
from .users import LoginAttempt, User, UserSession

__all__ = [
    "metadata", "BrokerAccount", "TokenRefreshLog", "Candle", "IndicatorValue", "Instrument",
    "OrderBookSnapshot", "Tick", "RiskEvent", "RiskRule", "RiskStateRow", "BacktestRun", "Strategy",
    "StrategyCatalog", "StrategyPerformance", "UserStrategy", "Notification", "SystemLog",
    "TradingSession", "Order", "OrderHistory", "Position", "PositionHistory", "User",
    "UserSession", "LoginAttempt", "AuditEvent", "NotificationChannel",
    "NotificationPreference",
]
