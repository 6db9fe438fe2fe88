"""A kind's batch form (backtests) and its streaming form (live) apply one rule: fed the
same candles, the batch events give, bar by bar, exactly the signals `on_candle` gives for
every holding."""

from __future__ import annotations

import numpy as np
import pytest

from tui_trader.strategies.base import KindContext
from tui_trader.strategies.kinds.ema_crossover import crossing, last_nonzero
from tui_trader.strategies.registry import make_kind
from tui_trader.strategies.signals import Holding

from .conftest import candles_from, walk


def columns(candles):
    return {name: np.array([float(getattr(c, name)) for c in candles])
            for name in ("open", "high", "low", "close", "volume")}


@pytest.mark.parametrize(("params", "seed"), [({"fast": 9, "slow": 21}, 7),
                                               ({"fast": 5, "slow": 60}, 11),
                                               ({"fast": 2, "slow": 3}, 19)])
@pytest.mark.parametrize("holding", list(Holding))
def test_ema_crossover_batch_events_give_the_streaming_signals_bar_by_bar(params, seed,
                                                                         holding):
    candles = candles_from(walk(1500, seed=seed))
    batch_kind = make_kind("ema_crossover", params, KindContext("INFY"))
    events = batch_kind.batch_events(columns(candles))
    live = make_kind("ema_crossover", params, KindContext("INFY"))
    crosses = 0
    for i, candle in enumerate(candles):
        streamed = live.on_candle(candle, holding)
        batched = batch_kind.signals_for(int(events[i]), holding, candle.end, candle.close) \
            if events[i] else []
        assert batched == streamed, f"candle {i}"
        crosses += bool(events[i])
    assert crosses > 20  # the series crosses often: the comparison is not vacuous


def test_crossing_is_one_rule_for_floats_and_arrays():
    before = np.array([-1.0, 0.0, 1.0, 0.0, np.nan, -1.0])
    after = np.array([1.0, 1.0, -1.0, -1.0, 1.0, -0.5])
    assert list(crossing(before, after)) == [1, 0, -1, 0, 0, 0]
    assert [crossing(float(b), float(a)) for b, a in zip(before, after, strict=True)] == \
        [1, 0, -1, 0, 0, 0]


def test_a_touch_is_read_against_the_last_spread_that_was_not_zero():
    spread = np.array([np.nan, np.nan, 0.0, 0.0, 1.0, 0.0, 2.0, 0.0, -1.0])
    assert np.array_equal(last_nonzero(spread),
                          [np.nan, np.nan, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, -1.0],
                          equal_nan=True)


@pytest.mark.parametrize("holding", [Holding.FLAT, Holding.LONG])
def test_flat_stretches_that_make_the_emas_equal_give_the_same_signals(holding):
    # flat from the start (the EMAs are equal to the last bit), a rise, flat again long
    # enough for the EMAs to meet, a rise (a touch, not a cross), then a fall
    closes = [100.0] * 30 + [101.0, 102.0] + [102.0] * 400 + [103.0, 104.0] + \
        [103.0, 101.0, 99.0] + walk(200, seed=5, start=99.0)
    candles = candles_from(closes)
    batch_kind = make_kind("ema_crossover", {"fast": 3, "slow": 5}, KindContext("INFY"))
    events = batch_kind.batch_events(columns(candles))
    live = make_kind("ema_crossover", {"fast": 3, "slow": 5}, KindContext("INFY"))
    for i, candle in enumerate(candles):
        streamed = live.on_candle(candle, holding)
        batched = batch_kind.signals_for(int(events[i]), holding, candle.end, candle.close) \
            if events[i] else []
        assert batched == streamed, f"candle {i}"
    # neither the flat start nor the EMAs meeting over the flat stretch (within float
    # noise) and parting upwards again is a cross; the fall after is
    assert not events[:434].any()
    assert list(events[434:440]).count(-1) == 1
