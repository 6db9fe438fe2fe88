"""Open and closed positions with live LTP and P&L, a totals line, and today's P&L chart.

Engine events update the book (in the app); this screen diffs the book into its table.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.containers import Container, Vertical
from textual.content import Content
from textual.widgets import Static

from ...domain.events import PositionChanged
from ..formatting import quantity, sign_of, signed_money
from ..keymap import BACK, POSITIONS
from ..live_book import Totals
from ..themes import pnl_colors
from ..widgets.pnl_chart import PnlChart
from ..widgets.positions_table import PositionsTable, pnl_style
from .base import SectionScreen


def totals_content(totals: Totals, palette: tuple[str, str, str]) -> Content:
    def pnl(label: str, value) -> Content:
        style = f"bold {pnl_style(sign_of(value), palette)}"
        return Content.assemble(f"{label} ", (signed_money(value), style))

    return Content(" ").join([
        Content.styled("Total", "bold"),
        Content(f"open qty {quantity(totals.open_quantity)} ·"),
        pnl("unrealized", totals.unrealized), Content("·"),
        pnl("realized", totals.realized), Content("·"),
        pnl("net", totals.net),
    ])


EMPTY_OPEN = "No positions yet. Start a strategy (2, then s); fills appear here."
EMPTY_CLOSED = ("No positions yet. Market closed: press p to practise a day (a past session "
                "at 60x, apart from your real book) and watch orders fill within a minute.")
EMPTY_PRACTICE = ("Practice day: its strategies' fills appear here as its clock reaches "
                  "their buy times. p leaves the practice.")


def empty_text(app) -> str:
    """What an empty positions table says: while NSE is closed it offers a practice day."""
    if getattr(app, "practice_day", None) is not None:
        return EMPTY_PRACTICE
    ctx = app.backend.ctx
    if ctx is not None and app.boot is not None and not ctx.calendar.is_open(ctx.clock.now()):
        return EMPTY_CLOSED
    return EMPTY_OPEN


class PositionsScreen(SectionScreen):
    SECTION: ClassVar[str] = "positions"
    BINDINGS = BACK + POSITIONS
    AUTO_FOCUS = "#positions-table"

    def __init__(self) -> None:
        super().__init__()
        self.include_closed = True
        self._book_version = -1
        self._chart_points = -1

    def compose_body(self) -> ComposeResult:
        with Container(id="positions-body"):
            with Vertical(id="positions-main"):
                yield PositionsTable(id="positions-table")  # columns fit the width
                yield Static("", id="positions-totals")
                yield Static(EMPTY_OPEN, id="positions-empty")
            yield PnlChart(id="positions-chart")

    def build_body(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _t: self._restyle())
        self._restyle()

    def on_screen_resume(self) -> None:
        self.data_changed("positions")

    def _restyle(self) -> None:
        if not self.query(PositionsTable):
            return  # a theme change reached us while composing or being removed
        palette = pnl_colors(self.app.current_theme)
        self.query_one(PositionsTable).set_palette(palette)
        self.query_one(PnlChart).line_colors = palette[:2]
        self._book_version = -1
        self._chart_points = -1
        self.data_changed("positions")

    # -- updates ----------------------------------------------------------------------------
    def apply_events(self, events) -> None:
        if any(isinstance(e, PositionChanged) for e in events):
            self.data_changed("positions")

    def data_changed(self, what: str) -> None:
        if what in ("positions", "chart"):
            self._sync()

    def _sync(self) -> None:
        session = self.app.user_session  # type: ignore[attr-defined]
        if session is None or not self.is_mounted:
            return
        book = session.book
        chart = self.query_one(PnlChart)
        if book.version != self._book_version:
            self._book_version = book.version
            lines = book.lines(include_closed=self.include_closed)
            table = self.query_one(PositionsTable)
            table.sync(lines)
            totals = book.totals(include_closed=self.include_closed)
            self.query_one("#positions-totals", Static).update(
                totals_content(totals, table.palette))
            empty = book.loaded and not lines
            notice = self.query_one("#positions-empty", Static)
            if empty:
                notice.update(empty_text(self.app))
            notice.display = empty
            chart.set_class(not book.positions, "-no-data")
        if self.chart_shown and len(book.series) != self._chart_points:
            self._chart_points = len(book.series)
            chart.set_points(book.series)

    # -- actions ----------------------------------------------------------------------------
    def action_toggle_closed(self) -> None:
        self.include_closed = not self.include_closed
        self._book_version = -1
        self._sync()
        self.notify("Showing all positions" if self.include_closed
                    else "Showing open positions only", timeout=2)

    @property
    def chart_shown(self) -> bool:
        return not self.has_class("-chart-hidden")

    def action_toggle_chart(self) -> None:
        self.toggle_class("-chart-hidden")
        self._chart_points = -1
        self._sync()

    def action_refresh(self) -> None:
        from ..session_flow import load_session_data

        load_session_data(self.app, self.session)  # type: ignore[arg-type]
