"""A new backtest: the kind from the catalog with its parameters generated from the kind's
schema (defaults filled), the symbol, the candles (stored, by date range, or a CSV file), the
interval and the fill options. Run checks every field first (a bad one gets one line at the
field, nothing runs); the run is a thread worker reporting progress, Escape stops it (nothing
is stored), and a finished run closes the form with its id (the list opens it)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, ProgressBar, Select, Static

from ...domain.catalog import CATALOG
from ...domain.clock import IST
from ...domain.errors import ValidationError
from ...services.backtest_runs import RunCancelled, check_form, param_fields
from ..formatting import one_line
from ..keymap import BACKTEST_FORM
from ..messages import BacktestEnded, BacktestProgress
from ..widgets.field import Field
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainLabel, PlainStatic
from ..widgets.symbol_suggester import SymbolSuggester
from .backtests import runs_service
from .base import TraderModal

DEFAULT_KIND = "ema_crossover"
# Choices: (name, label, [(shown, value)]).
CHOICES: tuple[tuple[str, str, list[tuple[str, str]]], ...] = (
    ("source", "Candles", [("stored candles", "stored"), ("CSV file", "csv")]),
    ("fill", "Fill at", [("next open", "next-open"), ("signal close", "close")]),
    ("product", "Product", [("CNC", "CNC"), ("MIS", "MIS"), ("NRML", "NRML")]),
    ("charges", "Charges", [("on", "on"), ("off", "off")]),
)


def _choice(name: str, label: str, options: list[tuple[str, str]], value: str) -> Vertical:
    return Vertical(Horizontal(Label(label, classes="field-label"),
                               Select(options, value=value, allow_blank=False,
                                      compact=True, id=f"select-{name}")),
                    PlainLabel("", classes="field-error", id=f"error-{name}"),
                    id=f"choice-{name}", classes="bt-choice")


class BacktestForm(TraderModal):
    BINDINGS = BACKTEST_FORM

    def __init__(self) -> None:
        super().__init__()
        self.cancel: threading.Event | None = None  # set while a run goes
        self.params: list[str] = []  # the shown kind's parameter names
        self.kind = ""  # the kind whose parameters are shown

    def compose(self) -> ComposeResult:
        today = self.app.clock.now().astimezone(IST).date()  # type: ignore[attr-defined]
        with Vertical(id="bt-form-box"):
            yield Static("New backtest", id="bt-form-title")
            with VerticalScroll(id="bt-form-fields"):
                yield _choice("kind", "Kind", [(e.name, e.kind.value) for e in CATALOG],
                              DEFAULT_KIND)
                yield Vertical(id="bt-params")
                yield Field("symbol", "Symbol", placeholder="NSE symbol, e.g. INFY",
                            suggester=SymbolSuggester(lambda: self.session.symbols))
                yield Field("interval", "Interval", value="minute",
                            placeholder="minute, 5minute, 15minute, ... or day")
                yield _choice(*CHOICES[0], "stored")
                yield Field("date_from", "From", value=f"{today - timedelta(days=30)}",
                            placeholder="YYYY-MM-DD")
                yield Field("date_to", "To", value=f"{today}", placeholder="YYYY-MM-DD")
                yield Field("csv", "CSV file", placeholder="path of a candles CSV")
                yield _choice(*CHOICES[1], "next-open")
                yield Field("slippage", "Slippage ticks", value="0")
                yield Field("quantity", "Quantity", value="1", placeholder="shares; lots "
                                                                           "for F&O")
                yield _choice(*CHOICES[2], "CNC")
                yield Field("stop_pct", "Stop %", placeholder="empty: the kind's default")
                yield _choice(*CHOICES[3], "on")
            yield ProgressBar(total=100, show_eta=False, id="bt-progress")
            yield PlainStatic("Ctrl+R runs; Esc closes.", id="bt-form-banner")
        yield KeyBar()

    async def on_mount(self) -> None:
        self.query_one("#bt-progress").display = False
        self._show_source("stored")
        await self._show_params(DEFAULT_KIND)

    async def _show_params(self, kind: str) -> None:
        if kind == self.kind:
            return  # the Select also announces its first value
        self.kind = kind
        box = self.query_one("#bt-params", Vertical)
        await box.remove_children()
        fields = param_fields(kind)
        self.params = [name for name, _, _ in fields]
        await box.mount_all([Field(name, label, value=default)
                             for name, label, default in fields])

    def _show_source(self, source: str) -> None:
        self.query_one("#field-csv").display = source == "csv"
        for name in ("date_from", "date_to"):
            self.query_one(f"#field-{name}").display = source != "csv"

    @on(Select.Changed, "#select-kind")
    async def _kind_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            await self._show_params(event.value)

    @on(Select.Changed, "#select-source")
    def _source_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self._show_source(event.value)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.field_name: f.value for f in self.query(Field)
                               if f.field_name not in self.params}
        out["params"] = {f.field_name: f.value for f in self.query(Field)
                         if f.field_name in self.params}
        for select in self.query(Select):
            out[str(select.id).removeprefix("select-")] = select.value
        return out

    def _set_errors(self, errors: dict[str, str]) -> None:
        for f in self.query(Field):
            f.set_error(errors.get(f.field_name))
        for label in self.query(".bt-choice .field-error").results(PlainLabel):
            label.update(errors.get(str(label.id).removeprefix("error-"), ""))
        shown = {f.field_name for f in self.query(Field) if f.display} | \
            {"kind", *(name for name, _, _ in CHOICES)}
        elsewhere = [message for name, message in errors.items() if name not in shown]
        if elsewhere:
            self._banner(elsewhere[0])
        elif errors:
            self._banner(f"{len(errors)} field{'s' if len(errors) > 1 else ''} to correct; "
                         f"nothing was run")

    def _banner(self, text: str) -> None:
        self.query_one("#bt-form-banner", PlainStatic).update(one_line(text))

    def action_run(self) -> None:
        if self.cancel is not None:
            return  # one run at a time
        request, errors = check_form(self.values())
        self._set_errors(errors)
        if request is None:
            return
        self.cancel = threading.Event()
        bar = self.query_one("#bt-progress", ProgressBar)
        bar.update(total=100, progress=0)
        bar.display = True
        self._banner("Running... Esc stops it (nothing is stored).")
        self._run(request, self.cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, name="backtest", group="backtest")
    def _run(self, request: Any, cancel: threading.Event) -> None:
        def progress(done: int, total: int) -> None:
            self.post_message(BacktestProgress(done, total))

        try:
            run_id = runs_service(self.session).run(request, progress, cancel)
        except RunCancelled:
            self.post_message(BacktestEnded(cancelled=True))
            return
        except ValidationError as exc:
            self.post_message(BacktestEnded(errors={exc.field: exc.rule}))
            return
        except BaseException:
            self.post_message(BacktestEnded(banner="The run failed; nothing was stored."))
            raise  # the app's one error handler says what
        self.post_message(BacktestEnded(run_id))

    @on(BacktestProgress)
    def _progress(self, event: BacktestProgress) -> None:
        if self.cancel is not None and event.total:
            self.query_one("#bt-progress", ProgressBar).update(
                total=event.total, progress=event.done)

    @on(BacktestEnded)
    def _ended(self, event: BacktestEnded) -> None:
        self.cancel = None
        if event.run_id is not None:
            self.dismiss(event.run_id)
            return
        self.query_one("#bt-progress").display = False
        if event.cancelled:
            self._banner("Cancelled; nothing was stored.")
        elif event.errors:
            self._set_errors(event.errors)
        else:
            self._banner(event.banner or "The run failed; nothing was stored.")

    def action_cancel(self) -> None:
        if self.cancel is not None:
            self.cancel.set()
            self._banner("Stopping the run...")
            return
        self.dismiss(None)
