"""One strategy at a glance (Enter on the strategies table): what it does next and did
last, its symbol's quote, and its recent candles with the kind's indicators and its
entries and exits marked. Everything is read from storage through services; when no
candles are stored the screen says so."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical

from ..formatting import one_line
from ..keymap import DETAIL
from ..messages import StrategyChartLoaded
from ..widgets.candle_chart import CandleChart, IndicatorChart
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainStatic
from ..widgets.quote_panel import QuotePanel
from .base import TraderModal


class StrategyDetailScreen(TraderModal):
    BINDINGS = DETAIL

    def __init__(self, row: Any) -> None:
        super().__init__()
        self.row = row  # the table's StrategyRow (services.views)

    def compose(self) -> ComposeResult:
        row = self.row
        with Vertical(id="detail-box"):
            yield PlainStatic(f"{one_line(row.name, 60)} · {row.kind_name} · {row.status}",
                              id="detail-title")
            yield PlainStatic(f"Next: {row.next_action} · Last: {row.last_signal or 'none'}",
                              id="detail-words")
            yield QuotePanel(id="detail-quote")
            yield PlainStatic("Loading candles…", id="detail-note")
            yield CandleChart(id="detail-chart")
            yield IndicatorChart(id="detail-lower")
            yield PlainStatic("", id="detail-marks")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#detail-lower").display = False
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, name="load strategy chart")
    def _load(self) -> None:
        charts = self.session.charts
        chart = charts.chart(self.row.id)
        self.post_message(StrategyChartLoaded(chart, charts.quote(self.row.symbol)))

    @on(StrategyChartLoaded)
    def _loaded(self, event: StrategyChartLoaded) -> None:
        chart = event.chart
        self.query_one(QuotePanel).set_quote(event.quote)
        note = self.query_one("#detail-note", PlainStatic)
        note.update(chart.note)
        note.display = bool(chart.note)
        theme = self.app.current_theme
        plot = self.query_one(CandleChart)
        plot.up_down = (theme.success or "green", theme.error or "red")
        plot.display = bool(chart.candles)
        plot.set_chart(chart)
        self.query_one(IndicatorChart).set_chart(chart)
        marks = [f"{'▲' if m.entry else '▼'} {m.words}" for m in chart.markers]
        self.query_one("#detail-marks", PlainStatic).update(
            ("Entries and exits: " + "  ".join(marks)) if marks
            else ("No entries or exits in these candles" if chart.candles else ""))

    def action_refresh(self) -> None:
        self._load()

    def action_cancel(self) -> None:
        self.dismiss(None)
