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
    from ..services.engine_control import EngineControl, EngineHealth, OwnedEngine
    from ..services.views import LoginResult

log = logging.getLogger(__name__)


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
        # Settings of kinds the engine cannot run yet, prepared in the editor and kept (not
        # saved) until the console closes: kind -> the form's values.
        self.drafts: dict[str, dict] = {}
        # The user's alert modes (domain.alerts): which notifications toast. Read off the UI
        # thread at sign-in and whenever the Channels screen changes them.
        self.alert_modes: dict = {}

    def load_alert_modes(self) -> dict:
        from ..services.notify_channels import alert_modes

        self.alert_modes = alert_modes(self.ctx, self.user_id)
        return self.alert_modes

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
    def charts(self):
        from ..services.strategy_chart import ChartService

        return ChartService(self.ctx, self.user_id)

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
        from ..services.market_data import instrument_symbols

        self.symbols = instrument_symbols(self.ctx)
        return self.symbols


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
        self._owned_engine: OwnedEngine | None = None
        self._stream: Any = None
        self._jobs: Any = None

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
            from ..services.background import BackgroundJobs

            # In-process engine: this console also sends alerts out and prunes; attached
            # to a server, that server does, and this console keeps its own warnings.
            embedded = self.settings.engine_mode == "embedded"
            self._jobs = BackgroundJobs(ctx, alerts=embedded, retention=embedded).start()
        try:
            health = self.engine.health()
        except Exception as exc:  # a broken engine must not stop the console starting
            log.warning("engine health failed", exc_info=True)
            from ..services.engine_control import UNREACHABLE, EngineHealth

            health = EngineHealth(UNREACHABLE, False, f"{type(exc).__name__}")
        return BootResult(has_users=has_users, notices=notices, engine_health=health)

    def _make_engine(self, ctx: AppContext) -> EngineControl:
        from ..services.engine_control import attach_remote_engine, start_embedded_engine

        if self.settings.engine_mode == "embedded":
            self._owned_engine = start_embedded_engine(ctx)
            return self._owned_engine
        return attach_remote_engine(ctx)

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
        if self._jobs is not None:
            self._jobs.stop()
            self._jobs = None
        if self.ctx is not None and self._owns_ctx:
            self.ctx.close()
