"""Fixtures for strategy kinds and candles: a calendar with a Muhurat session, and helpers
that make IST instants and synthetic candle series (seeded, so every run is the same)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from tui_trader.domain.calendar import HolidayFile, NseCalendar
from tui_trader.domain.candle import Candle
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import Timeframe

# Far past exchange-calendars' last session: weekdays minus the holidays below, whatever the
# date the suite runs on.
MONDAY = date(2031, 3, 3)
MUHURAT = date(2031, 3, 9)  # a Sunday with a special evening session
HOLIDAY = date(2031, 3, 5)  # a Wednesday the exchange is closed


@pytest.fixture
def calendar() -> NseCalendar:
    text = f"{HOLIDAY.isoformat()}\n{MUHURAT.isoformat()} special 18:15-19:15\n"
    return NseCalendar(HolidayFile.parse(text), use_exchange_calendars=False)


def ist(day: date, hh: int, mm: int, ss: int = 0) -> datetime:
    """An IST wall time as a UTC-aware instant."""
    return datetime.combine(day, time(hh, mm, ss), IST).astimezone(UTC)


def d(text: str) -> Decimal:
    return Decimal(text)


def walk(n: int, seed: int = 7, start: float = 1500.0) -> list[float]:
    """A seeded random walk of closes, on the 0.05 grid."""
    rng = random.Random(seed)
    price, out = start, []
    for _ in range(n):
        price = max(10.0, price + rng.gauss(0, start * 0.004))
        out.append(round(round(price / 0.05) * 0.05, 2))
    return out


def candles_from(closes: list[float], *, symbol: str = "INFY", seed: int = 3,
                 timeframe: Timeframe = Timeframe.MIN15,
                 start: datetime | None = None) -> list[Candle]:
    """Candles around a close series: open at the previous close, a seeded high/low range
    and volume; stamped back to back (the kinds do not look at the clock)."""
    rng = random.Random(seed)
    at = start or datetime(2031, 3, 3, 3, 45, tzinfo=UTC)
    out: list[Candle] = []
    prev = closes[0]
    for close in closes:
        high = max(prev, close) + round(rng.uniform(0, 4), 2)
        low = min(prev, close) - round(rng.uniform(0, 4), 2)
        end = at + timedelta(minutes=15)
        out.append(Candle(symbol, timeframe, at, end, Decimal(str(prev)),
                          Decimal(str(round(high, 2))), Decimal(str(round(low, 2))),
                          Decimal(str(close)), volume=rng.randint(1_000, 50_000)))
        at, prev = end, close
    return out
