"""Route one coalesced batch of engine events: status bar, toasts, the positions book, then
every live section screen (each applies only what it shows)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..domain.alerts import AlertMode, alert_kind
from ..domain.events import EngineStatus, NotificationRaised, PositionChanged
from .formatting import one_line

if TYPE_CHECKING:
    from ..domain.events import EngineEvent
    from .app import TraderApp
    from .backend import UserSession

SEVERITY = {"INFO": "information", "WARNING": "warning", "ERROR": "error",
            "CRITICAL": "error"}


def route_events(app: TraderApp, session: UserSession, events: list[EngineEvent]) -> None:
    positions = [e for e in events if isinstance(e, PositionChanged)]
    if positions:
        session.book.apply(positions)
        unknown = {e.strategy_id for e in positions
                   if e.strategy_id and e.strategy_id not in session.book.strategy_names}
        if unknown:
            learn_strategy_names(app, session)
    status = app.status
    for event in events:
        if isinstance(event, EngineStatus):
            status = replace(status, engine=event.state, entries_allowed=event.entries_allowed,
                             engine_detail=event.detail)
        elif isinstance(event, NotificationRaised):
            mode = session.alert_modes.get(alert_kind(event.kind, event.severity),
                                           AlertMode.ON)
            if mode is AlertMode.OFF:
                continue
            status = replace(status, unread=status.unread + 1)
            if mode is AlertMode.SILENT:
                continue
            body = one_line(event.body) if event.body else ""
            app.notify(body or one_line(event.title), title=one_line(event.title, 60),
                       severity=SEVERITY.get(event.severity, "information"),  # type: ignore[arg-type]
                       timeout=8 if event.severity in ("ERROR", "CRITICAL") else 5)
    app.status = status
    for screen in list(app.live_screens):
        screen.apply_events(events)


def learn_strategy_names(app: TraderApp, session: UserSession) -> None:
    """A position of a strategy made since sign-in (or in another console): read the
    names again, off the UI thread, so its row names it without a refresh."""

    def work() -> None:
        names = {str(s.id): s.name for s in session.strategies.list()}
        app.call_from_thread(named, names)

    def named(names: dict[str, str]) -> None:
        if app.user_session is not session:
            return  # signed out meanwhile
        session.book.name_strategies(names)
        for screen in list(app.live_screens):
            screen.data_changed("positions")

    app.run_worker(work, thread=True, exit_on_error=False, name="strategy names",
                   group="strategy-names", exclusive=True)
