"""Risk settings for one user: read and change their rules (checked as a whole; bad input
changes nothing), see today's risk state and events, and unlock a halt with the typed
confirmation. The console's risk screen and `tui-trader risk` share it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from ..db.repositories import RiskEventRepository, RiskRuleRepository, RiskStateRepository
from ..domain.audit import AuditAction, AuditOutcome
from ..domain.clock import ist_date, ist_datetime
from ..domain.enums import RiskEventKind
from ..domain.errors import StateError, ValidationError
from ..domain.lifecycle import RiskMove, RiskState
from ..domain.risk_rules import RiskLimits, check_risk_form, require_valid_rules
from ..domain.risk_status import RiskStatus, halt_lifts_on, state_on, unlock
from .audit import record_audit
from .context import AppContext


def _plain(value: Any) -> Any:
    """A figure for JSON: exact text for a Decimal ('10400', '0.5': the same whichever
    database stored it), the rest as it is."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else value


@dataclass(frozen=True)
class RiskEventView:
    at: datetime
    kind: RiskEventKind
    rule: str | None
    message: str
    observed: Decimal | None
    limit: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "kind": self.kind.value, "rule": self.rule,
                "message": self.message, "observed": _plain(self.observed),
                "limit": _plain(self.limit)}


@dataclass(frozen=True)
class RiskToday:
    """A user's rules and where they stand today (IST)."""

    limits: RiskLimits
    day: date
    state: RiskState
    status: RiskStatus | None  # as stored (its day may be an earlier one)
    halted_until: date | None  # the IST day a halt in force lifts
    denials: int
    events: tuple[RiskEventView, ...]  # today's, newest first

    def as_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: figures as exact text, counts as numbers."""
        current = self.status if self.status is not None and \
            self.state is self.status.state else None
        return {
            "limits": {name: _plain(value) for name, value in self.limits.as_dict().items()},
            "today": {
                "date": self.day.isoformat(),
                "state": self.state.value,
                "since": current.since.isoformat() if current else None,
                "rule": current.rule.value if current and current.rule else None,
                "observed": _plain(current.observed) if current else None,
                "limit": _plain(current.limit) if current else None,
                "reason": current.reason if current else "",
                "halted_until": self.halted_until.isoformat() if self.halted_until else None,
                "denials": self.denials,
                "events": [event.as_dict() for event in self.events],
            },
        }


class RiskService:
    def __init__(self, ctx: AppContext, user_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.user_id = user_id

    def _today(self) -> tuple[date, datetime]:
        now = self.ctx.clock.now()
        return ist_date(now), now

    # -- rules ----------------------------------------------------------------------------
    def limits(self) -> RiskLimits:
        with self.ctx.session() as s:
            return RiskRuleRepository(s, self.user_id).get()

    def check(self, raw: Mapping[str, Any]) -> dict[str, str]:
        """Every field error the change would meet, against the rules stored now."""
        return check_risk_form(raw, self.limits())[1]

    def set(self, raw: Mapping[str, Any]) -> RiskLimits:
        """Change the rules named in `raw` (None, '' or 'off' removes one) and keep the
        rest; the whole set is checked first, and nothing is written if any field is bad."""
        with self.ctx.session() as s:
            repo = RiskRuleRepository(s, self.user_id)
            limits = require_valid_rules(raw, repo.get())
            repo.save(limits)
        record_audit(self.ctx, AuditAction.RISK_RULES_CHANGED, user_id=self.user_id,
                     subject=", ".join(sorted(raw))[:200])
        return limits

    # -- state ----------------------------------------------------------------------------
    def today(self, events: int = 50) -> RiskToday:
        day, _ = self._today()
        start = ist_datetime(day, time(0, 0))
        with self.ctx.session() as s:
            limits = RiskRuleRepository(s, self.user_id).get()
            status = RiskStateRepository(s, self.user_id).get()
            repo = RiskEventRepository(s, self.user_id)
            denials = repo.count_since(start, RiskEventKind.DENIAL)
            views = tuple(RiskEventView(e.created_at, e.kind, e.rule.value if e.rule else None,
                                        e.message, e.observed, e.limit_value)
                          for e in repo.since(start, events))
        state = state_on(status, day, self.ctx.calendar)
        halted_until = halt_lifts_on(status.trading_day, self.ctx.calendar) \
            if state is RiskState.HALTED and status is not None else None
        return RiskToday(limits, day, state, status, halted_until, denials, views)

    def unlock(self, typed: str | None) -> RiskStatus:
        """Lift today's halt: `typed` must be the confirmation word exactly. The engine
        judges the figures again at once: if they still break the daily loss limit or the
        max drawdown, the user is halted again (raise the limit first)."""
        day, now = self._today()
        try:
            with self.ctx.session() as s:
                repo = RiskStateRepository(s, self.user_id)
                current = repo.get()
                lifted = unlock(current, typed, day, now, self.ctx.calendar)
                if not repo.apply(current, RiskMove.UNLOCK, lifted):
                    raise StateError("the risk state changed while unlocking; look again; "
                                     "nothing was changed")
        except ValidationError:  # typed wrong: audited, nothing changed
            record_audit(self.ctx, AuditAction.RISK_UNLOCKED, user_id=self.user_id,
                         outcome=AuditOutcome.REFUSED, subject="halt")
            raise
        record_audit(self.ctx, AuditAction.RISK_UNLOCKED, user_id=self.user_id,
                     subject="halt")
        return lifted

