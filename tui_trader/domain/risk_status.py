"""A user's stored risk state (`RiskStatus`), what it means on a given day, and the manual
unlock of a halt.

A state belongs to the IST trading day it was entered on. WARNING and REDUCING end with
that day; HALTED lasts until the next trading day on the NSE calendar (a halt on a Friday
holds through the weekend and a Monday holiday). The only other way out of HALTED the same
day is an unlock the trader confirms by typing `UNLOCK_CONFIRMATION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from .enums import RiskRuleKind
from .errors import StateError, ValidationError
from .lifecycle import RiskMove, RiskState, check_risk_move

UNLOCK_CONFIRMATION = "UNLOCK"


class TradingDays(Protocol):
    """What the risk state needs of the market calendar (NseCalendar has it)."""

    def next_trading_day(self, after: date) -> date: ...


@dataclass(frozen=True, slots=True)
class RiskStatus:
    """A user's risk state as stored: since when, on which trading day, and the limit and
    figures that put it there (None for ACTIVE, a new day or an unlock)."""

    state: RiskState
    trading_day: date
    since: datetime
    rule: RiskRuleKind | None = None
    observed: Decimal | None = None
    limit: Decimal | None = None
    reason: str = ""

    @classmethod
    def fresh(cls, day: date, at: datetime) -> RiskStatus:
        return cls(RiskState.ACTIVE, day, at)


def halt_lifts_on(halted_on: date, calendar: TradingDays) -> date:
    """The IST day a halt entered on `halted_on` no longer holds: the next trading day."""
    return calendar.next_trading_day(halted_on)


def state_on(status: RiskStatus | None, today: date, calendar: TradingDays) -> RiskState:
    """The state a stored status means on `today`: its own on its day (and a halt until the
    next trading day), ACTIVE once its day is over."""
    if status is None or status.state is RiskState.ACTIVE:
        return RiskState.ACTIVE
    if today <= status.trading_day:
        return status.state
    if status.state is RiskState.HALTED and today < halt_lifts_on(status.trading_day,
                                                                  calendar):
        return RiskState.HALTED
    return RiskState.ACTIVE


def unlock(status: RiskStatus | None, typed: str | None, today: date, at: datetime,
           calendar: TradingDays) -> RiskStatus:
    """The status after the trader's unlock: ACTIVE from `at`, if the user is HALTED today
    and `typed` is exactly the confirmation. Otherwise an error, and nothing changes."""
    current = state_on(status, today, calendar)
    if current is not RiskState.HALTED:
        raise StateError(f"risk state is {current}, not HALTED: there is no halt to unlock")
    if (typed or "").strip() != UNLOCK_CONFIRMATION:
        raise ValidationError("unlock_confirmation",
                              f"type {UNLOCK_CONFIRMATION} to lift the halt; nothing was "
                              f"changed")
    check_risk_move(current, RiskState.ACTIVE, RiskMove.UNLOCK)
    return RiskStatus(RiskState.ACTIVE, today, at,
                      reason="unlocked by the trader with the typed confirmation")
