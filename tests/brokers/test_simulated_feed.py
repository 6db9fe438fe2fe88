"""The simulated feed: deterministic under a seed, on the tick grid, batched, stoppable."""

from __future__ import annotations

import math
import threading
import time
from decimal import Decimal

import pytest

from tui_trader.brokers.feeds.base import Feed, Tick
from tui_trader.brokers.feeds.simulated import SimulatedFeed
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.errors import StateError, ValidationError
from tui_trader.domain.universe import ALL_INSTRUMENTS

D = Decimal


def ticks_of(feed: SimulatedFeed, n_batches: int) -> list[Tick]:
    return [tick for batch in feed.generate(n_batches) for tick in batch]


def test_same_seed_same_ticks_and_another_seed_differs(clock: FrozenClock) -> None:
    first = ticks_of(SimulatedFeed(seed=42, clock=clock), 200)
    assert first == ticks_of(SimulatedFeed(seed=42, clock=clock), 200)
    assert first != ticks_of(SimulatedFeed(seed=43, clock=clock), 200)


def test_default_universe_gives_one_tick_per_symbol_per_batch(clock: FrozenClock) -> None:
    feed = SimulatedFeed(seed=1, clock=clock)
    batch = feed.next_batch()
    assert [t.symbol for t in batch] == [i.symbol for i in ALL_INSTRUMENTS]
    assert len(batch) == 52
    assert all(t.ts == clock.now() for t in batch)
    assert isinstance(feed, Feed)


def test_prices_stay_positive_and_on_the_grid_even_when_wild(clock: FrozenClock) -> None:
    feed = SimulatedFeed(seed=5, symbols=["TATASTEEL", "INFY"], clock=clock,
                         daily_volatility=1.0)
    for tick in ticks_of(feed, 2000):
        assert isinstance(tick.price, Decimal)
        assert tick.price > 0
        assert tick.price % D("0.05") == 0
        assert isinstance(tick.volume, int) and tick.volume > 0


def test_the_walk_moves_but_stays_near_its_reference(clock: FrozenClock) -> None:
    feed = SimulatedFeed(seed=2, symbols=["INFY"], clock=clock)
    prices = [t.price for t in ticks_of(feed, 400)]
    assert len(set(prices)) > 20
    assert all(D("1200") < p < D("1850") for p in prices)


def test_seq_increases_by_one_across_batches(clock: FrozenClock) -> None:
    feed = SimulatedFeed(seed=3, symbols=["INFY", "TCS", "SBIN"], clock=clock)
    seqs = [t.seq for t in ticks_of(feed, 50)]
    assert seqs == list(range(1, 151))


def test_a_symbols_path_does_not_depend_on_the_other_subscriptions(clock) -> None:
    alone = SimulatedFeed(seed=9, symbols=["INFY"], clock=clock)
    crowd = SimulatedFeed(seed=9, clock=clock)
    crowd_infy = [t.price for t in ticks_of(crowd, 30) if t.symbol == "INFY"]
    assert [t.price for t in ticks_of(alone, 30)] == crowd_infy


def test_subscribe_and_unsubscribe(clock: FrozenClock) -> None:
    feed = SimulatedFeed(seed=0, symbols=["INFY"], clock=clock)
    feed.subscribe(["TCS"])
    assert [t.symbol for t in feed.next_batch()] == ["INFY", "TCS"]
    feed.unsubscribe(["INFY"])
    assert [t.symbol for t in feed.next_batch()] == ["TCS"]
    with pytest.raises(ValidationError):
        feed.subscribe(["NOSUCH"])


def test_force_price_sets_the_next_tick_and_the_walk_continues_from_it(clock) -> None:
    feed = SimulatedFeed(seed=4, symbols=["INFY", "TCS"], clock=clock, daily_volatility=0)
    feed.force_price("INFY", D("1400.00"))
    batch = feed.next_batch()
    assert batch[0].price == D("1400.00")
    assert batch[1].price == D("3410.25")
    assert feed.next_batch()[0].price == D("1400.00")  # zero volatility: stays put
    with pytest.raises(ValidationError):
        feed.force_price("INFY", D("1400.03"))
    with pytest.raises(ValidationError):
        feed.force_price("TATASTEEL", D("100.00"))


