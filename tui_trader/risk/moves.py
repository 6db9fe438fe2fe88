"""How a user's stored risk state follows the day's figures: the moves to record.

Given the stored status, a fresh assessment and today's IST date, `plan_moves` says which
named moves (if any) take the user to the state they should be in:

- a new day first: WARNING and REDUCING end with their day, HALTED with the next trading
  day (a NEW_DAY move to ACTIVE); a halt still in force stays, whatever the figures;
- then up the ladder when the figures call for more (ESCALATE: WARNING, REDUCING, HALTED),
  or down it the same day when they call for less (RECOVER), but never out of HALTED: only
  a new trading day or the trader's unlock lifts a halt.

Every planned move is checked against the RISK_STATE lifecycle table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..domain.lifecycle import RiskMove, RiskState, check_risk_move
from ..domain.risk_status import RiskStatus, TradingDays, state_on
from .assessment import Assessment, LimitUse, rank


@dataclass(frozen=True, slots=True)
class PlannedMove:
    """One move to record: from `before` to `status.state`, why, and the limit behind it."""

    move: RiskMove
    before: RiskState
    status: RiskStatus
    cause: LimitUse | None = None

    @property
    def after(self) -> RiskState:
        return self.status.state

    def describe(self) -> str:
        """'ACTIVE -> HALTED (escalate): loss 10,200 / 10,000'."""
        text = f"{self.before} -> {self.after} ({self.move})"
        return f"{text}: {self.cause.describe()}" if self.cause is not None else text


def plan_moves(current: RiskStatus | None, assessment: Assessment, today: date,
               at: datetime, calendar: TradingDays) -> tuple[PlannedMove, ...]:
    """The moves (none, one or two) that bring `current` to what today and the figures call
    for; apply them in order."""
    moves: list[PlannedMove] = []
    if current is None:
        current = RiskStatus.fresh(today, at)
    effective = state_on(current, today, calendar)
    if today > current.trading_day and current.state is not RiskState.ACTIVE \
            and effective is RiskState.ACTIVE:
        before = current.state
        check_risk_move(before, RiskState.ACTIVE, RiskMove.NEW_DAY)
        current = RiskStatus(RiskState.ACTIVE, today, at, reason="a new trading day")
        moves.append(PlannedMove(RiskMove.NEW_DAY, before, current))
    if effective is RiskState.HALTED:
        return tuple(moves)
    target = assessment.state
    if rank(target) == rank(current.state):
        return tuple(moves)
    move = RiskMove.ESCALATE if rank(target) > rank(current.state) else RiskMove.RECOVER
    check_risk_move(current.state, target, move)
    cause = assessment.cause
    status = RiskStatus(target, today, at,
                        rule=cause.rule if cause is not None else None,
                        observed=cause.used if cause is not None else None,
                        limit=cause.limit if cause is not None else None,
                        reason=cause.describe() if cause is not None else
                        "back under every warning line")
    moves.append(PlannedMove(move, current.state, status, cause))
    return tuple(moves)
