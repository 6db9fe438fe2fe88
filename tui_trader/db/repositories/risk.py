"""A user's risk rules, risk state and risk events: read and written only for the acting
user.

- `RiskRuleRepository`: the one `risk_rules` row as `RiskLimits` (no row: no limits).
- `RiskStateRepository`: the stored `RiskStatus` and `apply`, the one way a state moves --
  checked against the RISK_STATE lifecycle table, written only if no one moved it first
  (two engines judging the same figures record one move), and logged as a TRANSITION row.
- `RiskEventRepository`: denials by the pre-trade gate, and the day's events.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from ...domain.enums import RiskEventKind, RiskRuleKind
from ...domain.lifecycle import RiskMove, RiskState, check_risk_move
from ...domain.risk_rules import RULE_FIELDS, RiskLimits
from ...domain.risk_status import RiskStatus
from ..models import RiskEvent, RiskRule, RiskStateRow
from .scoped import ScopedRepository

MESSAGE_MAX = 300


def _fit(text: str) -> str:
    return text if len(text) <= MESSAGE_MAX else text[:MESSAGE_MAX - 1] + "…"


def _json_ready(values: Mapping[str, Any]) -> dict[str, Any]:
    """Figures as exact text (JSON has no decimal), enums and ids as their values."""
    ready: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Decimal | uuid.UUID):
            ready[key] = str(value)
        elif hasattr(value, "value"):  # an enum
            ready[key] = value.value
        else:
            ready[key] = value
    return ready


class RiskRuleRepository(ScopedRepository):
    kind = "risk rules"

    def row(self) -> RiskRule | None:
        return self.session.exec(self._select(RiskRule)).first()

    def get(self) -> RiskLimits:
        row = self.row()
        if row is None or not row.is_active:
            return RiskLimits()
        return RiskLimits(**{name: getattr(row, name) for name in RULE_FIELDS})

    def save(self, limits: RiskLimits) -> RiskRule:
        row = self.row()
        if row is None:
            row = RiskRule(user_id=self.user_id)
            self.session.add(row)
        for name, value in limits.as_dict().items():
            setattr(row, name, value)
        row.is_active = True
        self.session.flush()
        return row


def _status(row: RiskStateRow) -> RiskStatus:
    return RiskStatus(row.state, row.trading_day, row.since, row.rule, row.observed,
                      row.limit_value, row.reason)


class RiskStateRepository(ScopedRepository):
    kind = "risk state"

    def get(self) -> RiskStatus | None:
        row = self.session.exec(self._select(RiskStateRow)).first()
        return _status(row) if row is not None else None

    def apply(self, previous: RiskStatus | None, move: RiskMove, new: RiskStatus, *,
              strategy_id: uuid.UUID | None = None) -> bool:
        """Move the user from `previous` (None: never moved) to `new`, and record it.
        False, with nothing written, when the stored state is no longer `previous` (another
        engine moved it first). A move the lifecycle does not allow raises."""
        before = previous.state if previous is not None else RiskState.ACTIVE
        check_risk_move(before, new.state, move)
        values = {"state": new.state, "trading_day": new.trading_day, "since": new.since,
                  "rule": new.rule, "observed": new.observed, "limit_value": new.limit,
                  "reason": _fit(new.reason)}
        if previous is None:
            try:
                with self.session.begin_nested():
                    self.session.add(RiskStateRow(user_id=self.user_id, **values))
            except IntegrityError:  # another engine wrote the user's first state
                return False
        else:
            moved = self.session.execute(
                sa.update(RiskStateRow)
                .where(col(RiskStateRow.user_id) == self.user_id,
                       col(RiskStateRow.state) == previous.state,
                       col(RiskStateRow.trading_day) == previous.trading_day)
                .values(**values)
                .execution_options(synchronize_session=False)).rowcount
            if moved != 1:
                return False
        said = f"{before} -> {new.state} ({move})"
        self.session.add(RiskEvent(
            user_id=self.user_id, strategy_id=strategy_id, kind=RiskEventKind.TRANSITION,
            rule=new.rule, state_from=before, state_to=new.state,
            message=_fit(f"{said}: {new.reason}" if new.reason else said),
            observed=new.observed, limit_value=new.limit, created_at=new.since,
            details={"move": move.value, "trading_day": new.trading_day.isoformat()}))
        self.session.flush()
        return True


class RiskEventRepository(ScopedRepository):
    kind = "risk event"

    def record_denial(self, rule: RiskRuleKind, observed: Decimal | None,
                      limit: Decimal | None, message: str, *, at: datetime,
                      strategy_id: uuid.UUID | None = None,
                      entry: Mapping[str, Any] | None = None) -> RiskEvent:
        """An entry the gate refused: the rule, the figures, and the entry itself."""
        row = RiskEvent(user_id=self.user_id, strategy_id=strategy_id,
                        kind=RiskEventKind.DENIAL, rule=rule, message=_fit(message),
                        observed=observed, limit_value=limit, created_at=at,
                        details=_json_ready(entry or {}))
        self.session.add(row)
        self.session.flush()
        return row

    def since(self, moment: datetime, limit: int = 200) -> list[RiskEvent]:
        """The user's events from `moment` on, newest first."""
        return list(self.session.exec(
            self._select(RiskEvent).where(col(RiskEvent.created_at) >= moment)
            .order_by(col(RiskEvent.created_at).desc()).limit(limit)).all())

    def count_since(self, moment: datetime, kind: RiskEventKind) -> int:
        return self.session.exec(
            select(func.count()).select_from(RiskEvent).where(
                col(RiskEvent.user_id) == self.user_id, col(RiskEvent.kind) == kind,
                col(RiskEvent.created_at) >= moment)).one()
