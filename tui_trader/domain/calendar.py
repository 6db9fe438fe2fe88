"""NSE trading days and session hours.

Trading days come from `exchange-calendars` (XBOM shares NSE's holidays). Its release knows
sessions only up to a last date; past it we fall back to weekdays minus a holidays file the
user can edit (one `YYYY-MM-DD` per line, `#` comments). Special sessions (Muhurat trading,
Budget Saturday) are lines `YYYY-MM-DD special HH:MM-HH:MM`: that day is a trading day whose
one session is that window. The calendar is loaded lazily: importing exchange-calendars
costs half a second and must not slow start-up.
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

    def holds(self, start: time, end: time) -> bool:
        """Whether both times (IST) fall inside this session, its open and close included."""
        return self.open <= start and end <= self.close

    def describe(self) -> str:
        """'Sun 08 Nov 18:15-19:15 IST (special)': how a trader names the session."""
        kind = " (special)" if self.special else ""
        return f"{self.day:%a %d %b} {self.open:%H:%M}-{self.close:%H:%M} IST{kind}"


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

                    # Every session the release knows, not its default window (20 years back
                    # to one year ahead of the real date): what counts as a trading day must
                    # not depend on the day the console happens to start.
                    from exchange_calendars.exchange_calendar_xbom import (
                        XBOMExchangeCalendar as Xbom,
                    )

                    bounds = {"start": Xbom.bound_min(), "end": Xbom.bound_max()}
                    cal = xc.get_calendar("XBOM", **{k: v for k, v in bounds.items()
                                                     if v is not None})
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

    @property
    def first_known_session(self) -> date | None:
        self._load()
        return self._first

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

    def special_sessions(self, on_or_after: date) -> list[Session]:
        """The special sessions (holidays file) from a day on, in date order."""
        return [Session(day, start, end, special=True)
                for day, (start, end) in sorted(self._holidays.special.items())
                if day >= on_or_after]

    def is_open(self, now: datetime) -> bool:
        local = ensure_utc(now).astimezone(IST)
        sess = self.session(local.date())
        return sess is not None and sess.open <= local.time() < sess.close

    def next_open(self, now: datetime) -> Session | None:
        """The next session that opens after `now`: today's if it has not opened yet, else
        the next trading day's (special sessions and the weekday fallback included)."""
        local = ensure_utc(now).astimezone(IST)
        today = self.session(local.date())
        if today is not None and local.time() < today.open:
            return today
        try:
            return self.session(self.next_trading_day(local.date()))
        except ValueError:
            return None

    def market_state(self, now: datetime) -> tuple[str, str]:
        """('NSE CLOSED 20:15:03 IST', 'opens Mon 09:15'): OPEN or CLOSED with the IST time,
        and when it next opens (or, in a special session, when that closes); the second is
        '' when there is nothing to add."""
        local = ensure_utc(now).astimezone(IST)
        if self.is_open(now):
            sess = self.session(local.date())
            extra = f"special session to {sess.close:%H:%M}" if sess and sess.special else ""
            return f"NSE OPEN {local:%H:%M:%S} IST", extra
        upcoming = self.next_open(now)
        extra = ""
        if upcoming is not None:
            # A weekday name is enough within the week; further off it needs the date.
            far = (upcoming.day - local.date()).days >= 7
            when = f"{upcoming.day:%d %b}" if far else f"{upcoming.day:%a}"
            kind = " special" if upcoming.special else ""
            extra = f"opens {when} {upcoming.open:%H:%M}{kind}"
        return f"NSE CLOSED {local:%H:%M:%S} IST", extra

    def status_line(self, now: datetime) -> str:
        """The market state as one line: 'NSE CLOSED 20:15:03 IST · opens Mon 09:15'."""
        return " · ".join(part for part in self.market_state(now) if part)

    def fallback_note(self, now: datetime) -> str:
        """'' while exchange-calendars knows today; else a short, plain note for the status
        bar that trading days are now guessed: weekdays minus the holidays file."""
        day = ensure_utc(now).astimezone(IST).date()
        upcoming = self.next_open(now)
        # Also on the evening before: the "opens" time shown is then already a guess.
        if not any(self.uses_fallback(d) for d in (day, upcoming.day if upcoming else day)):
            return ""
        last = self.last_known_session
        if last is None:
            return "NSE calendar unavailable: weekdays minus holidays.txt"
        if day < (self._first or day):
            return "outside the NSE calendar: weekdays minus holidays.txt"
        return f"NSE calendar ends {last:%d %b %Y}: weekdays minus holidays.txt"


# How long before the calendar's last known session the console starts warning about it.
END_WARNING = timedelta(days=30)


def calendar_notice(calendar: NseCalendar, now: datetime, holidays: Path) -> str | None:
    """A one-line notice for start-up when the calendar has run out, or will within
    END_WARNING: past its last session every weekday is a trading day unless the holidays
    file says otherwise, so the trader must add NSE's holidays there."""
    day = ensure_utc(now).astimezone(IST).date()
    last = calendar.last_known_session
    rule = f"every weekday counts as a trading day except those listed in {holidays}"
    if last is None:
        return f"The NSE calendar could not be loaded: {rule}"
    if day > last:
        return f"NSE holidays after {last:%d %b %Y} are not known to this install: {rule}"
    if last - day <= END_WARNING:
        return (f"NSE holidays are known up to {last:%d %b %Y}; from "
                f"{last + timedelta(days=1):%d %b %Y} {rule}")
    return None
