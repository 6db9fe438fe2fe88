"""Exits common to every kind: stop (price, % or ATR), target, trailing stop, MIS time exit;
a stop on the wrong side of the entry refused by the one stop rule; the entry gate's cap a
day, re-entry rule and products."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tui_trader.domain.catalog import check_exits
from tui_trader.domain.enums import Product, Side, Timeframe
from tui_trader.domain.errors import ValidationError
from tui_trader.domain.stop_rule import LAST_CLOSE, KnownPrice
from tui_trader.strategies.entry_gate import DayCount, EntryGate
from tui_trader.strategies.exits import ExitEvaluator, OpenTrade
from tui_trader.strategies.signals import Action, Signal

from .conftest import MONDAY, MUHURAT, d, ist


def evaluator(product=Product.MIS, calendar=None, **raw):
    rules, errors = check_exits("ema_crossover", raw)
    assert errors == {}
    return ExitEvaluator(rules, product, "INFY", calendar=calendar)


AT = ist(MONDAY, 10, 0)


def test_percent_stop_and_target_on_the_tick_grid_away_from_the_entry():
    ex = evaluator(stop_loss="1", target="2")
    long = ex.open(Side.BUY, d("1501.30"), AT)
    assert (long.stop, long.target) == (d("1486.25"), d("1531.35"))  # 1486.287, 1531.326
    short = ex.open(Side.SELL, d("1501.30"), AT)
    assert (short.stop, short.target) == (d("1516.35"), d("1471.25"))
    assert ex.on_price(long, d("1500"), AT) is None
    hit = ex.on_price(long, d("1486.25"), AT)
    assert (hit.rule, hit.message) == ("stop", "stop-loss 1,486.25 hit at 1,486.25")
    won = ex.on_price(short, d("1470"), AT)
    assert (won.rule, won.message) == ("target", "target 1,471.25 reached at 1,470.00")


def test_a_price_stop_at_or_above_a_long_entry_is_refused_with_its_label():
    ex = evaluator(stop_mode="price", stop_loss="1500")
    with pytest.raises(ValidationError) as caught:
        ex.open(Side.BUY, d("1500"), AT)
    assert str(caught.value) == ("Stop-loss: must be below INFY's entry price 1,500.00; "
                                 "1,500.00 would sell straight after buying")
    with pytest.raises(ValidationError, match=r"^Stop-loss: must be above INFY's entry "
                                              r"price 1,500.00; 1,500.00 would buy back"):
        ex.open(Side.SELL, d("1500"), AT)
    assert ex.open(Side.BUY, d("1500.05"), AT).stop == d("1500")
    bad_target = evaluator(stop_loss="1", target_mode="price", target="1400")
    with pytest.raises(ValidationError, match=r"^Target: must be above INFY's entry"):
        bad_target.open(Side.BUY, d("1500"), AT)


def test_a_price_stop_is_checked_at_start_against_the_last_close():
    ex = evaluator(stop_mode="price", stop_loss="1500")
    closed = KnownPrice("INFY", d("1490"), LAST_CLOSE)
    assert ex.check_start(Side.BUY, closed) == ("must be below INFY's last close 1,490.00; "
                                                "1,500.00 would sell straight after buying")
    assert ex.check_start(Side.SELL, closed) is None
    assert evaluator(stop_loss="1").check_start(Side.BUY, closed) is None  # % follows entry


def test_atr_levels_need_the_atr():
    ex = evaluator(stop_mode="atr", stop_loss="2", target_mode="atr", target="3")
    with pytest.raises(ValidationError, match=r"^Stop-loss: needs the ATR of 14 candles"):
        ex.open(Side.BUY, d("100"), AT)
    trade = ex.open(Side.BUY, d("100"), AT, atr=1.234)
    assert (trade.stop, trade.target) == (d("97.50"), d("103.75"))


def test_the_trailing_stop_follows_the_best_price_and_never_moves_back():
    ex = evaluator(stop_loss="2", trailing="1")
    trade = ex.open(Side.BUY, d("100"), AT)
    assert trade.stop == d("98")
    for price in ("101", "104", "103.5", "102.99"):
        assert ex.on_price(trade, d(price), AT) is None
    assert trade.stop == d("102.95") and trade.best == d("104")  # 104 - 1.04, floored
    hit = ex.on_price(trade, d("102.95"), AT)
    assert (hit.rule, hit.message) == ("trailing", "trailing stop 102.95 hit at 102.95")
    again = OpenTrade.from_json(json.loads(json.dumps(trade.as_json())))
    assert again == trade


def test_mis_positions_are_squared_off_at_the_time_exit(calendar):
    ex = evaluator(stop_loss="1", calendar=calendar)
    trade = ex.open(Side.BUY, d("100"), AT)
    assert ex.on_time(trade, ist(MONDAY, 15, 14, 59)) is None
    out = ex.on_time(trade, ist(MONDAY, 15, 15))
    assert (out.rule, out.message) == ("time", "MIS square-off at 15:15 IST")
    assert ex.on_price(trade, d("100.5"), ist(MONDAY, 15, 16)).rule == "time"
    cnc = evaluator(Product.CNC, calendar, stop_loss="1")
    assert cnc.on_time(cnc.open(Side.BUY, d("100"), AT), ist(MONDAY, 15, 20)) is None
    # A Muhurat session 18:15-19:15: as long before its close as 15:15 is before 15:30.
    assert ex.square_off_at(MUHURAT) == ist(MUHURAT, 19, 0)


def _signal(action=Action.ENTER_LONG, at=AT):
    return Signal(action, "why", at, d("100"))


def gate(product=Product.MIS, **raw):
    ex = evaluator(product, **{"stop_loss": "1", **raw})
    return EntryGate(ex.rules, product, Timeframe.MIN15, ex)


def test_the_cap_on_entries_a_day_resets_the_next_day():
    g = gate(max_trades_per_day=2)
    counts = DayCount()
    for _ in range(2):
        assert g.refusal(counts, _signal(), AT) is None
        counts = g.entered(counts, AT)
    assert g.refusal(counts, _signal(), AT) == "Trades a day: 2 taken today, the most allowed"
    tomorrow = AT + timedelta(days=1)
    assert g.refusal(counts, _signal(at=tomorrow), tomorrow) is None
    assert DayCount.from_json(json.loads(json.dumps(counts.as_json()))) == counts


def test_reentry_rules():
    exit_at = ist(MONDAY, 10, 7)
    counts = EntryGate.exited(EntryGate.entered(DayCount(), AT), exit_at)
    stale, fresh = _signal(at=ist(MONDAY, 10, 0)), _signal(at=ist(MONDAY, 10, 15))
    never = gate(reentry="never", max_trades_per_day=5)
    assert never.refusal(counts, fresh, fresh.at) == \
        "Re-entry: never after an exit the same day (exited 10:07 IST)"
    signal = gate(max_trades_per_day=5)
    assert signal.refusal(counts, stale, fresh.at) == \
        "Re-entry: waiting for a signal after the exit at 10:07 IST"
    assert signal.refusal(counts, fresh, fresh.at) is None
    cool = gate(reentry="cooldown", cooldown_candles=2, max_trades_per_day=5)
    assert cool.refusal(counts, fresh, fresh.at) == \
        "Re-entry: cool-down of 2 candles after the exit at 10:07 IST (until 10:37)"
    late = _signal(at=ist(MONDAY, 10, 45))
    assert cool.refusal(counts, late, late.at) is None


def test_products_decide_shorts_and_late_mis_entries():
    assert gate(Product.CNC).refusal(DayCount(), _signal(Action.ENTER_SHORT), AT) == \
        "CNC is delivery: it cannot sell short (use MIS or NRML)"
    assert gate(Product.MIS).refusal(DayCount(), _signal(Action.ENTER_SHORT), AT) is None
    late = ist(MONDAY, 15, 16)
    assert gate().refusal(DayCount(), _signal(at=late), late) == \
        "after the 15:15 IST square-off MIS entries wait for the next session"
    assert gate().refusal(DayCount(), _signal(Action.EXIT, late), late) is None
