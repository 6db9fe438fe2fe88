"""The time-sensitive parts of the console and engine on the awkward days: a Saturday, an NSE
holiday, 23:59 and 00:01 IST (when the UTC date is still the previous day), the NSE
calendar's last known session and beyond it (the weekday fallback with a trader's
holidays.txt), and a Muhurat special session.

Every instant is set on the frozen clock the code reads, never taken from the wall, so the
answers are the same whatever the real date and hour.
"""

from __future__ import annotations

import threading
import time as _time
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from tui_trader.db.models import Notification, Order, Position, Strategy
from tui_trader.domain.clock import IST, SimulatedClock, ist_date, ist_datetime
from tui_trader.domain.enums import OrderReason, OrderStatus, PositionStatus, TriggerEvent
from tui_trader.domain.errors import StateError, ValidationError
from tui_trader.domain.schedule import plan_legs
from tui_trader.services.strategies import StrategyService
from tui_trader.services.trading import TradingViews

from .conftest import FORM, Harness

# What a trader puts in holidays.txt (the config dir) once the exchange calendar runs out.
HOLIDAYS = """\
# NSE holidays and special sessions the exchange calendar does not know
2026-11-08 special 18:15-19:15   # Diwali Muhurat trading, a Sunday
2027-01-26                       # Republic Day
2027-02-06 special 09:15-15:30   # a Budget Saturday
"""
FALLBACK = "NSE calendar ends 31 Dec 2026: weekdays minus holidays.txt"
MUHURAT = {**FORM, "name": "INFY Muhurat", "buy_time": "18:20", "sell_time": "19:05"}


def ist(y: int, m: int, d: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=IST)


@dataclass(frozen=True)
class Moment:
    at: datetime
    is_open: bool
    status: str
    note: str  # the calendar note beside it in the status bar
    day: date  # the day a 09:30-15:00 strategy started at `at` first buys
    why: str  # a fragment of the note its start returns


MOMENTS = {
    "saturday": Moment(ist(2026, 11, 21, 10, 0), False,
                       "NSE CLOSED 10:00:00 IST · opens Mon 09:15", "", date(2026, 11, 23),
                       "not a trading day today; first buy Mon 23 Nov 09:30 IST"),
    "nse-holiday": Moment(ist(2026, 11, 24, 11, 0), False,  # Guru Nanak Jayanti, a Tuesday
                          "NSE CLOSED 11:00:00 IST · opens Wed 09:15", "", date(2026, 11, 25),
                          "not a trading day today; first buy Wed 25 Nov 09:30 IST"),
    "friday-23:59": Moment(ist(2026, 11, 20, 23, 59), False,
                           "NSE CLOSED 23:59:00 IST · opens Mon 09:15", "", date(2026, 11, 23),
                           "no buy today; first buy Mon 23 Nov 09:30 IST"),
    "thursday-00:01": Moment(ist(2026, 11, 26, 0, 1), False,  # UTC: Wednesday 18:31
                             "NSE CLOSED 00:01:00 IST · opens Thu 09:15", "",
                             date(2026, 11, 26), "next buy Thu 26 Nov 09:30 IST, sell 15:00"),
    "market-open": Moment(ist(2026, 11, 23, 10, 30), True, "NSE OPEN 10:30:00 IST", "",
                          date(2026, 11, 25),  # Tuesday is Guru Nanak Jayanti
                          "no buy today; first buy Wed 25 Nov 09:30 IST"),
    "muhurat-eve": Moment(ist(2026, 11, 6, 16, 0), False,
                          "NSE CLOSED 16:00:00 IST · opens Sun 18:15 special", "",
                          date(2026, 11, 9), "no buy today; first buy Mon 09 Nov 09:30 IST"),
    "muhurat-session": Moment(ist(2026, 11, 8, 18, 30), True,
                              "NSE OPEN 18:30:00 IST · special session to 19:15", "",
                              date(2026, 11, 9), "today's session 18:15-19:15 IST does not "
                                                 "hold these times; first buy Mon 09 Nov"),
    "last-session-23:59": Moment(ist(2026, 12, 31, 23, 59), False,
                                 "NSE CLOSED 23:59:00 IST · opens Fri 09:15", FALLBACK,
                                 date(2027, 1, 1), "first buy Fri 01 Jan 09:30 IST"),
    "past-calendar-00:01": Moment(ist(2027, 1, 4, 0, 1), False,  # UTC: Sunday 18:31
                                  "NSE CLOSED 00:01:00 IST · opens Mon 09:15", FALLBACK,
                                  date(2027, 1, 4), "next buy Mon 04 Jan 09:30 IST"),
    "past-calendar-holiday": Moment(ist(2027, 1, 25, 16, 0), False,
                                    "NSE CLOSED 16:00:00 IST · opens Wed 09:15", FALLBACK,
                                    date(2027, 1, 27), "first buy Wed 27 Jan 09:30 IST"),
    "past-calendar-weekend": Moment(ist(2027, 1, 30, 10, 0), False,
                                    "NSE CLOSED 10:00:00 IST · opens Mon 09:15", FALLBACK,
                                    date(2027, 2, 1), "not a trading day today"),
    "past-calendar-special-saturday": Moment(
        ist(2027, 2, 5, 16, 0), False, "NSE CLOSED 16:00:00 IST · opens Sat 09:15 special",
        FALLBACK, date(2027, 2, 6),
        "first buy Sat 06 Feb 09:30 IST (special session 09:15-15:30)"),
}


