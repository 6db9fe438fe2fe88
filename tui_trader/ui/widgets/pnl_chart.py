"""Today's net P&L as a small line chart (textual-plotext), redrawn at most when asked."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from textual.color import Color
from textual_plotext import PlotextPlot

from ...domain.clock import IST


def _minutes(at: datetime) -> float:
    local = at.astimezone(IST)
    return local.hour * 60 + local.minute + local.second / 60


class PnlChart(PlotextPlot):
    DEFAULT_CSS = """
    PnlChart {
        height: 9;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._points: list[tuple[datetime, Decimal]] = []
        self.line_colors: tuple[str, str] = ("green", "red")

    def set_points(self, points: list[tuple[datetime, Decimal]]) -> None:
        self._points = list(points)
        self._draw()

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Net P&L today (IST)")
        if not self._points:
            plt.xticks([], [])
            plt.yticks([], [])
            self.refresh()
            return
        xs = [_minutes(at) for at, _ in self._points]
        ys = [float(net) for _, net in self._points]
        up, down = self.line_colors
        color = Color.parse(up if ys[-1] >= 0 else down).rgb
        if len(xs) == 1:
            xs, ys = [xs[0] - 1, xs[0]], [ys[0], ys[0]]
        plt.plot(xs, ys, marker="braille", color=color)
        first, last = xs[0], xs[-1]
        ticks = [first, (first + last) / 2, last] if last - first >= 2 else [last]
        plt.xticks(ticks, [f"{int(t) // 60:02d}:{int(t) % 60:02d}" for t in ticks])
        self.refresh()
