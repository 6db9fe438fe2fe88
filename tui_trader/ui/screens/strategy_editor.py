"""Create or edit a strategy. A new one starts with the kind picker (each kind's description
from the catalog); the form below is generated for the chosen kind from its parameter
schema and the exit rules (type, bounds, step, default, unit, help). Every field is checked
as you type with the same rules the service applies on save (plus the symbol against the
instrument list loaded once per session, and the stop against the symbol's price, shown in
the quote line under the symbol); saving runs in a worker and any rejection lands at its
field. Nothing is written until every field is valid.

A kind the engine cannot run yet can be prepared (picked, filled, every field checked) but
not saved: the save is refused at the Kind field, and the prepared settings are kept for the
rest of the session (picking the kind again brings them back). A running strategy opens
with only its updatable fields editable; the others are shown read-only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from ...domain.catalog import CATALOG, entry_for
from ...domain.enums import StrategyKind
from ...domain.exit_rules import ExitRules, LevelMode
from ...domain.labels import label_of
from ...domain.stop_rule import KnownPrice, stop_rule_broken
from ...domain.strategy_rules import (
    check_kind_form,
    check_strategy_form,
    kind_form_keys,
    updatable_keys,
)
from ..formatting import one_line
from ..keymap import EDITOR
from ..messages import FormRejected, LastPriceLoaded, QuoteLoaded, StrategyFormLoaded
from ..text import plain_rich
from ..widgets.field import Field
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainLabel, PlainStatic
from ..widgets.quote_panel import QuotePanel
from ..widgets.setting_fields import SettingsGroup, setting_fields, text_of, widgets_for
from ..widgets.symbol_suggester import SymbolSuggester
from .base import TraderModal
from .confirm import leave_form

SCHEDULED = StrategyKind.SCHEDULED.value
SELECTS = ("mode", "broker_account_id")  # the fixed choices below the kind's fields

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
PRODUCTS = (("MIS: intraday", "MIS"), ("CNC: delivery", "CNC"), ("NRML: carry", "NRML"))


def form_errors(values: dict[str, Any], symbols: list[str],
                prices: dict[str, KnownPrice | None] | None = None,
                special: Sequence[Any] = ()) -> dict[str, str]:
    """Every problem with the form that can be known without the database: the field
    rules (legs may fall in `special`, the special sessions ahead), the symbol against the
    instrument list, and the stop-loss against the symbol's last known price once it has
    been read (`prices`). A signal kind's form is checked by the same rule the service
    applies (`check_kind_form`)."""
    if str(values.get("kind") or SCHEDULED) != SCHEDULED:
        kind_draft, errors = check_kind_form(values)
        stop = (kind_draft.exits.stop_loss if kind_draft is not None
                and kind_draft.exits.stop_mode is LevelMode.PRICE else None)
    else:
        draft, errors = check_strategy_form(values, special)
        stop = draft.stop_loss if draft is not None else None
    symbol = str(values.get("symbol") or "").strip().upper()
    if "symbol" not in errors and symbols and symbol not in symbols:
        errors["symbol"] = "is not in the instruments list"
    if stop is not None and "symbol" not in errors:
        rule = stop_rule_broken(stop, (prices or {}).get(symbol))
        if rule is not None:
            errors["stop_loss"] = rule
    return errors


def kind_widgets(kind: str, values: dict[str, str]) -> tuple[list[Widget], dict[str, str]]:
    """The widgets of a kind's own part of the form (its parameters, product, quantity and
    exits; a scheduled strategy's legs, stop and quantity), filled from `values` else the
    defaults, and each field's help line."""
    def text_field(name: str) -> Field:
        return Field(name, label_of(name), value=values.get(name, ""),
                     placeholder=PLACEHOLDERS[name])

    if kind == SCHEDULED:
        fields: list[Widget] = [text_field(n) for n in ("buy_time", "sell_time",
                                                         "stop_loss", "quantity")]
        fields.insert(3, QuotePanel(id="editor-quote"))  # the price, beside the stop
        return fields, {}
    entry = entry_for(kind)
    assert entry is not None
    param_keys, exit_keys = kind_form_keys(entry.kind)
    params = setting_fields(entry.params, {n: n for n in param_keys}, entry.timeframes)
    exits = setting_fields(ExitRules, dict(zip(ExitRules.model_fields, exit_keys,
                                               strict=True)))
    helps: dict[str, str] = {}
    out: list[Widget] = []
    for group, model, defaults in ((params, entry.params, {}),
                                   (exits, ExitRules, entry.default_exits)):
        if group is exits:
            out.append(Static("Exits", classes="form-heading"))
        for field in group:
            info = model.model_fields[field.name]
            default = defaults.get(field.name, None if info.is_required() else info.default)
            out.extend(widgets_for(field, values.get(field.key, text_of(default))))
            if field.key == "stop_loss":
                out.append(QuotePanel(id="editor-quote"))  # the price, beside the stop
            helps[field.key] = f"{field.label}: {field.help}" + (
                f" ({field.hint})" if field.hint else "")
        if group is params:
            out.append(Horizontal(Label(label_of("product"), classes="field-label"),
                                  Select(PRODUCTS, value=values.get("product", "MIS"),
                                         allow_blank=False, compact=True,
                                         id="input-product"), classes="select-row"))
            out.append(PlainLabel("", classes="field-error", id="error-product"))
            out.append(Field("quantity", label_of("quantity"),
                             value=values.get("quantity", ""), placeholder="shares"))
    return out, helps