def test_last_tick_at_follows_the_clock(clock: FrozenClock) -> None:
    feed = SimulatedFeed(seed=0, symbols=["INFY"], clock=clock)
    assert feed.last_tick_at() is None
    feed.next_batch()
    assert feed.last_tick_at() == clock.now()


def test_rejects_bad_settings() -> None:
    with pytest.raises(ValidationError):
        SimulatedFeed(ticks_per_second_per_symbol=0)
    with pytest.raises(ValidationError):
        SimulatedFeed(daily_volatility=-0.1)


def test_threaded_start_delivers_batches_and_stop_ends_delivery(clock) -> None:
    feed = SimulatedFeed(seed=7, symbols=["INFY", "TCS"], clock=clock,
                         ticks_per_second_per_symbol=200)
    batches: list[list[Tick]] = []
    enough = threading.Event()

    def sink(batch: list[Tick]) -> None:
        batches.append(batch)
        if len(batches) >= 5:
            enough.set()

    feed.start(sink)
    assert feed.is_alive()
    with pytest.raises(StateError):
        feed.start(sink)
    assert enough.wait(timeout=5)
    feed.stop()
    assert not feed.is_alive()
    delivered = len(batches)
    assert all(len(b) == 2 for b in batches)
    seqs = [t.seq for b in batches for t in b]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    feed.next_batch()  # the thread is gone: only this call produces now
    assert len(batches) == delivered


def test_threaded_output_equals_the_generator_output(clock: FrozenClock) -> None:
    expected = list(SimulatedFeed(seed=8, symbols=["SBIN"], clock=clock,
                                  ticks_per_second_per_symbol=500).generate(10))
    feed = SimulatedFeed(seed=8, symbols=["SBIN"], clock=clock,
                         ticks_per_second_per_symbol=500)
    batches: list[list[Tick]] = []
    ten = threading.Event()

    def sink(batch: list[Tick]) -> None:
        if len(batches) < 10:
            batches.append(batch)
        if len(batches) == 10:
            ten.set()

    feed.start(sink)
    assert ten.wait(timeout=5)
    feed.stop()
    assert batches == expected


def test_stop_is_prompt_even_with_a_long_interval(clock: FrozenClock) -> None:
    feed = SimulatedFeed(seed=0, symbols=["INFY"], clock=clock,
                         ticks_per_second_per_symbol=0.01)  # one batch per 100 s
    feed.start(lambda batch: None)
    began = time.monotonic()
    feed.stop()
    assert time.monotonic() - began < 1.0
    assert not feed.is_alive()


def test_a_failing_sink_does_not_stop_the_feed(clock: FrozenClock) -> None:
    feed = SimulatedFeed(seed=0, symbols=["INFY"], clock=clock,
                         ticks_per_second_per_symbol=500)
    calls: list[int] = []
    recovered = threading.Event()

    def sink(batch: list[Tick]) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("consumer bug")
        recovered.set()

    feed.start(sink)
    assert recovered.wait(timeout=5)
    feed.stop()


def test_feed_drives_the_paper_broker_through_a_forced_stop_loss(clock, broker,
                                                                 order) -> None:
    feed = SimulatedFeed(seed=1, symbols=["INFY"], clock=clock, daily_volatility=0)
    broker.on_ticks(feed.next_batch())
    stop = broker.place_order(order(side="SELL", kind="SL-M", trigger="1500.00"))
    broker.on_ticks(feed.next_batch())
    assert broker.get_order(stop.broker_order_id).filled_quantity == 0
    feed.force_price("INFY", D("1499.95"))
    broker.on_ticks(feed.next_batch())
    filled = broker.get_order(stop.broker_order_id)
    assert filled.average_price == D("1499.95") and filled.filled_quantity == 10


