"""Create or edit a strategy. Every field is checked as you type (pure rules, plus the symbol
against the instrument list loaded once per session); saving runs in a worker and any
rejection lands at its field. Nothing is written until every field is valid."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from ...domain.labels import label_of
from ...domain.stop_rule import KnownPrice, stop_rule_broken
from ...domain.strategy_rules import check_strategy_form
from ..formatting import one_line
from ..keymap import EDITOR
from ..messages import FormRejected, LastPriceLoaded, StrategyFormLoaded
from ..text import plain_rich
from ..widgets.field import Field
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainLabel
from ..widgets.symbol_suggester import SymbolSuggester
from .base import TraderModal
from .confirm import leave_form

TEXT_FIELDS = tuple((name, label_of(name), placeholder) for name, placeholder in (
    ("name", "e.g. INFY morning"),
    ("symbol", "NSE symbol, e.g. INFY"),
    ("buy_time", "HH:MM IST"),
    ("sell_time", "HH:MM IST"),
    ("stop_loss", "price, e.g. 1490.50"),
    ("quantity", "shares"),
))
PLACEHOLDERS = {name: placeholder for name, _, placeholder in TEXT_FIELDS}
ALL_FIELDS = tuple(name for name, _, _ in TEXT_FIELDS) + ("mode", "broker_account_id")


def form_errors(values: dict[str, Any], symbols: list[str],
                prices: dict[str, KnownPrice | None] | None = None,
                special: Sequence[Any] = ()) -> dict[str, str]:
    """Every problem with the form that can be known without the database: the field
    rules (legs may fall in `special`, the special sessions ahead), the symbol against the
    instrument list, and the stop-loss against the symbol's last known price once it has
    been read (`prices`)."""
    draft, errors = check_strategy_form(values, special)
    symbol = str(values.get("symbol") or "").strip().upper()
    if "symbol" not in errors and symbols and symbol not in symbols:
        errors["symbol"] = "is not in the instruments list"
    if draft is not None and "symbol" not in errors:
        rule = stop_rule_broken(draft.stop_loss, (prices or {}).get(symbol))
        if rule is not None:
            errors["stop_loss"] = rule
    return errors


class StrategyEditor(TraderModal):
    BINDINGS = EDITOR

    def __init__(self, strategy_id: str | None = None) -> None:
        super().__init__()
        self.strategy_id = strategy_id
        self.touched: set[str] = set()
        self.show_all = False
        self.special: list[Any] = []  # special sessions ahead, once loaded
        # Each symbol's last known price, read once (a stop-loss must sit below it).
        self.prices: dict[str, KnownPrice | None] = {}
        self.pristine: dict[str, Any] | None = None  # the values as opened

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static("Edit strategy" if self.strategy_id else "New strategy",
                         id="editor-title")
            with VerticalScroll(id="editor-fields"):
                for name, label, placeholder in TEXT_FIELDS:
                    suggester = (SymbolSuggester(lambda: self.session.symbols)
                                 if name == "symbol" else None)
                    yield Field(name, label, placeholder=placeholder, suggester=suggester)
                with Horizontal(classes="select-row"):
                    yield Label(label_of("mode"), classes="field-label")
                    yield Select([("PAPER: simulated fills", "PAPER"),
                                  ("LIVE: real orders", "LIVE")], value="PAPER",
                                 allow_blank=False, compact=True, id="input-mode")
                yield PlainLabel("", classes="field-error", id="error-mode")
                with Horizontal(classes="select-row"):
                    yield Label(label_of("broker_account_id"), classes="field-label")
                    yield Select([], prompt="(default paper)", compact=True,
                                 id="input-broker_account_id")
                yield PlainLabel("", classes="field-error", id="error-broker_account_id")
            with Horizontal(id="editor-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)
            yield PlainLabel("", id="editor-banner")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#input-name", Input).focus()
        if self.strategy_id is None:
            self.pristine = self.values()
        self._load(self.strategy_id)

    @work(thread=True, exclusive=True, exit_on_error=False, name="load strategy form")
    def _load(self, strategy_id: str | None) -> None:
        accounts = self.session.brokers.list()
        spec = self.session.strategies.get(strategy_id) if strategy_id else None
        special = self.session.strategies.special_sessions()
        self.post_message(StrategyFormLoaded(accounts, spec, special))

    @work(thread=True, exit_on_error=False, name="last known price", group="editor-price")
    def _read_price(self, symbol: str) -> None:
        self.post_message(LastPriceLoaded(symbol,
                                          self.session.strategies.last_known_price(symbol)))

    def _want_price(self, symbol: str) -> None:
        symbol = symbol.strip().upper()
        if symbol in self.session.symbols and symbol not in self.prices:
            self.prices[symbol] = None  # asked once; filled when the answer comes
            self._read_price(symbol)

    def _price_hint(self) -> None:
        """The stop-loss field's placeholder names the price it must stay below."""
        symbol = self.query_one("#input-symbol", Input).value.strip().upper()
        known = self.prices.get(symbol)
        hint = f"below {known.describe()}" if known is not None else PLACEHOLDERS["stop_loss"]
        self.query_one("#input-stop_loss", Input).placeholder = hint

    @on(LastPriceLoaded)
    def _price_loaded(self, event: LastPriceLoaded) -> None:
        self.prices[event.symbol] = event.price
        self._price_hint()
        self.show_errors(form_errors(self.values(), self.session.symbols, self.prices,
                                     self.special))

    @on(StrategyFormLoaded)
    def _loaded(self, event: StrategyFormLoaded) -> None:
        accounts, spec, self.special = event.accounts, event.spec, event.special_sessions
        broker = self.query_one("#input-broker_account_id", Select)
        broker.set_options([(plain_rich(f"{one_line(a.label, 60)} ({a.broker.value})"),
                             str(a.id)) for a in accounts])
        if spec is None:
            return
        values = {"name": spec.name, "symbol": spec.symbol,
                  "buy_time": spec.buy_time.strftime("%H:%M:%S").removesuffix(":00"),
                  "sell_time": spec.sell_time.strftime("%H:%M:%S").removesuffix(":00"),
                  "stop_loss": f"{spec.stop_loss:.2f}", "quantity": str(spec.quantity)}
        with self.prevent(Input.Changed):
            for name, value in values.items():
                self.query_one(f"#input-{name}", Input).value = value
        self._want_price(spec.symbol)
        self.query_one("#input-mode", Select).value = spec.mode.value
        if spec.broker_account_id and any(str(a.id) == str(spec.broker_account_id)
                                          for a in accounts):
            broker.value = str(spec.broker_account_id)
        elif spec.mode.value == "LIVE":
            # Its Kite account was removed: say so at the field now, not at the next start.
            self.touched.add("broker_account_id")
            self._account_removed()
        self.pristine = self.values()

    def _account_removed(self) -> None:
        self.show_errors(form_errors(self.values(), self.session.symbols, self.prices,
                                     self.special))
        self.banner("Its Kite account was removed: choose another Broker (or make it PAPER)")

    # -- values and messages ----------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: self.query_one(f"#input-{name}", Input).value
                               for name, _, _ in TEXT_FIELDS}
        out["mode"] = self.query_one("#input-mode", Select).value
        broker = self.query_one("#input-broker_account_id", Select).value
        out["broker_account_id"] = None if broker is Select.NULL else broker
        return out

    def show_errors(self, errors: dict[str, str]) -> None:
        for name in ALL_FIELDS:
            visible = self.show_all or name in self.touched
            message = errors.get(name) if visible else None
            if name in ("mode", "broker_account_id"):
                self.query_one(f"#error-{name}", Label).update(message or "")
            else:
                self.query_one(f"#field-{name}", Field).set_error(message)

    def field_error(self, name: str) -> str:
        return str(self.query_one(f"#error-{name}", Label).content)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("input-")
        self.touched.add(name)
        if name == "symbol":
            self._want_price(event.value)
            self._price_hint()
        self.show_errors(form_errors(self.values(), self.session.symbols, self.prices,
                                     self.special))

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        if event.input.id == "input-quantity":
            self.action_save()
        else:
            self.focus_next()

    # -- save -------------------------------------------------------------------------------
    def action_save(self) -> None:
        self.show_all = True
        values = self.values()
        errors = form_errors(values, self.session.symbols, self.prices, self.special)
        self.show_errors(errors)
        if errors:
            first = next(n for n in ALL_FIELDS if n in errors)
            self.query_one(f"#input-{first}").focus()
            self.banner(f"{len(errors)} field{'s' if len(errors) > 1 else ''} to fix; "
                        "nothing saved")
            return
        self.banner("Saving…")
        self._save(values)

    @work(thread=True, exclusive=True, exit_on_error=False, name="save strategy")
    def _save(self, values: dict[str, Any]) -> None:
        from ...domain.errors import TuiTraderError, ValidationError

        try:
            if self.strategy_id:
                spec = self.session.strategies.update(self.strategy_id, values)
            else:
                spec = self.session.strategies.create(values)
        except ValidationError as exc:
            self.post_message(FormRejected({exc.field: exc.rule}, "nothing saved"))
            return
        except TuiTraderError as exc:
            self.post_message(FormRejected({}, one_line(str(exc))))
            return
        self.app.call_from_thread(self.dismiss, spec)

    @on(FormRejected)
    def _rejected(self, event: FormRejected) -> None:
        for name, message in event.errors.items():
            if name in ALL_FIELDS:
                self.touched.add(name)
                if name in ("mode", "broker_account_id"):
                    self.query_one(f"#error-{name}", Label).update(message)
                else:
                    self.query_one(f"#field-{name}", Field).set_error(message)
                self.query_one(f"#input-{name}").focus()
        self.banner(event.banner or "")

    def banner(self, text: str) -> None:
        self.query_one("#editor-banner", Label).update(text)

    @property
    def edited(self) -> bool:
        return self.pristine is not None and self.values() != self.pristine

    def action_cancel(self) -> None:
        leave_form(self, self.edited, "this strategy")

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()
