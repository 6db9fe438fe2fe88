"""Risk rules from a form or the command line: each bad value named at its field as the
screen labels it, a set that contradicts itself refused as a whole."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tui_trader.domain.errors import ValidationError
from tui_trader.domain.risk_rules import (
    RULE_FIELDS,
    RiskLimits,
    check_risk_form,
    require_valid_rules,
)


def test_a_full_set_of_rules():
    limits = require_valid_rules({
        "trading_capital": "10,00,000", "daily_loss_limit": "10000", "daily_loss_pct": "1.5",
        "max_position_value": "200000", "max_open_positions": "5", "max_drawdown_pct": "3",
        "max_risk_per_trade_pct": "0.5", "max_orders_per_day": "400",
        "strategy_daily_loss_limit": "4000"})
    assert limits == RiskLimits(D("1000000"), D("10000"), D("1.5"), D("200000"), 5, D("3"),
                                D("0.5"), 400, D("4000"))
    assert limits.daily_loss_cap(limits.trading_capital) == D("10000")  # 1.5% is 15,000
    assert limits.risk_per_trade(limits.trading_capital) == D("5000")
    assert set(limits.as_dict()) == set(RULE_FIELDS)


@pytest.mark.parametrize("field,value,message", [
    ("daily_loss_limit", "0",
     "Daily loss limit: must be greater than 0 (leave it empty, or 'off', for no limit)"),
    ("daily_loss_limit", "-500",
     "Daily loss limit: must be greater than 0 (leave it empty, or 'off', for no limit)"),
    ("trading_capital", "ten lakh", "Trading capital: must be a number like 5000 or 2.5"),
    ("trading_capital", "1e6", "Trading capital: must be a number like 5000 or 2.5"),
    ("trading_capital", "NaN", "Trading capital: must be a number like 5000 or 2.5"),
    ("max_position_value", "100.125", "Max position value: must have at most 2 decimal places"),
    ("max_position_value", 1000.5,
     "Max position value: must be given as an exact decimal, not a float"),
    ("daily_loss_pct", "150", "Daily loss %: must be a percentage of at most 100"),
    ("max_drawdown_pct", "0", "Max drawdown %: must be greater than 0 (leave it empty, or "
                              "'off', for no limit)"),
    ("max_open_positions", "2.5", "Max open positions: must be a whole number like 5"),
    ("max_open_positions", "0",
     "Max open positions: must be at least 1 (leave it empty, or 'off', for no limit)"),
    ("max_orders_per_day", "5000000", "Max orders per day: must be at most 1,000,000"),
    ("strategy_daily_loss_limit", "1" + "0" * 13,
     "Strategy daily loss: must be at most 1,000,000,000,000"),
    ("leverage", "5", "leverage: is not a risk rule"),
])
def test_a_bad_value_is_one_message_at_its_field(field, value, message):
    with pytest.raises(ValidationError) as info:
        require_valid_rules({field: value})
    assert str(info.value) == message


@pytest.mark.parametrize("rules,field,message", [
    ({"trading_capital": "100000", "max_position_value": "150000"}, "max_position_value",
     "150,000 is above Trading capital 100,000"),
    ({"trading_capital": "100000", "daily_loss_limit": "200000"}, "daily_loss_limit",
     "200,000 is above Trading capital 100,000"),
    ({"daily_loss_limit": "5000", "strategy_daily_loss_limit": "6000"},
     "strategy_daily_loss_limit", "6,000 is above the account's daily loss limit 5,000"),
    ({"daily_loss_pct": "1", "max_risk_per_trade_pct": "2"}, "max_risk_per_trade_pct",
     "2% is above Daily loss % 1%: one trade could lose more than a day may"),
    ({"trading_capital": "1000000", "daily_loss_limit": "5000",
      "max_risk_per_trade_pct": "1"}, "max_risk_per_trade_pct",
     "1% of Trading capital is 10,000, above the daily loss limit 5,000: one trade could "
     "lose more than a day may"),
])
def test_rules_that_contradict_each_other_are_refused(rules, field, message):
    limits, errors = check_risk_form(rules)
    assert limits is None and errors == {field: message}


def test_a_change_is_judged_with_the_rules_already_set():
    base = RiskLimits(trading_capital=D("100000"), daily_loss_limit=D("5000"))
    limits, errors = check_risk_form({"max_position_value": "120000"}, base)
    assert limits is None and "max_position_value" in errors
    # lowering the capital under the daily loss limit is refused at that limit
    limits, errors = check_risk_form({"trading_capital": "4000"}, base)
    assert errors == {"daily_loss_limit": "5,000 is above Trading capital 4,000"}
    limits, errors = check_risk_form({"max_open_positions": "3"}, base)
    assert errors == {} and limits == RiskLimits(D("100000"), D("5000"), max_open_positions=3)


@pytest.mark.parametrize("cleared", [None, "", "off", "OFF", " none "])
def test_off_removes_a_limit(cleared):
    base = RiskLimits(daily_loss_limit=D("5000"), max_orders_per_day=100)
    assert require_valid_rules({"daily_loss_limit": cleared}, base) == RiskLimits(
        max_orders_per_day=100)


def test_every_error_is_collected_and_the_first_raised_in_field_order():
    raw = {"max_orders_per_day": "-1", "trading_capital": "abc"}
    limits, errors = check_risk_form(raw)
    assert limits is None and set(errors) == {"max_orders_per_day", "trading_capital"}
    with pytest.raises(ValidationError, match="^Trading capital: "):
        require_valid_rules(raw)