# -- realism: about 1% a session, scaled to the time between ticks ----------------------------

DEAR = ["MARUTI", "ULTRACEMCO", "BAJAJ-AUTO", "APOLLOHOSP", "EICHERMOT"]


def _log_returns(prices: list[Decimal]) -> list[float]:
    return [math.log(b / a) for a, b in zip(prices, prices[1:], strict=False)]


def _sd(values: list[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def test_a_tick_at_four_a_second_moves_a_session_sigma_scaled_to_a_quarter_second(clock):
    """1% over the 22,500 s session is 0.33 bp per quarter-second tick (before: 2 bp per
    tick whatever the rate, about 6% a day at 4 ticks a second)."""
    feed = SimulatedFeed(seed=21, symbols=DEAR, clock=clock)  # dear: the grid adds ~nothing
    paths: dict[str, list[Decimal]] = {s: [] for s in DEAR}
    for batch in feed.generate(4000):
        for tick in batch:
            paths[tick.symbol].append(tick.price)
    returns = [r for path in paths.values() for r in _log_returns(path)]
    expected = 0.01 * math.sqrt(0.25 / 22_500)
    assert abs(_sd(returns) / expected - 1) < 0.1, _sd(returns)


def test_a_session_moves_about_one_percent_and_a_two_percent_stop_is_rarely_touched(clock):
    """Every NIFTY 50 stock over three seeded sessions, a tick a minute: the session's
    return has a standard deviation near 1%, and few sessions ever touch 2% under the
    open (so a 2% stop-loss is not taken out by noise)."""
    from tui_trader.domain.universe import NIFTY_50

    symbols = [i.symbol for i in NIFTY_50]
    session_returns: list[float] = []
    touched = 0
    for seed in (1, 2, 3):
        feed = SimulatedFeed(seed=seed, symbols=symbols, clock=clock,
                             ticks_per_second_per_symbol=1 / 60)
        opening = {t.symbol: t.price for t in feed.next_batch()}
        low = dict(opening)
        for batch in feed.generate(375):  # 6h15m
            for tick in batch:
                low[tick.symbol] = min(low[tick.symbol], tick.price)
        for symbol, price in opening.items():
            session_returns.append(math.log(feed.price(symbol) / price))
            touched += low[symbol] <= price * Decimal("0.98")
    assert 0.008 < _sd(session_returns) < 0.012, _sd(session_returns)
    assert touched <= 0.1 * len(session_returns), touched


def test_a_faster_clock_moves_the_market_as_far_as_the_time_it_covers(clock):
    """A simulated clock at 60x speed: each quarter-second tick covers 15 s of market."""
    from datetime import timedelta

    slow = SimulatedFeed(seed=4, symbols=DEAR, clock=clock)
    fast = SimulatedFeed(seed=4, symbols=DEAR, clock=clock)
    slow_paths: list[Decimal] = []
    fast_paths: list[Decimal] = []
    for _ in range(2000):
        slow_paths.append(slow.next_batch()[0].price)
    for _ in range(2000):
        clock.advance(timedelta(seconds=15))
        fast_paths.append(fast.next_batch()[0].price)
    ratio = _sd(_log_returns(fast_paths)) / _sd(_log_returns(slow_paths))
    assert 6.5 < ratio < 9.0, ratio  # sqrt(15 / 0.25) = 7.7


def test_resume_from_goes_on_from_the_last_prices_not_the_reference(clock):
    feed = SimulatedFeed(seed=3, symbols=["INFY", "TCS"], clock=clock)
    feed.resume_from({"INFY": D("1400.00"), "NOSUCH": D("1.00")})
    first = {t.symbol: t.price for t in feed.next_batch()}
    assert abs(first["INFY"] - D("1400.00")) <= D("1.00")
    assert abs(first["TCS"] - D("3410.25")) <= D("2.00")  # not resumed: its reference
