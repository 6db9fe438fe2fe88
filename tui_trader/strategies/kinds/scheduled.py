"""Scheduled: BUY at buy_time and SELL at sell_time, IST, on the days whose session holds
both legs -- the engine's behaviour today (engine/scheduler.py), in the kind protocol.

The same rules, leg for leg: the pair is planned by `domain.schedule.plan_legs` from the
start instant; a leg fires when the clock reaches it, late or not, with the instant it
fired; a leg that comes due on a day that is not a trading day (a machine that slept into a
holiday) is skipped; once the SELL has fired the next session's pair is planned; a strategy
that restarts holding a position also sells today at sell_time if today's session holds it
and it is still ahead (`sell_today`). When no session ahead holds the legs nothing is
planned and `status()` says why. The legs ignore the position, as today: the engine decides
what a BUY or SELL does then.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...domain.calendar import NseCalendar
from ...domain.clock import IST, ensure_utc
from ...domain.enums import StrategyKind
from ...domain.kind_params import ScheduledParams
from ...domain.schedule import NoSessionAhead, plan_legs, sell_today, upcoming_note
from ..base import Kind, KindContext
from ..signals import Action, Holding, Signal

BUY, SELL, SELL_TODAY = "buy", "sell", "sell_today"


class Scheduled(Kind):
    kind = StrategyKind.SCHEDULED

    def __init__(self, params: ScheduledParams, context: KindContext,
                 state: Mapping[str, Any] | None = None) -> None:
        super().__init__(params, context, state)
        if context.calendar is None:
            raise ValueError("a scheduled strategy needs the calendar")
        self.p = params
        self.calendar: NseCalendar = context.calendar
        state = state or {}
        # leg -> when it fires (UTC), for the legs still to fire
        self.legs: dict[str, datetime] = {k: datetime.fromisoformat(v)
                                          for k, v in state.get("legs", {}).items()}
        self.day: str | None = state.get("day")
        self.special: bool = bool(state.get("special", False))
        self.note: str = state.get("note", "")

    def on_start(self, now: datetime, holding: Holding) -> list[Signal]:
        self._plan(now)
        if holding is Holding.LONG:
            at = sell_today(self.calendar, now, self.p.sell_time)
            if at is not None:
                self.legs[SELL_TODAY] = at
        return []

    def _plan(self, now: datetime) -> None:
        self.legs.pop(BUY, None)
        self.legs.pop(SELL, None)
        try:
            plan = plan_legs(self.calendar, now, self.p.buy_time, self.p.sell_time)
        except NoSessionAhead as exc:
            self.day, self.special, self.note = None, False, exc.message
            return
        self.legs[BUY], self.legs[SELL] = plan.buy_at, plan.sell_at
        self.day, self.special, self.note = plan.day.isoformat(), plan.special, plan.note

    def wake_at(self) -> datetime | None:
        return min(self.legs.values(), default=None)

    def on_time(self, now: datetime, holding: Holding) -> list[Signal]:
        now = ensure_utc(now)
        signals: list[Signal] = []
        due = sorted((at, leg) for leg, at in self.legs.items() if at <= now)
        for _, leg in due:
            if leg not in self.legs:
                continue  # the plan moved on meanwhile
            del self.legs[leg]
            if leg == SELL_TODAY:
                signals.append(Signal(Action.EXIT, f"Sell at {self.p.sell_time:%H:%M} IST "
                                                   f"(restarted holding)", now))
                continue
            if not self.calendar.is_trading_day(now.astimezone(IST).date()):
                self.note = f"{leg.upper()} skipped: {now.astimezone(IST):%a %d %b} is not " \
                            f"a trading day"
            elif leg == BUY:
                signals.append(Signal(Action.ENTER_LONG,
                                      f"Buy at {self.p.buy_time:%H:%M} IST", now))
            else:
                signals.append(Signal(Action.EXIT, f"Sell at {self.p.sell_time:%H:%M} IST",
                                      now))
            if leg == SELL:
                self._plan(now)  # the day's pair is done: plan the next session's
        return signals

    def state(self) -> dict[str, Any]:
        return {"legs": {k: v.isoformat() for k, v in self.legs.items()}, "day": self.day,
                "special": self.special, "note": self.note}

    def status(self) -> str:
        if self.day is None:
            return self.note
        from datetime import date

        return upcoming_note(date.fromisoformat(self.day), self.p.buy_time,
                             self.p.sell_time, special=self.special)
