"""Every closed set of values in the system; the database restricts columns to these."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    TRADER = "trader"
    INVESTOR = "investor"
    ADMIN = "admin"


class BrokerKind(StrEnum):
    PAPER = "paper"
    KITE = "kite"
    ANGEL = "angel"
    UPSTOX = "upstox"
    ICICI = "icici"


class StrategyKind(StrEnum):
    SCHEDULED = "scheduled"
    EMA_CROSSOVER = "ema_crossover"
    RSI_REVERSION = "rsi_reversion"
    BREAKOUT = "breakout"
    SUPERTREND = "supertrend"


class ExecutionMode(StrEnum):
    PAPER = "PAPER"
    LIVE = "LIVE"


class StrategyStatus(StrEnum):
    CREATED = "created"
    RUNNING = "running"
    STOPPED = "stopped"


class OrderKind(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    SL = "SL"
    SL_M = "SL-M"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderReason(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    STOPLOSS = "STOPLOSS"
    EXIT = "EXIT"


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_final(self) -> bool:
        return self in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


class IntentState(StrEnum):
    """The exactly-once guard on an order intent: only one executor moves ARMED -> FIRING."""

    ARMED = "ARMED"
    FIRING = "FIRING"
    SENT = "SENT"
    UNKNOWN = "UNKNOWN"
    DONE = "DONE"
    FAILED = "FAILED"


class PositionStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    PARTIALLY_CLOSED = "PARTIALLY_CLOSED"


class PositionAction(StrEnum):
    OPEN = "OPEN"
    INCREASE = "INCREASE"
    DECREASE = "DECREASE"
    CLOSE = "CLOSE"


class RuntimePosition(StrEnum):
    """The live per-strategy position state kept in `runtime:{id}`."""

    NONE = "none"
    BOUGHT = "bought"
    SOLD = "sold"


class TriggerEvent(StrEnum):
    """What lands on `queue:orders`."""

    BUY = "BUY"
    SELL = "SELL"
    STOPLOSS = "STOPLOSS"
    EXIT = "EXIT"


class InstrumentType(StrEnum):
    EQ = "EQ"
    INDEX = "INDEX"
    FUT = "FUT"
    CE = "CE"
    PE = "PE"


class Exchange(StrEnum):
    NSE = "NSE"
    BSE = "BSE"
    NFO = "NFO"
    BFO = "BFO"
    MCX = "MCX"
    CDS = "CDS"


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


class NotificationKind(StrEnum):
    FILL = "FILL"
    REJECTION = "REJECTION"
    STOPLOSS = "STOPLOSS"
    RISK = "RISK"
    TOKEN_EXPIRY = "TOKEN_EXPIRY"
    SYSTEM = "SYSTEM"


class RiskRuleKind(StrEnum):
    """The rule a `risk_events` row is about: a limit an entry was denied by, the one that
    moved the user's risk state, or why the entry could not be judged at all."""

    DAILY_LOSS_LIMIT = "DAILY_LOSS_LIMIT"
    MAX_POSITION_VALUE = "MAX_POSITION_VALUE"
    MAX_DRAWDOWN_PCT = "MAX_DRAWDOWN_PCT"
    MAX_RISK_PER_TRADE = "MAX_RISK_PER_TRADE"
    MAX_OPEN_POSITIONS = "MAX_OPEN_POSITIONS"
    MAX_ORDERS_PER_DAY = "MAX_ORDERS_PER_DAY"
    STRATEGY_DAILY_LOSS = "STRATEGY_DAILY_LOSS"
    # entries refused because the user is REDUCING (exits only) or HALTED
    RISK_STATE = "RISK_STATE"
    # a percentage rule needs a capital: none set, and no broker margin known
    TRADING_CAPITAL = "TRADING_CAPITAL"
    # the entry itself cannot be judged (stop on the wrong side, quantity not in lots)
    INVALID_ENTRY = "INVALID_ENTRY"


class RiskEventKind(StrEnum):
    """What a `risk_events` row records."""

    DENIAL = "DENIAL"  # an entry the pre-trade gate refused (never sent)
    TRANSITION = "TRANSITION"  # the user's risk state moved


class Timeframe(StrEnum):
    """Candle lengths, named as Kite's historical API names them (75 and 125 minutes are
    NSE-session fractions Kite does not serve: they are built from shorter candles)."""

    MINUTE = "minute"
    MIN3 = "3minute"
    MIN5 = "5minute"
    MIN10 = "10minute"
    MIN15 = "15minute"
    MIN30 = "30minute"
    MIN60 = "60minute"
    MIN75 = "75minute"
    MIN125 = "125minute"
    DAY = "day"


class Product(StrEnum):
    """How a position is held: MIS intraday (squared off the same day), CNC delivery,
    NRML carried derivatives."""

    MIS = "MIS"
    CNC = "CNC"
    NRML = "NRML"


class BacktestStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