@pytest.fixture
def holidays_txt(tmp_path):
    path = tmp_path / "holidays.txt"  # beside config.toml: the console's config dir
    path.write_text(HOLIDAYS, encoding="utf-8")
    return path


@pytest.fixture
def dated_ctx(holidays_txt, ctx):
    """The suite's context, built after holidays.txt is in the config dir (bootstrap reads
    it from there, as the console does)."""
    assert ctx.settings.holidays_file == holidays_txt
    assert ctx.calendar.session(date(2026, 11, 8)) is not None, "holidays.txt not read"
    return ctx


def _trader(ctx):
    from tui_trader.services.auth import AuthService
    from tui_trader.services.brokers import BrokerAccountService

    user = AuthService(ctx).sign_up("t@example.com", "password-t")
    BrokerAccountService(ctx, user.id).add_paper()
    return user


@pytest.mark.parametrize("name", list(MOMENTS))
def test_calendar_status_and_leg_plan_at(name):
    from tui_trader.domain.calendar import HolidayFile, NseCalendar

    moment = MOMENTS[name]
    cal = NseCalendar(HolidayFile.parse(HOLIDAYS))
    assert cal.is_open(moment.at) is moment.is_open
    assert cal.status_line(moment.at) == moment.status
    assert cal.fallback_note(moment.at) == moment.note
    plan = plan_legs(cal, moment.at, time(9, 30), time(15, 0))
    assert plan.day == moment.day, plan
    assert plan.buy_at == ist_datetime(moment.day, time(9, 30))
    assert plan.sell_at == ist_datetime(moment.day, time(15, 0))
    assert moment.why in plan.note, plan.note


@pytest.mark.parametrize("name", ["saturday", "nse-holiday", "friday-23:59", "thursday-00:01",
                                  "last-session-23:59", "past-calendar-holiday",
                                  "past-calendar-special-saturday"])
def test_engine_plans_and_fires_the_legs_at(name, dated_ctx):
    """The engine, started at the moment, plans BUY and SELL where the calendar says, and
    the BUY it fires belongs to the IST trading day it was planned on."""
    moment = MOMENTS[name]
    ctx = dated_ctx
    trader = _trader(ctx)
    strategy = StrategyService(ctx, trader.id).create(FORM)
    ctx.clock.set(moment.at)
    harness = Harness(ctx).start()
    try:
        result = harness.engine.start_strategy(trader.id, strategy.id)
        assert moment.why in result.message, result.message
        buy_at = ist_datetime(moment.day, time(9, 30))
        assert harness.runner.jobs() == {f"{strategy.id}:BUY": buy_at,
                                         f"{strategy.id}:SELL": ist_datetime(moment.day,
                                                                             time(15, 0))}
        harness.tick("INFY", "1520.00")
        ctx.clock.set(buy_at)
        harness.runner.run_due(ctx.clock.now())
        harness.settle()
        with ctx.session() as s:
            (buy,) = s.exec(select(Order)).all()
        assert buy.reason is OrderReason.BUY and buy.status is OrderStatus.FILLED
        assert buy.trading_day == moment.day
    finally:
        harness.engine.stop()


@pytest.mark.parametrize("name", ["thursday-00:01", "past-calendar-00:01", "friday-23:59",
                                  "saturday"])
