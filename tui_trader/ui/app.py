"""The console application: start-up, sign-in, sections (Textual modes), engine events and
the one place worker errors are shown. Screens do the rest; `run` is the entry point."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.notifications import SeverityLevel
from textual.reactive import var

from . import keymap
from .backend import Backend, BootResult, UserSession
from .commands import KeymapCommands
from .formatting import one_line
from .messages import (
    BootFailed,
    BootFinished,
    Done,
    EngineEventsBatch,
    EngineHealthChanged,
    SessionEnded,
    SignedIn,
    StoreHealth,
    UnreadChanged,
    WorkerFailed,
)
from .screens.login import LoginScreen
from .status import StatusInfo
from .stylesheet import ReusingStylesheet
from .themes import DEFAULT_THEME, FALLBACK, load_themes

if TYPE_CHECKING:
    from datetime import datetime

    from ..config import Settings
    from ..domain.clock import Clock
    from ..domain.practice import PracticePlan
    from ..services.context import AppContext
    from ..services.engine_control import EngineControl

log = logging.getLogger(__name__)
TOAST_LIMIT = 400  # characters of a toast's message; the Alerts section keeps the whole text


def _section(mode: str):
    """A factory for a section's screen, imported on first use (keeps start-up fast)."""
    def make():
        from .screens import sections

        return sections.SCREENS[mode]()
    return make


# Every screen's stylesheet (kept beside its module), loaded once at start: a screen that
# brings its own CSS makes Textual re-style the whole app the first time it opens.
STYLESHEETS = sorted(str(p) for p in (Path(__file__).parent / "screens").glob("*.tcss"))


