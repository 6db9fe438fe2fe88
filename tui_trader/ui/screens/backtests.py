"""The Backtests section: the stored runs, newest first, with their headline figures; a new
run (the form), a run's detail, two runs compared side by side, and "paper-trade this"."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ...domain.errors import ValidationError
from ...services.backtest_runs import (
    BacktestRunService,
    RunRow,
    compare,
    describe_range,
    figure_text,
)
from ..formatting import ist_datetime, one_line
from ..keymap import BACK, BACKTESTS, MODAL
from ..messages import BacktestRunsLoaded, Done
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainStatic
from ..widgets.table import KeyedTable, TraderTable
from .base import SectionScreen, TraderModal


def runs_service(session: Any) -> BacktestRunService:
    return BacktestRunService(session.ctx, session.user_id)


def paper_trade_line(session: Any, run_id: str) -> Done:
    """Create the paper strategy; the line to show either way (the strategies service's own
    refusal is shown as it says it)."""
    try:
        spec = runs_service(session).paper_trade(run_id)
    except ValidationError as exc:
        return Done(f"Paper-trade this: {exc}", "warning")
    return Done(f"Created paper strategy '{spec.name}' (stopped; start it in Strategies)")


def _pnl_role(value: Any) -> str:
    if not isinstance(value, int | float) or value == 0:
        return ""
    return "success" if value > 0 else "error"


class BacktestsScreen(SectionScreen):
    SECTION: ClassVar[str] = "backtests"
    BINDINGS = BACK + BACKTESTS
    AUTO_FOCUS = "#backtests-table"

    def __init__(self) -> None:
        super().__init__()
        self.runs: dict[str, RunRow] = {}
        self.marked: str | None = None  # the first run of a comparison

    def compose_body(self) -> ComposeResult:
        yield KeyedTable(id="backtests-table")
        yield Static("No backtests yet. Press n for a new run.", id="backtests-empty")

    def build_body(self) -> None:
        table = self.query_one(KeyedTable)
        table.add_column(" ", key="mark", width=1)
        table.add_column("Run at", key="time", width=16)
        table.add_column("Kind", key="kind", width=13)
        table.add_column("Symbol", key="symbol", width=9)
        table.add_column("Interval", key="interval", width=8)
        table.add_column("Range", key="range", width=22)
        table.add_column("Trades", key="trades", width=6)
        table.add_column("Net P&L", key="net", width=11)
        table.add_column("Win %", key="win", width=6)
        table.add_column("Max DD", key="dd", width=10)
        table.add_column("Sharpe", key="sharpe", width=6)
        self.query_one("#backtests-empty").display = False

    def on_screen_resume(self) -> None:
        if self.is_current:
            self.call_after_refresh(self.reload)

    @work(thread=True, exclusive=True, exit_on_error=False, name="load backtests")
    def reload(self) -> None:
        self.post_message(BacktestRunsLoaded(runs_service(self.session).runs()))

    @on(BacktestRunsLoaded)
    def _loaded(self, event: BacktestRunsLoaded) -> None:
        self.runs = {str(r.id): r for r in event.runs}
        if self.marked not in self.runs:
            self.marked = None
        self._paint()

    def _paint(self) -> None:
        rows = []
        for key, r in self.runs.items():
            net = r.figure("net_pnl")
            rows.append((key, (
                ("●" if key == self.marked else " ", "bold accent"),
                (ist_datetime(r.started_at)[:16], ""), (r.kind, ""), (r.symbol, ""),
                (r.interval, ""), (describe_range(r), ""),
                (figure_text(r.summary, "trades", "int"), ""),
                (figure_text(r.summary, "net_pnl", "money"), _pnl_role(net)),
                (figure_text(r.summary, "win_rate", "pct"), ""),
                (figure_text(r.summary, "max_drawdown", "money"), ""),
                (figure_text(r.summary, "sharpe", "ratio"), ""))))
        self.query_one(KeyedTable).set_rows(rows)
        self.query_one("#backtests-empty").display = not rows

    def _selected(self) -> str | None:
        return self.query_one(KeyedTable).selected_key()

    def action_new(self) -> None:
        from .backtest_form import BacktestForm

        self.app.push_screen(BacktestForm(), self._form_closed)

    def _form_closed(self, run_id: Any) -> None:
        self.reload()
        if run_id:
            self._open(str(run_id))

    def _open(self, key: str) -> None:
        from .backtest_detail import BacktestDetail

        self.app.push_screen(BacktestDetail(key))

    def action_open_run(self) -> None:
        key = self._selected()
        if key is not None:
            self._open(key)

    @on(KeyedTable.RowSelected, "#backtests-table")
    def _row_selected(self) -> None:
        self.action_open_run()

    def action_compare(self) -> None:
        key = self._selected()
        if key is None:
            return
        if self.marked is None or self.marked == key:
            self.marked = None if self.marked == key else key
            self._paint()
            if self.marked:
                self.app.notify("Marked for comparison: press c on another run", timeout=4)
            return
        first, self.marked = self.marked, None
        self._paint()
        self.app.push_screen(CompareRuns(first, key))

    def action_paper_trade(self) -> None:
        key = self._selected()
        if key is not None:
            self._paper_trade(key)

    @work(thread=True, exit_on_error=False, name="paper-trade this", group="paper-trade")
    def _paper_trade(self, key: str) -> None:
        self.app.post_message(paper_trade_line(self.session, key))

    def action_refresh(self) -> None:
        self.reload()


class CompareRuns(TraderModal):
    """Two stored runs side by side: what ran and the figures."""

    BINDINGS = MODAL

    def __init__(self, first: str, second: str) -> None:
        super().__init__()
        self.keys = (first, second)

    def compose(self) -> ComposeResult:
        with Vertical(id="compare-box"):
            yield Static("Compare runs", id="compare-title")
            yield TraderTable(id="compare-table")
            yield PlainStatic("", id="compare-note")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one(TraderTable)
        table.add_column("", key="label", width=22)
        table.add_column("First", key="a", width=34)
        table.add_column("Second", key="b", width=34)
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, name="load comparison")
    def _load(self) -> None:
        service = runs_service(self.session)
        rows = compare(service.get(self.keys[0]), service.get(self.keys[1]))
        self.app.call_from_thread(self._show, rows)

    def _show(self, rows: list[tuple[str, str, str]]) -> None:
        table = self.query_one(TraderTable)
        for label, a, b in rows:
            table.add_row(one_line(label), one_line(a, 60), one_line(b, 60))

    def action_cancel(self) -> None:
        self.dismiss(None)
