"""NSE trading days and session hours.

Trading days come from `exchange-calendars` (XBOM shares NSE's holidays). Its release knows
sessions only up to a last date; past it we fall back to weekdays minus a holidays file the
user can edit (one `YYYY-MM-DD` per line, `#` comments). Special sessions (Muhurat trading,
Budget Saturday) are lines `YYYY-MM-DD special HH:MM-HH:MM`. The calendar is loaded lazily:
importing exchange-calendars costs half a second and must not slow start-up.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from .clock import IST, ensure_utc, ist_datetime

MARKET_OPEN = time(9, 15)
MARKET_CLOSE = time(15, 30)


@dataclass(frozen=True)
class Session:
    day: date
    open: time
    close: time
    special: bool = False

    def open_at(self) -> datetime:
        return ist_datetime(self.day, self.open)

    def close_at(self) -> datetime:
        return ist_datetime(self.day, self.close)


@dataclass
class HolidayFile:
    """Parsed user holidays file: closed days and special sessions."""

    closed: set[date] = field(default_factory=set)
    special: dict[date, tuple[time, time]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> HolidayFile:
        result = cls()
        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            try:
                day = date.fromisoformat(parts[0])
                if len(parts) == 1:
                    result.closed.add(day)
                elif len(parts) == 3 and parts[1] == "special":
                    start_s, end_s = parts[2].split("-")
                    result.special[day] = (time.fromisoformat(start_s), time.fromisoformat(end_s))
                else:
                    raise ValueError(line)
            except ValueError as exc:
                raise ValueError(f"holidays file line {lineno}: expected 'YYYY-MM-DD' or "
                                 f"'YYYY-MM-DD special HH:MM-HH:MM'") from exc
        return result

    @classmethod
    def load(cls, path: Path | None) -> HolidayFile:
        if path is None or not path.exists():
            return cls()
        return cls.parse(path.read_text(encoding="utf-8"))


class NseCalendar:
    """Answers: is this a trading day, when is the next one, is the market open now."""

    def __init__(self, holidays: HolidayFile | None = None, *, use_exchange_calendars: bool = True):
        self._holidays = holidays or HolidayFile()
        self._use_xc = use_exchange_calendars
        self._lock = threading.Lock()
        self._loaded = False
        self._sessions: set[date] = set()
        self._first: date | None = None
        self._last: date | None = None

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            if self._use_xc:
                try:
                    import exchange_calendars as xc

                    cal = xc.get_calendar("XBOM")
                    self._sessions = {ts.date() for ts in cal.sessions}
                    self._first = cal.first_session.date()
                    self._last = cal.last_session.date()
                except Exception:  # the fallback below still gives a usable calendar
                    self._sessions = set()
            self._loaded = True

    @property
    def last_known_session(self) -> date | None:
        self._load()
        return self._last

    def uses_fallback(self, day: date) -> bool:
        """True when `day` lies outside what exchange-calendars knows."""
        self._load()
        return self._last is None or day > self._last or (self._first is not None
                                                          and day < self._first)

    def is_trading_day(self, day: date) -> bool:
        if day in self._holidays.special:
            return True
        if day in self._holidays.closed:
            return False
        if self.uses_fallback(day):
            return day.weekday() < 5
        return day in self._sessions

    def session(self, day: date) -> Session | None:
        if not self.is_trading_day(day):
            return None
        if day in self._holidays.special:
            start, end = self._holidays.special[day]
            return Session(day, start, end, special=True)
        return Session(day, MARKET_OPEN, MARKET_CLOSE)

    def next_trading_day(self, after: date) -> date:
        day = after + timedelta(days=1)
        for _ in range(400):
            if self.is_trading_day(day):
                return day
            day += timedelta(days=1)
        raise ValueError("no trading day within 400 days")

    def trading_day_on_or_after(self, day: date) -> date:
        return day if self.is_trading_day(day) else self.next_trading_day(day)

    def is_open(self, now: datetime) -> bool:
        local = ensure_utc(now).astimezone(IST)
        sess = self.session(local.date())
        return sess is not None and sess.open <= local.time() < sess.close

    def status_line(self, now: datetime) -> str:
        """Short status for the status bar: OPEN/CLOSED and, if so, that a fallback is in use."""
        local = ensure_utc(now).astimezone(IST)
        state = "OPEN" if self.is_open(now) else "CLOSED"
        note = " (calendar: weekday fallback)" if self.uses_fallback(local.date()) else ""
        return f"NSE {state} {local:%H:%M:%S} IST{note}"