def test_the_days_book_is_the_ist_day(name, ctx):
    """Open positions and those closed since 00:00 IST: at 00:01 IST a position closed at
    23:59 IST is yesterday's, though the UTC date of both is the same."""
    from tui_trader.services.auth import AuthService

    moment = MOMENTS[name]
    ctx.clock.set(moment.at)
    user = AuthService(ctx).sign_up("t@example.com", "password-t")
    midnight = datetime.combine(ist_date(moment.at), time(0, 0), tzinfo=IST)
    rows = (("INFY", None), ("TCS", midnight + timedelta(seconds=30)),
            ("SBIN", midnight - timedelta(seconds=30)))
    with ctx.session() as s:
        for symbol, closed in rows:
            s.add(Position(user_id=user.id, symbol=symbol, quantity=0 if closed else 5,
                           average_price=Decimal("100"), realized_pnl=Decimal("-10"),
                           status=PositionStatus.CLOSED if closed else PositionStatus.OPEN,
                           opened_at=midnight - timedelta(days=1),
                           updated_at=closed or moment.at, closed_at=closed))
    assert midnight.astimezone(UTC).date() != ist_date(moment.at)  # UTC is still yesterday
    views = TradingViews(ctx, user.id)
    assert sorted(p.symbol for p in views.todays_positions()) == ["INFY", "TCS"]


def test_a_muhurat_strategy_trades_its_special_session_and_then_rests(dated_ctx):
    """Legs written for the Muhurat window are valid while that session is ahead, fire on
    that Sunday evening only, and once it has passed the engine says nothing more is planned
    (and a new start is refused) instead of guessing."""
    ctx = dated_ctx
    trader = _trader(ctx)
    ctx.clock.set(MOMENTS["muhurat-eve"].at)
    service = StrategyService(ctx, trader.id)
    regular = service.create(FORM)
    muhurat = service.create(MUHURAT)
    harness = Harness(ctx).start()
    try:
        note = harness.engine.start_strategy(trader.id, muhurat.id).message
        assert note == ("today's session 09:15-15:30 IST does not hold these times; first "
                        "buy Sun 08 Nov 18:20 IST (special session 18:15-19:15)")
        harness.engine.start_strategy(trader.id, regular.id)
        jobs = harness.runner.jobs()
        assert jobs[f"{muhurat.id}:BUY"] == ist(2026, 11, 8, 18, 20)
        assert jobs[f"{muhurat.id}:SELL"] == ist(2026, 11, 8, 19, 5)
        # The regular strategy skips the Sunday: its 09:30 would meet a closed market.
        assert jobs[f"{regular.id}:BUY"] == ist(2026, 11, 9, 9, 30)

        harness.tick("INFY", "1520.00")
        ctx.clock.set(ist(2026, 11, 8, 18, 20))
        harness.runner.run_due(ctx.clock.now())
        harness.settle()
        harness.tick("INFY", "1530.00")
        ctx.clock.set(ist(2026, 11, 8, 19, 5))
        harness.runner.run_due(ctx.clock.now())
        harness.settle()
        with ctx.session() as s:
            orders = s.exec(select(Order).where(Order.strategy_id == muhurat.id)
                            .order_by(Order.created_at)).all()
            assert [(o.reason, o.status, o.trading_day) for o in orders] == [
                (OrderReason.BUY, OrderStatus.FILLED, date(2026, 11, 8)),
                (OrderReason.SELL, OrderStatus.FILLED, date(2026, 11, 8))]
            assert s.get(Strategy, muhurat.id).status_reason == \
                "nothing planned: no session ahead holds its buy and sell times"
            titles = [n.title for n in s.exec(select(Notification))]
        assert "INFY Muhurat: nothing more planned" in titles
        assert f"{muhurat.id}:BUY" not in harness.runner.jobs()

        harness.engine.stop_strategy(trader.id, muhurat.id)
        with pytest.raises(StateError, match="Buy at: no NSE session in the next 400 days "
                                             "holds buy 18:20 and sell 19:05 IST"):
            harness.engine.start_strategy(trader.id, muhurat.id)
        with ctx.session() as s:
            assert s.get(Strategy, muhurat.id).status == "stopped"
    finally:
        harness.engine.stop()


