"""Strategy kinds: indicators equal TA-Lib's batch functions, state resumes exactly, no
signal before the lookback is warm, and each kind's signals where a trader expects them."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from tui_trader.domain.candle import Candle
from tui_trader.strategies.base import KindContext
from tui_trader.strategies.indicators import IndicatorStream, batch
from tui_trader.strategies.registry import make_kind
from tui_trader.strategies.signals import Action, Holding

from .conftest import candles_from, walk

KIND_PARAMS = [
    ("ema_crossover", {"fast": 9, "slow": 21}),
    ("ema_crossover", {"fast": 50, "slow": 200}),
    ("rsi_reversion", {"period": 14}),
    ("rsi_reversion", {"period": 3, "oversold": 20, "overbought": 80}),
    ("breakout", {"lookback": 20}),
    ("breakout", {"lookback": 10, "volume_factor": 1.2}),
    ("supertrend", {"atr_period": 10, "multiplier": 3.0}),
    ("supertrend", {"atr_period": 7, "multiplier": 1.5}),
]


def follow(kind, candles, holding=Holding.FLAT):
    """Feed candles, moving the holding as the signals say; [(index, signals...)]."""
    out = []
    for i, candle in enumerate(candles):
        for signal in kind.on_candle(candle, holding):
            out.append((i, signal))
            holding = {Action.ENTER_LONG: Holding.LONG, Action.ENTER_SHORT: Holding.SHORT,
                       Action.EXIT: Holding.FLAT}[signal.action]
    return out, holding


def make(name, params, state=None):
    return make_kind(name, params, KindContext("INFY"), state)


@pytest.mark.parametrize(("name", "period", "columns"), [
    ("EMA", 9, 1), ("EMA", 200, 1), ("RSI", 14, 1), ("ATR", 10, 3), ("MAX", 20, 1),
    ("MIN", 20, 1), ("SMA", 20, 1)])
def test_streams_equal_talib_batch_functions(name, period, columns):
    closes = walk(3000, seed=11)
    series = [closes] if columns == 1 else [[c + 2 for c in closes], [c - 2 for c in closes],
                                            closes]
    indicator = IndicatorStream(name, period, inputs=columns)
    streamed = [indicator.push(*values) for values in zip(*series, strict=True)]
    expected = batch(name, period, *series)
    first = indicator.need - 1
    assert all(v is None for v in streamed[:first])
    assert np.array_equal(np.array(streamed[first:], dtype=float), expected[first:])


def test_kinds_read_the_batch_values():
    candles = candles_from(walk(600, seed=5))
    closes = [float(c.close) for c in candles]
    highs, lows = [float(c.high) for c in candles], [float(c.low) for c in candles]
    ema, rsi = make("ema_crossover", {"fast": 9, "slow": 21}), make("rsi_reversion", {})
    brk, st = make("breakout", {"lookback": 20}), make("supertrend", {"atr_period": 10})
    seen = {"EMA 9": [], "EMA 21": [], "RSI 14": [], "high": [], "atr": []}
    for candle in candles:
        for kind in (ema, rsi, brk, st):
            kind.on_candle(candle, Holding.FLAT)
        values = {**ema.indicators(), **rsi.indicators()}
        for key in ("EMA 9", "EMA 21", "RSI 14"):
            seen[key].append(values.get(key))
        seen["high"].append(brk.indicators().get("20-candle high"))
        seen["atr"].append(st.atr.value)
    want = {"EMA 9": batch("EMA", 9, closes), "EMA 21": batch("EMA", 21, closes),
            "RSI 14": batch("RSI", 14, closes), "high": batch("MAX", 20, highs),
            "atr": batch("ATR", 10, highs, lows, closes)}
    for key, got in seen.items():
        start = next(i for i, v in enumerate(got) if v is not None)
        assert np.array_equal(np.array(got[start:], dtype=float), want[key][start:]), key


@pytest.mark.parametrize(("name", "params"), KIND_PARAMS)
@pytest.mark.parametrize("split", [5, 150, 2500])
def test_a_restored_kind_continues_exactly_as_an_uninterrupted_one(name, params, split):
    candles = candles_from(walk(3200, seed=23))
    whole = make(name, params)
    signals_whole, _ = follow(whole, candles)
    first = make(name, params)
    head, holding = follow(first, candles[:split])
    state = json.loads(json.dumps(first.state()))  # through JSON, as it is stored
    restored = make(name, params, state)
    tail, _ = follow(restored, candles[split:], holding)
    assert head + [(i + split, s) for i, s in tail] == signals_whole
    assert restored.indicators() == whole.indicators()
    assert json.dumps(restored.state()) == json.dumps(whole.state())
    assert len(signals_whole) > 3  # the series makes the kind trade


@pytest.mark.parametrize(("name", "params"), KIND_PARAMS)
def test_no_signal_before_the_lookback_is_warm(name, params):
    kind = make(name, params)
    candles = candles_from(walk(kind.lookback + 40, seed=2))
    assert "warming up: 0 of" in kind.status()
    for i, candle in enumerate(candles[:kind.lookback - 1]):
        assert kind.on_candle(candle, Holding.FLAT) == []
        assert not kind.warm and kind.indicators() == {}
        assert kind.status() == f"warming up: {i + 1} of {kind.lookback} candles"
    assert kind.on_candle(candles[kind.lookback - 1], Holding.FLAT) == []
    assert kind.warm and "warming" not in kind.status() and kind.indicators()


def _series(*closes: float, volume: int = 1000, volumes=None) -> list[Candle]:
    out = candles_from(list(closes))
    if volumes is not None:
        out = [Candle(c.symbol, c.timeframe, c.start, c.end, c.open, c.high, c.low, c.close,
                      volume=v) for c, v in zip(out, volumes, strict=True)]
    return out


def test_ema_crossover_enters_on_the_cross_and_reverses_on_the_opposite_one():
    kind = make("ema_crossover", {"fast": 2, "slow": 5})
    falling = [100 - i for i in range(10)]
    rising = [91 + 3 * i for i in range(1, 8)]
    signals, holding = follow(kind, _series(*falling, *rising, *falling))
    (i, first), *rest = signals
    assert first.action is Action.ENTER_LONG and first.reason == "EMA 2 crossed above EMA 5"
    closes = falling + rising + falling
    spread = batch("EMA", 2, closes) - batch("EMA", 5, closes)
    assert spread[i - 1] <= 0 < spread[i]  # the candle the cross happened on
    assert first.price == Decimal(str(closes[i])) and first.at == _series(*closes)[i].end
    assert [s.action for _, s in rest] == [Action.EXIT, Action.ENTER_SHORT]
    assert rest[0][1].reason == "EMA 2 crossed below EMA 5" and holding is Holding.SHORT


def test_rsi_reversion_buys_out_of_oversold_and_exits_at_overbought():
    kind = make("rsi_reversion", {"period": 3, "oversold": 30, "overbought": 70})
    prices = [100, 98, 96, 94, 92, 90, 93, 97, 102, 108]
    signals, _ = follow(kind, _series(*prices))
    assert [s.action for _, s in signals] == [Action.ENTER_LONG, Action.EXIT]
    assert signals[0][1].reason.startswith("RSI 3 climbed back above 30")
    assert signals[1][1].reason.startswith("RSI 3 reached overbought 70")


def test_breakout_volume_filter_ignores_a_breakout_on_light_volume():
    closes = [100, 101, 100, 101, 100, 101, 110]
    light = _series(*closes, volumes=[1000] * 6 + [1100])
    heavy = _series(*closes, volumes=[1000] * 6 + [3000])
    params = {"lookback": 5, "volume_factor": 2.0}
    assert follow(make("breakout", params), light)[0] == []
    ((_, signal),), _ = follow(make("breakout", params), heavy)
    assert signal.action is Action.ENTER_LONG
    assert "5-candle high" in signal.reason and "3.0x average volume" in signal.reason
    ((_, plain),), _ = follow(make("breakout", {"lookback": 5}), light)
    assert plain.action is Action.ENTER_LONG


def test_supertrend_goes_long_when_the_trend_turns_up():
    kind = make("supertrend", {"atr_period": 3, "multiplier": 1.0})
    prices = [100 - i for i in range(12)] + [89 + 4 * i for i in range(1, 8)]
    signals, holding = follow(kind, _series(*prices))
    assert signals and signals[-1][1].action is Action.ENTER_LONG
    assert "Supertrend 3,1 turned up" in signals[-1][1].reason and holding is Holding.LONG