class StrategyEditor(TraderModal):
    BINDINGS = EDITOR

    def __init__(self, strategy_id: str | None = None) -> None:
        super().__init__()
        self.strategy_id = strategy_id
        self.kind = SCHEDULED
        self.touched: set[str] = set()
        self.show_all = False
        self.special: list[Any] = []  # special sessions ahead, once loaded
        # Each symbol's last known price, read once (a stop-loss must sit below it).
        self.prices: dict[str, KnownPrice | None] = {}
        self.pristine: dict[str, Any] | None = None  # the values as opened
        self.helps: dict[str, str] = {}
        self.quote: Any = None  # the symbol's quote, shown beside the stop field
        self.locked: set[str] = set()  # running: the fields that may not change
        # A new strategy starts at the kind picker; an edit at its name.
        self.AUTO_FOCUS = "#kind-picker" if strategy_id is None else "#input-name"

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box"):
            yield Static("Edit strategy" if self.strategy_id else "New strategy",
                         id="editor-title")
            with VerticalScroll(id="editor-fields", can_focus=False):
                if self.strategy_id is None:
                    yield OptionList(*[Option(self._kind_title(e.kind.value), id=e.kind.value)
                                       for e in CATALOG], id="kind-picker")
                yield PlainStatic("", id="kind-description")
                yield PlainLabel("", classes="field-error", id="error-kind")
                for name in ("name", "symbol"):
                    suggester = (SymbolSuggester(lambda: self.session.symbols)
                                 if name == "symbol" else None)
                    yield Field(name, label_of(name), placeholder=PLACEHOLDERS[name],
                                suggester=suggester)
                with SettingsGroup(id="kind-fields"):
                    yield from kind_widgets(SCHEDULED, {})[0]
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
            yield PlainStatic("", id="field-help")
            with Horizontal(id="editor-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary", compact=True)
                yield Button("Cancel (Esc)", id="cancel", compact=True)
            yield PlainLabel("", id="editor-banner")
        yield KeyBar()

    def _kind_title(self, kind: str) -> str:
        entry = entry_for(kind)
        assert entry is not None
        note = "" if entry.runs else " · prepare only (the engine does not run it yet)"
        drafts = getattr(self.app, "user_session", None)
        if drafts is not None and kind in drafts.drafts:
            note += " · draft kept"
        return f"{entry.name}{note}"

    def on_mount(self) -> None:
        self._describe_kind()
        if self.strategy_id is None:
            self.query_one("#kind-picker", OptionList).focus()
            self.query_one("#kind-picker", OptionList).highlighted = 0
            self.pristine = self.values()
        else:
            self.query_one("#input-name", Input).focus()
        self._load(self.strategy_id)

    def _describe_kind(self) -> None:
        entry = entry_for(self.kind)
        assert entry is not None
        text = f"{label_of('kind')}: {entry.name}. {entry.description}"
        if not entry.runs:
            text += (" The engine does not run this kind yet: prepare it here (every field "
                     "is checked); it cannot be saved until the engine runs it.")
        self.query_one("#kind-description", PlainStatic).update(text)

    @on(OptionList.OptionHighlighted, "#kind-picker")
    async def _kind_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        kind = str(event.option.id)
        if kind != self.kind:
            draft = self.session.drafts.get(kind, {})
            await self.switch_kind(kind, {**self._common_values(), **draft})

    @on(OptionList.OptionSelected, "#kind-picker")
    def _kind_chosen(self) -> None:
        self.query_one("#input-name", Input).focus()

    def _common_values(self) -> dict[str, Any]:
        values = self.values()
        return {k: values[k] for k in ("name", "symbol", "quantity", "mode",
                                       "broker_account_id") if values.get(k) is not None}

    async def switch_kind(self, kind: str, values: dict[str, Any]) -> None:
        """Regenerate the kind's part of the form for `kind`, filled from `values`."""
        self.kind = kind
        self._describe_kind()
        widgets, self.helps = kind_widgets(kind, {k: str(v) for k, v in values.items()
                                                  if v is not None})
        group = self.query_one("#kind-fields", SettingsGroup)
        with self.prevent(Input.Changed, Select.Changed):
            await group.remove_children()
            await group.mount_all(widgets)
            self.query_one(QuotePanel).set_quote(self.quote)
            for name in ("name", "symbol"):
                if name in values:
                    self.query_one(f"#input-{name}", Input).value = str(values[name])
        self.touched &= set(self.values())
        self.query_one("#error-kind", Label).update("")
        self.show_errors(self.errors())

    @work(thread=True, exclusive=True, exit_on_error=False, name="load strategy form")
    def _load(self, strategy_id: str | None) -> None:
        accounts = self.session.brokers.list()
        spec = self.session.strategies.get(strategy_id) if strategy_id else None
        values = self.session.strategies.form_values(strategy_id) if strategy_id else None
        special = self.session.strategies.special_sessions()
        self.post_message(StrategyFormLoaded(accounts, spec, special, values))

    @work(thread=True, exit_on_error=False, name="last known price", group="editor-price")
    def _read_price(self, symbol: str) -> None:
        self.post_message(LastPriceLoaded(symbol,
                                          self.session.strategies.last_known_price(symbol)))
        self.post_message(QuoteLoaded(self.session.charts.quote(symbol)))

    def _want_price(self, symbol: str) -> None:
        symbol = symbol.strip().upper()
        if symbol in self.session.symbols and symbol not in self.prices:
            self.prices[symbol] = None  # asked once; filled when the answer comes
            self._read_price(symbol)
        elif symbol not in self.session.symbols:
            self.quote = None
            self.query_one(QuotePanel).set_quote(None)
        elif self.quote is None or self.quote.symbol != symbol:
            self._read_price(symbol)  # asked before for another symbol: its quote again

    def _price_hint(self) -> None:
        """The stop-loss field's placeholder names the price it must stay below."""
        symbol = self.query_one("#input-symbol", Input).value.strip().upper()
        known = self.prices.get(symbol)
        hint = f"below {known.describe()}" if known is not None else PLACEHOLDERS["stop_loss"]
        if self.kind == SCHEDULED:
            self.query_one("#input-stop_loss", Input).placeholder = hint

    @on(LastPriceLoaded)
    def _price_loaded(self, event: LastPriceLoaded) -> None:
        self.prices[event.symbol] = event.price
        self._price_hint()
        self.show_errors(self.errors())

    @on(QuoteLoaded)
    def _quote_loaded(self, event: QuoteLoaded) -> None:
        symbol = self.query_one("#input-symbol", Input).value.strip().upper()
        if event.quote.symbol == symbol:
            self.quote = event.quote
            self.query_one(QuotePanel).set_quote(event.quote)

    @on(StrategyFormLoaded)
    async def _loaded(self, event: StrategyFormLoaded) -> None:
        accounts, spec, self.special = event.accounts, event.spec, event.special_sessions
        broker = self.query_one("#input-broker_account_id", Select)
        broker.set_options([(plain_rich(f"{one_line(a.label, 60)} ({a.broker.value})"),
                             str(a.id)) for a in accounts])
        if spec is None:
            return
        values = dict(event.values or {})
        if values.get("kind", SCHEDULED) != self.kind:
            await self.switch_kind(values["kind"], values)
        with self.prevent(Input.Changed, Select.Changed):
            for name, value in values.items():
                for widget in self.query(f"#input-{name}"):
                    if isinstance(widget, Input):
                        widget.value = value
                    elif isinstance(widget, Select) and name != "broker_account_id":
                        widget.value = value
        self._want_price(spec.symbol)
        if spec.broker_account_id and any(str(a.id) == str(spec.broker_account_id)
                                          for a in accounts):
            broker.value = str(spec.broker_account_id)
        elif spec.mode.value == "LIVE":
            # Its Kite account was removed: say so at the field now, not at the next start.
            self.touched.add("broker_account_id")
            self._account_removed()
        if spec.status.value == "running":
            self._lock_for_running()
        self.pristine = self.values()

    def _lock_for_running(self) -> None:
        """A running strategy: only the fields its kind marks updatable stay editable."""
        allowed = updatable_keys(StrategyKind(self.kind))
        self.locked = {k for k in self.values() if k not in allowed and k != "kind"}
        for key in self.locked:
            for widget in self.query(f"#input-{key}"):
                widget.disabled = True
        shown = ", ".join(label_of(k) for k in sorted(allowed)) or "nothing"
        self.banner(f"Running: only these may change now: {shown}. Stop it (x) to change "
                    f"the rest")

    def _account_removed(self) -> None:
        self.show_errors(self.errors())
        self.banner("Its Kite account was removed: choose another Broker (or make it PAPER)")

    # -- values and messages ----------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for widget in self.query("Input, Select"):
            key = (widget.id or "").removeprefix("input-")
            if not widget.id or not widget.id.startswith("input-"):
                continue
            if isinstance(widget, Select):
                value = widget.value
                out[key] = None if value is Select.NULL else value
            elif isinstance(widget, Input):
                out[key] = widget.value
        return out

    def errors(self) -> dict[str, str]:
        return form_errors(self.values(), self.session.symbols, self.prices, self.special)

    def form_keys(self) -> list[str]:
        return [k for k in self.values() if k != "kind"]

    def show_errors(self, errors: dict[str, str]) -> None:
        for name in self.form_keys():
            visible = self.show_all or name in self.touched
            self._show(name, errors.get(name) if visible else None)

    def _show(self, name: str, message: str | None) -> None:
        fields = self.query(f"#field-{name}")
        if fields:
            fields.first(Field).set_error(message)
        else:
            for label in self.query(f"#error-{name}"):
                label.update(message or "")  # type: ignore[attr-defined]

    def field_error(self, name: str) -> str:
        return str(self.query_one(f"#error-{name}", Label).content)

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        name = (event.input.id or "").removeprefix("input-")
        self.touched.add(name)
        if name == "symbol":
            self._want_price(event.value)
            self._price_hint()
        self.show_errors(self.errors())

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        name = (event.select.id or "").removeprefix("input-")
        if name in SELECTS:
            self.touched.add(name)
        self.show_errors(self.errors())

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The focused field's help text, on the line under the form."""
        key = (event.widget.id or "").removeprefix("input-")
        self.query_one("#field-help", PlainStatic).update(self.helps.get(key, ""))

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        if event.input.id == "input-quantity" and self.kind == SCHEDULED:
            self.action_save()
        else:
            self.focus_next()

    # -- save -------------------------------------------------------------------------------
    def action_save(self) -> None:
        self.show_all = True
        values = self.values()
        errors = self.errors()
        self.show_errors(errors)
        if errors:
            first = next(n for n in self.form_keys() if n in errors)
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
            banner = "nothing saved"
            entry = entry_for(self.kind)
            if exc.field == "kind" and entry is not None and not entry.runs:
                # Prepared: valid in every field, refused only because the engine cannot
                # run the kind. Kept for the session, so the work is not lost.
                self.session.drafts[self.kind] = dict(values)
                banner = (f"Prepared, not saved: every setting is valid, but the engine "
                          f"does not run {entry.name} yet. Kept until you quit (pick "
                          f"{entry.name} again)")
            self.post_message(FormRejected({exc.field: exc.rule}, banner))
            return
        except TuiTraderError as exc:
            self.post_message(FormRejected({}, one_line(str(exc))))
            return
        self.app.call_from_thread(self.dismiss, spec)

    @on(FormRejected)
    def _rejected(self, event: FormRejected) -> None:
        for name, message in event.errors.items():
            if name == "kind":
                self.query_one("#error-kind", Label).update(message)
                continue
            if name in self.form_keys():
                self.touched.add(name)
                self._show(name, message)
                self.query_one(f"#input-{name}").focus()
        if "kind" in event.errors and self.strategy_id is None:
            picker = self.query_one("#kind-picker", OptionList)
            picker.replace_option_prompt(self.kind, self._kind_title(self.kind))
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
