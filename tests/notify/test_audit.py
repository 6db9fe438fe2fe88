"""The audit trail: logins and failures, strategy edits, start/stop with the LIVE
confirmation, the kill switch, risk rules and unlocks, broker accounts -- each written by the
service that did it, with no secret in it."""

from __future__ import annotations

import pytest

from tui_trader.domain.audit import AuditAction, AuditOutcome
from tui_trader.domain.errors import LoginRefusedError, StateError, ValidationError
from tui_trader.services.audit import audit_trail
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.engine_control import StrategyControl
from tui_trader.services.risk import RiskService
from tui_trader.services.strategies import StrategyService

PASSWORD = "correct-horse-battery"


class RecordingEngine:
    """An engine control that accepts every command (the engine itself is tested
    elsewhere; here only what StrategyControl records matters)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def start_strategy(self, user_id, strategy_id, *, confirm_live=False):
        self.calls.append(f"start live={confirm_live}")

    def stop_strategy(self, user_id, strategy_id):
        self.calls.append("stop")

    def kill_switch(self, user_id):
        from tui_trader.engine.control import KillReport

        self.calls.append("kill")
        return KillReport(strategies_stopped=1, exit_orders=1, errors=[])


def _trail(ctx):
    return [(e.action, e.outcome, e.subject) for e in audit_trail(ctx, limit=1000)]


def test_logins_and_failures_are_audited_without_the_password(ctx):
    auth = AuthService(ctx)
    user = auth.sign_up("trader@example.com", PASSWORD)
    with pytest.raises(LoginRefusedError):
        auth.login("Trader@example.com", "wrong-password-1")
    with pytest.raises(LoginRefusedError):
        auth.login("nobody@example.com", "wrong-password-2")
    with pytest.raises(LoginRefusedError):  # a password typed into the address field
        auth.login("hunter2-secret-typed-here", "x")
    login = auth.login("trader@example.com", PASSWORD)
    auth.logout(login.token)
    auth.unlock("nobody@example.com")
    trail = set(_trail(ctx))
    assert {(AuditAction.LOGIN_FAILED, AuditOutcome.FAILED, "trader@example.com"),
            (AuditAction.LOGIN_FAILED, AuditOutcome.FAILED, "nobody@example.com"),
            (AuditAction.LOGIN_FAILED, AuditOutcome.FAILED, "(not an email address)"),
            (AuditAction.LOGIN, AuditOutcome.OK, "trader@example.com"),
            (AuditAction.LOGOUT, AuditOutcome.OK, ""),
            (AuditAction.ACCOUNT_UNLOCKED, AuditOutcome.OK, "nobody@example.com")} == trail
    mine = audit_trail(ctx, user_id=user.id)
    assert {e.action for e in mine} == {AuditAction.LOGIN, AuditAction.LOGOUT}
    text = repr(audit_trail(ctx))
    assert PASSWORD not in text and "wrong-password" not in text and login.token not in text
    assert "hunter2" not in text


def test_strategy_risk_and_broker_actions_are_audited(ctx):
    user = AuthService(ctx).sign_up("trader@example.com", PASSWORD).id
    strategies = StrategyService(ctx, user)
    kite = BrokerAccountService(ctx, user).add_kite("kitekey1234", "kite-secret-99")
    form = {"name": "Morning TCS", "symbol": "TCS", "buy_time": "09:30", "sell_time": "15:00",
            "stop_loss": "3400", "quantity": "5", "mode": "LIVE",
            "broker_account_id": str(kite.id)}
    spec = strategies.create(form)
    strategies.update(spec.id, {**form, "quantity": "6"})
    engine = RecordingEngine()
    control = StrategyControl(ctx, user, engine)
    with pytest.raises(ValidationError):
        control.start(spec.id)  # LIVE without the confirmation: refused before the engine
    control.start(spec.id, confirm_live=True)
    control.stop(spec.id)
    control.kill_switch()
    RiskService(ctx, user).set({"daily_loss_limit": "5000"})
    with pytest.raises(StateError):  # nothing is halted: there is nothing to unlock
        RiskService(ctx, user).unlock("UNLOCK")
    account = BrokerAccountService(ctx, user).add_paper("Practice")
    BrokerAccountService(ctx, user).remove(account.id)
    strategies.delete(spec.id)
    assert engine.calls == ["start live=True", "stop", "kill"]
    actions = [(a, o) for a, o, _s in _trail(ctx)]
    for expected in [(AuditAction.STRATEGY_CREATED, AuditOutcome.OK),
                     (AuditAction.STRATEGY_EDITED, AuditOutcome.OK),
                     (AuditAction.LIVE_CONFIRMED, AuditOutcome.OK),
                     (AuditAction.STRATEGY_STARTED, AuditOutcome.OK),
                     (AuditAction.STRATEGY_STOPPED, AuditOutcome.OK),
                     (AuditAction.KILL_SWITCH, AuditOutcome.OK),
                     (AuditAction.RISK_RULES_CHANGED, AuditOutcome.OK),
                     (AuditAction.BROKER_ADDED, AuditOutcome.OK),
                     (AuditAction.BROKER_REMOVED, AuditOutcome.OK),
                     (AuditAction.STRATEGY_DELETED, AuditOutcome.OK)]:
        assert actions.count(expected) == (2 if expected[0] is AuditAction.BROKER_ADDED
                                           else 1), expected
    assert (AuditAction.RISK_UNLOCKED, AuditOutcome.OK) not in actions
    assert len(actions) == 11  # the refused LIVE start reached nothing to record
    assert "kite-secret-99" not in repr(audit_trail(ctx))


def test_an_unlock_typed_wrong_is_refused_and_audited_then_a_right_one(ctx):
    from datetime import UTC, date, datetime
    from decimal import Decimal

    from tui_trader.db.repositories import RiskStateRepository
    from tui_trader.domain.enums import RiskRuleKind
    from tui_trader.domain.lifecycle import RiskMove, RiskState
    from tui_trader.domain.risk_status import RiskStatus

    user = AuthService(ctx).sign_up("trader@example.com", PASSWORD).id
    risk = RiskService(ctx, user)
    risk.set({"daily_loss_limit": "10000"})
    with ctx.session() as s:  # halted this morning (the ctx clock: Mon 23 Nov, 09:00 IST)
        RiskStateRepository(s, user).apply(None, RiskMove.ESCALATE, RiskStatus(
            RiskState.HALTED, date(2026, 11, 23), datetime(2026, 11, 23, 3, 0, tzinfo=UTC),
            RiskRuleKind.DAILY_LOSS_LIMIT, Decimal("10400"), Decimal("10000"), "loss"))
    with pytest.raises(ValidationError):
        risk.unlock("unlock please")
    risk.unlock("UNLOCK")
    unlocks = sorted(e.outcome for e in audit_trail(ctx, action=AuditAction.RISK_UNLOCKED))
    assert unlocks == [AuditOutcome.OK, AuditOutcome.REFUSED]
