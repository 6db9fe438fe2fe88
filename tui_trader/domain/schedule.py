"""When a scheduled strategy's legs fire: the next trading day's buy and sell instants.

A strategy started after its buy_time on a trading day does not buy that day; the note says
why and when the first buy will be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .calendar import NseCalendar
from .clock import IST, ensure_utc, ist_datetime


@dataclass(frozen=True)
class LegPlan:
    day: date
    buy_at: datetime  # UTC-aware
    sell_at: datetime  # UTC-aware
    note: str


def plan_legs(calendar: NseCalendar, now: datetime, buy_time: time, sell_time: time) -> LegPlan:
    """The next (buy, sell) pair whose buy is still ahead of `now`."""
    local = ensure_utc(now).astimezone(IST)
    today = local.date()
    note = ""
    if calendar.is_trading_day(today):
        if local.time() < buy_time:
            day = today
        else:
            day = calendar.next_trading_day(today)
            note = (f"started after today's Buy at {buy_time:%H:%M} IST, so no buy today; "
                    f"first buy {day:%a %d %b} {buy_time:%H:%M} IST")
    else:
        day = calendar.next_trading_day(today)
        note = f"not a trading day today; first buy {day:%a %d %b} {buy_time:%H:%M} IST"
    if not note:
        note = upcoming_note(day, buy_time, sell_time)
    return LegPlan(day=day, buy_at=ist_datetime(day, buy_time),
                   sell_at=ist_datetime(day, sell_time), note=note)


def upcoming_note(day: date, buy_time: time, sell_time: time) -> str:
    """A running strategy's status line: when it buys and sells next."""
    return f"next buy {day:%a %d %b} {buy_time:%H:%M} IST, sell {sell_time:%H:%M} IST"


def sell_today(calendar: NseCalendar, now: datetime, sell_time: time) -> datetime | None:
    """Today's sell instant if today is a trading day and it is still ahead (used when a
    strategy restarts holding a bought position)."""
    local = ensure_utc(now).astimezone(IST)
    if calendar.is_trading_day(local.date()) and local.time() < sell_time:
        return ist_datetime(local.date(), sell_time)
    return None


# A strategy's status line starts with this while its last BUY was missed (the console was
# closed): the engine writes it, the strategies table marks the row.
MISSED_NOTE = "missed "

# How far back missed BUYs are looked for (a console closed for longer says "at least").
MISSED_LOOKBACK = timedelta(days=31)


def missed_buys(calendar: NseCalendar, since: datetime, now: datetime,
                buy_time: time) -> list[date]:
    """The trading days whose BUY instant fell after `since` (the strategy was started, or
    last had its BUY handled) and at or before `now`: BUYs nobody was running to place."""
    start = max(ensure_utc(since), ensure_utc(now) - MISSED_LOOKBACK)
    day = start.astimezone(IST).date()
    today = ensure_utc(now).astimezone(IST).date()
    days: list[date] = []
    while day <= today:
        if calendar.is_trading_day(day) and start < ist_datetime(day, buy_time) <= now:
            days.append(day)
        day += timedelta(days=1)
    return days
