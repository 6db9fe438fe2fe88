"""The replay feed: stored candles become ticks along a deterministic intra-candle path."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tui_trader.brokers.feeds.base import Feed, Tick
from tui_trader.brokers.feeds.replay import ReplayFeed, candle_path
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.enums import OrderStatus
from tui_trader.domain.errors import ValidationError

D = Decimal
M0 = datetime(2026, 3, 2, 3, 45, tzinfo=UTC)  # 09:15 IST
M1 = M0 + timedelta(minutes=1)


def candle(symbol: str, ts: datetime, o: str, h: str, lo: str, c: str, volume: int = 100):
    return (symbol, ts, D(o), D(h), D(lo), D(c), volume)


RISING = candle("INFY", M0, "100.00", "103.00", "99.00", "102.00", 1003)
FALLING = candle("INFY", M1, "102.00", "102.50", "98.00", "98.50", 40)


def test_each_candle_visits_open_high_low_close_in_path_order() -> None:
    feed = ReplayFeed([RISING, FALLING])
    prices = [t.price for b in feed.generate() for t in b]
    assert prices == [D("100.00"), D("99.00"), D("103.00"), D("102.00"),   # O L H C
                      D("102.00"), D("102.50"), D("98.00"), D("98.50")]   # O H L C
    assert feed.next_batch() == [] and feed.exhausted


def test_candle_path_rule() -> None:
    assert candle_path(D(1), D(3), D(0), D(2)) == (D(1), D(0), D(3), D(2))
    assert candle_path(D(2), D(3), D(0), D(1)) == (D(2), D(3), D(0), D(1))
    assert candle_path(D(2), D(2), D(2), D(2)) == (D(2), D(2), D(2), D(2))


def test_ticks_are_spread_over_the_candle_and_volume_is_conserved() -> None:
    ticks = [t for b in ReplayFeed([RISING]).generate() for t in b]
    assert [t.ts for t in ticks] == [M0 + timedelta(seconds=s) for s in (0, 15, 30, 45)]
    assert [t.volume for t in ticks] == [250, 250, 250, 253]
    assert [t.seq for t in ticks] == [1, 2, 3, 4]


def test_symbols_sharing_a_minute_arrive_in_the_same_batch() -> None:
    feed = ReplayFeed([RISING, candle("TCS", M0, "3400.00", "3405.00", "3395.00",
                                      "3401.00"), FALLING])
    batches = list(feed.generate())
    assert [[t.symbol for t in b] for b in batches] == [["INFY", "TCS"]] * 4 + [["INFY"]] * 4
    seqs = [t.seq for b in batches for t in b]
    assert seqs == list(range(1, 13))


def test_unsubscribed_symbols_are_skipped() -> None:
    feed = ReplayFeed([RISING, candle("TCS", M0, "3400.00", "3405.00", "3395.00",
                                      "3401.00")], symbols=["TCS"])
    assert {t.symbol for b in feed.generate() for t in b} == {"TCS"}
    other = ReplayFeed([RISING, FALLING])
    other.unsubscribe(["INFY"])
    assert other.next_batch() == []


def test_out_of_order_candles_are_refused_unless_sorting_is_asked_for() -> None:
    with pytest.raises(ValidationError, match="time order"):
        list(ReplayFeed([FALLING, RISING]).generate())
    prices = [t.price for b in ReplayFeed([FALLING, RISING], presorted=False).generate()
              for t in b]
    assert prices[0] == D("100.00") and prices[-1] == D("98.50")


@pytest.mark.parametrize("bad", [
    candle("INFY", M0, "100.00", "99.00", "98.00", "99.50"),   # open above high
    candle("INFY", M0, "100.00", "101.00", "0", "100.50"),     # zero low
    ("INFY", M0, D("1"), D("1"), D("1"), D("1"), -1),          # negative volume
    ("INFY", M0.replace(tzinfo=None), D("1"), D("1"), D("1"), D("1"), 1),  # naive ts
])
def test_malformed_candles_are_refused(bad) -> None:
    with pytest.raises((ValidationError, ValueError)):
        ReplayFeed([bad]).next_batch()


def test_threaded_replay_delivers_everything_then_ends(clock: FrozenClock) -> None:
    candles = [candle("INFY", M0 + timedelta(minutes=i), "100.00", "101.00", "99.00",
                      "100.50") for i in range(30)]
    feed = ReplayFeed(candles, speed=math.inf, clock=clock)
    assert isinstance(feed, Feed)
    batches: list[list[Tick]] = []
    feed.start(batches.append)
    assert feed.join(timeout=5)
    assert not feed.is_alive()
    assert sum(len(b) for b in batches) == 120
    assert feed.last_tick_at() == clock.now()


def test_threaded_replay_stops_promptly_when_paced() -> None:
    candles = [candle("INFY", M0 + timedelta(minutes=i), "100.00", "101.00", "99.00",
                      "100.50") for i in range(30)]
    feed = ReplayFeed(candles, speed=1.0, max_wait=60.0)
    first = threading.Event()
    feed.start(lambda batch: first.set())
    assert first.wait(timeout=5)
    feed.stop()
    assert not feed.is_alive()


def test_replay_triggers_a_stop_loss_inside_a_candle(broker, order) -> None:
    feed = ReplayFeed([candle("INFY", M0, "1520.00", "1525.00", "1519.00", "1524.00"),
                       candle("INFY", M1, "1524.00", "1526.00", "1490.00", "1495.00")])
    broker.on_ticks(feed.next_batch())  # open of the first candle
    stop = broker.place_order(order(side="SELL", kind="SL-M", trigger="1500.00"))
    for batch in feed.generate():
        broker.on_ticks(batch)
    filled = broker.get_order(stop.broker_order_id)
    assert filled.status is OrderStatus.FILLED
    assert filled.average_price == D("1490.00")  # the falling candle's low comes before close
    assert filled.updated_at == M1 + timedelta(seconds=30)


def test_bad_speed_is_refused() -> None:
    with pytest.raises(ValidationError):
        ReplayFeed([], speed=0)
