"""The scheduled kind fires exactly the legs the engine's scheduler fires today: same days,
same instants, same skips, same replanning, same restart-holding sell."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from tui_trader.domain.clock import IST, FrozenClock
from tui_trader.domain.enums import ExecutionMode, StrategyKind, StrategyStatus
from tui_trader.domain.strategy import StrategySpec
from tui_trader.engine.scheduler import LegScheduler, ManualSchedule
from tui_trader.strategies.base import KindContext
from tui_trader.strategies.registry import make_kind
from tui_trader.strategies.signals import Action, Holding

from .conftest import HOLIDAY, MONDAY, MUHURAT, ist

LEG = {Action.ENTER_LONG: "BUY", Action.EXIT: "SELL"}


def spec(buy: time, sell: time) -> StrategySpec:
    return StrategySpec(uuid.uuid4(), uuid.uuid4(), "s", StrategyKind.SCHEDULED, "INFY", "NSE",
                        buy, sell, Decimal("1"), 1, ExecutionMode.PAPER, StrategyStatus.RUNNING)


def engine_legs(calendar, start: datetime, wakes: list[datetime], buy: time, sell: time,
                holding: bool = False):
    clock, runner, fired, told = FrozenClock(start), ManualSchedule(), [], []
    scheduler = LegScheduler(runner, calendar, clock, lambda s, leg, at: fired.append(
        (leg.value, at)), no_session=lambda s, why: told.append(why))
    s = spec(buy, sell)
    scheduler.schedule(s)
    if holding:
        from tui_trader.domain.schedule import sell_today

        at = sell_today(calendar, start, sell)
        if at is not None:
            scheduler.schedule_sell_only(s, at)
    for wake in wakes:
        clock.set(wake)
        runner.run_due(wake)
    return fired, told


def kind_legs(calendar, start: datetime, wakes: list[datetime], buy: time, sell: time,
              holding: bool = False):
    kind = make_kind("scheduled", {"buy_time": buy, "sell_time": sell},
                     KindContext("INFY", calendar))
    kind.on_start(start, Holding.LONG if holding else Holding.FLAT)
    fired = []
    for wake in wakes:
        if kind.wake_at() is not None and kind.wake_at() <= wake:
            fired += [(LEG[s.action], s.at) for s in kind.on_time(wake, Holding.FLAT)]
    return fired, kind


def on_time_wakes(calendar, start, until, buy, sell):
    """Every planned instant the engine's jobs would wake at (each minute of each day)."""
    out, day = [], start.date()
    while ist(day, 0, 0) < until:
        for t in (buy, sell):
            at = ist(day, t.hour, t.minute)
            if start < at < until:
                out.append(at)
        day += timedelta(days=1)
    return sorted(out)


@pytest.mark.parametrize(("start", "buy", "sell"), [
    (ist(MONDAY - timedelta(days=2), 12, 0), time(9, 30), time(15, 0)),  # from a Saturday
    (ist(MONDAY, 11, 0), time(9, 30), time(15, 0)),  # after today's buy: starts tomorrow
    (ist(MONDAY, 9, 0), time(18, 20), time(19, 5)),  # the Muhurat window only
    (ist(MONDAY, 9, 0), time(9, 15), time(15, 30)),  # the session's own edges
])
def test_legs_on_time_match_the_engine(calendar, start, buy, sell):
    until = start + timedelta(days=12)
    wakes = on_time_wakes(calendar, start, until, buy, sell)
    fired, told = engine_legs(calendar, start, wakes, buy, sell)
    got, kind = kind_legs(calendar, start, wakes, buy, sell)
    assert got == fired and fired
    assert all(at.astimezone(IST).date() != HOLIDAY for _, at in got)
    if told:  # nothing more planned: the kind says the same words
        assert kind.wake_at() is None and kind.status() == told[-1]


def test_a_muhurat_strategy_says_nothing_more_is_planned_after_its_evening(calendar):
    start = ist(MONDAY, 9, 0)
    wakes = [ist(MUHURAT, 18, 20), ist(MUHURAT, 19, 5)]
    fired, told = engine_legs(calendar, start, wakes, time(18, 20), time(19, 5))
    got, kind = kind_legs(calendar, start, wakes, time(18, 20), time(19, 5))
    assert got == fired == [("BUY", wakes[0]), ("SELL", wakes[1])]
    assert told and kind.status() == told[-1] and "no NSE session" in told[-1]


def test_late_legs_fire_together_and_skip_a_day_that_is_not_trading(calendar):
    start = ist(MONDAY, 16, 0)  # plans Tuesday; the machine sleeps into Wednesday's holiday
    wakes = [ist(HOLIDAY, 10, 0), ist(HOLIDAY + timedelta(days=1), 16, 0)]
    fired, _ = engine_legs(calendar, start, wakes, time(9, 30), time(15, 0))
    got, _ = kind_legs(calendar, start, wakes, time(9, 30), time(15, 0))
    assert got == fired == [("BUY", wakes[1]), ("SELL", wakes[1])]


def test_a_restart_holding_a_position_sells_today(calendar):
    start = ist(MONDAY, 11, 0)
    wakes = on_time_wakes(calendar, start, start + timedelta(days=3), time(9, 30), time(15, 0))
    fired, _ = engine_legs(calendar, start, wakes, time(9, 30), time(15, 0), holding=True)
    got, _ = kind_legs(calendar, start, wakes, time(9, 30), time(15, 0), holding=True)
    assert got == fired and got[0] == ("SELL", ist(MONDAY, 15, 0))


def test_its_state_resumes_the_plan(calendar):
    import json

    start = ist(MONDAY, 8, 0)
    kind = make_kind("scheduled", {"buy_time": time(9, 30), "sell_time": time(15, 0)},
                     KindContext("INFY", calendar))
    kind.on_start(start, Holding.FLAT)
    kind.on_time(ist(MONDAY, 9, 30), Holding.FLAT)
    state = json.loads(json.dumps(kind.state()))
    again = make_kind("scheduled", {"buy_time": time(9, 30), "sell_time": time(15, 0)},
                      KindContext("INFY", calendar), state)
    assert again.wake_at() == kind.wake_at() == ist(MONDAY, 15, 0)
    assert [s.action for s in again.on_time(ist(MONDAY, 15, 0), Holding.LONG)] == [Action.EXIT]
    assert again.wake_at() == ist(MONDAY + timedelta(days=1), 9, 30)
