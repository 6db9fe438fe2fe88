"""Fills, rejections, stop-loss hits, risk alerts and token expiry, newest first; unread ones
are marked (and counted in the status bar)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.widgets import Static

from ...domain.events import NotificationRaised
from ..formatting import ist_time, one_line
from ..keymap import BACK, NOTIFICATIONS
from ..messages import NotificationsLoaded, UnreadChanged
from ..widgets.table import KeyedTable
from .base import SectionScreen

SEVERITY_ROLE = {"INFO": "primary", "WARNING": "warning", "ERROR": "error",
                 "CRITICAL": "bold error"}


class NotificationsScreen(SectionScreen):
    SECTION: ClassVar[str] = "notifications"
    BINDINGS = BACK + NOTIFICATIONS
    AUTO_FOCUS = "#notifications-table"

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, Any] = {}
        self._stale = False

    def compose_body(self) -> ComposeResult:
        yield KeyedTable(id="notifications-table")
        yield Static("Nothing yet. Fills, rejections and alerts will appear here.",
                     id="notifications-empty")

    def build_body(self) -> None:
        table = self.query_one(KeyedTable)
        table.add_column(" ", key="unread", width=1)
        table.add_column("Time", key="time", width=8)
        table.add_column("Level", key="severity", width=8)
        table.add_column("Kind", key="kind", width=12)
        table.add_column("Message", key="message")
        self.query_one("#notifications-empty").display = False
        self.set_interval(1.0, self._reload_if_stale)

    def on_screen_resume(self) -> None:
        # Shown (first time, or again): paint what we have, then read fresh data. A screen
        # built ahead of its first visit (see TraderApp.prebuild_sections) is not shown yet.
        if self.is_current:
            self._stale = False
            self.call_after_refresh(self.reload)

    @work(thread=True, exclusive=True, exit_on_error=False, name="load notifications")
    def reload(self) -> None:
        views = self.session.views
        self.post_message(NotificationsLoaded(views.notifications()))
        self.app.post_message(UnreadChanged(views.unread_count()))

    def _reload_if_stale(self) -> None:
        if self._stale and self.is_current:  # hidden: reloaded when shown again
            self._stale = False
            self.reload()

    def apply_events(self, events) -> None:
        if any(isinstance(e, NotificationRaised) for e in events):
            self._stale = True

    @on(NotificationsLoaded)
    def _loaded(self, event: NotificationsLoaded) -> None:
        self.items = {str(n.id): n for n in event.notifications}
        rows = []
        for key, n in self.items.items():
            role = SEVERITY_ROLE.get(n.severity.value, "")
            text = one_line(f"{n.title}: {n.body}" if n.body else n.title)
            rows.append((key, (
                ("●" if not n.is_read else " ", f"bold {role}"),
                (ist_time(n.created_at), ""), (n.severity.value, role),
                (n.kind.value, ""), (text, "" if n.is_read else "bold"))))
        self.query_one(KeyedTable).set_rows(rows)
        self.query_one("#notifications-empty").display = not rows

    def action_mark_read(self) -> None:
        key = self.query_one(KeyedTable).selected_key()
        if key is not None:
            self._mark(key)

    @on(KeyedTable.RowSelected, "#notifications-table")
    def _row_selected(self) -> None:
        self.action_mark_read()

    def action_mark_all_read(self) -> None:
        self._mark(None)

    @work(thread=True, exit_on_error=False, name="mark read", group="mark-read")
    def _mark(self, key: str | None) -> None:
        self.session.views.mark_read(key)
        self.app.call_from_thread(self.reload)

    def action_refresh(self) -> None:
        self.reload()

    def action_channels(self) -> None:
        from .channels import ChannelsScreen

        self.app.push_screen(ChannelsScreen())

    def action_logs(self) -> None:
        from .logs import LogsScreen

        self.app.push_screen(LogsScreen())
