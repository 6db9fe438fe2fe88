"""The user's strategies: status, kind, open position, last signal, the next planned action
(in words, from services), stop-loss and today's P&L; create, edit, copy,
delete (confirmed), start and stop (LIVE needs a typed confirmation)."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import Static

from ...domain.events import OrderStatusChanged, PositionChanged, StrategyStatusChanged
from ..formatting import money, one_line, quantity, sign_of, signed_money
from ..glyphs import MISSED_BUY, STRATEGY_STATUS
from ..keymap import BACK, STRATEGIES
from ..messages import Done, StrategiesLoaded
from ..themes import pnl_colors
from ..widgets.positions_table import pnl_role, pnl_roles
from ..widgets.table import KeyedTable
from .base import SectionScreen

# Status as a shape (play / stop / circle) so it reads without colour, and fits 80 columns.
NAME = 80  # a name quoted in a question or a message is cut to this (the form's own limit)
STATUS = {status: (glyph, role) for status, (glyph, role, _) in STRATEGY_STATUS.items()}
MISSED = MISSED_BUY[:2]  # running, but its last BUY came while the console was closed


class StrategiesScreen(SectionScreen):
    SECTION: ClassVar[str] = "strategies"
    BINDINGS = BACK + STRATEGIES
    AUTO_FOCUS = "#strategies-table"

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, object] = {}
        self._stale = False

    def compose_body(self) -> ComposeResult:
        yield KeyedTable(id="strategies-table")
        yield Static("No strategies yet. Press n to create one.", id="strategies-empty")
        yield Static("", id="strategies-note", markup=False)

    def build_body(self) -> None:
        table = self.query_one(KeyedTable)
        # The name takes what is left (re-fitted on resize); a narrow terminal hides the
        # last signal, the kind, today's P&L, the quantity (the open position says what is
        # held), the open position, then the next action; never the stop-loss or the
        # PAPER/LIVE mode. The selected strategy's line below says the next action whole.
        table.add_column("", key="status", width=1)
        table.add_column("Name", key="name", min_width=11, max_width=40)
        table.add_column("Symbol", key="symbol", width=9)
        table.add_column("Kind", key="kind", width=10, drop=6)
        table.add_column("Open", key="held", width=6, right=True, drop=3)
        table.add_column("Last signal", key="last", width=25, drop=7)
        table.add_column("Next", key="next", width=24, drop=2)
        table.add_column("Stop-loss", key="sl", width=9, right=True)
        table.add_column("Qty", key="qty", width=5, right=True, drop=4)
        table.add_column("Mode", key="mode", width=5)
        table.add_column("P&L today", key="pnl", width=10, right=True, drop=5)
        self.query_one("#strategies-empty").display = False
        self._colour_pnl()
        self.app.theme_changed_signal.subscribe(self, lambda _t: self._colour_pnl())
        self.set_interval(1.0, self._reload_if_stale)
        self.watch(table, "cursor_row", lambda _row: self._show_note(), init=False)

    def on_screen_resume(self) -> None:
        # Shown (first time, or again): paint what we have, then read fresh data. A screen
        # built ahead of its first visit (see TraderApp.prebuild_sections) is not shown yet.
        if self.is_current:
            self._stale = False
            self.call_after_refresh(self.reload)

    # -- data -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, name="load strategies")
    def reload(self) -> None:
        self.post_message(StrategiesLoaded(self.session.strategies.rows()))

    def _reload_if_stale(self) -> None:
        if self._stale and self.is_current:  # hidden: reloaded when shown again
            self._stale = False
            self.reload()

    @on(StrategiesLoaded)
    def _loaded(self, event: StrategiesLoaded) -> None:
        self.rows = {str(r.id): r for r in event.rows}
        self._render_rows()

    def _colour_pnl(self) -> None:
        tables = self.query(KeyedTable)
        if not tables:
            return  # a theme change reached us while composing or being removed
        table = tables.first()
        table.roles = pnl_roles(pnl_colors(self.app.current_theme))
        table.restyle()

    def _render_rows(self) -> None:
        rows = []
        for key, r in self.rows.items():
            glyph, role = STATUS.get(r.status, ("?", ""))
            if r.missed_buy:
                glyph, role = MISSED
            rows.append((key, (
                (glyph, role), (r.name, ""), (r.symbol, ""), (r.kind_name, ""),
                (f"{r.held:+,}" if r.held else "-", ""), (r.last_signal or "-", ""),
                (r.next_action, ""), (money(r.stop_loss), ""), (quantity(r.quantity), ""),
                (r.mode, "bold error" if r.mode == "LIVE" else ""),
                (signed_money(r.pnl_today), pnl_role(sign_of(r.pnl_today))))))
        self.query_one(KeyedTable).set_rows(rows)
        self.query_one("#strategies-empty").display = not rows
        self._show_note()

    def _show_note(self) -> None:
        """The selected strategy's status line: when it buys next, why it stopped, a BUY
        it missed."""
        key = self.query_one(KeyedTable).selected_key()
        row = self.rows.get(key) if key is not None else None
        text = f"{row.name}: {row.status_reason}" if row is not None and row.status_reason \
            else ""
        note = self.query_one("#strategies-note", Static)
        note.update(Content(one_line(text)))
        note.display = bool(text)

    def apply_events(self, events) -> None:
        for event in events:
            if isinstance(event, StrategyStatusChanged | PositionChanged | OrderStatusChanged):
                self._stale = True
                return

    def data_changed(self, what: str) -> None:
        if what == "strategies":
            self.reload()

    def _selected(self):
        key = self.query_one(KeyedTable).selected_key()
        if key is None or key not in self.rows:
            self.notify("No strategy selected", severity="warning", timeout=2)
            return None
        return self.rows[key]

    # -- actions ----------------------------------------------------------------------------
    def action_open(self) -> None:
        from .strategy_detail import StrategyDetailScreen

        row = self._selected()
        if row is not None:
            self.app.push_screen(StrategyDetailScreen(row))

    @on(KeyedTable.RowSelected, "#strategies-table")
    def _row_selected(self) -> None:
        self.action_open()

    def action_new(self) -> None:
        from .strategy_editor import StrategyEditor

        self.app.push_screen(StrategyEditor(), self._after_edit)

    def action_edit(self) -> None:
        from .strategy_editor import StrategyEditor

        row = self._selected()
        if row is None:
            return
        # A running strategy opens too: only its updatable fields can change (the editor
        # shows the others read-only, the service refuses them).
        self.app.push_screen(StrategyEditor(str(row.id)), self._after_edit)

    def _after_edit(self, spec) -> None:
        if spec is not None:
            self.notify(f"Saved {one_line(spec.name, NAME)}")
            self.reload()

    def action_duplicate(self) -> None:
        row = self._selected()
        if row is not None:
            self._run("copy", row.id)

    def action_delete(self) -> None:
        from .confirm import ConfirmScreen

        row = self._selected()
        if row is None:
            return
        self.app.push_screen(
            ConfirmScreen("Delete strategy", f"Delete '{one_line(row.name, NAME)}' "
                          f"({one_line(row.symbol, NAME)})? Its past "
                          "orders stay in the order log.", confirm_label="Delete",
                          danger=True),
            lambda ok: ok and self._run("delete", row.id))

    def action_start(self) -> None:
        from .confirm import ConfirmScreen

        row = self._selected()
        if row is None:
            return
        if row.mode == "LIVE":
            self.app.push_screen(
                ConfirmScreen("Start LIVE strategy",
                              f"'{one_line(row.name, NAME)}' will place REAL orders for "
                              f"{row.quantity} {one_line(row.symbol, NAME)} with your broker.",
                              confirm_label="Start LIVE",
                              danger=True, typed="LIVE"),
                lambda ok: ok and self._run("start-live", row.id))
        else:
            self._run("start", row.id)

    def action_stop(self) -> None:
        row = self._selected()
        if row is not None:
            self._run("stop", row.id)

    def action_refresh(self) -> None:
        self.reload()

    @work(thread=True, exit_on_error=False, name="strategy action", group="strategy-action")
    def _run(self, what: str, strategy_id) -> None:
        from ...domain.errors import TuiTraderError

        session = self.session
        try:
            if what in ("start", "start-live"):
                result = session.control.start(strategy_id, confirm_live=what == "start-live")
                text = f"Started: {result.message}"
            elif what == "stop":
                session.control.stop(strategy_id)
                text = "Strategy stopped"
            elif what == "copy":
                copy = session.strategies.duplicate(strategy_id)
                text = f"Copied as '{one_line(copy.name, NAME)}'"
            else:
                session.strategies.delete(strategy_id)
                text = "Strategy deleted"
        except TuiTraderError as exc:
            self.post_message(Done(one_line(str(exc)), "error"))
            return
        self.post_message(Done(text))

    @on(Done)
    def _done(self, event: Done) -> None:
        event.stop()
        self.notify(event.text, severity=event.severity)  # type: ignore[arg-type]
        self.reload()
