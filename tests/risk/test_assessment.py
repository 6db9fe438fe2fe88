"""The state the day's figures call for (80% warns, 90% reduces to exits only, 100% of the
loss or drawdown limit halts), the nearest limit for the status bar, and the moves that
take a stored state there -- a halt holding until the next NSE trading day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from tui_trader.domain.calendar import NseCalendar
from tui_trader.domain.enums import RiskRuleKind as R
from tui_trader.domain.lifecycle import RiskMove, RiskState
from tui_trader.domain.risk_rules import RiskLimits
from tui_trader.domain.risk_status import RiskStatus
from tui_trader.risk.account import AccountSnapshot
from tui_trader.risk.assessment import assess
from tui_trader.risk.moves import plan_moves

LIMITS = RiskLimits(trading_capital=D("1000000"), daily_loss_limit=D("10000"),
                    max_drawdown_pct=D("5"), max_orders_per_day=400)
MON = date(2026, 11, 23)  # Tuesday 24 Nov 2026 is an NSE holiday (Guru Nanak Jayanti)
AT = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
CAL = NseCalendar()


def loss(amount: str, **more) -> AccountSnapshot:
    return AccountSnapshot(realized_pnl=-D(amount), **more)


@pytest.mark.parametrize("account,state,cause,text", [
    (loss("0"), RiskState.ACTIVE, None, "loss 0 / 10,000"),
    (loss("6200"), RiskState.ACTIVE, None, "loss 6,200 / 10,000"),
    (loss("8000"), RiskState.WARNING, R.DAILY_LOSS_LIMIT, "loss 8,000 / 10,000"),
    (loss("9000"), RiskState.REDUCING, R.DAILY_LOSS_LIMIT, "loss 9,000 / 10,000"),
    (loss("10000.50"), RiskState.HALTED, R.DAILY_LOSS_LIMIT, "loss 10,000.50 / 10,000"),
    (loss("0", orders_today=320), RiskState.WARNING, R.MAX_ORDERS_PER_DAY, "orders 320 / 400"),
    # the day's orders spent: exits only, but no halt (nothing lost)
    (loss("0", orders_today=400), RiskState.REDUCING, R.MAX_ORDERS_PER_DAY,
     "orders 400 / 400"),
    # up 60,000 at the peak, now up 6,000: 54,000 of 10,60,000 = 5.09% down -> halted,
    # though the day is still in profit
    (AccountSnapshot(realized_pnl=D("6000"), peak_pnl=D("60000")), RiskState.HALTED,
     R.MAX_DRAWDOWN_PCT, "drawdown 5.09% / 5%"),
])
def test_the_state_the_figures_call_for(account, state, cause, text):
    found = assess(LIMITS, account)
    assert found.state is state
    assert (found.cause.rule if found.cause else None) is cause
    assert found.status_text() == text


def test_the_worst_state_wins_and_names_its_limit():
    # orders 85% used (WARNING), loss 92% used (REDUCING): REDUCING, for the loss
    found = assess(LIMITS, loss("9200", orders_today=340))
    assert found.state is RiskState.REDUCING and found.cause.rule is R.DAILY_LOSS_LIMIT
    assert found.nearest.rule is R.DAILY_LOSS_LIMIT


def test_no_account_limits_means_active_and_says_so():
    found = assess(RiskLimits(max_open_positions=3), loss("50000"))
    assert found.state is RiskState.ACTIVE and found.status_text() == "no risk limits"


def test_drawdown_and_percentages_need_a_capital():
    limits = RiskLimits(daily_loss_pct=D("1"), max_drawdown_pct=D("2"))
    assert assess(limits, loss("9000")).nearest is None  # nothing measurable
    found = assess(limits, loss("9000", broker_margin=D("1000000")))
    assert found.state is RiskState.REDUCING and found.status_text() == "loss 9,000 / 10,000"


# -- moves ----------------------------------------------------------------------------------

def status(state: RiskState, day: date = MON) -> RiskStatus:
    return RiskStatus(state, day, AT)


def moves(current, account, today=MON):
    return plan_moves(current, assess(LIMITS, account), today, AT, CAL)


def test_escalation_is_one_move_skipping_rungs_with_its_figures():
    [move] = moves(None, loss("10500"))
    assert (move.move, move.before, move.after) == (RiskMove.ESCALATE, RiskState.ACTIVE,
                                                    RiskState.HALTED)
    assert (move.status.rule, move.status.observed, move.status.limit) == (
        R.DAILY_LOSS_LIMIT, D("10500"), D("10000"))
    assert move.status.trading_day == MON
    assert move.describe() == "ACTIVE -> HALTED (escalate): loss 10,500 / 10,000"


def test_nothing_to_record_when_the_state_is_right():
    assert moves(status(RiskState.WARNING), loss("8500")) == ()
    assert moves(None, loss("100")) == ()


def test_warning_and_reducing_recover_the_same_day():
    [move] = moves(status(RiskState.REDUCING), loss("8200"))
    assert (move.move, move.after) == (RiskMove.RECOVER, RiskState.WARNING)
    [move] = moves(status(RiskState.WARNING), loss("100"))
    assert (move.move, move.after) == (RiskMove.RECOVER, RiskState.ACTIVE)
    assert move.status.reason == "back under every warning line"


def test_a_halt_never_lifts_by_itself_the_same_day():
    assert moves(status(RiskState.HALTED), loss("0")) == ()


def test_a_halt_holds_until_the_next_trading_day():
    halted = status(RiskState.HALTED)  # Monday
    assert moves(halted, loss("0"), today=date(2026, 11, 24)) == ()  # Tuesday: holiday
    [move] = moves(halted, loss("0"), today=date(2026, 11, 25))  # Wednesday trades
    assert (move.move, move.before, move.after) == (RiskMove.NEW_DAY, RiskState.HALTED,
                                                    RiskState.ACTIVE)
    assert move.status.trading_day == date(2026, 11, 25)


def test_a_new_day_then_the_figures_in_two_moves():
    """A new day's first look: yesterday's REDUCING ends, and today's figures already warn
    (a loss carried in an open position)."""
    first, second = moves(status(RiskState.REDUCING), loss("8100"),
                          today=date(2026, 11, 25))
    assert (first.move, first.before, first.after) == (RiskMove.NEW_DAY, RiskState.REDUCING,
                                                       RiskState.ACTIVE)
    assert (second.move, second.before, second.after) == (RiskMove.ESCALATE,
                                                          RiskState.ACTIVE, RiskState.WARNING)


def test_a_halt_entered_before_a_holiday_weekend_holds_through_it():
    thursday = status(RiskState.HALTED, date(2026, 12, 24))  # Friday 25 Dec is a holiday
    for day in (25, 26, 27):
        assert moves(thursday, loss("0"), today=date(2026, 12, day)) == ()
    [move] = moves(thursday, loss("0"), today=date(2026, 12, 28))
    assert move.move is RiskMove.NEW_DAY
