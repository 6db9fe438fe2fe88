"""What every section screen shares: nav bar, status bar, footer, engine events, and the
rule that a failed worker becomes one line from the app instead of a crash."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from ..keymap import BACK
from ..messages import WorkerFailed
from ..widgets.key_bar import KeyBar
from ..widgets.nav_bar import NavBar
from ..widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from ...domain.events import EngineEvent
    from ..backend import UserSession


def report_worker_errors(node, event: Worker.StateChanged) -> None:
    """Hand a failed worker's exception to the app's single error handler."""
    if event.state == WorkerState.ERROR and event.worker.error is not None:
        node.app.post_message(WorkerFailed(event.worker.name, event.worker.error))


class SectionScreen(Screen):
    """A top-level section (a Textual mode): positions, strategies, orders, ..."""

    SECTION: ClassVar[str] = ""
    BINDINGS = BACK

    def compose(self) -> ComposeResult:
        yield NavBar(self.SECTION)
        yield from self.compose_body()
        yield StatusBar()
        yield KeyBar()

    def compose_body(self) -> ComposeResult:
        yield from ()

    @property
    def session(self) -> UserSession:
        session = self.app.user_session  # type: ignore[attr-defined]
        assert session is not None, "section screens exist only while signed in"
        return session

    def on_mount(self) -> None:
        if not self.app.is_running or self.app.return_code is not None:
            # The app is quitting while this screen was being built ahead of its first
            # visit (TraderApp.prebuild_sections): its widgets may be gone already.
            return
        self.app.live_screens.add(self)  # type: ignore[attr-defined]
        self.build_body()

    def build_body(self) -> None:
        """Set up the mounted body (columns, timers, watches); sections override this,
        never on_mount, so a screen closed before its Mount arrived is left alone."""

    def on_unmount(self) -> None:
        self.app.live_screens.discard(self)  # type: ignore[attr-defined]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_errors(self, event)

    def apply_events(self, events: list[EngineEvent]) -> None:
        """Engine events arrived (already coalesced); sections override what they show."""

    def data_changed(self, what: str) -> None:
        """Something this screen may show changed ("positions", "chart", ...)."""

    def resync(self) -> None:
        """Events may have been missed (the live store was down): read everything again,
        now if shown, else when shown next."""
        if hasattr(self, "_stale"):
            self._stale = True
        self.data_changed("strategies")

    def action_back(self) -> None:
        if self.SECTION != "positions":
            self.app.switch_mode("positions")


class TraderModal(ModalScreen):
    """A dialog over a section; Escape always closes it."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_errors(self, event)

    @property
    def session(self) -> UserSession:
        session = self.app.user_session  # type: ignore[attr-defined]
        assert session is not None
        return session
