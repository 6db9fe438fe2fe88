"""Risk settings and state through the service, on SQLite and on PostgreSQL: rules checked
as a whole (bad input changes nothing), the state stored through its lifecycle with every
move a risk_events row, and the typed unlock."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tui_trader.db.models import RiskEvent, RiskRule
from tui_trader.db.repositories import (
    RiskEventRepository,
    RiskRuleRepository,
    RiskStateRepository,
)
from tui_trader.domain.clock import ist_date
from tui_trader.domain.enums import RiskEventKind, RiskRuleKind, Side
from tui_trader.domain.errors import StateError, ValidationError
from tui_trader.domain.lifecycle import IllegalTransition, RiskMove, RiskState
from tui_trader.domain.risk_rules import RiskLimits
from tui_trader.domain.risk_status import RiskStatus
from tui_trader.risk.account import AccountSnapshot
from tui_trader.risk.assessment import assess
from tui_trader.risk.moves import plan_moves
from tui_trader.services.auth import AuthService
from tui_trader.services.risk import RiskService

MON = date(2026, 11, 23)  # the ctx clock: Monday 09:00 IST


@pytest.fixture
def user(ctx):
    return AuthService(ctx).sign_up("r@example.com", "password-r").id


@pytest.fixture
def service(ctx, user):
    return RiskService(ctx, user)


def events(ctx, user) -> list[RiskEvent]:
    with ctx.session() as s:
        return list(s.exec(select(RiskEvent).where(RiskEvent.user_id == user)
                           .order_by(RiskEvent.created_at)).all())


def test_rules_are_set_kept_and_changed_one_at_a_time(service):
    assert service.limits() == RiskLimits()
    first = service.set({"trading_capital": "500000", "daily_loss_limit": "10000",
                         "max_open_positions": "5"})
    assert first == RiskLimits(trading_capital=D("500000"), daily_loss_limit=D("10000"),
                               max_open_positions=5)
    second = service.set({"daily_loss_limit": "5000", "max_orders_per_day": "400"})
    assert service.limits() == second == RiskLimits(
        trading_capital=D("500000"), daily_loss_limit=D("5000"), max_open_positions=5,
        max_orders_per_day=400)
    assert service.set({"max_open_positions": "off"}).max_open_positions is None


@pytest.mark.parametrize("raw,message", [
    ({"daily_loss_limit": "0"}, "Daily loss limit: must be greater than 0"),
    ({"max_orders_per_day": "-3"}, "Max orders per day: must be at least 1"),
    ({"max_drawdown_pct": "lots"}, "Max drawdown %: must be a number like 5000 or 2.5"),
    ({"max_position_value": "900000"}, "Max position value: 900,000 is above Trading "
                                       "capital 500,000"),
    ({"max_risk_per_trade_pct": "3", "daily_loss_limit": "12000"},
     "Risk per trade %: 3% of Trading capital is 15,000, above the daily loss limit 12,000"),
])
def test_bad_rules_are_one_message_and_change_nothing(ctx, service, user, raw, message):
    service.set({"trading_capital": "500000", "daily_loss_limit": "10000"})
    with ctx.session() as s:
        before = s.exec(select(RiskRule)).one().model_dump()
    with pytest.raises(ValidationError) as info:
        service.set({"max_open_positions": "3", **raw})
    assert str(info.value).startswith(message)
    with ctx.session() as s:
        assert s.exec(select(RiskRule)).one().model_dump() == before
    assert service.check(raw)  # the as-you-type check says the same


def test_a_first_bad_set_writes_no_row(ctx, service):
    with pytest.raises(ValidationError):
        service.set({"daily_loss_limit": "-1"})
    with ctx.session() as s:
        assert s.exec(select(RiskRule)).all() == []


def _engine_moves(ctx, user, account: AccountSnapshot, at: datetime) -> list:
    """What the engine will do on each evaluation: plan from the figures, apply each move."""
    day = ist_date(at)
    with ctx.session() as s:
        limits = RiskRuleRepository(s, user).get()
        repo = RiskStateRepository(s, user)
        current = repo.get()
        planned = plan_moves(current, assess(limits, account), day, at, ctx.calendar)
        for move in planned:
            assert repo.apply(current, move.move, move.status)
            current = move.status
    return list(planned)


def test_a_halt_is_stored_logged_and_lifts_on_the_next_trading_day(ctx, service, user):
    service.set({"daily_loss_limit": "10000"})
    at = ctx.clock.now() + timedelta(hours=3)
    [warn] = _engine_moves(ctx, user, AccountSnapshot(realized_pnl=D("-8200")), at)
    assert warn.after is RiskState.WARNING
    [halt] = _engine_moves(ctx, user, AccountSnapshot(realized_pnl=D("-10400")),
                           at + timedelta(minutes=5))
    assert halt.after is RiskState.HALTED
    today = service.today()
    assert (today.state, today.halted_until) == (RiskState.HALTED, date(2026, 11, 25))
    assert [e.kind for e in today.events] == [RiskEventKind.TRANSITION] * 2
    logged = events(ctx, user)
    assert [(e.state_from, e.state_to, e.rule, e.observed, e.limit_value) for e in logged] == [
        (RiskState.ACTIVE, RiskState.WARNING, RiskRuleKind.DAILY_LOSS_LIMIT, D("8200"),
         D("10000")),
        (RiskState.WARNING, RiskState.HALTED, RiskRuleKind.DAILY_LOSS_LIMIT, D("10400"),
         D("10000"))]
    assert logged[1].message == "WARNING -> HALTED (escalate): loss 10,400 / 10,000"
    assert logged[1].details == {"move": "escalate", "trading_day": "2026-11-23"}
    # the same figures again: a halt never recovers by itself
    assert _engine_moves(ctx, user, AccountSnapshot(), at + timedelta(minutes=10)) == []
    ctx.clock.set(datetime(2026, 11, 24, 4, 0, tzinfo=UTC))  # Tuesday: an NSE holiday
    assert service.today().state is RiskState.HALTED
    ctx.clock.set(datetime(2026, 11, 25, 3, 0, tzinfo=UTC))  # Wednesday
    assert service.today().state is RiskState.ACTIVE
    assert service.today().as_dict()["today"]["halted_until"] is None


def test_unlock_needs_the_typed_word_and_is_logged(ctx, service, user):
    service.set({"daily_loss_limit": "10000"})
    _engine_moves(ctx, user, AccountSnapshot(realized_pnl=D("-12000")), ctx.clock.now())
    for typed in ("", "unlock", "UNLOCK NOW"):
        with pytest.raises(ValidationError, match="^Unlock confirmation: type UNLOCK"):
            service.unlock(typed)
    assert service.today().state is RiskState.HALTED and len(events(ctx, user)) == 1
    lifted = service.unlock("UNLOCK")
    assert lifted.state is RiskState.ACTIVE
    assert service.today().state is RiskState.ACTIVE
    last = events(ctx, user)[-1]
    assert (last.state_from, last.state_to, last.rule) == (RiskState.HALTED,
                                                           RiskState.ACTIVE, None)
    assert last.details["move"] == "unlock"
    with pytest.raises(StateError, match="no halt to unlock"):
        service.unlock("UNLOCK")


def test_two_engines_judging_the_same_figures_record_one_move(ctx, user):
    at = ctx.clock.now()
    halted = RiskStatus(RiskState.HALTED, MON, at, RiskRuleKind.DAILY_LOSS_LIMIT, D("11000"),
                        D("10000"), "loss 11,000 / 10,000")
    with ctx.session() as s:
        assert RiskStateRepository(s, user).apply(None, RiskMove.ESCALATE, halted)
    with ctx.session() as s:
        assert not RiskStateRepository(s, user).apply(None, RiskMove.ESCALATE, halted)
    new_day = RiskStatus(RiskState.ACTIVE, date(2026, 11, 25), at)
    with ctx.session() as s:
        assert RiskStateRepository(s, user).apply(halted, RiskMove.NEW_DAY, new_day)
    with ctx.session() as s:  # the other engine, a moment late
        assert not RiskStateRepository(s, user).apply(halted, RiskMove.NEW_DAY, new_day)
    assert [e.state_to for e in events(ctx, user)] == [RiskState.HALTED, RiskState.ACTIVE]


def test_a_move_the_lifecycle_forbids_is_refused_and_nothing_written(ctx, user):
    at = ctx.clock.now()
    halted = RiskStatus(RiskState.HALTED, MON, at)
    with ctx.session() as s:
        RiskStateRepository(s, user).apply(None, RiskMove.ESCALATE, halted)
    with pytest.raises(IllegalTransition), ctx.session() as s:
        RiskStateRepository(s, user).apply(halted, RiskMove.RECOVER,
                                           RiskStatus(RiskState.ACTIVE, MON, at))
    assert len(events(ctx, user)) == 1


def test_a_denial_is_a_row_with_the_rule_the_figures_and_the_entry(ctx, service, user):
    at = ctx.clock.now()
    with ctx.session() as s:
        RiskEventRepository(s, user).record_denial(
            RiskRuleKind.MAX_RISK_PER_TRADE, D("520"), D("500"),
            "Risk per trade %: this entry risks 520 at its stop", at=at,
            entry={"symbol": "INFY", "side": Side.BUY, "quantity": 26, "price": D("1500.00"),
                   "stop": D("1480")})
    [row] = events(ctx, user)
    assert (row.kind, row.rule, row.observed, row.limit_value) == (
        RiskEventKind.DENIAL, RiskRuleKind.MAX_RISK_PER_TRADE, D("520"), D("500"))
    assert row.details == {"symbol": "INFY", "side": "BUY", "quantity": 26,
                           "price": "1500.00", "stop": "1480"}
    assert service.today().denials == 1


@pytest.mark.parametrize("column,value", [
    ("daily_loss_pct", "150"), ("max_position_value", "0"), ("max_open_positions", 0),
    ("trading_capital", "-5"), ("max_risk_per_trade_pct", "0"),
    ("max_orders_per_day", -1)])
def test_the_database_itself_refuses_a_bad_rule(ctx, user, column, value):
    uid = user.hex if ctx.db.dialect.name == "sqlite" else str(user)
    with pytest.raises(sa.exc.IntegrityError), ctx.db.begin() as conn:
        conn.execute(sa.text(
            f"INSERT INTO risk_rules (id, user_id, {column}, is_active, created_at, "
            f"updated_at) VALUES (:id, :u, :v, true, :t, :t)"),
            {"id": uuid.uuid4().hex, "u": uid, "v": value,
             "t": datetime(2026, 11, 23, tzinfo=UTC)})
