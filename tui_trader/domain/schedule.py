"""When a scheduled strategy's legs fire: the next trading day's buy and sell instants.

A strategy started after its buy_time on a trading day does not buy that day; the note says
why and when the first buy will be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

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
            note = (f"started after buy_time {buy_time:%H:%M} IST today, so no buy today; "
                    f"first buy {day:%a %d %b} {buy_time:%H:%M} IST")
    else:
        day = calendar.next_trading_day(today)
        note = f"not a trading day today; first buy {day:%a %d %b} {buy_time:%H:%M} IST"
    if not note:
        note = f"next buy {day:%a %d %b} {buy_time:%H:%M} IST, sell {sell_time:%H:%M} IST"
    return LegPlan(day=day, buy_at=ist_datetime(day, buy_time),
                   sell_at=ist_datetime(day, sell_time), note=note)


def sell_today(calendar: NseCalendar, now: datetime, sell_time: time) -> datetime | None:
    """Today's sell instant if today is a trading day and it is still ahead (used when a
    strategy restarts holding a bought position)."""
    local = ensure_utc(now).astimezone(IST)
    if calendar.is_trading_day(local.date()) and local.time() < sell_time:
        return ist_datetime(local.date(), sell_time)
    return None
