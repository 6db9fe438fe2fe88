"""Every read and write of the tables goes through these; user-owned data is scoped so one
user can never read or change another's rows, whatever id is passed in."""

from .brokers import BrokerAccountRepository
from .candles import CandleRepository
from .instruments import InstrumentRepository
from .notifications import NotificationRepository
from .risk import RiskEventRepository, RiskRuleRepository, RiskStateRepository
from .scoped import ScopedRepository
from .strategies import StrategyRepository, running_strategies
from .trading import OrderRepository, PositionRepository
from .users import SessionRepository, UserRepository

__all__ = [
    "BrokerAccountRepository", "CandleRepository", "InstrumentRepository", "NotificationRepository",
    "RiskEventRepository", "RiskRuleRepository", "RiskStateRepository", "ScopedRepository",
    "StrategyRepository", "running_strategies", "OrderRepository", "PositionRepository",
    "SessionRepository", "UserRepository",
]
