"""What the console may ask of the engine, whether it runs in-process or on a server, and
how the console gets one.

`EngineControl` is implemented by the embedded engine (direct calls) and by
`RemoteEngineControl` (commands over the live store to a `tui-trader engine` process);
`start_embedded_engine` and `attach_remote_engine` give the console one or the other, or an
`UnavailableEngine` that says why there is none. `StrategyControl` is the per-user use case
on top: ownership, LIVE confirmation, messages.
"""

from __future__ import annotations

import logging
import uuid
from typing import Literal, Protocol

from ..db.models import Notification
from ..db.repositories import NotificationRepository, StrategyRepository
from ..domain.audit import AuditAction, AuditOutcome
from ..domain.enums import ExecutionMode, NotificationKind, Severity, StrategyStatus
from ..domain.errors import StateError, ValidationError
from ..domain.lifecycle import EngineState
from ..engine.control import UNREACHABLE, EngineHealth, KillReport, StartResult
from .audit import record_audit
from .context import AppContext
from .views import LoginResult

log = logging.getLogger(__name__)


class EngineControl(Protocol):
    def start_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID, *,
                       confirm_live: bool = False) -> StartResult:
        """`confirm_live`: the trader typed the LIVE confirmation (a server engine checks
        it again; an in-process one trusts StrategyControl, which asked)."""
        ...
    def stop_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID) -> None: ...
    def kill_switch(self, user_id: uuid.UUID) -> KillReport: ...
    def health(self) -> EngineHealth: ...


class OwnedEngine(EngineControl, Protocol):
    """An engine this process runs: whoever started it stops it."""

    def stop(self) -> None: ...


class UnavailableEngine:
    """Stands in when no engine can be reached: every command says so in one line."""

    def __init__(self, detail: str,
                 state: EngineState | Literal["unreachable"] = EngineState.STOPPED) -> None:
        self.detail = detail
        self.state = state

    def _refuse(self):
        raise StateError(f"The engine is unavailable: {self.detail}")

    def start_strategy(self, user_id, strategy_id, *, confirm_live=False):
        self._refuse()

    def stop_strategy(self, user_id, strategy_id):
        self._refuse()

    def kill_switch(self, user_id):
        self._refuse()

    def health(self) -> EngineHealth:
        return EngineHealth(state=self.state, entries_allowed=False, detail=self.detail)

    def stop(self) -> None:
        """Nothing runs: nothing to stop."""


def start_embedded_engine(ctx: AppContext) -> OwnedEngine:
    """The engine as a thread of this process, started, with the same default as
    `tui-trader engine`: paper fills against a simulated feed, and a real broker built from
    the user's account for a LIVE strategy. An engine that cannot start is stopped again and
    is an UnavailableEngine saying why: the console still works, it just cannot trade."""
    try:
        from ..brokers.feeds.simulated import SimulatedFeed
        from ..engine.embedded import EmbeddedEngine
    except ImportError:
        return UnavailableEngine("the embedded engine is not installed")
    engine = EmbeddedEngine(ctx, feed=SimulatedFeed(seed=1, clock=ctx.clock),
                            live_factory=_live_factory(ctx))
    try:
        engine.start()
    except Exception as exc:
        log.exception("the embedded engine failed to start")
        try:
            engine.stop()
        except Exception:
            log.debug("stopping a half-started engine failed", exc_info=True)
        return UnavailableEngine(f"failed to start ({type(exc).__name__}: {exc})"[:160])
    return engine


def attach_remote_engine(ctx: AppContext) -> EngineControl:
    """Control of a `tui-trader engine` server over the live store, if this build has it."""
    try:
        from .remote_engine import RemoteEngineControl
    except ImportError:
        return UnavailableEngine("attach mode: no remote engine control available",
                                 state=UNREACHABLE)
    return RemoteEngineControl(ctx.store)


def _live_factory(ctx: AppContext):
    """What the engine uses to build a real broker for a LIVE strategy's account."""
    try:
        from .live_brokers import make_live_factory
    except ImportError:
        return None
    return make_live_factory(ctx)


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
            ident, live, name = row.id, row.execution_mode == ExecutionMode.LIVE, row.name
        details = {"strategy_id": str(ident), "mode": "LIVE" if live else "PAPER"}
        if live:  # the trader confirmed real orders: kept whether the start succeeds or not
            record_audit(self.ctx, AuditAction.LIVE_CONFIRMED, user_id=self.user_id,
                         subject=name, details=details)
        try:
            result = self.engine.start_strategy(self.user_id, ident, confirm_live=live)
        except Exception as exc:
            record_audit(self.ctx, AuditAction.STRATEGY_STARTED, user_id=self.user_id,
                         outcome=AuditOutcome.FAILED, subject=name,
                         details={**details, "error": type(exc).__name__})
            raise
        record_audit(self.ctx, AuditAction.STRATEGY_STARTED, user_id=self.user_id,
                     subject=name, details=details)
        return result

    def stop(self, strategy_id: uuid.UUID | str) -> None:
        with self.ctx.session() as s:
            row = StrategyRepository(s, self.user_id).get(strategy_id)
            ident, name = row.id, row.name
        self.engine.stop_strategy(self.user_id, ident)
        record_audit(self.ctx, AuditAction.STRATEGY_STOPPED, user_id=self.user_id,
                     subject=name, details={"strategy_id": str(ident)})

    def kill_switch(self) -> KillReport:
        """Stop everything and square off; the outcome is kept as an alert (the toast
        goes, the Alerts list keeps what was done and what failed)."""
        try:
            report = self.engine.kill_switch(self.user_id)
        except Exception as exc:
            record_audit(self.ctx, AuditAction.KILL_SWITCH, user_id=self.user_id,
                         outcome=AuditOutcome.FAILED, details={"error": type(exc).__name__})
            raise
        record_audit(self.ctx, AuditAction.KILL_SWITCH, user_id=self.user_id,
                     outcome=AuditOutcome.FAILED if report.errors else AuditOutcome.OK,
                     details={"strategies_stopped": report.strategies_stopped,
                              "exit_orders": report.exit_orders,
                              "errors": len(report.errors)})
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
