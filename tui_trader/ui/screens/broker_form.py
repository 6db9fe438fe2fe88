"""Add or edit a broker account. Secret fields are masked; on edit, blank keys keep the
stored ones. Messages appear at each field; nothing is written until all are valid."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select

from ...domain import validation as v
from ...domain.errors import ValidationError
from ..formatting import one_line
from ..keymap import EDITOR
from ..messages import FormRejected
from ..widgets.field import Field
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainLabel, PlainStatic
from .base import TraderModal
from .confirm import leave_form

KINDS = [("Paper (simulated, always available)", "paper"), ("Zerodha Kite", "kite")]
FIELDS = ("label", "api_key", "api_secret", "api_root")


def form_errors(kind: str, values: dict[str, str], *, editing: bool) -> dict[str, str]:
    errors: dict[str, str] = {}

    def check(name: str, fn) -> None:
        try:
            fn()
        except ValidationError as exc:
            errors[name] = exc.rule

    check("label", lambda: v.clean_text("label", values["label"], max_len=60,
                                        required=editing))
    if kind == "kite":
        need = not editing
        key = values["api_key"].strip()
        check("api_key", lambda: v.clean_text("api_key", key, max_len=64, required=need))
        if "api_key" not in errors and key and not key.isalnum():
            errors["api_key"] = "must be letters and digits only"
        check("api_secret", lambda: v.clean_text("api_secret", values["api_secret"],
                                                 max_len=128, required=need))
        check("api_root", lambda: v.api_root("api_root", values["api_root"]))
    return errors


class BrokerForm(TraderModal):
    BINDINGS = EDITOR

    def __init__(self, account: Any = None) -> None:
        super().__init__()
        self.account = account
        self.touched: set[str] = set()
        self.show_all = False
        self.pristine: tuple[str, dict[str, str]] | None = None  # set when mounted

    @property
    def editing(self) -> bool:
        return self.account is not None

    @property
    def kind(self) -> str:
        if self.account is not None:
            return self.account.broker.value
        value = self.query_one("#input-kind", Select).value
        return "paper" if value is Select.NULL else str(value)

    def compose(self) -> ComposeResult:
        keep = "blank keeps the stored one" if self.editing else ""
        with Vertical(id="broker-box"):
            yield PlainStatic(f"Edit {one_line(self.account.label, 60)}" if self.editing
                              else "Add broker account", id="broker-title")
            if not self.editing:
                with Horizontal(classes="select-row"):
                    yield Label("Broker", classes="field-label")
                    yield Select(KINDS, value="paper", allow_blank=False, compact=True,
                                 id="input-kind")
                yield Label("", classes="spacer")
            yield Field("label", "Label", value=self.account.label if self.editing else "",
                        placeholder="e.g. Paper, Zerodha main")
            yield Field("api_key", "API key", password=True, placeholder=keep)
            yield Field("api_secret", "API secret", password=True, placeholder=keep)
            if not self.editing:
                yield Field("api_root", "API root",
                            placeholder="blank: kite.zerodha.com; sandbox: http://127.0.0.1:5010")
            with Horizontal(id="broker-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)
            yield PlainLabel("", id="broker-banner")
        yield KeyBar()

    def on_mount(self) -> None:
        self._show_kind()
        self.pristine = (self.kind, self.values())  # as opened: Escape asks if changed
        # Adding: the broker is the first choice to make (Enter opens the list).
        first = "#input-label" if self.editing else "#input-kind"
        self.query_one(first).focus()

    @on(Select.Changed, "#input-kind")
    def _kind_changed(self) -> None:
        self._show_kind()

    def _show_kind(self) -> None:
        kite = self.kind == "kite"
        for name in ("api_key", "api_secret", "api_root"):
            for field in self.query(f"#field-{name}"):
                field.display = kite

    def values(self) -> dict[str, str]:
        return {name: (self.query_one(f"#input-{name}", Input).value
                       if self.query(f"#input-{name}") else "") for name in FIELDS}

    def _show(self, errors: dict[str, str]) -> None:
        for name in FIELDS:
            for field in self.query(f"#field-{name}").results(Field):
                visible = self.show_all or name in self.touched
                field.set_error(errors.get(name) if visible else None)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self.touched.add((event.input.id or "").removeprefix("input-"))
        self._show(form_errors(self.kind, self.values(), editing=self.editing))

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        self.show_all = True
        values = self.values()
        errors = form_errors(self.kind, values, editing=self.editing)
        self._show(errors)
        if errors:
            self.query_one(f"#input-{next(iter(errors))}", Input).focus()
            self.query_one("#broker-banner", PlainLabel).update("nothing saved: fix the fields")
            return
        self._save(self.kind, values)

    @work(thread=True, exclusive=True, exit_on_error=False, name="save broker account")
    def _save(self, kind: str, values: dict[str, str]) -> None:
        from ...domain.errors import TuiTraderError

        brokers = self.session.brokers
        label = values["label"].strip() or None
        try:
            if self.account is not None:
                brokers.update_kite_keys(self.account.id, api_key=values["api_key"] or None,
                                         api_secret=values["api_secret"] or None, label=label)
                text = "Account updated"
            elif kind == "kite":
                brokers.add_kite(values["api_key"].strip(), values["api_secret"], label,
                                 values["api_root"].strip() or None)
                text = "Kite account added: log in with l to get today's access token"
            else:
                brokers.add_paper(label)
                text = "Paper account added"
        except ValidationError as exc:
            self.post_message(FormRejected({exc.field: exc.rule}, "nothing saved"))
            return
        except TuiTraderError as exc:
            self.post_message(FormRejected({}, one_line(str(exc))))
            return
        self.app.call_from_thread(self.dismiss, text)

    @on(FormRejected)
    def _rejected(self, event: FormRejected) -> None:
        for name, message in event.errors.items():
            for field in self.query(f"#field-{name}").results(Field):
                field.set_error(message)
                field.input.focus()
        self.query_one("#broker-banner", PlainLabel).update(event.banner or "")

    def action_cancel(self) -> None:
        leave_form(self, (self.kind, self.values()) != self.pristine, "this broker account")

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