class TraderApp(App[int]):
    TITLE = "tui-trader"
    CSS_PATH = STYLESHEETS
    MODES = {"login": LoginScreen}
    DEFAULT_MODE = "login"
    BINDINGS = keymap.APP + keymap.FOCUS
    COMMANDS = {KeymapCommands}
    # -wide: room for the positions table and the P&L chart side by side.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]

    status: var[StatusInfo] = var(StatusInfo)
    boot: var[BootResult | None] = var(None)
    boot_error: var[str] = var("")

    def __init__(self, settings: Settings, *, clock: Clock | None = None,
                 ctx: AppContext | None = None, engine: EngineControl | None = None,
                 event_interval: float = 0.1, health_interval: float = 5.0,
                 practice: PracticePlan | None = None) -> None:
        super().__init__()
        self.settings = settings
        # A practice day (ui.practice_flow): the one running, the real backend kept aside
        # meanwhile (backend, session, clock), and the one asked for on the command line.
        self.practice_day: Any = None
        self.real_backend: tuple | None = None
        self.practice_busy = False
        self.practice_over_told = False
        self._practice_plan = practice
        # One clock from the first frame on: the status bar before start-up finishes shows
        # the same (possibly simulated) time the engine will run on.
        self.clock: Clock = clock or (ctx.clock if ctx is not None else settings.make_clock())
        self.backend = Backend(settings, clock=self.clock, ctx=ctx, engine=engine,
                               event_interval=event_interval)
        self.user_session: UserSession | None = None
        self.live_screens: set[Any] = set()
        self.asking_to_quit = False  # the quit question is up
        self._built_modes: set[str] = {"login"}  # modes whose screen exists already
        self._instant_switch = False
        self._health_interval = health_interval
        self.theme_names: list[str] = []
        for theme in load_themes():
            self.register_theme(theme)
            self.theme_names.append(theme.name)
        self.apply_theme(settings.theme)
        # After the theme: the first parse is then made with the variables it needs.
        self.stylesheet = ReusingStylesheet(variables=self.get_css_variables())
        self.user_keys, self._keymap_notices = keymap.user_keymap(settings.keymap)
        if self.user_keys:
            self.set_keymap(self.user_keys)
        self.status = StatusInfo(store=settings.store_label(), market=self._market_line())

    # -- start-up -------------------------------------------------------------------------
    def on_mount(self) -> None:
        for notice in self._keymap_notices:
            log.warning("%s", notice)
            self.notify(notice, title="Keys", severity="warning", timeout=10)
        self.call_after_refresh(self._boot)
        self.set_interval(1.0, self._tick)
        self.theme_changed_signal.subscribe(self, self._theme_changed)

    @work(thread=True, exit_on_error=False, name="start-up")
    def _boot(self) -> None:
        try:
            result = self.backend.boot()
            from .screens import sections  # noqa: F401  (warm the imports off the UI thread)
        except Exception as exc:  # shown on the login screen; the app stays up
            log.exception("start-up failed")
            self.post_message(BootFailed(one_line(str(exc) or type(exc).__name__)))
            return
        self.post_message(BootFinished(result))

    def on_boot_finished(self, message: BootFinished) -> None:
        result = message.result
        self.clock = self.backend.ctx.clock
        self._set_health(result.engine_health)
        self.boot = result
        for notice in result.notices:
            self.notify(one_line(notice), severity="warning", timeout=10)
        self.set_interval(self._health_interval, self._poll_health)
        self._tick()
        if self._practice_plan is not None:  # `tui-trader practice`: straight into it
            self.action_practice(self._practice_plan)
            self._practice_plan = None

    def on_unmount(self) -> None:
        self.backend.stop_listening()

    def on_boot_failed(self, message: BootFailed) -> None:
        self.boot_error = message.message
        self.status = replace(self.status, engine="offline", engine_detail=message.message)
        self.notify(message.message, title="Start-up failed", severity="error", timeout=30)

    def _market_line(self, now: datetime | None = None) -> str:
        """The market and the IST time (before start-up, just the time) on the app's clock."""
        from ..domain.clock import IST

        now = now or self.clock.now()
        simulated = " SIMULATED" if self.settings.clock_start is not None and \
            self.practice_day is None else ""  # a practice day says PRACTICE instead
        if self.boot is not None and self.backend.ctx is not None:
            return self.backend.ctx.calendar.market_state(now)[0] + simulated
        return f"NSE {now.astimezone(IST):%H:%M:%S} IST{simulated}"

    def refresh_status(self) -> None:
        """Read the market line and the engine's health again (after the backend changed)."""
        self._tick()
        self._poll_health()

    def _tick(self) -> None:
        ctx = self.backend.ctx
        booted = self.boot is not None and ctx is not None
        now = self.clock.now()
        self.status = replace(
            self.status, market=self._market_line(now),
            market_open=ctx.calendar.is_open(now) if booted else None,
            market_next=ctx.calendar.market_state(now)[1] if booted else "",
            calendar_note=ctx.calendar.fallback_note(now) if booted else "")
        session = self.user_session
        if session is not None and session.book.loaded and session.book.sample(now):
            for screen in list(self.live_screens):
                screen.data_changed("chart")

    # -- engine health and the live store ---------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, name="engine-health", group="health")
    def _poll_health(self) -> None:
        self.post_message(EngineHealthChanged(self.backend.engine_health()))
        if self.practice_day is not None:
            from .practice_flow import check_practice_over

            check_practice_over(self)
        session = self.user_session
        if session is not None:
            from ..domain.errors import AuthError

            try:  # the session lasts TUI_TRADER_SESSION_HOURS, not for as long as the app
                session.auth.resume(session.login.token)
            except AuthError as exc:
                self.post_message(SessionEnded(str(exc)))

    async def on_session_ended(self, message: SessionEnded) -> None:
        if self.user_session is None:
            return
        from .session_flow import end_session

        await end_session(self)
        self.notify(one_line(message.reason), title="Signed out", severity="warning",
                    timeout=30)

    def on_engine_health_changed(self, message: EngineHealthChanged) -> None:
        self._set_health(message.health)

    def _set_health(self, health: Any) -> None:
        if health is not None:
            self.status = replace(self.status, engine=health.state,
                                  entries_allowed=health.entries_allowed,
                                  engine_detail=health.detail,
                                  feed=getattr(health, "feed", ""))

    def on_store_health(self, message: StoreHealth) -> None:
        if self.user_session is None:
            return
        was = self.status.events_ok
        self.status = replace(self.status, events_ok=message.ok, events_detail=message.detail)
        if was is not None and was != message.ok:
            self.notify(one_line(message.detail), title="Live store",
                        severity="information" if message.ok else "error")
        if message.ok and was is False:
            # Events sent while the link was down are lost (pub/sub): read the state again.
            from .session_flow import load_session_data

            load_session_data(self, self.user_session)
            for screen in list(self.live_screens):
                screen.resync()

    def on_engine_events_batch(self, message: EngineEventsBatch) -> None:
        from .events import route_events

        if self.user_session is not None:
            route_events(self, self.user_session, message.events)

    # -- sign in and out ------------------------------------------------------------------
    def on_signed_in(self, message: SignedIn) -> None:
        from .session_flow import start_session

        start_session(self, message.result, demo=message.demo)

    def action_practice(self, plan: PracticePlan | None = None) -> None:
        from .practice_flow import practise

        practise(self, plan)

    def action_logout(self) -> None:
        from .session_flow import end_session

        if self.practice_day is not None:
            self.notify("Leave the practice day first (p).", title="Practice", timeout=4)
            return
        if self.user_session is not None:
            self.run_worker(end_session(self), exclusive=True, group="logout")

    def action_goto(self, mode: str) -> None:
        if self.user_session is not None and mode in keymap.SECTIONS:
            self.switch_mode(mode)

    async def run_command(self, section: str | None, action: str) -> None:
        """Run a palette command: switch to its section first if it belongs to one."""
        if section and self.current_mode != section:
            await self.switch_mode(section)
        await self.run_action(action, self.screen if section else self)

    def add_sections(self) -> None:
        self._built_modes -= set(keymap.SECTIONS)
        for mode in keymap.SECTIONS:
            self.add_mode(mode, _section(mode))

    # -- switching sections -----------------------------------------------------------------
    def switch_mode(self, mode: str):
        # Textual holds every repaint for 50 ms after a mode switch, to hide a new mode's
        # screen while it is built. A section shown before is built and kept, so there is
        # nothing to hide: it is painted on the next frame.
        self._instant_switch = self._instant_switch or mode in self._built_modes
        try:
            return super().switch_mode(mode)
        finally:
            self._instant_switch = False
            self._built_modes.add(mode)

    def delay_update(self, delay: float = 0.05) -> None:
        if not self._instant_switch:
            super().delay_update(delay)

    def prebuild_sections(self, delay: float = 0.2) -> None:
        """Build every section's screen soon after sign-in, one per step, so that even the
        first visit to a section is a switch to a screen that exists. A section reads its
        data when it is shown, not while it is built."""
        session = self.user_session

        def step() -> None:
            if not self.is_running:
                return  # shutting down: adding a screen now breaks Textual's close of them
            if self.user_session is not session or session is None:
                return  # signed out (or in again) since
            pending = [m for m in keymap.SECTIONS if m not in self._built_modes]
            if not pending:
                return
            here = self.current_mode
            if here in keymap.SECTIONS and len(self.screen_stack) == 1:
                # To the new section and straight back in one callback: no frame is painted
                # in between, no key is handled in between, and the new screen composes in
                # the background.
                with self.batch_update():
                    self._instant_switch = True
                    self.switch_mode(pending[0])
                    self._instant_switch = True
                    self.switch_mode(here)
            self.set_timer(0.05, step, name="prebuild sections")

        self.set_timer(delay, step, name="prebuild sections")

    # -- app-wide actions -------------------------------------------------------------------
    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.current_mode, self.user_keys))

    async def action_quit(self) -> None:
        """Quit at once, unless that stops an engine trading for the user (the embedded
        engine runs inside this console): then say what runs and ask first."""
        from .session_flow import confirm_quit

        if self.user_session is None or not self.backend.engine_in_process:
            self.exit()
        else:
            confirm_quit(self)

    def action_kill_switch(self) -> None:
        from .session_flow import confirm_kill_switch

        if self.user_session is not None:
            confirm_kill_switch(self)

    def action_cycle_theme(self) -> None:
        names = self.theme_names or [self.theme]
        index = names.index(self.theme) if self.theme in names else -1
        new = (index + 1) % len(names)
        self.theme = names[new]
        self.notify(f"Theme: {self.theme} ({new + 1} of {len(names)}; ctrl+t for the next)",
                    timeout=3)

    def apply_theme(self, name: str | None) -> None:
        if name and name in self.available_themes:
            self.theme = name
        elif self.theme_names:
            self.theme = DEFAULT_THEME if DEFAULT_THEME in self.theme_names else self.theme_names[0]
        else:
            self.theme = FALLBACK.get(name or "", "textual-dark")

    def _theme_changed(self, theme: Any) -> None:
        session = self.user_session
        if session is not None and session.user.theme != theme.name:
            session.remember_theme(theme.name)
            self._save_theme(session, theme.name)

    @work(thread=True, exit_on_error=False, name="save-theme", group="theme")
    def _save_theme(self, session: UserSession, name: str) -> None:
        session.auth.set_theme(session.user_id, name)

    # -- toasts ------------------------------------------------------------------------------
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast is one line of plain text, whoever raises it (a widget's `notify`
        asks for markup by default, and `markup` is ignored here): toasts quote broker
        replies, names and labels, where `[/]` would crash the console and
        `[@click=app.quit]` would become a clickable action."""
        super().notify(one_line(str(message), TOAST_LIMIT), title=one_line(str(title), 80),
                       severity=severity, timeout=timeout, markup=False)

    def action_help_quit(self) -> None:
        # Textual's own version of this (ctrl+c) writes its hint in markup.
        for active in self.active_bindings.values():
            if active.binding.action in ("quit", "app.quit"):
                self.notify(f"Press {self.get_key_display(active.binding)} to quit the app",
                            title="Do you want to quit?")
                return

    # -- one place for results and errors of background work -------------------------------
    def on_done(self, message: Done) -> None:
        self.notify(one_line(message.text), severity=message.severity)  # type: ignore[arg-type]

    def on_worker_failed(self, message: WorkerFailed) -> None:
        from .errors import describe

        text, title = describe(message.error, message.where)
        self.notify(text, title=title, severity="error", timeout=8)

    def on_unread_changed(self, message: UnreadChanged) -> None:
        self.status = replace(self.status, unread=message.count)

    def on_worker_state_changed(self, event) -> None:
        from .screens.base import report_worker_errors

        report_worker_errors(self, event)


def run(settings: Settings, practice: PracticePlan | None = None) -> int:
    """Build and run the console (straight into a practice day when `practice` is given);
    stop the engines and close connections after it ends."""
    from .logsetup import logs_to_file
    from .practice_flow import close_practice

    with logs_to_file(settings.data_dir):
        app = TraderApp(settings, practice=practice)
        try:
            app.run()
        finally:
            close_practice(app)
            app.backend.close()
    return app.return_code or 0
