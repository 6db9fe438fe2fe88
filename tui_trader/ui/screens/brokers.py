"""Broker accounts: paper and Zerodha Kite (the list is open to more kinds). Add, edit,
remove (confirmed), test the connection, and log in to Kite over SSH by pasting the redirect.
Secrets are never shown: only a hint of the API key, and the access token's expiry."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static

from ...domain.labels import broker_name
from ..formatting import ist_datetime, one_line
from ..keymap import BACK, BROKERS
from ..messages import BrokerAccountsLoaded, Done
from ..widgets.table import KeyedTable
from .base import SectionScreen

LABEL = 60  # a label quoted in a question or a message is cut to this (the form's own limit)
TOKEN_ROLE = {"valid": "success", "expiring": "bold warning", "lapsed": "bold error",
              "none": "dim"}


def token_text(account) -> str:
    if account.broker.value == "paper":
        return "not needed"
    if account.token_state == "none":
        return "none: log in (l)"
    when = ist_datetime(account.token_expires_at)
    return {"valid": f"valid to {when}", "expiring": f"EXPIRING {when}",
            "lapsed": f"LAPSED {when}: log in (l)"}.get(account.token_state, when)


class BrokersScreen(SectionScreen):
    SECTION: ClassVar[str] = "brokers"
    BINDINGS = BACK + BROKERS
    AUTO_FOCUS = "#brokers-table"

    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, Any] = {}

    def compose_body(self) -> ComposeResult:
        yield KeyedTable(id="brokers-table")
        yield Static("No broker accounts. Press a to add a paper account (always available) "
                     "or Zerodha Kite.", id="brokers-empty")

    def build_body(self) -> None:
        table = self.query_one(KeyedTable)
        table.add_column("Label", key="label", width=16)
        table.add_column("Broker", key="broker", width=12)
        table.add_column("API key", key="key", width=8)
        table.add_column("Access token", key="token")
        self.query_one("#brokers-empty").display = False

    def on_screen_resume(self) -> None:
        # Shown (first time, or again): paint what we have, then read fresh data. A screen
        # built ahead of its first visit (see TraderApp.prebuild_sections) is not shown yet.
        if self.is_current:
            self.call_after_refresh(self.reload)

    @work(thread=True, exclusive=True, exit_on_error=False, name="load broker accounts")
    def reload(self) -> None:
        self.post_message(BrokerAccountsLoaded(self.session.brokers.list()))

    @on(BrokerAccountsLoaded)
    def _loaded(self, event: BrokerAccountsLoaded) -> None:
        self.accounts = {str(a.id): a for a in event.accounts}
        rows = []
        for key, a in self.accounts.items():
            role = "dim" if a.broker.value == "paper" else TOKEN_ROLE.get(a.token_state, "")
            rows.append((key, (
                (a.label, ""), (broker_name(a.broker), ""),
                (a.api_key_hint or "-", ""), (token_text(a), role))))
        self.query_one(KeyedTable).set_rows(rows)
        self.query_one("#brokers-empty").display = not rows

    def _selected(self):
        key = self.query_one(KeyedTable).selected_key()
        if key is None or key not in self.accounts:
            self.notify("No account selected", severity="warning", timeout=2)
            return None
        return self.accounts[key]

    # -- actions ----------------------------------------------------------------------------
    def action_add(self) -> None:
        from .broker_form import BrokerForm

        self.app.push_screen(BrokerForm(), self._after_form)

    def action_edit(self) -> None:
        from .broker_form import BrokerForm

        account = self._selected()
        if account is not None:
            self.app.push_screen(BrokerForm(account), self._after_form)

    def _after_form(self, saved) -> None:
        if saved:
            self.notify(str(saved))
            self.reload()

    def action_remove(self) -> None:
        from .confirm import ConfirmScreen

        account = self._selected()
        if account is None:
            return
        self.app.push_screen(
            ConfirmScreen("Remove broker account",
                          f"Remove '{one_line(account.label, LABEL)}' and its stored "
                          "credentials? Strategies "
                          "using it fall back to no account.", confirm_label="Remove",
                          danger=True),
            lambda ok: ok and self._run("remove", str(account.id)))

    def action_test(self) -> None:
        account = self._selected()
        if account is not None:
            self.notify(f"Testing {one_line(account.label, LABEL)}…", timeout=2)
            self._run("test", str(account.id))

    def action_kite_login(self) -> None:
        from .kite_login import KiteLoginScreen

        account = self._selected()
        if account is None:
            return
        if account.broker.value != "kite":
            self.notify("Kite login applies to Zerodha Kite accounts only", severity="warning")
            return
        self.app.push_screen(KiteLoginScreen(str(account.id), one_line(account.label, LABEL)),
                             lambda ok: ok and self.reload())

    def action_refresh(self) -> None:
        self.reload()

    @work(thread=True, exit_on_error=False, name="broker action", group="broker-action")
    def _run(self, what: str, account_id: str) -> None:
        from ...domain.errors import TuiTraderError

        try:
            if what == "remove":
                self.session.brokers.remove(account_id)
                text, severity = "Account removed", "information"
            else:
                from ...services.broker_check import check_connection

                check = check_connection(self.session.ctx, self.session.user_id, account_id)
                text, severity = check.text, "information" if check.ready else "warning"
        except TuiTraderError as exc:
            text, severity = one_line(str(exc)), "error"
        self.post_message(Done(text, severity))

    @on(Done)
    def _done(self, event: Done) -> None:
        event.stop()
        self.notify(event.text, severity=event.severity)  # type: ignore[arg-type]
        self.reload()
