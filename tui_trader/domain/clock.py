"""Time: an injectable clock that only ever yields UTC-aware datetimes, and IST helpers.

Storage is UTC; market logic is in Asia/Kolkata whatever the server's own zone.
"""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, UTC-aware."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock for tests: stands still until moved, thread-safe."""

    def __init__(self, at: datetime) -> None:
        self._lock = threading.Lock()
        self._now = ensure_utc(at)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, at: datetime) -> None:
        with self._lock:
            self._now = ensure_utc(at)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now = self._now + delta


class SimulatedClock:
    """A clock that starts at a chosen instant and runs `speed` times as fast as real time.

    It lets the real console and engine live through any trading day on any calendar day
    (practice days, tests of the real binary); it is never frozen, so timers still fire.
    """

    def __init__(self, start: datetime, speed: float = 1.0,
                 monotonic: Callable[[], float] = _time.monotonic) -> None:
        if not speed > 0:
            raise ValueError("speed must be above 0")
        self.start = ensure_utc(start)
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()
        self._held = False

    def now(self) -> datetime:
        if self._held:
            return self.start
        elapsed = (self._monotonic() - self._origin) * self.speed
        return self.start + timedelta(seconds=elapsed)

    def hold(self) -> None:
        """Stand at `start` until `restart()`: a practice day's engine and strategies are
        started on its first instant however long that takes (at 300x a slow start would
        otherwise miss a 09:16 BUY)."""
        self._held = True

    def restart(self) -> None:
        """Go back to `start` and run on from this moment."""
        self._origin = self._monotonic()
        self._held = False


def ensure_utc(value: datetime) -> datetime:
    """Refuse naive datetimes; convert aware ones to UTC."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("naive datetime: every timestamp must carry a timezone")
    return value.astimezone(UTC)


def to_ist(value: datetime) -> datetime:
    return ensure_utc(value).astimezone(IST)


def ist_date(moment: datetime) -> date:
    """The Indian calendar date of a moment: the trading day it belongs to."""
    return moment.astimezone(IST).date()


def ist_datetime(day: date, at: time) -> datetime:
    """An IST wall-clock time on a day, as a UTC-aware instant."""
    return datetime.combine(day, at, tzinfo=IST).astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
