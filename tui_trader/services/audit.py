"""The audit trail: one `audit_events` row per security-relevant action, written by the
service that performed it, and read back newest first.

A row is written in its own transaction after the action (or its refusal), so a failed login
is recorded although nothing else of it is kept. Writing never raises: an audit row that
cannot be stored is logged as an error (which reaches system_logs when the database is back)
and the action stands. Subjects and details are names and ids, never secrets; text is cut
to the column's size.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..db.models import AuditEvent
from ..domain.audit import AuditAction, AuditOutcome
from ..domain.clock import utc_now
from .context import AppContext

log = logging.getLogger(__name__)
AUDIT = AuditEvent.__table__


def record_audit(ctx: AppContext, action: AuditAction, *, user_id: uuid.UUID | None = None,
                 outcome: AuditOutcome = AuditOutcome.OK, subject: str = "",
                 details: dict[str, Any] | None = None) -> None:
    try:
        now = ctx.clock.now()
    except Exception:
        now = utc_now()
    try:
        with ctx.db.begin() as conn:  # '*': an unknown address's row has no user
            conn.execute(AUDIT.insert().values(
                id=uuid.uuid4(), user_id=user_id, action=action, outcome=outcome,
                subject=(subject or "")[:200], details=details or {}, created_at=now))
    except Exception:
        log.error("audit event %s (%s) not stored", action.value, outcome.value,
                  exc_info=True)


@dataclass(frozen=True)
class AuditView:
    created_at: datetime
    user_id: uuid.UUID | None
    action: AuditAction
    outcome: AuditOutcome
    subject: str
    details: dict[str, Any]


def audit_trail(ctx: AppContext, *, user_id: uuid.UUID | None = None,
                action: AuditAction | None = None, limit: int = 200) -> list[AuditView]:
    """The newest events first; one user's (`user_id`) or everyone's."""
    query = sa.select(AUDIT).order_by(AUDIT.c.created_at.desc()).limit(limit)
    if user_id is not None:
        query = query.where(AUDIT.c.user_id == user_id)
    if action is not None:
        query = query.where(AUDIT.c.action == action)
    with ctx.db.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [AuditView(created_at=r["created_at"], user_id=r["user_id"],
                      action=AuditAction(r["action"]), outcome=AuditOutcome(r["outcome"]),
                      subject=r["subject"], details=dict(r["details"] or {})) for r in rows]
