"""The candle builder: NSE-session buckets from ticks, replayed ticks and back-filled
candles; no candle outside a session; emitted when it closes; gaps explicit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tui_trader.domain.candle import Candle
from tui_trader.domain.enums import Timeframe
from tui_trader.domain.timeframes import TIMEFRAME_MINUTES
from tui_trader.strategies.candles import CandleBuilder

from .conftest import HOLIDAY, MONDAY, MUHURAT, d, ist


def builder(calendar, *tfs: Timeframe, fill_gaps: bool = False, symbol: str = "INFY"):
    b = CandleBuilder(calendar.session, fill_gaps=fill_gaps)
    b.track(symbol, tfs or (Timeframe.MINUTE,))
    return b


def test_a_candle_is_emitted_when_its_bucket_closes(calendar):
    b = builder(calendar, Timeframe.MINUTE)
    assert b.add_tick("INFY", d("1500.00"), ist(MONDAY, 9, 15, 10), 10) == ()
    assert b.add_tick("INFY", d("1502.50"), ist(MONDAY, 9, 15, 30), 30) == ()
    assert b.add_tick("INFY", d("1499.00"), ist(MONDAY, 9, 15, 59), 0) == ()
    (candle,) = b.add_tick("INFY", d("1501.00"), ist(MONDAY, 9, 16, 0), 5)
    assert candle == Candle("INFY", Timeframe.MINUTE, ist(MONDAY, 9, 15), ist(MONDAY, 9, 16),
                            d("1500.00"), d("1502.50"), d("1499.00"), d("1499.00"),
                            volume=40, vwap=d("1501.8750"), trades=2)


def test_no_volume_means_no_vwap(calendar):
    b = builder(calendar)
    b.add_tick("INFY", d("10"), ist(MONDAY, 9, 15, 1))
    (candle,) = b.advance(ist(MONDAY, 9, 16))
    assert candle.volume == 0 and candle.vwap is None and candle.trades == 0


EXPECTED_COUNTS = {Timeframe.MINUTE: 375, Timeframe.MIN3: 125, Timeframe.MIN5: 75,
                   Timeframe.MIN10: 38, Timeframe.MIN15: 25, Timeframe.MIN30: 13,
                   Timeframe.MIN60: 7, Timeframe.MIN75: 5, Timeframe.MIN125: 3,
                   Timeframe.DAY: 1}


def _session_ticks(day, seconds: int = 20):
    at, end, i = ist(day, 9, 15), ist(day, 15, 30), 0
    while at < end:
        i += 1
        yield d("1500") + Decimal(i % 37) / 4, at, 1 + i % 5
        at += timedelta(seconds=seconds)


@pytest.mark.parametrize("timeframe", list(Timeframe))
def test_every_timeframe_is_anchored_at_0915_and_cut_at_the_close(calendar, timeframe):
    b = builder(calendar, timeframe)
    out = []
    for price, at, qty in _session_ticks(MONDAY):
        out += b.add_tick("INFY", price, at, qty)
    out += b.advance(ist(MONDAY, 15, 30))
    assert len(out) == EXPECTED_COUNTS[timeframe]
    assert out[0].start == ist(MONDAY, 9, 15)
    assert out[-1].end == ist(MONDAY, 15, 30)
    minutes = TIMEFRAME_MINUTES.get(timeframe)
    for i, candle in enumerate(out):
        if minutes:
            assert candle.start == ist(MONDAY, 9, 15) + timedelta(minutes=minutes * i)
            assert candle.end == min(candle.start + timedelta(minutes=minutes),
                                     ist(MONDAY, 15, 30))
    assert sum(c.volume for c in out) == sum(q for _, _, q in _session_ticks(MONDAY))


def test_all_timeframes_at_once_equal_each_built_alone(calendar):
    together = builder(calendar, *Timeframe)
    got: list[Candle] = []
    for price, at, qty in _session_ticks(MONDAY, seconds=7):
        got += together.add_tick("INFY", price, at, qty)
    got += together.advance(ist(MONDAY, 16, 0))
    for timeframe in Timeframe:
        alone = builder(calendar, timeframe)
        want: list[Candle] = []
        for price, at, qty in _session_ticks(MONDAY, seconds=7):
            want += alone.add_tick("INFY", price, at, qty)
        want += alone.advance(ist(MONDAY, 16, 0))
        assert [c for c in got if c.timeframe is timeframe] == want
    ends = [c.end for c in got]
    assert ends == sorted(ends)  # emitted in the order they closed


def test_no_candle_outside_the_session(calendar):
    b = builder(calendar, Timeframe.MIN5)
    assert b.add_tick("INFY", d("1"), ist(MONDAY, 9, 14, 59), 1) == ()  # pre-open
    assert b.add_tick("INFY", d("1"), ist(HOLIDAY, 10, 0), 1) == ()  # exchange holiday
    assert b.add_tick("INFY", d("1"), ist(MONDAY - timedelta(days=1), 10, 0), 1) == ()
    b.add_tick("INFY", d("2"), ist(MONDAY, 15, 29, 59), 1)
    (last,) = b.add_tick("INFY", d("3"), ist(MONDAY, 15, 30), 1)  # at the close: outside
    assert (last.start, last.end, last.close) == (ist(MONDAY, 15, 25), ist(MONDAY, 15, 30),
                                                  d("2"))
    assert b.advance(ist(MONDAY, 23, 0)) == ()
    assert b.outside_session == 4


def test_a_muhurat_session_has_its_own_buckets(calendar):
    b = builder(calendar, Timeframe.MIN5, Timeframe.MIN60, Timeframe.DAY)
    assert b.add_tick("INFY", d("5"), ist(MUHURAT, 9, 30), 1) == ()  # not its session
    out = []
    for minute in range(0, 60, 2):
        out += b.add_tick("INFY", d("5") + minute, ist(MUHURAT, 18, 15 + minute // 2 * 1), 1)
    out += b.add_tick("INFY", d("9"), ist(MUHURAT, 19, 15), 1)  # the special close
    out += b.advance(ist(MUHURAT, 20, 0))
    fives = [c for c in out if c.timeframe is Timeframe.MIN5]
    assert fives[0].start == ist(MUHURAT, 18, 15)
    (hour,) = [c for c in out if c.timeframe is Timeframe.MIN60]
    (day,) = [c for c in out if c.timeframe is Timeframe.DAY]
    assert (hour.start, hour.end) == (day.start, day.end) == (ist(MUHURAT, 18, 15),
                                                             ist(MUHURAT, 19, 15))
    assert b.outside_session == 2


def test_gaps_make_no_candles_unless_asked(calendar):
    plain = builder(calendar)
    plain.add_tick("INFY", d("100"), ist(MONDAY, 9, 15, 5), 1)
    (only,) = plain.add_tick("INFY", d("101"), ist(MONDAY, 9, 18, 5), 1)
    assert only.start == ist(MONDAY, 9, 15)
    filled = builder(calendar, fill_gaps=True)
    filled.add_tick("INFY", d("100"), ist(MONDAY, 9, 15, 5), 1)
    out = filled.add_tick("INFY", d("101"), ist(MONDAY, 9, 18, 5), 1)
    assert [(c.start, c.filled) for c in out] == [
        (ist(MONDAY, 9, 15), False), (ist(MONDAY, 9, 16), True), (ist(MONDAY, 9, 17), True)]
    assert all(c.open == c.close == d("100") and c.volume == 0 for c in out[1:])


def test_a_quiet_symbol_closes_on_the_clock_not_at_its_next_tick(calendar):
    b = builder(calendar, Timeframe.MIN5)
    b.add_tick("INFY", d("100"), ist(MONDAY, 9, 16), 1)
    assert b.advance(ist(MONDAY, 9, 19, 59)) == ()
    (candle,) = b.advance(ist(MONDAY, 9, 20))
    assert candle.end == ist(MONDAY, 9, 20)
    assert b.advance(ist(MONDAY, 9, 30)) == ()  # emitted once


def test_a_late_tick_never_changes_a_closed_candle(calendar):
    b = builder(calendar)
    b.add_tick("INFY", d("100"), ist(MONDAY, 9, 15, 5), 1)
    b.add_tick("INFY", d("101"), ist(MONDAY, 9, 16, 5), 1)
    assert b.add_tick("INFY", d("999"), ist(MONDAY, 9, 15, 50), 1) == ()
    assert b.late == 1
    (second,) = b.advance(ist(MONDAY, 9, 17))
    assert second.high == d("101")


def test_backfilled_minute_candles_build_the_same_candles_as_their_ticks(calendar):
    ticks = list(_session_ticks(MONDAY, seconds=11))
    minutes = builder(calendar, Timeframe.MINUTE)
    ones: list[Candle] = []
    for price, at, qty in ticks:
        ones += minutes.add_tick("INFY", price, at, qty)
    ones += minutes.advance(ist(MONDAY, 15, 30))
    live, backfill = builder(calendar, Timeframe.MIN15), builder(calendar, Timeframe.MIN15)
    want: list[Candle] = []
    for price, at, qty in ticks:
        want += live.add_tick("INFY", price, at, qty)
    want += live.advance(ist(MONDAY, 15, 30))
    got: list[Candle] = []
    for candle in ones:
        got += backfill.add_candle(candle)
    got += backfill.advance(ist(MONDAY, 15, 30))
    assert [(c.start, c.open, c.high, c.low, c.close, c.volume, c.trades) for c in got] == \
        [(c.start, c.open, c.high, c.low, c.close, c.volume, c.trades) for c in want]
    for a, b in zip(got, want, strict=True):  # minute VWAPs are rounded to 0.0001
        assert abs(a.vwap - b.vwap) < Decimal("0.0001")


def test_a_coarser_candle_cannot_build_a_finer_bucket(calendar):
    b = builder(calendar, Timeframe.MIN5)
    fifteen = Candle("INFY", Timeframe.MIN15, ist(MONDAY, 9, 15), ist(MONDAY, 9, 30),
                     d("1"), d("1"), d("1"), d("1"))
    with pytest.raises(ValueError, match="15minute candles cannot build 5-minute"):
        b.add_candle(fifteen)


def test_a_timeframe_added_mid_bucket_starts_with_its_next_full_bucket(calendar):
    b = builder(calendar, Timeframe.MIN5)
    b.add_tick("INFY", d("100"), ist(MONDAY, 9, 16), 1)
    b.add_tick("INFY", d("50"), ist(MONDAY, 9, 21), 1)  # 09:20 bucket open
    b.track("INFY", [Timeframe.MIN5, Timeframe.MIN15])
    out = []
    for minute in range(22, 46):
        out += b.add_tick("INFY", d("100") + minute, ist(MONDAY, 9, minute), 1)
    out += b.advance(ist(MONDAY, 9, 46))
    fifteens = [c for c in out if c.timeframe is Timeframe.MIN15]
    assert [c.start for c in fifteens] == [ist(MONDAY, 9, 30)]  # not the partial 09:15
    assert [c.start for c in out if c.timeframe is Timeframe.MIN5][0] == ist(MONDAY, 9, 20)


def test_untracked_symbols_are_ignored(calendar):
    b = builder(calendar)
    assert b.add_tick("TCS", d("1"), ist(MONDAY, 9, 20), 1) == ()
    assert b.open_candle("TCS", Timeframe.MINUTE) is None


def test_replayed_ticks_rebuild_the_candles_they_came_from(calendar):
    from tui_trader.brokers.feeds.replay import ReplayFeed

    stored = [("INFY", ist(MONDAY, 9, 15 + i), d("100") + i, d("103") + i, d("98") + i,
               d("101") + i, 400 + i) for i in range(30)]
    feed = ReplayFeed(stored, candle_interval=timedelta(minutes=1))
    b = builder(calendar, Timeframe.MINUTE, Timeframe.MIN5)
    rebuilt: list[Candle] = []
    for batch in feed.generate():
        for tick in batch:
            rebuilt += b.add_tick(tick.symbol, tick.price, tick.ts, tick.volume)
    rebuilt += b.advance(ist(MONDAY, 9, 45))
    minutes = [c for c in rebuilt if c.timeframe is Timeframe.MINUTE]
    assert [(c.start, c.open, c.high, c.low, c.close, c.volume) for c in minutes] == \
        [(ts, o, h, lo, c, v) for _, ts, o, h, lo, c, v in stored]
    fives = [c for c in rebuilt if c.timeframe is Timeframe.MIN5]
    assert len(fives) == 6 and fives[0].high == d("107") and fives[0].volume == 2010
