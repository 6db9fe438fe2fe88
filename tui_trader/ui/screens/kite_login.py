"""Kite login that works over SSH: show the login URL to open in any browser, then paste the
URL the browser was redirected to (or just its request_token). The token exchange and its
storage belong to the Kite login service; this screen only collects and reports."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from ..formatting import ist_datetime, one_line
from ..keymap import Binding
from ..messages import FormRejected, KiteLoginUrlLoaded
from ..widgets.field import Field
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainLabel, PlainStatic
from .base import TraderModal

UNAVAILABLE = "Kite login is not available in this build (the Kite adapter is not installed)"


class KiteLoginScreen(TraderModal):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="kite_login.cancel"),
        Binding("ctrl+y", "copy_url", "Copy URL", id="kite_login.copy"),
    ]

    def __init__(self, account_id: str, label: str) -> None:
        super().__init__()
        self.account_id = account_id
        self.label = label
        self.url = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="kite-box"):
            yield PlainStatic(f"Kite login · {self.label}", id="kite-title")
            yield Static("1. Open this URL in any browser (ctrl+y copies it) and log in:")
            yield PlainStatic("…", id="kite-url")
            yield Static("2. Paste the URL you were redirected to (or its request_token):")
            yield Field("request_token", "Redirect", placeholder="https://…?request_token=…")
            yield PlainLabel("", id="kite-banner")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#input-request_token", Input).focus()
        self._load_url()

    @work(thread=True, exclusive=True, exit_on_error=False, name="kite login url")
    def _load_url(self) -> None:
        from ...domain.errors import TuiTraderError

        try:
            from ...services.kite_login import KiteSessionExchange
        except ImportError:
            self.post_message(FormRejected({}, UNAVAILABLE))
            return
        try:
            url = KiteSessionExchange(self.session.ctx, self.session.user_id).login_url(
                self.account_id)
        except TuiTraderError as exc:
            self.post_message(FormRejected({}, one_line(str(exc))))
            return
        self.post_message(KiteLoginUrlLoaded(url))

    @on(KiteLoginUrlLoaded)
    def _url(self, event: KiteLoginUrlLoaded) -> None:
        self.url = event.url
        self.query_one("#kite-url", PlainStatic).update(self.url)

    def action_copy_url(self) -> None:
        if self.url:
            self.app.copy_to_clipboard(self.url)
            self.notify("Login URL copied (if your terminal allows clipboard access)",
                        timeout=3)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            from ...services.kite_login import parse_request_token
        except ImportError:
            self.query_one("#kite-banner", PlainLabel).update(UNAVAILABLE)
            return
        from ...domain.errors import ValidationError

        field = self.query_one("#field-request_token", Field)
        try:
            parse_request_token(event.value)
        except ValidationError as exc:
            field.set_error(exc.rule)
            return
        field.set_error(None)
        self.query_one("#kite-banner", PlainLabel).update("Exchanging the token with Kite…")
        self._exchange(event.value)

    @work(thread=True, exclusive=True, exit_on_error=False, name="kite token exchange")
    def _exchange(self, pasted: str) -> None:
        from ...domain.errors import TuiTraderError, ValidationError
        from ...services.kite_login import KiteSessionExchange

        try:
            expires = KiteSessionExchange(self.session.ctx, self.session.user_id).exchange(
                self.account_id, pasted)
        except ValidationError as exc:
            self.post_message(FormRejected({"request_token": exc.rule}, ""))
            return
        except TuiTraderError as exc:
            self.post_message(FormRejected({}, one_line(str(exc))))
            return
        from ..session_flow import connect_live_prices

        connect_live_prices(self.app, self.session)  # type: ignore[arg-type]
        self.app.call_from_thread(self._success, expires)

    def _success(self, expires) -> None:
        self.notify(f"Kite session active until {ist_datetime(expires)}")
        self.dismiss(True)

    @on(FormRejected)
    def _rejected(self, event: FormRejected) -> None:
        for name, message in event.errors.items():
            self.query_one(f"#field-{name}", Field).set_error(message)
        self.query_one("#kite-banner", PlainLabel).update(event.banner or "")

    def action_cancel(self) -> None:
        self.dismiss(False)
