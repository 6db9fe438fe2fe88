"""The candles a backtest replays, held as columns: times as UTC epoch nanoseconds and prices
as float64 arrays, so indicators run over a whole series at once and a bar nothing happens on
costs nothing. Prices come back as exact Decimals (`price`, `candle`, `bar`) where money is
reckoned: the data's prices are short decimals, and a float's shortest repr gives them back.

A series is made from checked rows (the CSV reader's, or the database's candles) and refuses
what a backtest cannot use: no rows, times not strictly increasing, a time without offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np

from ..brokers.matching import Bar
from ..domain.calendar import MARKET_CLOSE
from ..domain.candle import Candle
from ..domain.clock import IST, ist_datetime
from ..domain.enums import Timeframe
from ..domain.errors import ValidationError
from ..domain.timeframes import TIMEFRAME_MINUTES

NS = 10**9


def to_ns(at: datetime) -> int:
    """An aware instant as UTC epoch nanoseconds (exact to the microsecond)."""
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * NS + delta.microseconds * 1000


def from_ns(ns: int) -> datetime:
    # A float of epoch seconds holds a microsecond exactly until the year 2255.
    return datetime.fromtimestamp(int(ns) // 1000 / 1e6, UTC)


def dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


@dataclass(frozen=True, slots=True)
class Row:
    """One candle as read: its start (aware), prices and volume."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 0


def candle_end(start: datetime, timeframe: Timeframe) -> datetime:
    """When a candle that starts at `start` closes: a minute candle after its minutes, a
    day candle at the session close of its IST day."""
    minutes = TIMEFRAME_MINUTES.get(timeframe)
    if minutes is None:
        return ist_datetime(start.astimezone(IST).date(), MARKET_CLOSE)
    return start + timedelta(minutes=minutes)


@dataclass(frozen=True)
class BarSeries:
    symbol: str
    timeframe: Timeframe
    source: str  # "csv FILE" or "database"
    starts_ns: np.ndarray
    ends_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def of_rows(cls, symbol: str, timeframe: Timeframe, rows: Sequence[Row],
                source: str) -> BarSeries:
        if not rows:
            raise ValidationError("range", f"no {timeframe.value} candles of {symbol} to "
                                           "replay")
        previous = None
        for number, row in enumerate(rows, start=1):
            if row.start.tzinfo is None or row.start.utcoffset() is None:
                raise ValidationError("date", f"candle {number} has no UTC offset")
            if previous is not None and row.start <= previous:
                raise ValidationError("date", f"candle {number} is not later than the one "
                                              "before (times must increase)")
            previous = row.start
        starts = np.array([to_ns(r.start) for r in rows], dtype=np.int64)
        ends = np.array([to_ns(candle_end(r.start, timeframe)) for r in rows], dtype=np.int64)

        def column(name: str) -> np.ndarray:
            return np.array([float(getattr(r, name)) for r in rows], dtype=np.float64)

        return cls(symbol, timeframe, source, starts, ends, column("open"), column("high"),
                   column("low"), column("close"), column("volume"))

    @classmethod
    def of_arrays(cls, symbol: str, timeframe: Timeframe, source: str,
                  starts_ns: np.ndarray, open_: np.ndarray, high: np.ndarray,
                  low: np.ndarray, close: np.ndarray,
                  volume: np.ndarray | None = None) -> BarSeries:
        """Columns as they are (benchmarks, generated data); minute timeframes only."""
        minutes = TIMEFRAME_MINUTES.get(timeframe)
        if minutes is None:
            raise ValidationError("interval", "columns are for minute candles")
        if len(starts_ns) == 0:
            raise ValidationError("range", f"no candles of {symbol} to replay")
        if np.any(np.diff(starts_ns) <= 0):
            raise ValidationError("date", "candle times must increase")
        starts = np.asarray(starts_ns, dtype=np.int64)
        return cls(symbol, timeframe, source, starts, starts + minutes * 60 * NS,
                   *(np.asarray(a, dtype=np.float64) for a in (open_, high, low, close)),
                   np.zeros(len(starts)) if volume is None else np.asarray(volume, float))

    def __len__(self) -> int:
        return len(self.close)

    def columns(self) -> dict[str, np.ndarray]:
        return {"open": self.open, "high": self.high, "low": self.low, "close": self.close,
                "volume": self.volume}

    def start(self, i: int) -> datetime:
        return from_ns(self.starts_ns[i])

    def end(self, i: int) -> datetime:
        return from_ns(self.ends_ns[i])

    def price(self, column: np.ndarray, i: int) -> Decimal:
        return dec(column[i])

    def bar(self, i: int) -> Bar:
        return Bar(dec(self.open[i]), dec(self.high[i]), dec(self.low[i]), dec(self.close[i]))

    def candle(self, i: int) -> Candle:
        return Candle(self.symbol, self.timeframe, self.start(i), self.end(i),
                      dec(self.open[i]), dec(self.high[i]), dec(self.low[i]),
                      dec(self.close[i]), int(self.volume[i]))

    def window(self, lo: int, hi: int) -> BarSeries:
        """Candles lo..hi-1 (walk-forward windows)."""
        return BarSeries(self.symbol, self.timeframe, self.source, self.starts_ns[lo:hi],
                         self.ends_ns[lo:hi], self.open[lo:hi], self.high[lo:hi],
                         self.low[lo:hi], self.close[lo:hi], self.volume[lo:hi])


def rows_of(items: Iterable[object]) -> list[Row]:
    """Rows from anything with ts/start, open, high, low, close, volume attributes (the CSV
    reader's CsvCandle, the database's Candle)."""
    out = []
    for item in items:
        start = getattr(item, "ts", None) or item.start
        out.append(Row(start, item.open, item.high, item.low, item.close,
                       int(getattr(item, "volume", 0) or 0)))
    return out
