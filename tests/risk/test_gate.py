"""The pre-trade gate: each rule refuses an entry with its figures (observed against the
limit) and lets one through at its edge; exits cannot be put to it at all."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from tui_trader.domain.enums import RiskRuleKind as R
from tui_trader.domain.enums import Side
from tui_trader.domain.lifecycle import RiskState
from tui_trader.domain.risk_rules import RiskLimits
from tui_trader.risk.account import AccountSnapshot, OpenPosition
from tui_trader.risk.gate import ALLOWED, Entry, PreTradeGate

INFY = Entry("s1", "INFY", Side.BUY, 10, D("1500"), D("1480"))  # risks 200
CAPITAL = D("1000000")


def gate(**rules) -> PreTradeGate:
    return PreTradeGate(RiskLimits(**rules))


def denial(decision):
    assert not decision.allowed, "expected a denial"
    return decision.denial


def test_no_rules_allow_everything():
    assert gate().check_entry(INFY, AccountSnapshot()) is ALLOWED


def test_daily_loss_limit_reached():
    g = gate(daily_loss_limit=D("10000"))
    d = denial(g.check_entry(INFY, AccountSnapshot(realized_pnl=D("-7000"),
                                                   unrealized_pnl=D("-3000"))))
    assert (d.rule, d.observed, d.limit) == (R.DAILY_LOSS_LIMIT, D("10000"), D("10000"))
    assert d.message == "Daily loss limit: the day's loss 10,000 has reached 10,000"


def test_an_entry_whose_stop_would_pass_the_daily_loss_limit_is_denied():
    g = gate(daily_loss_limit=D("10000"))
    account = AccountSnapshot(realized_pnl=D("-9800"))
    assert g.check_entry(INFY, account).allowed  # 9,800 + 200 = the limit itself
    d = denial(g.check_entry(replace(INFY, quantity=11), account))
    assert (d.rule, d.observed, d.limit) == (R.DAILY_LOSS_LIMIT, D("10020"), D("10000"))
    assert d.message == ("Daily loss limit: this entry risks 220 at its stop; 200 is left of "
                         "the day's 10,000")


def test_daily_loss_as_a_percentage_of_capital_and_the_smaller_form_binds():
    account = AccountSnapshot(realized_pnl=D("-5000"))
    by_pct = gate(trading_capital=CAPITAL, daily_loss_pct=D("0.5"), daily_loss_limit=D("9000"))
    d = denial(by_pct.check_entry(INFY, account))
    assert (d.rule, d.observed, d.limit) == (R.DAILY_LOSS_LIMIT, D("5000"), D("5000"))
    # no capital set: the broker's margin is the capital
    by_margin = gate(daily_loss_pct=D("1"))
    assert by_margin.check_entry(INFY, replace(account, broker_margin=CAPITAL)).allowed
    d = denial(by_margin.check_entry(INFY, replace(account, broker_margin=D("500000"))))
    assert d.limit == D("5000")


def test_a_percentage_rule_with_no_capital_known_fails_closed():
    d = denial(gate(max_risk_per_trade_pct=D("1")).check_entry(INFY, AccountSnapshot()))
    assert d.rule is R.TRADING_CAPITAL and d.observed is None and d.limit is None
    assert d.message.startswith("Trading capital: not set, and the broker's available margin")


def test_max_drawdown_from_the_days_peak_equity():
    g = gate(trading_capital=CAPITAL, max_drawdown_pct=D("2"))
    # peak P&L +30,000: equity peaked at 10,30,000; now +9,400 -> 20,600 down = 2%
    account = AccountSnapshot(realized_pnl=D("9400"), peak_pnl=D("30000"))
    d = denial(g.check_entry(INFY, account))
    assert (d.rule, d.observed, d.limit) == (R.MAX_DRAWDOWN_PCT, D("2"), D("2"))
    assert d.message == "Max drawdown %: equity is 2% below the day's peak; the limit is 2%"
    assert g.check_entry(INFY, replace(account, realized_pnl=D("9500"))).allowed


def test_strategy_daily_loss_cap():
    g = gate(strategy_daily_loss_limit=D("3000"))
    lost = AccountSnapshot(strategy_pnl={"s1": D("-3000"), "s2": D("500")})
    d = denial(g.check_entry(INFY, lost))
    assert (d.rule, d.observed, d.limit) == (R.STRATEGY_DAILY_LOSS, D("3000"), D("3000"))
    assert d.message == "Strategy daily loss: the strategy's loss 3,000 has reached 3,000"
    assert g.check_entry(replace(INFY, strategy_id="s2"), lost).allowed  # another strategy
    near = AccountSnapshot(strategy_pnl={"s1": D("-2900")})
    d = denial(g.check_entry(INFY, near))
    assert (d.observed, d.limit) == (D("3100"), D("3000"))
    assert d.message == ("Strategy daily loss: this entry risks 200 at its stop; 100 is left "
                         "of the strategy's 3,000")


def test_max_orders_per_day():
    g = gate(max_orders_per_day=400)
    assert g.check_entry(INFY, AccountSnapshot(orders_today=399)).allowed
    d = denial(g.check_entry(INFY, AccountSnapshot(orders_today=400)))
    assert (d.rule, d.observed, d.limit) == (R.MAX_ORDERS_PER_DAY, D("401"), D("400"))
    assert d.message == "Max orders per day: 400 orders sent today; the limit is 400"


def test_max_open_positions_counts_only_new_positions():
    g = gate(max_open_positions=2)
    account = AccountSnapshot(positions=(OpenPosition("s1", "INFY", D("15000")),
                                         OpenPosition("s2", "TCS", D("34000"))))
    d = denial(g.check_entry(replace(INFY, symbol="HDFCBANK"), account))
    assert (d.rule, d.observed, d.limit) == (R.MAX_OPEN_POSITIONS, D("3"), D("2"))
    assert d.message == "Max open positions: 2 open; a new position would make 3, above 2"
    assert g.check_entry(INFY, account).allowed  # adds to s1's open INFY


def test_max_position_value_adds_what_is_held_in_the_symbol():
    g = gate(max_position_value=D("50000"))
    account = AccountSnapshot(positions=(OpenPosition("s2", "INFY", D("-36000")),))
    d = denial(g.check_entry(INFY, account))  # 36,000 held (short) + 15,000
    assert (d.rule, d.observed, d.limit) == (R.MAX_POSITION_VALUE, D("51000"), D("50000"))
    assert d.message == "Max position value: INFY would be worth 51,000, above 50,000"
    assert g.check_entry(replace(INFY, quantity=9), account).allowed


def test_max_risk_per_trade():
    g = gate(trading_capital=D("100000"), max_risk_per_trade_pct=D("0.5"))  # 500
    assert g.check_entry(replace(INFY, quantity=25), AccountSnapshot()).allowed  # 500
    d = denial(g.check_entry(replace(INFY, quantity=26), AccountSnapshot()))
    assert (d.rule, d.observed, d.limit) == (R.MAX_RISK_PER_TRADE, D("520"), D("500"))
    assert d.message == ("Risk per trade %: this entry risks 520 at its stop (26 x 20.00); "
                         "the limit is 500 (0.5% of 100,000)")


def test_a_short_entry_risks_the_distance_up_to_its_stop():
    g = gate(trading_capital=D("100000"), max_risk_per_trade_pct=D("0.5"))
    short = Entry("s1", "INFY", Side.SELL, 25, D("1500"), D("1520"))
    assert g.check_entry(short, AccountSnapshot()).allowed
    d = denial(g.check_entry(replace(short, quantity=26), AccountSnapshot()))
    assert d.observed == D("520")


@pytest.mark.parametrize("entry,message", [
    (replace(INFY, stop=D("1500")),
     "Stop-loss: 1,500.00 must be below the entry price 1,500.00 for a BUY"),
    (Entry("s1", "INFY", Side.SELL, 10, D("1500"), D("1490")),
     "Stop-loss: 1,490.00 must be above the entry price 1,500.00 for a SELL"),
    (replace(INFY, stop=D("0")), "Stop-loss: 0.00 must be greater than 0"),
    (replace(INFY, quantity=75, lot_size=50),
     "Quantity: 75 is not a whole number of lots of 50"),
    (replace(INFY, quantity=0), "Quantity: 0 is not a whole number of lots of 1"),
])
def test_an_entry_that_cannot_be_judged_is_denied(entry, message):
    d = denial(gate().check_entry(entry, AccountSnapshot()))
    assert d.rule is R.INVALID_ENTRY and d.message == message


@pytest.mark.parametrize("state", [RiskState.REDUCING, RiskState.HALTED])
def test_reducing_and_halted_take_no_entries(state):
    d = denial(gate().check_entry(INFY, AccountSnapshot(state=state)))
    assert d.rule is R.RISK_STATE
    assert d.message == f"Risk state: {state}; new entries are refused (exits only)"


def test_warning_still_takes_entries():
    assert gate().check_entry(INFY, AccountSnapshot(state=RiskState.WARNING)).allowed


def test_the_gate_judges_entries_only():
    """Exits are never denied: the gate has no door for them."""
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Exit:
        strategy_id: str = "s1"
        symbol: str = "INFY"
        side: Side = Side.SELL
        quantity: int = 10
        price: D = D("1400")
        stop: D = D("0")
        lot_size: int = 1

    g = gate(daily_loss_limit=D("1"))
    with pytest.raises(TypeError, match="entries only; exits are never gated"):
        g.check_entry(Exit(), AccountSnapshot(state=RiskState.HALTED))  # type: ignore[arg-type]
    public = {name for name in dir(PreTradeGate) if not name.startswith("_")}
    assert public == {"check_entry", "limits"}


def test_rules_are_checked_in_a_fixed_order_the_first_refusal_answers():
    """A day past its loss limit is named for that, not for the open-position count."""
    g = gate(daily_loss_limit=D("1000"), max_open_positions=1, max_orders_per_day=1)
    account = AccountSnapshot(realized_pnl=D("-2000"), orders_today=5,
                              positions=(OpenPosition("s9", "TCS", D("1")),))
    assert denial(g.check_entry(INFY, account)).rule is R.DAILY_LOSS_LIMIT
