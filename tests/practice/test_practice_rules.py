"""Practice days' rules and market: which day, what speed, the simulated session's candles
and the replay that follows a simulated clock."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from tui_trader.brokers.feeds.replay import ReplayFeed
from tui_trader.brokers.feeds.session import simulated_session
from tui_trader.domain.calendar import HolidayFile, NseCalendar
from tui_trader.domain.clock import IST, FrozenClock, SimulatedClock
from tui_trader.domain.practice import PracticeInputError, plan_practice

CALENDAR = NseCalendar()
SUNDAY = date(2026, 12, 6)


def test_the_default_day_is_the_last_trading_day_before_today():
    plan = plan_practice(CALENDAR, None, None, SUNDAY)
    assert plan.day == date(2026, 12, 4) and plan.speed == 60
    assert plan.label() == "PRACTICE 2026-12-04 ×60"
    assert plan.starts_at == datetime(2026, 12, 4, 9, 14, tzinfo=IST)
    assert plan.ends_at == datetime(2026, 12, 4, 15, 30, tzinfo=IST)
    # On a trading day itself, still the one before (today's session is the real one).
    assert plan_practice(CALENDAR, None, "2.5", date(2026, 12, 4)).day == date(2026, 12, 3)
    assert plan_practice(CALENDAR, None, "2.5", date(2026, 12, 4)).label().endswith("×2.5")
    # Past the calendar's end: its last session.
    last = CALENDAR.last_known_session
    assert plan_practice(CALENDAR, None, None, last + timedelta(days=400)).day == last


def test_a_special_session_is_practised_in_its_own_window():
    muhurat = NseCalendar(HolidayFile.parse("2026-11-08 special 18:15-19:15"))
    plan = plan_practice(muhurat, "2026-11-08", "60", SUNDAY)
    assert plan.starts_at == datetime(2026, 11, 8, 18, 14, tzinfo=IST)


@pytest.mark.parametrize("day,speed,message", [
    ("2026-12-05", None, "--date 2026-12-05 is not a trading day (Saturday); try 2026-12-04"),
    ("2026-10-02", None, "--date 2026-10-02 is not a trading day (an NSE holiday, Friday); "
                         "try 2026-10-01"),
    ("2040-01-02", None, "--date 2040-01-02 is beyond the NSE calendar (it knows "),
    ("1990-01-02", None, "--date 1990-01-02 is beyond the NSE calendar (it knows "),
    ("2026-02-30", None, "--date must be a date like 2026-12-04, got '2026-02-30'"),
    ("2026-11-20", "0.5", "--speed must be a number from 1 to 1000 (times real time), got 0.5"),
    ("2026-11-20", "inf", "--speed must be a number from 1 to 1000 (times real time), got inf"),
    ("2026-11-20", "nan", "--speed must be a number from 1 to 1000 (times real time), got nan"),
    ("2026-11-20", "x", "--speed must be a number from 1 to 1000 (times real time), got 'x'"),
])
def test_bad_input_is_one_line_naming_the_option(day, speed, message):
    with pytest.raises(PracticeInputError) as caught:
        plan_practice(CALENDAR, day, speed, SUNDAY)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_the_simulated_session_is_seeded_and_covers_the_session():
    session = CALENDAR.session(date(2026, 11, 20))
    first = simulated_session(session, ["INFY", "TCS"], seed=33)
    assert first == simulated_session(session, ["INFY", "TCS"], seed=33)
    assert first != simulated_session(session, ["INFY", "TCS"], seed=34)
    # Another date has the same market (the demo's stop is hit on any day).
    other = simulated_session(CALENDAR.session(date(2026, 11, 19)), ["INFY", "TCS"], seed=33)
    assert [c[2:] for c in other] == [c[2:] for c in first]
    assert len(first) == 2 * 375
    assert first[0][1] == session.open_at() and first[-1][1] == session.close_at() - \
        timedelta(minutes=1)
    for _, _, o, h, low, c, volume in first:
        assert low <= min(o, c) <= max(o, c) <= h and volume > 0
        assert all(p % Decimal("0.05") == 0 for p in (o, h, low, c))
    # It starts from INFY's reference price, 1520.40, the first tick one step on.
    assert abs(first[0][2] - Decimal("1520.40")) < Decimal("1520.40") * Decimal("0.002")


def test_a_replay_following_the_clock_hands_over_a_batch_only_when_it_is_due():
    start = datetime(2026, 11, 20, 9, 15, tzinfo=IST)
    clock = FrozenClock(start - timedelta(minutes=1))
    candles = [("INFY", start, Decimal(100), Decimal(101), Decimal(99), Decimal(100), 8)]
    feed = ReplayFeed(candles, 60, clock=clock, follow_clock=True)
    assert feed.next_batch() == []  # 09:14: not yet
    assert feed._delay_before_next() == 1.0  # a market minute at 60x
    clock.set(start)
    assert [t.price for t in feed.next_batch()] == [Decimal(100)]
    assert feed.next_batch() == []  # the next tick is 15 s on
    clock.advance(timedelta(seconds=15))
    assert [t.price for t in feed.next_batch()] == [Decimal(99)]


def test_a_simulated_clock_restarts_from_its_start():
    ticks = iter([0.0, 10.0, 10.0, 11.0])
    clock = SimulatedClock(datetime(2026, 11, 20, 9, 14, tzinfo=IST), 60,
                           monotonic=lambda: next(ticks))
    assert clock.now() == datetime(2026, 11, 20, 9, 24, tzinfo=IST)
    clock.restart()
    assert clock.now() == datetime(2026, 11, 20, 9, 15, tzinfo=IST)


def test_a_held_simulated_clock_stands_at_its_start_until_restarted():
    ticks = iter([0.0, 9.0, 10.0])
    clock = SimulatedClock(datetime(2026, 11, 20, 9, 14, tzinfo=IST), 60,
                           monotonic=lambda: next(ticks))
    clock.hold()
    assert clock.now() == datetime(2026, 11, 20, 9, 14, tzinfo=IST)  # held: time stands
    clock.restart()  # at 9.0
    assert clock.now() == datetime(2026, 11, 20, 9, 15, tzinfo=IST)  # 1 s later, 60x
