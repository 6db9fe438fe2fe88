"""Helpers for backtests: hand-made minute candles on a known session, and run specs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np

from tui_trader.backtest.bars import BarSeries
from tui_trader.backtest.spec import RunSpec
from tui_trader.backtest.synthetic import session_starts
from tui_trader.domain.calendar import NseCalendar
from tui_trader.domain.enums import Product, Timeframe

MONDAY = date(2025, 1, 6)
D = Decimal


def hand_bars(rows, first: date = MONDAY) -> BarSeries:
    """Minute candles from (open, high, low, close) rows, from 09:15 IST on `first`."""
    array = np.array(rows, dtype=np.float64)
    starts = session_starts(NseCalendar(use_exchange_calendars=False), first, len(rows))
    return BarSeries.of_arrays("INFY", Timeframe.MINUTE, "hand", starts, array[:, 0],
                               array[:, 1], array[:, 2], array[:, 3])


def flat_then_jump(closes) -> list[tuple[float, float, float, float]]:
    """Candles whose open is the previous close (no gaps, no wicks)."""
    rows, previous = [], closes[0]
    for close in closes:
        rows.append((previous, max(previous, close), min(previous, close), close))
        previous = close
    return rows


def spec(**changes) -> RunSpec:
    base = dict(kind="ema_crossover", params={"fast": 2, "slow": 3, "timeframe": "minute"},
                exits={"stop_loss": D(99)}, quantity=1, product=Product.CNC, charges=False)
    base.update(changes)
    return RunSpec(**base)
