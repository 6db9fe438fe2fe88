"""Where alerts go (from Alerts, `c`): the user's notification channels with how delivery to
each is going (a failing one says why and is retried), and the mode of each kind of alert,
which Enter cycles on → silent → off. Channels are added with `tui-trader notify add` (their
secrets are typed there, never shown here)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical

from ...domain.alerts import ALERT_LABELS, AlertKind, AlertMode
from ..formatting import ist_datetime, one_line
from ..keymap import CHANNELS
from ..messages import ChannelsLoaded
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainStatic
from ..widgets.table import TraderTable, cell
from .base import TraderModal

STATE_ROLE = {"ok": "success", "failing": "bold error", "untried": ""}
MODE_ROLE = {AlertMode.ON: "success", AlertMode.SILENT: "warning", AlertMode.OFF: "error"}
NEXT_MODE = {AlertMode.ON: AlertMode.SILENT, AlertMode.SILENT: AlertMode.OFF,
             AlertMode.OFF: AlertMode.ON}
MODE_HELP = "on: toast and sent out · silent: listed only · off: not toasted, not sent"


class ChannelsScreen(TraderModal):
    BINDINGS = CHANNELS

    def __init__(self) -> None:
        super().__init__()
        self.modes: dict[AlertKind, AlertMode] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="channels-box"):
            yield PlainStatic("Channels", id="channels-title")
            yield TraderTable(id="channels-table")
            yield PlainStatic("", id="channels-empty")
            yield PlainStatic("Alerts", classes="channels-heading")
            yield TraderTable(id="modes-table")
            yield PlainStatic(MODE_HELP, id="modes-help")
        yield KeyBar()

    def on_mount(self) -> None:
        channels = self.query_one("#channels-table", TraderTable)
        channels.add_column("Label", width=16)
        channels.add_column("Kind", width=9)
        channels.add_column("Where", width=34)
        channels.add_column("State", width=8)
        channels.add_column("Last error / last sent")
        modes = self.query_one("#modes-table", TraderTable)
        modes.add_column("Alert", width=22)
        modes.add_column("Mode", key="mode", width=8)
        modes.focus()
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, name="load channels")
    def reload(self) -> None:
        settings = self._settings()
        self.post_message(ChannelsLoaded(settings.list(), settings.preferences()))

    def _settings(self):
        from ...services.notify_channels import NotificationSettings

        return NotificationSettings(self.session.ctx, self.session.user_id)

    @on(ChannelsLoaded)
    def _loaded(self, event: ChannelsLoaded) -> None:
        table = self.query_one("#channels-table", TraderTable)
        table.clear()
        for c in event.channels:
            detail = (f"{c.failures} failed: {c.last_error}" if c.failures else
                      f"sent {ist_datetime(c.last_success_at)}" if c.last_success_at else "-")
            state = "failing" if c.failures else c.state
            table.add_row(one_line(c.label), c.kind.value.lower(), one_line(c.hint),
                          cell(state, STATE_ROLE.get(state, "")), one_line(detail))
        self.query_one("#channels-empty", PlainStatic).update(
            "" if event.channels else
            "No channels: alerts stay in the console. Add one with "
            "tui-trader notify add --email … --kind webhook|email|telegram")
        self.modes = dict(event.modes)
        self.session.alert_modes = dict(event.modes)  # toasts follow at once
        modes = self.query_one("#modes-table", TraderTable)
        row = modes.cursor_row
        modes.clear()
        for kind, mode in self.modes.items():
            modes.add_row(ALERT_LABELS[kind], cell(mode.value.lower(), MODE_ROLE[mode]),
                          key=kind.value)
        if self.modes:
            modes.move_cursor(row=min(row, len(self.modes) - 1))

    @on(TraderTable.RowSelected, "#modes-table")
    def _row_selected(self) -> None:  # Enter on the table itself
        self.action_cycle_mode()

    def action_cycle_mode(self) -> None:
        modes = self.query_one("#modes-table", TraderTable)
        if not self.modes:
            return
        kind = list(self.modes)[modes.cursor_row]
        self._set(kind, NEXT_MODE[self.modes[kind]])

    @work(thread=True, exit_on_error=False, name="set alert mode", group="alert-mode")
    def _set(self, kind: AlertKind, mode: AlertMode) -> None:
        settings = self._settings()
        settings.set_preferences({kind: mode})
        self.post_message(ChannelsLoaded(settings.list(), settings.preferences()))

    @work(thread=True, exclusive=True, exit_on_error=False, name="test channels",
          group="channel-test")
    def action_test(self) -> None:
        settings = self._settings()
        results = settings.test()
        failed = [label for label, problem in results if problem]
        text = ("No channels to test." if not results else
                f"{len(results) - len(failed)} delivered"
                + (f"; failed: {', '.join(failed)}" if failed else ""))
        self.app.call_from_thread(self.notify, one_line(text),
                                  severity="error" if failed else "information")
        self.post_message(ChannelsLoaded(settings.list(), settings.preferences()))

    def action_refresh(self) -> None:
        self.reload()

    def action_cancel(self) -> None:
        self.dismiss()
