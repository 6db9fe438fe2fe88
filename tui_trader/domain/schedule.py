"""When a scheduled strategy's legs fire: the next trading day's buy and sell instants.

Both legs fall within the session of the day they are planned on: a regular day's
09:15-15:30 IST, a special session's own window (Muhurat trading, say). A day whose session
does not hold both legs is skipped, so a regular strategy never sends a MARKET order into a
closed market on a Muhurat Sunday, and a strategy written for the Muhurat window trades only
on that day. A strategy started after its buy_time on a trading day does not buy that day;
the note says why and when the first buy will be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .calendar import NseCalendar, Session
from .clock import IST, ensure_utc, ist_datetime
from .errors import StateError

# How far ahead a plan looks for a session that holds the legs.
PLAN_HORIZON_DAYS = 400


class NoSessionAhead(StateError):
    """No session within the horizon holds both legs (a special-session strategy after its
    day has passed, say)."""

    def __init__(self, buy_time: time, sell_time: time) -> None:
        super().__init__(f"Buy at: no NSE session in the next {PLAN_HORIZON_DAYS} days "
                         f"holds buy {buy_time:%H:%M} and sell {sell_time:%H:%M} IST "
                         f"(regular hours are 09:15-15:30; special sessions come from "
                         f"holidays.txt)")


@dataclass(frozen=True)
class LegPlan:
    day: date
    buy_at: datetime  # UTC-aware
    sell_at: datetime  # UTC-aware
    note: str
    special: bool = False  # planned in a special session


def _first_buy(session: Session, buy_time: time) -> str:
    special = f" (special session {session.open:%H:%M}-{session.close:%H:%M})" \
        if session.special else ""
    return f"first buy {session.day:%a %d %b} {buy_time:%H:%M} IST{special}"


def plan_legs(calendar: NseCalendar, now: datetime, buy_time: time, sell_time: time) -> LegPlan:
    """The next (buy, sell) pair whose buy is still ahead of `now`, on a day whose session
    holds both. Raises NoSessionAhead when no such day comes within PLAN_HORIZON_DAYS."""
    local = ensure_utc(now).astimezone(IST)
    today = local.date()
    chosen: Session | None = None
    for offset in range(PLAN_HORIZON_DAYS):
        day = today + timedelta(days=offset)
        session = calendar.session(day)
        if session is None or not session.holds(buy_time, sell_time):
            continue
        if day == today and local.time() >= buy_time:
            continue
        chosen = session
        break
    if chosen is None:
        raise NoSessionAhead(buy_time, sell_time)
    todays = calendar.session(today)
    if chosen.day == today:
        note = upcoming_note(chosen.day, buy_time, sell_time, special=chosen.special)
    elif todays is None:
        note = f"not a trading day today; {_first_buy(chosen, buy_time)}"
    elif not todays.holds(buy_time, sell_time):
        note = (f"today's session {todays.open:%H:%M}-{todays.close:%H:%M} IST does not hold "
                f"these times; {_first_buy(chosen, buy_time)}")
    else:
        note = (f"started after today's Buy at {buy_time:%H:%M} IST, so no buy today; "
                f"{_first_buy(chosen, buy_time)}")
    return LegPlan(day=chosen.day, buy_at=ist_datetime(chosen.day, buy_time),
                   sell_at=ist_datetime(chosen.day, sell_time), note=note,
                   special=chosen.special)


def upcoming_note(day: date, buy_time: time, sell_time: time, *, special: bool = False) -> str:
    """A running strategy's status line: when it buys and sells next."""
    kind = " (special session)" if special else ""
    return f"next buy {day:%a %d %b} {buy_time:%H:%M} IST, sell {sell_time:%H:%M} IST{kind}"


def sell_today(calendar: NseCalendar, now: datetime, sell_time: time) -> datetime | None:
    """Today's sell instant if today's session holds sell_time and it is still ahead (used
    when a strategy restarts holding a bought position)."""
    local = ensure_utc(now).astimezone(IST)
    session = calendar.session(local.date())
    if session is not None and session.holds(sell_time, sell_time) and \
            local.time() < sell_time:
        return ist_datetime(local.date(), sell_time)
    return None


# A strategy's status line starts with this while its last BUY was missed (the console was
# closed): the engine writes it, the strategies table marks the row.
MISSED_NOTE = "missed "

# How far back missed BUYs are looked for (a console closed for longer says "at least").
MISSED_LOOKBACK = timedelta(days=31)


def missed_buys(calendar: NseCalendar, since: datetime, now: datetime,
                buy_time: time) -> list[date]:
    """The days whose BUY instant fell after `since` (the strategy was started, or last had
    its BUY handled) and at or before `now`, in a session that holds it: BUYs nobody was
    running to place."""
    start = max(ensure_utc(since), ensure_utc(now) - MISSED_LOOKBACK)
    day = start.astimezone(IST).date()
    today = ensure_utc(now).astimezone(IST).date()
    days: list[date] = []
    while day <= today:
        session = calendar.session(day)
        if session is not None and session.holds(buy_time, buy_time) and \
                start < ist_datetime(day, buy_time) <= now:
            days.append(day)
        day += timedelta(days=1)
    return days
