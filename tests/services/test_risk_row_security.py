"""Row-level security binds the risk tables too (PostgreSQL, as an ordinary role): acting for
one user, a query that forgets `user_id` sees only that user's risk rules, state and
events, and cannot write another user's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tui_trader.db.models import RiskEvent, RiskRule, RiskStateRow
from tui_trader.db.repositories import RiskStateRepository
from tui_trader.domain.lifecycle import RiskMove, RiskState
from tui_trader.domain.risk_status import RiskStatus
from tui_trader.services.auth import AuthService
from tui_trader.services.risk import RiskService

from .test_row_security import app_ctx, app_role_url  # noqa: F401 - fixtures


@pytest.fixture
def two_halted_users(app_ctx):  # noqa: F811
    ids = []
    for who in ("a", "b"):
        user = AuthService(app_ctx).sign_up(f"{who}@example.com", f"password-{who}")
        RiskService(app_ctx, user.id).set({"daily_loss_limit": "5000"})
        with app_ctx.session() as s:
            RiskStateRepository(s, user.id).apply(None, RiskMove.ESCALATE, RiskStatus(
                RiskState.HALTED, date(2026, 11, 23), app_ctx.clock.now()))
        ids.append(user.id)
    return ids


def test_risk_rows_are_the_acting_users_only(app_ctx, two_halted_users):  # noqa: F811
    a, b = two_halted_users
    with app_ctx.session() as s:
        RiskStateRepository(s, a)  # acting for A
        for model in (RiskRule, RiskStateRow, RiskEvent):
            assert {row.user_id for row in s.exec(select(model)).all()} == {a}
        changed = s.connection().execute(sa.text(
            "UPDATE risk_rules SET daily_loss_limit = 1")).rowcount
        assert changed == 1
    assert RiskService(app_ctx, b).limits().daily_loss_limit == D("5000")
    with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), \
            app_ctx.session() as s:
        RiskStateRepository(s, a)
        s.add(RiskRule(user_id=b, daily_loss_limit=D("1")))
        s.flush()
    # unlocking A's halt leaves B halted
    RiskService(app_ctx, a).unlock("UNLOCK")
    assert RiskService(app_ctx, b).today().state is RiskState.HALTED
