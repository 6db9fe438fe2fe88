"""Sizing: quantity = risk ₹ ÷ stop distance, rounded down to the lot, bounded by every rule
that limits a quantity -- and what it sizes is what the gate lets through."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from tui_trader.domain.enums import RiskRuleKind as R
from tui_trader.domain.enums import Side
from tui_trader.domain.risk_rules import RiskLimits
from tui_trader.risk.account import AccountSnapshot, OpenPosition
from tui_trader.risk.gate import Entry, PreTradeGate
from tui_trader.risk.sizing import quantity_for_risk, size_entry


def test_quantity_is_risk_over_stop_distance_rounded_down_to_the_lot():
    assert quantity_for_risk(D("10000"), D("1500"), D("1480")) == 500
    assert quantity_for_risk(D("10000"), D("1500"), D("1473")) == 370  # 370.37 -> 370
    assert quantity_for_risk(D("10000"), D("1500"), D("1473"), lot_size=50) == 350
    assert quantity_for_risk(D("1000"), D("1500"), D("1473"), lot_size=50) == 0  # < a lot
    assert quantity_for_risk(D("10000"), D("1500"), D("1530"), side=Side.SELL) == 333
    assert quantity_for_risk(D("10000"), D("1500"), D("1500")) == 0  # no distance
    assert quantity_for_risk(D("10000"), D("1500"), D("1510")) == 0  # stop on the wrong side
    assert quantity_for_risk(D("10000"), D("1500"), D("0")) == 0  # no stop at all


def test_the_tightest_rule_bounds_the_size_and_is_named():
    limits = RiskLimits(trading_capital=D("1000000"), max_risk_per_trade_pct=D("1"),
                        daily_loss_limit=D("15000"), max_position_value=D("300000"))
    sized = size_entry(limits, AccountSnapshot(), strategy_id="s1", symbol="INFY",
                       side=Side.BUY, price=D("1500"), stop=D("1480"))
    assert (sized.quantity, sized.bound_by) == (200, R.MAX_POSITION_VALUE)  # 3,00,000/1,500
    lost = AccountSnapshot(realized_pnl=D("-12000"))
    sized = size_entry(limits, lost, strategy_id="s1", symbol="INFY", side=Side.BUY,
                       price=D("1500"), stop=D("1480"))
    assert (sized.quantity, sized.bound_by) == (150, R.DAILY_LOSS_LIMIT)  # 3,000 left / 20


def test_no_quantity_rule_leaves_the_strategys_own_quantity():
    sized = size_entry(RiskLimits(max_open_positions=3), AccountSnapshot(), strategy_id="s1",
                       symbol="INFY", side=Side.BUY, price=D("1500"), stop=D("1480"))
    assert sized.quantity is None and sized.bound_by is None


money = st.decimals(min_value=D("1"), max_value=D("5000"), places=2)


@settings(max_examples=300, deadline=None)
@given(price=money, distance=st.decimals(min_value=D("0.05"), max_value=D("200"), places=2),
       lot=st.sampled_from([1, 25, 50, 75]), side=st.sampled_from(list(Side)),
       capital=st.decimals(min_value=D("10000"), max_value=D("10000000"), places=0),
       per_trade=st.decimals(min_value=D("0.1"), max_value=D("2"), places=1),
       loss=st.decimals(min_value=D("0"), max_value=D("20000"), places=2),
       held=st.decimals(min_value=D("0"), max_value=D("200000"), places=2),
       strategy_loss=st.decimals(min_value=D("0"), max_value=D("4000"), places=2))
def test_a_sized_entry_passes_the_gate_and_one_lot_more_does_not(
        price, distance, lot, side, capital, per_trade, loss, held, strategy_loss):
    if side is Side.BUY and distance >= price:
        distance = price / 2  # a stop at or below 0 is no stop
    stop = price - distance if side is Side.BUY else price + distance
    limits = RiskLimits(trading_capital=capital, max_risk_per_trade_pct=per_trade,
                        daily_loss_limit=D("25000"), strategy_daily_loss_limit=D("5000"),
                        max_position_value=D("400000"))
    account = AccountSnapshot(realized_pnl=-loss, strategy_pnl={"s1": -strategy_loss},
                              positions=(OpenPosition("s2", "INFY", held),))
    sized = size_entry(limits, account, strategy_id="s1", symbol="INFY", side=side,
                       price=price, stop=stop, lot_size=lot)
    gate = PreTradeGate(limits)
    assert sized.quantity is not None and sized.quantity % lot == 0
    if sized.quantity > 0:
        entry = Entry("s1", "INFY", side, sized.quantity, price, stop, lot)
        assert gate.check_entry(entry, account).allowed
    bigger = Entry("s1", "INFY", side, sized.quantity + lot, price, stop, lot)
    refused = gate.check_entry(bigger, account)
    assert not refused.allowed and refused.denial.rule is sized.bound_by
