"""The backtester against backtrader itself (the EMA crossover as the issue states it, on
seeded generated sessions): identical trades. And the batch form of a kind against the
candle-by-candle one, under every exit and fill option: identical runs."""

from __future__ import annotations

import pytest

from tui_trader.backtest.runner import Backtest
from tui_trader.backtest.spec import FillAt
from tui_trader.backtest.synthetic import minute_candles
from tui_trader.domain.enums import Product

from . import backtrader_reference as reference
from .conftest import D, spec


def ours(trades):
    return [(t.entry_time, float(t.entry_price), t.exit_time,
             None if t.exit_price is None else float(t.exit_price), t.quantity)
            for t in trades]


@pytest.mark.parametrize(("seed", "fast", "slow"), [(1, 9, 21), (2, 5, 13), (3, 20, 50)])
def test_trades_are_identical_to_backtraders(seed, fast, slow):
    bars = minute_candles(3000, seed=seed)
    run = spec(params={"fast": fast, "slow": slow, "timeframe": "minute"})
    result = Backtest(run, bars).run()
    expected, _ = reference.run(reference.rows_of(bars.starts_ns, bars.open, bars.high,
                                                  bars.low, bars.close, bars.volume),
                                fast, slow)
    assert len(expected) > 20
    assert ours(result.trades) == expected


@pytest.mark.parametrize("changes", [
    {},
    {"exits": {"stop_loss": D("0.1")}},
    {"exits": {"stop_loss": D("0.1"), "target": D("0.15")}, "slippage_ticks": 1},
    {"exits": {"stop_loss": D("0.15"), "trailing": D("0.08")}},
    {"exits": {"stop_loss": D("0.1"), "max_trades_per_day": 3}, "product": Product.MIS},
    {"exits": {"stop_loss": D("0.1"), "target": D("0.2")}, "fill": FillAt.CLOSE,
     "product": Product.MIS},
    {"exits": {"stop_mode": "atr", "stop_loss": D("2"), "target_mode": "atr",
               "target": D("3")}, "product": Product.MIS, "charges": True, "quantity": 10},
])
def test_the_batch_form_and_candle_by_candle_give_the_same_run(changes):
    bars = minute_candles(2400, seed=9)
    run = spec(params={"fast": 5, "slow": 13, "timeframe": "minute"}, **changes)
    fast = Backtest(run, bars).run()
    slow = Backtest(run, bars, batch=False).run()
    assert len(fast.trades) > 10
    if changes.get("exits"):  # the exits are exercised, not just the signals
        assert {t.exit_reason for t in fast.trades} - {"signal", None}
    assert fast.trades == slow.trades
    assert fast.summary == slow.summary
    assert (fast.curve.equity == slow.curve.equity).all()
