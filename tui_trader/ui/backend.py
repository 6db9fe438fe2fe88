"""The non-UI side of one console run: the application context, the engine (embedded or
attached), the user's event stream and the signed-in user's services.

Nothing here imports Textual; methods that block (bootstrap, engine start) run in workers.
Heavy modules (SQLAlchemy, Redis clients, crypto) are imported here lazily so the first
screen paints before they load.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .live_book import LiveBook, PositionLine

if TYPE_CHECKING:
    from ..config import Settings
    from ..domain.clock import Clock
    from ..services.context import AppContext
    from ..services.engine_control import EngineControl, EngineHealth
    from ..services.views import LoginResult

log = logging.getLogger(__name__)


class UnavailableEngine:
    """Stands in when no engine can be reached: every command says so in one line."""

    def __init__(self, detail: str, state: str = "stopped") -> None:
        self.detail = detail
        self.state = state

    def _refuse(self):
        from ..domain.errors import StateError

        raise StateError(f"The engine is unavailable: {self.detail}")

    def start_strategy(self, user_id, strategy_id, *, confirm_live=False):
        self._refuse()

    def stop_strategy(self, user_id, strategy_id):
        self._refuse()

    def kill_switch(self, user_id):
        self._refuse()

    def health(self) -> EngineHealth:
        from ..services.engine_control import EngineHealth

        return EngineHealth(state=self.state, entries_allowed=False, detail=self.detail)


@dataclass(frozen=True)
class BootResult:
    has_users: bool
    notices: list[str] = field(default_factory=list)
    engine_health: Any = None


class UserSession:
    """The signed-in user and the services that act for them."""

    def __init__(self, ctx: AppContext, login: LoginResult, engine: EngineControl) -> None:
        self.ctx = ctx
        self.login = login
        self.user = login.user
        from ..services.engine_control import acting_as

        self.engine = acting_as(engine, login)  # a server engine takes signed commands only
        self.symbols: list[str] = []  # instrument symbols, sorted; loaded once per session
        self.book = LiveBook()

    def remember_theme(self, name: str) -> None:
        self.user = replace(self.user, theme=name)

    @property
    def user_id(self) -> uuid.UUID:
        return self.user.id

    @cached_property
    def auth(self):
        from ..services.auth import AuthService

        return AuthService(self.ctx)

    @cached_property
    def brokers(self):
        from ..services.brokers import BrokerAccountService

        return BrokerAccountService(self.ctx, self.user_id)

    @cached_property
    def strategies(self):
        from ..services.strategies import StrategyService

        return StrategyService(self.ctx, self.user_id)

    @cached_property
    def views(self):
        from ..services.trading import TradingViews

        return TradingViews(self.ctx, self.user_id)

    @cached_property
    def control(self):
        from ..services.engine_control import StrategyControl

        return StrategyControl(self.ctx, self.user_id, self.engine)

    def load_positions(self) -> tuple[list[PositionLine], dict[str, str]]:
        """Every position of the user, and the names of their strategies."""
        names = {str(s.id): s.name for s in self.strategies.list()}
        lines = [PositionLine(id=str(p.id), symbol=p.symbol, quantity=p.quantity,
                              average_price=p.average_price, ltp=p.ltp,
                              unrealized=p.unrealized_pnl, realized=p.realized_pnl,
                              status=p.status.value,
                              strategy_id=str(p.strategy_id) if p.strategy_id else None,
                              strategy=names.get(str(p.strategy_id), ""))
                 for p in self.views.todays_positions()]
        return lines, names

    def load_symbols(self) -> list[str]:
        from sqlmodel import select

        from ..db.models import Instrument

        with self.ctx.session() as s:
            rows = s.exec(select(Instrument.symbol).where(Instrument.exchange == "NSE")).all()
        self.symbols = sorted(set(rows))
        return self.symbols


def _remote_engine(ctx: AppContext) -> EngineControl | None:
    """Control of a `tui-trader engine` server over the live store, if this build has it."""
    try:
        from ..services.remote_engine import RemoteEngineControl
    except ImportError:
        return None
    return RemoteEngineControl(ctx.store)


def _live_factory(ctx: AppContext):
    """What the engine uses to build a real broker for a LIVE strategy's account."""
    try:
        from ..services.live_brokers import make_live_factory
    except ImportError:
        return None
    return make_live_factory(ctx)


