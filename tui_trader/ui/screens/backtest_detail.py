"""One stored backtest: what ran, the summary figures, the equity and drawdown chart, the
trades, and the closed trades per day and per month. `p` makes a paper strategy of it."""

from __future__ import annotations

from datetime import datetime

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import TabbedContent, TabPane
from textual_plotext import PlotextPlot

from ...domain.clock import IST
from ...services.backtest_runs import (
    FIGURES,
    RunDetail,
    by_period,
    describe_range,
    drawdown,
    figure_text,
)
from ..formatting import one_line
from ..keymap import BACKTEST_DETAIL
from ..messages import BacktestDetailLoaded
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainStatic
from ..widgets.table import TraderTable
from .backtests import paper_trade_line, runs_service
from .base import TraderModal


def _short(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(IST).strftime("%Y-%m-%d %H:%M")


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


class EquityChart(PlotextPlot):
    """Equity (top) and drawdown (bottom) over the run, one point per stored curve point."""

    def show(self, curve: list[list]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if not curve:
            plt.title("No equity curve stored")
            self.refresh()
            return
        xs = list(range(len(curve)))
        plt.subplots(2, 1)
        top = plt.subplot(1, 1)
        top.title("Equity (₹)")
        top.plot(xs, [float(p[1]) for p in curve], marker="braille")
        ticks = sorted({0, len(curve) // 2, len(curve) - 1})
        labels = [str(curve[i][0])[5:10] for i in ticks]  # MM-DD
        top.xticks(ticks, labels)
        bottom = plt.subplot(2, 1)
        bottom.title("Drawdown (₹)")
        bottom.plot(xs, drawdown(curve), marker="braille")
        bottom.xticks(ticks, labels)
        self.refresh()


def trade_marks(closes: list[tuple[datetime, float]], trades: list[dict]
                ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """Entries and exits as (candle index, price) on the charted closes (the candle at or
    before each fill's time)."""
    from bisect import bisect_right

    times = [at for at, _ in closes]
    entries, exits = [], []
    for t in trades:
        for key, price, out in (("entry_time", "entry_price", entries),
                                ("exit_time", "exit_price", exits)):
            if t.get(key) and t.get(price) is not None:
                at = datetime.fromisoformat(t[key])
                index = max(0, bisect_right(times, at) - 1)
                out.append((index, float(t[price])))
    return entries, exits


class CandleChart(PlotextPlot):
    """The run's candles (closes) with its entries (^) and exits (v)."""

    def show(self, closes: list[tuple[datetime, float]], trades: list[dict]) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if not closes:
            plt.title("The candles of a CSV run are not stored")
            self.refresh()
            return
        plt.title("Close with entries (^) and exits (v)")
        plt.plot(list(range(len(closes))), [c for _, c in closes], marker="braille")
        entries, exits = trade_marks(closes, trades)
        if entries:
            plt.scatter([i for i, _ in entries], [p for _, p in entries], marker="^",
                        color="green")
        if exits:
            plt.scatter([i for i, _ in exits], [p for _, p in exits], marker="v",
                        color="red")
        ticks = sorted({0, len(closes) // 2, len(closes) - 1})
        plt.xticks(ticks, [closes[i][0].astimezone(IST).strftime("%m-%d %H:%M")
                           for i in ticks])
        self.refresh()


class BacktestDetail(TraderModal):
    BINDINGS = BACKTEST_DETAIL

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self.detail: RunDetail | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="bt-detail-box"):
            yield PlainStatic("Loading the run...", id="bt-detail-title")
            with VerticalScroll(id="bt-detail-body"):
                with Horizontal(id="bt-detail-top"):
                    yield TraderTable(id="bt-summary")
                    yield EquityChart(id="bt-chart")
                with TabbedContent(id="bt-tabs"):
                    with TabPane("Trades", id="tab-trades"):
                        yield TraderTable(id="bt-trades")
                    with TabPane("Per day", id="tab-days"):
                        yield TraderTable(id="bt-days")
                    with TabPane("Per month", id="tab-months"):
                        yield TraderTable(id="bt-months")
                    with TabPane("Candles", id="tab-candles"):
                        yield CandleChart(id="bt-candles")
        yield KeyBar()

    def on_mount(self) -> None:
        summary = self.query_one("#bt-summary", TraderTable)
        summary.add_column("Figure", key="label", width=21)
        summary.add_column("Value", key="value", width=14)
        trades = self.query_one("#bt-trades", TraderTable)
        for label, key, width in (("Side", "side", 5), ("Qty", "qty", 5),
                                  ("Entry", "entry", 16), ("Price", "in", 10),
                                  ("Exit", "exit", 16), ("Price", "out", 10),
                                  ("Why", "why", 8), ("Charges", "charges", 8),
                                  ("Net P&L", "net", 11)):
            trades.add_column(label, key=key, width=width)
        for table in (self.query_one("#bt-days", TraderTable),
                      self.query_one("#bt-months", TraderTable)):
            table.add_column("Period", key="period", width=10)
            table.add_column("Trades", key="trades", width=6)
            table.add_column("Wins", key="wins", width=5)
            table.add_column("Net P&L", key="net", width=12)
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, name="load backtest")
    def _load(self) -> None:
        service = runs_service(self.session)
        detail = service.get(self.run_id)
        self.post_message(BacktestDetailLoaded(detail, service.closes(detail)))

    @on(BacktestDetailLoaded)
    def _loaded(self, event: BacktestDetailLoaded) -> None:
        run: RunDetail = event.detail
        self.detail = run
        params = ", ".join(f"{k}={v}" for k, v in (run.snapshot.get("params") or {}).items())
        self.query_one("#bt-detail-title", PlainStatic).update(one_line(
            f"{run.kind} on {run.symbol} {run.interval}, {describe_range(run)} "
            f"({run.data_source}); {params}; fill {run.params.get('fill', '-')}, "
            f"qty {run.params.get('quantity', '-')} {run.params.get('product', '')}", 300))
        summary = self.query_one("#bt-summary", TraderTable)
        summary.clear()
        for key, label, shape in FIGURES:
            summary.add_row(label, figure_text(run.summary, key, shape))
        self.query_one(EquityChart).show(run.curve)
        self.query_one(CandleChart).show(event.closes, run.trades)
        trades = self.query_one("#bt-trades", TraderTable)
        trades.clear()
        for t in run.trades:
            trades.add_row(str(t.get("side", "")), str(t.get("quantity", "")),
                           _short(t.get("entry_time")), _money(t.get("entry_price")),
                           _short(t.get("exit_time")), _money(t.get("exit_price")),
                           one_line(str(t.get("exit_reason") or "open"), 8),
                           _money(t.get("charges")), _money(t.get("net_pnl")))
        for selector, month in (("#bt-days", False), ("#bt-months", True)):
            table = self.query_one(selector, TraderTable)
            table.clear()
            for p in by_period(run.trades, month):
                table.add_row(p.label, str(p.trades), str(p.wins), _money(p.net_pnl))

    def action_paper_trade(self) -> None:
        self._paper_trade()

    @work(thread=True, exit_on_error=False, name="paper-trade this", group="paper-trade")
    def _paper_trade(self) -> None:
        self.app.post_message(paper_trade_line(self.session, self.run_id))

    def action_cancel(self) -> None:
        self.dismiss(None)


__all__ = ["BacktestDetail", "CandleChart", "EquityChart", "trade_marks"]
