"""Practice days, the rules only: which day may be practised, at what speed, from which
instant, and what the status bar calls it. No I/O: the calendar and today's date are given.

A practice day is an NSE trading day (by default the last one before today) replayed on a
simulated clock N times faster than real time. Its date must be a trading day the calendar
knows: a weekend or a holiday is refused with the nearest trading day before it, and so is
a date outside the calendar's range (before its first session or after its last: there
nobody knows the holidays, so any answer would be a guess).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .calendar import NseCalendar, Session
from .errors import ValidationError

DEFAULT_SPEED = 60  # one market minute a second: the demo's first hour in about a minute
MIN_SPEED = 1
MAX_SPEED = 1000  # the simulated clock's own limit (TUI_TRADER_CLOCK_SPEED)
LEAD_IN = timedelta(minutes=1)  # the clock starts this long before the session opens


@dataclass(frozen=True)
class PracticePlan:
    """A checked practice day: its session, and the speed its clock runs at."""

    session: Session
    speed: float

    @property
    def day(self) -> date:
        return self.session.day

    @property
    def starts_at(self) -> datetime:
        """Where the simulated clock starts: shortly before the session opens."""
        return self.session.open_at() - LEAD_IN

    @property
    def ends_at(self) -> datetime:
        return self.session.close_at()

    def label(self) -> str:
        """'PRACTICE 2026-12-04 ×60': what the status bar says while it runs."""
        return f"PRACTICE {self.day.isoformat()} ×{speed_text(self.speed)}"


def speed_text(speed: float) -> str:
    return str(int(speed)) if float(speed).is_integer() else f"{speed:g}"


def parse_speed(text: str | float | None) -> float:
    """The practice speed: a number from MIN_SPEED to MAX_SPEED (times real time)."""
    if text is None:
        return float(DEFAULT_SPEED)
    rule = f"must be a number from {MIN_SPEED} to {MAX_SPEED} (times real time)"
    try:
        speed = float(text)
    except (TypeError, ValueError):
        raise PracticeInputError("--speed", f"{rule}, got {str(text)[:20]!r}") from None
    if not math.isfinite(speed) or not MIN_SPEED <= speed <= MAX_SPEED:
        raise PracticeInputError("--speed", f"{rule}, got {str(text)[:20]}")
    return speed


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PracticeInputError("--date", f"must be a date like 2026-12-04, got "
                                      f"{text.strip()[:20]!r}") from None


def previous_trading_day(calendar: NseCalendar, day: date) -> date | None:
    """The last trading day strictly before `day` that the calendar knows, or None."""
    first = _first_known(calendar)
    probe = day - timedelta(days=1)
    for _ in range(400):
        if first is not None and probe < first:
            return None
        if calendar.is_trading_day(probe) and not calendar.uses_fallback(probe):
            return probe
        probe -= timedelta(days=1)
    return None


def default_day(calendar: NseCalendar, today: date) -> date:
    """The last trading day before today (the calendar's last session when today lies past
    it: an install whose calendar has run out still practises a day it knows)."""
    last = calendar.last_known_session
    if last is not None and today > last:
        today = last + timedelta(days=1)
    day = previous_trading_day(calendar, today)
    if day is None:
        raise PracticeInputError("--date", "is needed: the NSE calendar knows no trading "
                                             "day before today")
    return day


def plan_practice(calendar: NseCalendar, day_text: str | None, speed_text_: str | float | None,
                  today: date) -> PracticePlan:
    """Check the practice date and speed; one ValidationError naming the option and the rule
    for anything wrong (the caller has written nothing yet)."""
    speed = parse_speed(speed_text_)
    day = default_day(calendar, today) if day_text is None else parse_day(day_text)
    last, first = calendar.last_known_session, _first_known(calendar)
    if last is None:
        raise PracticeInputError("--date", "cannot be checked: the NSE calendar is not "
                                             "available in this install")
    if day > last or (first is not None and day < first):
        raise PracticeInputError("--date", f"{day.isoformat()} is beyond the NSE calendar (it "
                                      f"knows {first or '?'} to {last}); pick a day in it")
    session = calendar.session(day)
    if session is None:
        before = previous_trading_day(calendar, day)
        hint = f"; try {before.isoformat()}" if before else ""
        raise PracticeInputError("--date", f"{day.isoformat()} is not a trading day "
                                      f"({_why_closed(day)}){hint}")
    return PracticePlan(session=session, speed=speed)


def _why_closed(day: date) -> str:
    return f"{day:%A}" if day.weekday() >= 5 else f"an NSE holiday, {day:%A}"


def _first_known(calendar: NseCalendar) -> date | None:
    return calendar.first_known_session


class PracticeInputError(ValidationError):
    """A bad practice option, said as the command line names it: '--date 2026-12-05 is
    not a trading day (Saturday); try 2026-12-04'."""

    def __init__(self, option: str, rule: str) -> None:
        super().__init__(option, rule)
        self.message = f"{option} {rule}"
        self.args = (self.message,)
