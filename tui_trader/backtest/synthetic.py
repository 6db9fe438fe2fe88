"""Seeded one-minute candles over NSE sessions, for tests, benchmarks and demonstrations: a
random walk in whole ticks (so every price is on the 0.05 grid and its float is exact to the
paisa), 375 candles a regular session (09:15-15:29 IST), on the calendar's trading days.
The same seed gives the same candles on any machine, any day."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from ..domain.calendar import NseCalendar
from ..domain.enums import Timeframe
from .bars import NS, BarSeries, to_ns

TICKS_PER_RUPEE = 20  # 0.05
SESSION_MINUTES = 375


def session_starts(calendar: NseCalendar, first: date, count: int) -> np.ndarray:
    """UTC epoch ns of `count` one-minute candle starts over trading days from `first`."""
    starts: list[np.ndarray] = []
    total, day = 0, first
    while total < count:
        session = calendar.session(day)
        if session is not None:
            opens = to_ns(session.open_at())
            minutes = int((session.close_at() - session.open_at()).total_seconds()) // 60
            starts.append(opens + np.arange(minutes, dtype=np.int64) * 60 * NS)
            total += minutes
        day += timedelta(days=1)
    return np.concatenate(starts)[:count]


def minute_candles(count: int, *, seed: int = 2026, symbol: str = "SYNTH",
                   first: date = date(2025, 1, 1), start_price: float = 1000.0,
                   calendar: NseCalendar | None = None) -> BarSeries:
    """`count` seeded one-minute candles from the first trading day on or after `first`."""
    calendar = calendar or NseCalendar(use_exchange_calendars=False)
    rng = np.random.default_rng(seed)
    starts = session_starts(calendar, first, count)
    step = np.rint(rng.normal(0.0, 6.0, count)).astype(np.int64)  # ticks a minute
    close = np.maximum(int(start_price * TICKS_PER_RUPEE) + np.cumsum(step), 200)
    gap = np.rint(rng.normal(0.0, 1.5, count)).astype(np.int64)
    open_ = np.maximum(np.concatenate(([close[0]], close[:-1])) + gap, 100)
    wick_up = np.abs(np.rint(rng.normal(0.0, 3.0, count))).astype(np.int64)
    wick_down = np.abs(np.rint(rng.normal(0.0, 3.0, count))).astype(np.int64)
    high = np.maximum(open_, close) + wick_up
    low = np.maximum(np.minimum(open_, close) - wick_down, 1)
    volume = rng.integers(100, 5000, count)
    return BarSeries.of_arrays(symbol, Timeframe.MINUTE, f"synthetic seed {seed}", starts,
                               open_ / TICKS_PER_RUPEE, high / TICKS_PER_RUPEE,
                               low / TICKS_PER_RUPEE, close / TICKS_PER_RUPEE,
                               volume.astype(np.float64))


def to_csv(bars: BarSeries) -> str:
    """The candles as the CSV `tui-trader backtest --csv` reads (times in IST, +05:30)."""
    from ..domain.clock import IST

    lines = ["date,open,high,low,close,volume"]
    for i in range(len(bars)):
        prices = ",".join(repr(float(column[i]))
                          for column in (bars.open, bars.high, bars.low, bars.close))
        lines.append(f"{bars.start(i).astimezone(IST).isoformat()},{prices},"
                     f"{int(bars.volume[i])}")
    return "\n".join(lines) + "\n"
