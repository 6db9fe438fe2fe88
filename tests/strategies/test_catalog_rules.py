"""The catalog's typed parameters and exits: one clear rule per bad field, named as the
screen labels it; defaults that validate; running strategies change only updatable fields."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tui_trader.domain.catalog import (
    BY_KIND,
    CATALOG,
    check_exits,
    check_params,
    check_update,
)
from tui_trader.domain.enums import Product, StrategyKind
from tui_trader.domain.errors import ValidationError
from tui_trader.strategies.base import KindContext
from tui_trader.strategies.registry import KINDS, make_kind


def test_every_catalog_kind_has_code_and_a_schema():
    assert set(KINDS) == set(BY_KIND) == set(StrategyKind)
    for entry in CATALOG:
        schema = entry.parameters_schema()
        assert schema["type"] == "object" and schema["properties"]
        for name, prop in schema["properties"].items():
            assert prop["title"] and prop["description"], name
            assert isinstance(prop["updatable"], bool)
        if entry.timeframes:
            assert schema["properties"]["timeframe"]["enum"] == [
                tf.value for tf in entry.timeframes]


def test_defaults_are_valid_parameters_and_exits():
    for entry in CATALOG:
        if entry.kind is StrategyKind.SCHEDULED:
            continue  # its times and stop price are the trader's own
        params, errors = check_params(entry.kind, {})
        assert errors == {} and params is not None
        rules, errors = check_exits(entry.kind, {})
        assert errors == {} and rules is not None


def test_fast_must_be_below_slow():
    assert check_params("ema_crossover", {"fast": 21, "slow": 21}) == \
        (None, {"fast": "must be below Slow EMA (21)"})
    with pytest.raises(ValidationError, match=r"^Fast EMA: must be below Slow EMA \(9\)$"):
        make_kind("ema_crossover", {"fast": 12, "slow": 9}, KindContext("INFY"))


def test_out_of_bounds_and_wrong_types_are_told_per_field():
    _, errors = check_params("rsi_reversion", {"period": 1, "oversold": 50,
                                               "overbought": "high"})
    assert errors == {"period": "must be between 2 and 50 candles",
                      "oversold": "must be between 5 and 45",
                      "overbought": "must be a number"}
    _, errors = check_params("breakout", {"lookback": 2.5, "volume_factor": 0.5,
                                          "colour": "red"})
    assert errors == {"lookback": "must be a whole number",
                      "volume_factor": "must be between 1 and 10",
                      "colour": "is not a setting of this kind"}


def test_a_timeframe_the_kind_cannot_use():
    _, errors = check_params("supertrend", {"timeframe": "4hour"})
    assert errors["timeframe"].startswith("must be one of minute, 3minute")
    _, errors = check_params("supertrend", {"timeframe": "day"}, Product.MIS)
    assert "after MIS positions are squared off" in errors["timeframe"]
    assert check_params("supertrend", {"timeframe": "day"}, Product.CNC)[1] == {}
    _, errors = check_params("scheduled", {"buy_time": "09:30", "sell_time": "15:00",
                                           "timeframe": "5minute"})
    assert errors == {"timeframe": "Scheduled buy/sell trades at set times and takes no "
                                   "timeframe"}


def test_scheduled_times_keep_the_form_rule():
    _, errors = check_params("scheduled", {"buy_time": "15:00", "sell_time": "09:30"})
    assert errors == {"sell_time": "must be later than Buy at"}


def test_an_unknown_kind():
    assert check_params("martingale", {}) == (None, {
        "kind": "must be one of scheduled, ema_crossover, rsi_reversion, breakout, "
                "supertrend"})


def test_exit_rules_are_checked_with_the_kind_defaults():
    _, errors = check_exits("scheduled", {})
    assert errors == {"stop_loss": "is required"}  # mandatory: no default price
    rules, errors = check_exits("scheduled", {"stop_loss": "1480.50"})
    assert errors == {} and rules.stop_loss == Decimal("1480.50")
    _, errors = check_exits("ema_crossover", {"max_trades_per_day": 0})
    assert errors == {"max_trades_per_day": "must be between 1 and 50 entries"}
    _, errors = check_exits("ema_crossover", {"stop_loss": "100", "trailing": "2",
                                              "trailing_mode": "price",
                                              "square_off": "15:25", "reentry": "cooldown"})
    assert errors == {
        "stop_loss": "must be below 100 % of the entry price",
        "trailing_mode": "must be percent or atr: a trailing stop keeps a distance, not a "
                         "price",
        "square_off": "must be after 09:15 and before 15:20 IST, when the broker squares "
                      "MIS positions off itself",
        "cooldown_candles": "must be at least 1 candle for a cool-down re-entry",
    }


def test_a_running_strategy_changes_only_updatable_fields():
    running = {"period": 14, "oversold": 30, "overbought": 70, "timeframe": "15minute"}
    assert check_update("rsi_reversion", running, {**running, "oversold": 25}) == {}
    assert check_update("rsi_reversion", running, {**running, "period": 21,
                                                   "timeframe": "5minute"}) == {
        "period": "cannot change while the strategy runs (stop it first); RSI period is 14",
        "timeframe": "cannot change while the strategy runs (stop it first); Timeframe is "
                     "15minute"}
