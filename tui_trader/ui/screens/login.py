"""Log in, or on a fresh install create the first user (or a demo account with sample data).

Errors show at the field they concern. A wrong email or password says how many attempts are
left; a lockout counts down to when the address may try again (on the app's clock). The form
is usable the moment it paints: a submit made while the database is still connecting runs
when it is.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker

from ..keymap import LOGIN
from ..messages import FormRejected, LoginLocked, SignedIn
from ..widgets.field import Field
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainLabel
from ..widgets.status_bar import StatusBar
from .base import report_worker_errors

if TYPE_CHECKING:
    from datetime import datetime

    from ..backend import BootResult

FIELDS = ("email", "name", "password")
COUNTDOWN_INTERVAL = 0.5  # seconds between repaints of a lock's countdown


def split_error(message: str, fields: tuple[str, ...] = FIELDS) -> tuple[str | None, str]:
    """'password: is wrong' -> ('password', 'is wrong'); other text -> (None, text)."""
    head, sep, rest = message.partition(": ")
    if sep and head in fields:
        return head, rest
    return None, message


class LoginScreen(Screen):
    BINDINGS = LOGIN
    AUTO_FOCUS = "#input-email"

    def __init__(self) -> None:
        super().__init__()
        self.signup = False
        self._pending: str | None = None  # "submit" or "demo", waiting for start-up
        self._locked_until: datetime | None = None
        self._countdown: Timer | None = None

    def compose(self) -> ComposeResult:
        with Center(id="login-center"):
            with Vertical(id="login-box"):
                yield Static("tui-trader", id="login-title")
                yield Label("Log in", id="login-heading")
                yield Field("email", "Email", placeholder="you@example.com")
                yield Field("name", "Name", placeholder="optional")
                yield Field("password", "Password", password=True)
                with Horizontal(id="login-buttons"):
                    yield Button("Log in", id="submit", variant="primary", compact=True)
                    yield Button("Demo account", id="demo", compact=True)
                yield Label("", id="login-hint")
                yield PlainLabel("Starting…", id="login-banner")
        yield StatusBar()
        yield KeyBar()

    def on_mount(self) -> None:
        self._apply_mode()
        self.watch(self.app, "boot", self._booted)
        self.watch(self.app, "boot_error", self._boot_failed, init=False)

    # -- start-up ---------------------------------------------------------------------------
    def _booted(self, result: BootResult | None) -> None:
        if result is None:
            return
        self.banner("")
        if not result.has_users and not self.signup:
            self.signup = True
            self._apply_mode()
            self.banner("No users yet: create the first one, or a demo account (F3).")
        if self._pending:
            pending, self._pending = self._pending, None
            self._run(pending)

    def _boot_failed(self, message: str) -> None:
        if message:
            self.banner(f"Cannot start: {message}")

    @property
    def ready(self) -> bool:
        return self.app.boot is not None  # type: ignore[attr-defined]

    # -- mode -------------------------------------------------------------------------------
    def _apply_mode(self) -> None:
        self.query_one("#login-heading", Label).update(
            "Create an account" if self.signup else "Log in")
        self.query_one("#field-name").display = self.signup
        self.query_one("#demo").display = self.signup
        self.query_one("#submit", Button).label = "Create account" if self.signup else "Log in"
        self.query_one("#login-hint", Label).update(
            "F2 log in instead · F3 demo account with sample data" if self.signup
            else "F2 create an account")
        self.clear_errors()

    def action_toggle_signup(self) -> None:
        self.signup = not self.signup
        self._apply_mode()

    def reset(self) -> None:
        """Back at the login screen after a log out: empty password, no messages."""
        self.query_one("#input-password", Input).value = ""
        self.clear_errors()
        self._stop_countdown()
        self.banner("")
        self.query_one("#input-email", Input).focus()

    # -- messages at fields -----------------------------------------------------------------
    def field(self, name: str) -> Field:
        return self.query_one(f"#field-{name}", Field)

    def clear_errors(self) -> None:
        for name in FIELDS:
            self.field(name).set_error(None)

    def banner(self, text: str) -> None:
        self.query_one("#login-banner", PlainLabel).update(text)

    # -- a lockout's countdown ----------------------------------------------------------------
    @on(LoginLocked)
    def _locked(self, event: LoginLocked) -> None:
        self._busy(False)
        self._locked_until = event.until
        self._tick_countdown()
        if self._countdown is None:
            self._countdown = self.set_interval(COUNTDOWN_INTERVAL, self._tick_countdown)

    def _tick_countdown(self) -> None:
        from ...domain.errors import lock_countdown

        if self._locked_until is None:
            return
        left = (self._locked_until - self.app.backend.ctx.clock.now()).total_seconds()  # type: ignore[attr-defined]
        if left > 0:
            self.banner(f"Locked after repeated failed logins: try again in "
                        f"{lock_countdown(math.ceil(left))}")
        else:
            self._stop_countdown()
            self.banner("The lock has ended: you can log in again.")

    def _stop_countdown(self) -> None:
        self._locked_until = None
        if self._countdown is not None:
            self._countdown.stop()
            self._countdown = None

    @on(FormRejected)
    def _rejected(self, event: FormRejected) -> None:
        self._busy(False)
        for name, message in event.errors.items():
            self.field(name).set_error(message)
        # Always replace "Working…": an empty banner clears it, the field says what is wrong.
        self.banner(event.banner)
        first = next(iter(event.errors), None)
        if first:
            self.field(first).input.focus()

    # -- submitting -------------------------------------------------------------------------
    def action_enter(self) -> None:
        """Enter: next field, or submit from the password (or press the focused button)."""
        focused = self.focused
        if isinstance(focused, Button):
            focused.press()
        elif focused is not None and focused.id == "input-email":
            target = "#input-name" if self.signup else "#input-password"
            # set_focus now (Widget.focus is deferred): typed-ahead keys go to the next field.
            self.set_focus(self.query_one(target, Input))
        elif focused is not None and focused.id == "input-name":
            self.set_focus(self.query_one("#input-password", Input))
        else:
            self._run("submit")

    @on(Button.Pressed, "#submit")
    def _submit_pressed(self) -> None:
        self._run("submit")

    @on(Button.Pressed, "#demo")
    def _demo_pressed(self) -> None:
        self._run("demo")

    def action_demo(self) -> None:
        if not self.signup:
            self.signup = True
            self._apply_mode()
        self._run("demo")

    def _busy(self, busy: bool) -> None:
        self.query_one("#submit", Button).disabled = busy
        self.query_one("#demo", Button).disabled = busy

    def _run(self, what: str) -> None:
        self.clear_errors()
        self._stop_countdown()
        email = self.field("email").value
        password = self.field("password").value
        name = self.field("name").value
        if not self.ready:
            self._pending = what
            self.banner("Starting… your request runs as soon as the database is connected.")
            return
        if what == "demo" and not password:
            self.field("password").set_error("8+ characters, for the demo account")
            self.banner("The demo account is a real local user: pick its password, then F3.")
            self.field("password").input.focus()
            return
        self._busy(True)
        self.banner("Working…")
        if what == "demo":
            self._demo(email, password, name)
        elif self.signup:
            self._sign_up(email, password, name)
        else:
            self._log_in(email, password)

    def _fail(self, exc: Exception) -> None:
        """Runs on the worker's thread: only posts messages."""
        from datetime import timedelta

        from ...domain.errors import AccountLockedError, LoginRefusedError, ValidationError

        if isinstance(exc, ValidationError) and exc.field in FIELDS:
            self.post_message(FormRejected({exc.field: exc.rule}, banner=""))
        elif isinstance(exc, AccountLockedError):
            now = self.app.backend.ctx.clock.now()  # type: ignore[attr-defined]
            self.post_message(LoginLocked(now + timedelta(seconds=exc.seconds_left)))
        elif isinstance(exc, LoginRefusedError):
            left = exc.attempts_left
            self.post_message(FormRejected(
                {"password": "email or password is incorrect"},
                banner=f"{left} attempt{'' if left == 1 else 's'} left before this email "
                       f"locks for {exc.lockout_minutes} minutes"))
        else:
            field, text = split_error(str(exc))
            if field:
                self.post_message(FormRejected({field: text}, banner=""))
            else:
                self.post_message(FormRejected({}, banner=text))

    @work(thread=True, exclusive=True, exit_on_error=False, group="login")
    def _log_in(self, email: str, password: str) -> None:
        from ...domain.errors import TuiTraderError
        from ...services.auth import AuthService

        if not email.strip():
            self.post_message(FormRejected({"email": "is required"}, banner=""))
            return
        try:
            result = AuthService(self.app.backend.ctx).login(email, password)  # type: ignore[attr-defined]
        except TuiTraderError as exc:
            self._fail(exc)
            return
        self.app.post_message(SignedIn(result))

    @work(thread=True, exclusive=True, exit_on_error=False, group="login")
    def _sign_up(self, email: str, password: str, name: str) -> None:
        from ...domain.errors import TuiTraderError
        from ...services.auth import AuthService

        auth = AuthService(self.app.backend.ctx)  # type: ignore[attr-defined]
        try:
            auth.sign_up(email, password, name or None)
            result = auth.login(email, password)
        except TuiTraderError as exc:
            self._fail(exc)
            return
        self.app.post_message(SignedIn(result))

    @work(thread=True, exclusive=True, exit_on_error=False, group="login")
    def _demo(self, email: str, password: str, name: str) -> None:
        from ...domain.errors import TuiTraderError
        from ...services.demo import create_demo

        try:
            result = create_demo(self.app.backend.ctx, email.strip(), password, name or None)  # type: ignore[attr-defined]
        except TuiTraderError as exc:
            self._fail(exc)
            return
        self.app.post_message(SignedIn(result, demo=True))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_errors(self, event)
        if event.worker.is_finished and event.worker.group == "login":
            self._busy(False)