class Backend:
    """Owns the context, engine and event stream for one run of the console."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 ctx: AppContext | None = None, engine: EngineControl | None = None,
                 event_interval: float = 0.1) -> None:
        self.settings = settings
        self.clock = clock
        self.ctx = ctx
        self.engine = engine
        self.event_interval = event_interval
        self._owns_ctx = ctx is None
        self._owned_engine: Any = None
        self._stream: Any = None

    # -- start-up (worker thread) -----------------------------------------------------------
    def boot(self) -> BootResult:
        if self.ctx is None:
            from ..services.context import bootstrap

            self.ctx = bootstrap(self.settings, clock=self.clock)
        ctx = self.ctx
        from ..domain.calendar import calendar_notice

        # Loads the exchange calendar off the UI thread, and warns when it has run out.
        notices = list(ctx.notices)
        notice = calendar_notice(ctx.calendar, ctx.clock.now(), ctx.settings.holidays_file)
        if notice:
            notices.append(notice)
        from ..services.auth import AuthService

        has_users = AuthService(ctx).has_users()
        if self.engine is None:
            self.engine = self._make_engine(ctx)
        try:
            health = self.engine.health()
        except Exception as exc:  # a broken engine must not stop the console starting
            log.warning("engine health failed", exc_info=True)
            from ..services.engine_control import EngineHealth

            health = EngineHealth("unreachable", False, f"{type(exc).__name__}")
        return BootResult(has_users=has_users, notices=notices, engine_health=health)

    def _make_engine(self, ctx: AppContext) -> EngineControl:
        if self.settings.engine_mode == "embedded":
            try:
                from ..brokers.feeds.simulated import SimulatedFeed
                from ..engine.embedded import EmbeddedEngine
            except ImportError:
                return UnavailableEngine("the embedded engine is not installed")
            live = _live_factory(ctx)
            # The same default as `tui-trader engine`: paper fills against a simulated feed.
            engine = EmbeddedEngine(ctx, feed=SimulatedFeed(seed=1, clock=ctx.clock),
                                    live_factory=live)
            try:
                engine.start()
            except Exception as exc:  # the console still works: it just cannot trade
                log.exception("the embedded engine failed to start")
                try:
                    engine.stop()
                except Exception:
                    log.debug("stopping a half-started engine failed", exc_info=True)
                return UnavailableEngine(f"failed to start ({type(exc).__name__}: {exc})"[:160])
            self._owned_engine = engine
            return engine
        remote = _remote_engine(ctx)
        if remote is None:
            return UnavailableEngine("attach mode: no remote engine control available",
                                     state="unreachable")
        return remote

    @property
    def engine_in_process(self) -> bool:
        """True when the engine runs inside this console (quitting stops it)."""
        return self.settings.engine_mode == "embedded"

    def engine_health(self) -> EngineHealth:
        assert self.engine is not None
        return self.engine.health()

    # -- events ----------------------------------------------------------------------------
    def listen(self, user_id: uuid.UUID, on_batch: Callable[[list], None],
               on_health: Callable[[bool, str], None]) -> None:
        from ..services.event_stream import UserEventStream

        self.stop_listening()
        assert self.ctx is not None
        self._stream = UserEventStream(self.ctx.store, user_id, on_batch, on_health,
                                       interval=self.event_interval)
        self._stream.start()

    def stop_listening(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream = None

    # -- shutdown (after the UI loop has ended) ----------------------------------------------
    def close(self) -> None:
        self.stop_listening()
        if self._owned_engine is not None:
            try:
                self._owned_engine.stop()
            except Exception:
                log.exception("stopping the embedded engine failed")
            self._owned_engine = None
        if self.ctx is not None and self._owns_ctx:
            self.ctx.close()
