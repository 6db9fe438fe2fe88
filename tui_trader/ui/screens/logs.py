"""The Logs screen (from Alerts, `l`): the warnings and errors kept in system_logs, newest
first, filtered by level (that or worse) and component; `a` shows the signed-in user's audit
trail instead. Text from the log is data: shown plain, on one line."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical

from ...domain.enums import Severity
from ..formatting import ist_datetime, one_line
from ..keymap import LOGS
from ..messages import LogsLoaded
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainStatic
from ..widgets.table import TraderTable, cell
from .base import TraderModal

LEVELS = (Severity.WARNING, Severity.ERROR, Severity.CRITICAL)
ROLE = {"WARNING": "warning", "ERROR": "error", "CRITICAL": "bold error", "OK": "",
        "FAILED": "error", "REFUSED": "warning"}


class LogsScreen(TraderModal):
    BINDINGS = LOGS

    def __init__(self) -> None:
        super().__init__()
        self.level = Severity.WARNING
        self.component = ""  # "" = every component
        self.components: list[str] = []
        self.audit = False

    def compose(self) -> ComposeResult:
        with Vertical(id="logs-box"):
            yield PlainStatic("Logs", id="logs-title")
            yield PlainStatic("", id="logs-filter")
            yield TraderTable(id="logs-table")
            yield PlainStatic("", id="logs-empty")
        yield KeyBar()

    def on_mount(self) -> None:
        self._columns()
        self.query_one(TraderTable).focus()
        self.reload()

    def _columns(self) -> None:
        table = self.query_one(TraderTable)
        table.clear(columns=True)
        table.add_column("Time", width=19)
        if self.audit:
            table.add_column("Action", width=18)
            table.add_column("Outcome", width=8)
            table.add_column("On")
        else:
            table.add_column("Level", width=8)
            table.add_column("Component", width=22)
            table.add_column("Message")

    def _describe(self) -> str:
        if self.audit:
            return "Your audit trail · a: back to the system log"
        where = self.component or "every component"
        return f"Level: {self.level.value.lower()} or worse · Component: {where}"

    @work(thread=True, exclusive=True, exit_on_error=False, name="load logs")
    def reload(self) -> None:
        from ...services.audit import audit_trail
        from ...services.system_log import log_components, system_logs

        ctx = self.session.ctx
        if self.audit:
            rows = audit_trail(ctx, user_id=self.session.user_id, limit=500)
        else:
            rows = system_logs(ctx, level=self.level, component=self.component, limit=500)
        self.post_message(LogsLoaded(rows, log_components(ctx)))

    @on(LogsLoaded)
    def _loaded(self, event: LogsLoaded) -> None:
        self.components = event.components
        self.query_one("#logs-filter", PlainStatic).update(self._describe())
        table = self.query_one(TraderTable)
        table.clear()
        for row in event.rows:
            if self.audit:
                table.add_row(ist_datetime(row.created_at), row.action.value,
                              cell(row.outcome.value, ROLE.get(row.outcome.value, "")),
                              one_line(row.subject))
            else:
                text = row.message
                if row.data.get("suppressed"):
                    text += f" (and {row.data['suppressed']} like it, not kept)"
                table.add_row(ist_datetime(row.created_at),
                              cell(row.level.value, ROLE.get(row.level.value, "")),
                              one_line(row.component), one_line(text))
        empty = "Nothing kept yet." if self.audit else \
            "No warnings or errors kept for this filter."
        self.query_one("#logs-empty", PlainStatic).update("" if event.rows else empty)

    def action_level(self) -> None:
        self.level = LEVELS[(LEVELS.index(self.level) + 1) % len(LEVELS)]
        self.reload()

    def action_component(self) -> None:
        choices = ["", *self.components]
        at = choices.index(self.component) if self.component in choices else 0
        self.component = choices[(at + 1) % len(choices)]
        self.reload()

    def action_audit(self) -> None:
        self.audit = not self.audit
        self._columns()
        self.reload()

    def action_refresh(self) -> None:
        self.reload()

    def action_cancel(self) -> None:
        self.dismiss()
