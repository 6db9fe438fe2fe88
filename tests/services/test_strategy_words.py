"""The strategies table's words for what a strategy does next and did last: pure functions
of its settings, its position, the clock and the calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from tui_trader.domain.calendar import HolidayFile, NseCalendar
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import StrategyKind
from tui_trader.services.strategy_words import StrategyFacts, last_signal, next_action

# Far past exchange-calendars' data: weekdays minus the holiday below, on any run date.
MONDAY = date(2031, 3, 3)
HOLIDAY = date(2031, 3, 5)  # a Wednesday


@pytest.fixture
def calendar() -> NseCalendar:
    return NseCalendar(HolidayFile.parse(f"{HOLIDAY.isoformat()}\n"),
                       use_exchange_calendars=False)


def ist(day: date, hh: int, mm: int) -> datetime:
    return datetime.combine(day, time(hh, mm), IST).astimezone(UTC)


def scheduled(**kw) -> StrategyFacts:
    return StrategyFacts(StrategyKind.SCHEDULED, kw.pop("status", "running"),
                         buy_time=time(9, 30), sell_time=time(15, 15),
                         stop_loss=Decimal("1482.50"), **kw)


def test_a_scheduled_strategy_says_when_it_buys_next(calendar):
    assert next_action(scheduled(), ist(MONDAY, 9, 0), calendar) == "buys Mon 09:30"
    # After today's buy time the next trading day's; the holiday is skipped.
    assert next_action(scheduled(), ist(MONDAY, 10, 0), calendar) == "buys Tue 09:30"
    assert next_action(scheduled(), ist(date(2031, 3, 4), 9, 45), calendar) == \
        "buys Thu 09:30"


def test_holding_it_watches_the_stop(calendar):
    words = next_action(scheduled(held=10, entry=Decimal("1520")), ist(MONDAY, 10, 0),
                        calendar)
    assert words == "watching stop 1,482.50"


def test_no_session_ahead_holds_the_times(calendar):
    late = StrategyFacts(StrategyKind.SCHEDULED, "running", buy_time=time(16, 0),
                         sell_time=time(17, 0), stop_loss=Decimal("1"))
    assert next_action(late, ist(MONDAY, 9, 0), calendar) == \
        "no session ahead holds 16:00-17:00"


def test_not_running_says_so(calendar):
    assert next_action(scheduled(status="created"), ist(MONDAY, 9, 0), calendar) == \
        "not started"
    assert next_action(scheduled(status="stopped"), ist(MONDAY, 9, 0), calendar) == "stopped"


@pytest.mark.parametrize(("kind", "params", "words"), [
    (StrategyKind.EMA_CROSSOVER, {"fast": 9, "slow": 21}, "waiting for EMA 9 to cross 21"),
    (StrategyKind.RSI_REVERSION, {"period": 14, "oversold": 30.0, "overbought": 70.0},
     "waiting for RSI 14 to leave 30-70"),
    (StrategyKind.BREAKOUT, {"lookback": 20},
     "waiting for a close beyond the 20-candle range"),
    (StrategyKind.SUPERTREND, {"atr_period": 10, "multiplier": 2.5},
     "waiting for Supertrend 10×2.5 to flip"),
])
def test_a_flat_signal_kind_says_what_it_waits_for(kind, params, words):
    assert next_action(StrategyFacts(kind, "running", params=params),
                       ist(MONDAY, 11, 0)) == words


def test_a_held_signal_kind_watches_its_stop_as_a_price_on_the_tick_grid():
    long = StrategyFacts(StrategyKind.EMA_CROSSOVER, "running", params={"fast": 9},
                         exits={"stop_mode": "percent", "stop_loss": "1.0",
                                "target_mode": "percent", "target": "2"},
                         held=5, entry=Decimal("1497.55"))
    # 1497.55 x 0.99 = 1482.5745: floored onto the 0.05 grid (never tighter than asked).
    assert next_action(long, ist(MONDAY, 11, 0)) == \
        "watching stop 1,482.55, target 1,527.50"
    short = StrategyFacts(StrategyKind.BREAKOUT, "running",
                          exits={"stop_mode": "percent", "stop_loss": "1.0"},
                          held=-5, entry=Decimal("1497.55"))
    assert next_action(short, ist(MONDAY, 11, 0)) == "watching stop 1,512.55"


def test_an_atr_stop_is_told_as_its_rule():
    held = StrategyFacts(StrategyKind.BREAKOUT, "running",
                         exits={"stop_mode": "atr", "stop_loss": "2.0"}, held=3,
                         entry=Decimal("100"))
    assert next_action(held, ist(MONDAY, 11, 0)) == "watching stop 2 ATR below entry"
    price = StrategyFacts(StrategyKind.BREAKOUT, "running",
                          exits={"stop_mode": "price", "stop_loss": "95.5"}, held=3,
                          entry=Decimal("100"))
    assert next_action(price, ist(MONDAY, 11, 0)) == "watching stop 95.50"


def test_the_last_signal_names_the_rule_the_time_and_the_price():
    now = ist(MONDAY, 11, 0)
    assert last_signal("BUY", "BUY", ist(MONDAY, 9, 30), Decimal("1520"), now) == \
        "BUY Mon 09:30 @ 1,520.00"
    assert last_signal("SELL", "STOPLOSS", ist(MONDAY, 9, 52), Decimal("3367.75"), now) == \
        "STOP Mon 09:52 @ 3,367.75"
    assert last_signal("SELL", "SELL", ist(MONDAY, 15, 15), None, now) == "SELL Mon 15:15"
