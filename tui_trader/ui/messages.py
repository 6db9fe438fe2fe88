"""Every message the console passes around. Threads (workers, the event stream) reach the UI
only by posting one of these; `post_message` is thread-safe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from datetime import datetime

    from ..domain.calendar import Session as MarketSession
    from ..domain.events import EngineEvent
    from ..domain.stop_rule import KnownPrice
    from ..domain.strategy import StrategySpec
    from ..services.engine_control import EngineHealth
    from ..services.trading import Notification, Order, OrderHistory
    from ..services.views import BrokerAccountView, LoginResult, StrategyRow
    from .backend import BootResult


# -- start-up and session -----------------------------------------------------------------
class BootFinished(Message):
    """The context is connected (and the embedded engine started)."""

    def __init__(self, result: BootResult) -> None:
        super().__init__()
        self.result = result


class BootFailed(Message):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class SignedIn(Message):
    def __init__(self, result: LoginResult, *, demo: bool = False) -> None:
        super().__init__()
        self.result = result
        self.demo = demo


class LoginLocked(Message):
    """Too many failed logins for the address: locked until `until` (on the app's clock)."""

    def __init__(self, until: datetime) -> None:
        super().__init__()
        self.until = until


class FormRejected(Message):
    """A form's submission failed: messages per field and/or one line for the whole form."""

    def __init__(self, errors: dict[str, str], banner: str | None = None) -> None:
        super().__init__()
        self.errors = errors
        self.banner = banner


# -- engine and live store ------------------------------------------------------------------
class EngineEventsBatch(Message):
    """One coalesced batch from the event stream (newest event per key)."""

    def __init__(self, events: list[EngineEvent]) -> None:
        super().__init__()
        self.events = events


class StoreHealth(Message):
    """The event stream's connection to the live store came up or went down."""

    def __init__(self, ok: bool, detail: str) -> None:
        super().__init__()
        self.ok = ok
        self.detail = detail

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreHealth)


class EngineHealthChanged(Message):
    def __init__(self, health: EngineHealth) -> None:
        super().__init__()
        self.health = health

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineHealthChanged)


# -- workers --------------------------------------------------------------------------------
class WorkerFailed(Message):
    """A worker raised: the app shows it as one line and keeps running."""

    def __init__(self, where: str, error: BaseException) -> None:
        super().__init__()
        self.where = where
        self.error = error


class Done(Message):
    """A background action finished; `text` is the one line to show."""

    def __init__(self, text: str, severity: str = "information") -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class SessionEnded(Message):
    """The signed-in session expired or the account was deactivated: sign out."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


# -- a screen's data, read by its worker: one message per result ----------------------------
class StrategiesLoaded(Message):
    def __init__(self, rows: list[StrategyRow]) -> None:
        super().__init__()
        self.rows = rows


class OrdersLoaded(Message):
    """The order log as filtered, and the names of the user's strategies (for the filter)."""

    def __init__(self, orders: list[Order], strategy_names: dict[str, str]) -> None:
        super().__init__()
        self.orders = orders
        self.strategy_names = strategy_names


class OrderLoaded(Message):
    """One order and every status it went through."""

    def __init__(self, order: Order, history: list[OrderHistory]) -> None:
        super().__init__()
        self.order = order
        self.history = history


class BrokerAccountsLoaded(Message):
    def __init__(self, accounts: list[BrokerAccountView]) -> None:
        super().__init__()
        self.accounts = accounts


class NotificationsLoaded(Message):
    def __init__(self, notifications: list[Notification]) -> None:
        super().__init__()
        self.notifications = notifications


class StrategyFormLoaded(Message):
    """What the strategy form offers (accounts, special sessions) and the strategy it edits
    (None for a new one)."""

    def __init__(self, accounts: list[BrokerAccountView], spec: StrategySpec | None,
                 special_sessions: list[MarketSession],
                 values: dict[str, str] | None = None) -> None:
        super().__init__()
        self.values = values  # the saved strategy as its form shows it
        self.accounts = accounts
        self.spec = spec
        self.special_sessions = special_sessions


class LastPriceLoaded(Message):
    """The newest stored price of a symbol (None: none is known)."""

    def __init__(self, symbol: str, price: KnownPrice | None) -> None:
        super().__init__()
        self.symbol = symbol
        self.price = price


class KiteLoginUrlLoaded(Message):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url


class UnreadChanged(Message):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, UnreadChanged)


class LogsLoaded(Message):
    """Kept warnings and errors (or the user's audit trail) for the Logs screen, and the
    components there are to filter by."""

    def __init__(self, rows: list, components: list[str]) -> None:
        super().__init__()
        self.rows = rows
        self.components = components


class ChannelsLoaded(Message):
    """The user's notification channels and alert modes."""

    def __init__(self, channels: list, modes: dict) -> None:
        super().__init__()
        self.channels = channels
        self.modes = modes


class StrategyChartLoaded(Message):
    """A strategy's chart data and its symbol's quote (services.strategy_chart)."""

    def __init__(self, chart: Any, quote: Any) -> None:
        super().__init__()
        self.chart = chart
        self.quote = quote


class QuoteLoaded(Message):
    """A symbol's last known price and today's range, for the quote panel."""

    def __init__(self, quote: Any) -> None:
        super().__init__()
        self.quote = quote


# -- backtests ------------------------------------------------------------------------------
class BacktestRunsLoaded(Message):
    def __init__(self, runs: list) -> None:
        super().__init__()
        self.runs = runs


class BacktestProgress(Message):
    """A running backtest replayed `done` of `total` candles."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done = done
        self.total = total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, BacktestProgress)


class BacktestEnded(Message):
    """A run finished and was stored (`run_id`), was cancelled, or was refused (`errors`
    by field, `banner` for the whole form)."""

    def __init__(self, run_id=None, *, cancelled: bool = False,
                 errors: dict[str, str] | None = None, banner: str | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.cancelled = cancelled
        self.errors = errors or {}
        self.banner = banner


class BacktestDetailLoaded(Message):
    """A stored run, and the closes of its candles for the chart ([] if not stored)."""

    def __init__(self, detail, closes: list | None = None) -> None:
        super().__init__()
        self.detail = detail
        self.closes = closes or []
