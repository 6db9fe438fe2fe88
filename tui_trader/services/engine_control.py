"""What the console may ask of the engine, whether it runs in-process or on a server.

`EngineControl` is implemented by the embedded engine (direct calls) and by
`RemoteEngineControl` (commands over the live store to a `tui-trader engine` process).
`StrategyControl` is the per-user use case on top: ownership, LIVE confirmation, messages.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from ..db.models import Notification
from ..db.repositories import NotificationRepository, StrategyRepository
from ..domain.enums import ExecutionMode, NotificationKind, Severity, StrategyStatus
from ..domain.errors import StateError, ValidationError
from ..engine.control import EngineHealth, KillReport, StartResult
from .context import AppContext
from .views import LoginResult


class EngineControl(Protocol):
    def start_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID, *,
                       confirm_live: bool = False) -> StartResult:
        """`confirm_live`: the trader typed the LIVE confirmation (a server engine checks
        it again; an in-process one trusts StrategyControl, which asked)."""
        ...
    def stop_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID) -> None: ...
    def kill_switch(self, user_id: uuid.UUID) -> KillReport: ...
    def health(self) -> EngineHealth: ...


def acting_as(engine: EngineControl, login: LoginResult) -> EngineControl:
    """The engine as the signed-in session sees it: a server engine's control signs every
    command with the session (`for_session`); an in-process engine needs nothing."""
    bind = getattr(engine, "for_session", None)
    return bind(login) if bind is not None else engine


class StrategyControl:
    """Start/stop with the checks a trader expects before anything reaches the engine."""

    def __init__(self, ctx: AppContext, user_id: uuid.UUID, engine: EngineControl) -> None:
        self.ctx = ctx
        self.user_id = user_id
        self.engine = engine

    def start(self, strategy_id: uuid.UUID | str, *, confirm_live: bool = False) -> StartResult:
        with self.ctx.session() as s:
            row = StrategyRepository(s, self.user_id).get(strategy_id)
            if row.status == StrategyStatus.RUNNING:
                raise StateError("The strategy is already running")
            if row.execution_mode == ExecutionMode.LIVE and not confirm_live:
                raise ValidationError("mode", "LIVE strategies place real orders: confirm to "
                                              "start")
            ident, live = row.id, row.execution_mode == ExecutionMode.LIVE
        return self.engine.start_strategy(self.user_id, ident, confirm_live=live)

    def stop(self, strategy_id: uuid.UUID | str) -> None:
        with self.ctx.session() as s:
            row = StrategyRepository(s, self.user_id).get(strategy_id)
            ident = row.id
        self.engine.stop_strategy(self.user_id, ident)

    def kill_switch(self) -> KillReport:
        """Stop everything and square off; the outcome is kept as an alert (the toast
        goes, the Alerts list keeps what was done and what failed)."""
        report = self.engine.kill_switch(self.user_id)
        title = (f"Kill switch: {report.strategies_stopped} "
                 f"{'strategy' if report.strategies_stopped == 1 else 'strategies'} stopped, "
                 f"{report.exit_orders} exit {'order' if report.exit_orders == 1 else 'orders'}"
                 f" sent")
        body = ("; ".join(report.errors) if report.errors else
                "Every strategy stopped and every open position squared off at market.")
        with self.ctx.session() as s:
            NotificationRepository(s, self.user_id).add(Notification(
                kind=NotificationKind.RISK,
                severity=Severity.ERROR if report.errors else Severity.WARNING,
                title=title[:120], body=body[:1000], created_at=self.ctx.clock.now()))
        return report
