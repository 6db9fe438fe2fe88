"""A strategy's candles in the terminal (textual-plotext candlesticks) with the kind's
indicators drawn over them and its entries (▲) and exits (▼) marked; an indicator on its own
scale (the RSI) goes in the small chart below. What to draw comes whole from services
(`ChartData`); this only draws it."""

from __future__ import annotations

from typing import Any

from textual.color import Color
from textual_plotext import PlotextPlot

from ...domain.clock import IST
from ..formatting import one_line

LINE_COLORS = ("cyan", "magenta", "orange", "blue")


def _ticks(chart: Any) -> tuple[list[int], list[str]]:
    """Up to four time labels along the candles (IST, the day named where it changes)."""
    candles = chart.candles
    n = len(candles)
    picks = sorted({0, n // 3, 2 * n // 3, n - 1})
    labels = []
    for i in picks:
        local = candles[i].start.astimezone(IST)
        labels.append(f"{local:%a %H:%M}")
    return picks, labels


class CandleChart(PlotextPlot):
    DEFAULT_CSS = """
    CandleChart {
        height: 1fr;
        min-height: 10;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart: Any = None
        self.up_down: tuple[str, str] = ("green", "red")

    def set_chart(self, chart: Any) -> None:
        self.chart = chart
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        chart = self.chart
        if chart is None or not chart.candles:
            plt.title("")
            plt.xticks([], [])
            plt.yticks([], [])
            self.refresh()
            return
        plt.title(one_line(chart.title, 60))
        xs = list(range(len(chart.candles)))
        up, down = (Color.parse(c).rgb for c in self.up_down)
        plt.candlestick(xs, {"Open": [float(c.open) for c in chart.candles],
                             "Close": [float(c.close) for c in chart.candles],
                             "High": [float(c.high) for c in chart.candles],
                             "Low": [float(c.low) for c in chart.candles]},
                        colors=[up, down])
        for (name, values), color in zip(chart.overlays.items(), LINE_COLORS, strict=False):
            points = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], marker="braille",
                         color=Color.parse(color).rgb, label=one_line(name, 20))
        for marker in chart.markers:
            plt.scatter([marker.at], [float(marker.price)], marker="▲" if marker.entry
                        else "▼", color=up if marker.entry else down)
        plt.xticks(*_ticks(chart))
        self.refresh()


class IndicatorChart(PlotextPlot):
    """An indicator on its own scale under the candles (the RSI's 0-100)."""

    DEFAULT_CSS = """
    IndicatorChart {
        height: 7;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.chart: Any = None

    def set_chart(self, chart: Any) -> None:
        self.chart = chart
        self.display = bool(chart is not None and chart.candles and chart.lower)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if not self.display:
            return
        xs = list(range(len(chart.candles)))
        for (name, values), color in zip(chart.lower.items(), LINE_COLORS, strict=False):
            points = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
            if points:
                plt.plot([p[0] for p in points], [p[1] for p in points], marker="braille",
                         color=Color.parse(color).rgb, label=one_line(name, 20))
        plt.xlim(0, max(len(xs) - 1, 1))
        plt.xticks([], [])
        self.refresh()