def test_legs_outside_regular_hours_need_a_special_session_that_holds_both(dated_ctx):
    """Without a special session ahead, 18:20 is outside market hours; with one, legs may
    fall in it, but both in the same session."""
    ctx = dated_ctx
    trader = _trader(ctx)
    ctx.clock.set(MOMENTS["muhurat-eve"].at)
    service = StrategyService(ctx, trader.id)
    assert service.check(MUHURAT) == {}
    errors = service.check({**FORM, "sell_time": "18:30"})
    assert errors == {"sell_time": "must fall in the same session as buy_time: 09:15-15:30 IST,"
                                    " or a special session: Sun 08 Nov 18:15-19:15 IST "
                                    "(special)"}  # not the Budget Saturday: regular hours
    errors = service.check({**FORM, "buy_time": "17:00"})
    assert errors["buy_time"].startswith("must be within NSE market hours, 09:15-15:30 IST, "
                                         "or a special session: Sun 08 Nov 18:15-19:15")
    ctx.clock.set(ist(2026, 11, 9, 9, 0))  # the Muhurat evening has passed
    with pytest.raises(ValidationError, match="Buy at: must be within NSE market hours, "
                                              "09:15-15:30 IST$"):
        service.create(MUHURAT)


def test_legs_fire_on_the_engines_clock_not_the_wall(ctx):
    """The engine's own schedule follows the clock it is given: on a simulated clock that
    starts just before a Monday's 09:30 IST, the BUY is queued at that 09:30, whatever the
    real date (a wall-clock scheduler would find that instant long past and skip it)."""
    from tui_trader.engine.config import DEFAULT
    from tui_trader.engine.embedded import EmbeddedEngine

    trader = _trader(ctx)
    strategy = StrategyService(ctx, trader.id).create(FORM)
    released: list[float] = []  # the simulated clock stands still until the test lets it go

    def monotonic() -> float:
        return _time.monotonic() - released[0] if released else 0.0

    ctx.clock = SimulatedClock(ist(2026, 11, 23, 9, 29, 59), monotonic=monotonic)
    engine = EmbeddedEngine(ctx, feed=None, consumer="clocked")  # its own schedule
    fired: list = []
    queued = threading.Event()
    submit = engine.executor.submit
    engine.executor.submit = lambda event: (fired.append(event), queued.set(), submit(event))
    engine.start(threads=False)
    try:
        engine.start_strategy(trader.id, strategy.id)
        assert not fired  # 09:29:59 on the engine's clock
        released.append(_time.monotonic())
        assert queued.wait(10), "the 09:30 BUY was never queued on the engine's clock"
        (event,) = fired
        assert event.event is TriggerEvent.BUY and event.strategy_id == strategy.id
        # Stamped by the engine's clock when it fired: that Monday's 09:30, on time for the
        # executor (a wall-clock stamp would be the real date, and stale).
        late = (event.created_at - ist(2026, 11, 23, 9, 30)).total_seconds()
        assert 0 <= late < DEFAULT.entry_max_age_s, event.created_at
    finally:
        engine.stop()


def test_a_clock_schedule_waits_for_its_clock():
    """Jobs run when the given clock reaches them: a frozen clock holds a later job back
    however long the wall clock runs, and moving the clock releases it."""
    from tui_trader.domain.clock import FrozenClock
    from tui_trader.engine.scheduler import ClockSchedule

    clock = FrozenClock(ist(2026, 11, 23, 9, 0))
    runner = ClockSchedule(clock, max_wait=0.05)
    now_done, later_done = threading.Event(), threading.Event()
    runner.add("later", ist(2026, 11, 23, 9, 30), later_done.set)
    runner.add("now", ist(2026, 11, 23, 9, 0), now_done.set)
    runner.start()
    try:
        assert now_done.wait(10), "a due job never ran"
        assert set(runner.jobs()) == {"later"} and not later_done.is_set()
        clock.set(ist(2026, 11, 23, 9, 30))
        assert later_done.wait(10), "moving the clock did not release the job"
        assert runner.jobs() == {}
    finally:
        runner.shutdown()


def test_no_plan_is_made_for_legs_no_session_holds():
    from tui_trader.domain.calendar import HolidayFile, NseCalendar
    from tui_trader.domain.schedule import NoSessionAhead, sell_today

    cal = NseCalendar(HolidayFile.parse(HOLIDAYS))
    with pytest.raises(NoSessionAhead):
        plan_legs(cal, ist(2026, 11, 9, 9, 0), time(18, 20), time(19, 5))
    # A regular strategy restarted on the Muhurat Sunday holding a position does not sell
    # into the closed market at 15:00; the Muhurat one still sells in its window.
    sunday = ist(2026, 11, 8, 12, 0)
    assert sell_today(cal, sunday, time(15, 0)) is None
    assert sell_today(cal, sunday, time(19, 5)) == ist(2026, 11, 8, 19, 5)
    assert sell_today(cal, ist(2026, 11, 23, 12, 0), time(15, 0)) == ist(2026, 11, 23, 15, 0)
