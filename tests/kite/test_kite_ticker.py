"""KiteTickerFeed on the real KiteTicker against the sandbox: Tick batches, subscriptions,
reconnect after dropped sockets, the staleness watchdog, order updates, bad ticks.

One feed (one reactor) for the whole session: see conftest. Its sandbox trades as a market
does: prices walk and a stock ticks only when it trades, so the watchdog sees the uneven
traffic of a live feed, and a stalled feed is silent with its socket open.
"""

from __future__ import annotations

import queue
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from tui_trader.brokers.base import BrokerOrder, OrderRequest
from tui_trader.brokers.feeds.base import Feed, Tick
from tui_trader.brokers.feeds.kite_ticker import (
    FeedUnavailable,
    KiteTickerFeed,
    block_entries_while_stale,
    run_on_reactor,
)
from tui_trader.brokers.kite import KiteBroker
from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.enums import OrderStatus
from tui_trader.domain.universe import BY_SYMBOL
from tui_trader.engine.gate import EntryGate
from tui_trader.security.secret import Secret

from . import conftest as kc

SYMBOLS = ("INFY", "TCS", "SBIN", "ITC", "WIPRO", "LT")
TOKENS = {s: BY_SYMBOL[s].token for s in SYMBOLS}
STALE_AFTER_S = 1.0


@dataclass
class FeedEnv:
    sandbox: KiteSandbox
    feed: KiteTickerFeed
    access_token: str
    batches: queue.Queue[list[Tick]] = field(default_factory=queue.Queue)
    stale: queue.Queue[bool] = field(default_factory=queue.Queue)
    orders: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)

    def wait_tick(self, match: Callable[[Tick], bool], timeout: float = 5) -> Tick:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching tick arrived")
            try:
                batch = self.batches.get(timeout=left)
            except queue.Empty:
                continue
            for tick in batch:
                if match(tick):
                    return tick

    def wait_for(self, cond: Callable[[], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise AssertionError("condition never held")
            time.sleep(0.02)


@pytest.fixture(scope="session")
def feed_env() -> Iterator[FeedEnv]:
    clock = FrozenClock(kc.MONDAY_10AM)
    sandbox = KiteSandbox(kc.make_config(clock, tick_interval_s=0.1, volatility=0.001))
    sandbox.start()
    token = sandbox.issue_access_token()
    env: FeedEnv
    feed = KiteTickerFeed(Secret(kc.API_KEY), Secret(token), root=sandbox.ws_url,
                          symbol_tokens=TOKENS, clock=clock, stale_after_s=STALE_AFTER_S,
                          on_stale=lambda stale: env.stale.put(stale),
                          on_order_update=lambda data: env.orders.put(data))
    env = FeedEnv(sandbox, feed, token)
    feed.start(env.batches.put)
    assert feed.wait_connected(15), "the Kite ticker never connected to the sandbox"
    yield env
    feed.stop()  # closes the socket; the reactor lives on (it cannot restart)
    sandbox.stop()


@pytest.fixture
def env(feed_env: FeedEnv) -> Iterator[FeedEnv]:
    feed_env.sandbox.stall_feed(False)
    feed_env.feed.unsubscribe(SYMBOLS)
    time.sleep(0.15)
    for q in (feed_env.batches, feed_env.stale, feed_env.orders):
        kc.drain(q)
    yield feed_env
    feed_env.sandbox.stall_feed(False)
    feed_env.feed.unsubscribe(SYMBOLS)


def test_is_a_feed(env: FeedEnv) -> None:
    assert isinstance(env.feed, Feed) and env.feed.is_alive() and env.feed.connected
    assert env.access_token not in repr(env.feed)


def test_ticks_arrive_as_batches(env: FeedEnv) -> None:
    env.feed.subscribe(["INFY", "TCS"])
    env.sandbox.push_tick(TOKENS["INFY"], "1501.25")
    tick = env.wait_tick(lambda t: t.symbol == "INFY" and t.price == Decimal("1501.25"))
    assert isinstance(tick.price, Decimal) and tick.ts.tzinfo is not None
    env.wait_tick(lambda t: t.symbol == "TCS")
    env.sandbox.push_tick(TOKENS["TCS"], "3411.00")
    env.sandbox.push_tick(TOKENS["INFY"], "1501.50")
    seqs: list[int] = []
    env.wait_tick(lambda t: seqs.append(t.seq) is None and t.symbol == "INFY"
                  and t.price == Decimal("1501.50"))
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert env.feed.last_tick_at() is not None


def test_unsubscribe_stops_a_symbol(env: FeedEnv) -> None:
    env.feed.subscribe(["SBIN", "ITC"])
    env.wait_tick(lambda t: t.symbol == "SBIN")
    env.feed.unsubscribe(["SBIN"])
    # A batch already on its way may still carry SBIN: everything up to a first marker
    # tick is passed over; between it and a second one, SBIN trades and is not delivered.
    env.sandbox.push_tick(TOKENS["ITC"], "405.55")
    env.wait_tick(lambda t: t.symbol == "ITC" and t.price == Decimal("405.55"))
    env.sandbox.push_tick(TOKENS["SBIN"], "956.10")
    env.sandbox.push_tick(TOKENS["ITC"], "405.60")
    symbols: list[str] = []
    env.wait_tick(lambda t: symbols.append(t.symbol) is None and t.symbol == "ITC"
                  and t.price == Decimal("405.60"))
    assert "SBIN" not in symbols
    assert env.feed.subscribed() == {"ITC"}


def test_dropped_socket_reconnects_and_ticks_resume(env: FeedEnv) -> None:
    env.feed.subscribe(["WIPRO"])
    env.wait_tick(lambda t: t.symbol == "WIPRO")
    connects = env.feed.counters.connects
    server_connects = env.sandbox.ticker_connects
    own_changes = env.feed.counters.subscription_changes
    assert env.sandbox.drop_sockets() >= 1
    env.wait_for(lambda: env.feed.counters.connects > connects, timeout=15)
    assert env.sandbox.ticker_connects > server_connects
    kc.drain(env.batches)
    env.sandbox.push_tick(TOKENS["WIPRO"], "301.55")
    env.wait_tick(lambda t: t.symbol == "WIPRO" and t.price == Decimal("301.55"))
    # KiteTicker re-subscribed by itself on reconnect: our own sync had nothing to send.
    assert env.feed.counters.subscription_changes == own_changes
    assert TOKENS["WIPRO"] in env.feed._kws.subscribed_tokens


def test_mode_switch(env: FeedEnv) -> None:
    env.feed.subscribe(["TCS"])
    env.wait_tick(lambda t: t.symbol == "TCS")
    try:
        env.feed.set_mode("full")
        env.wait_for(lambda: env.feed._kws.subscribed_tokens.get(TOKENS["TCS"]) == "full")
        kc.drain(env.batches)
        env.sandbox.push_tick(TOKENS["TCS"], "3411.10")
        env.wait_tick(lambda t: t.symbol == "TCS" and t.price == Decimal("3411.10"))
        env.feed.set_mode("ltp")
        env.wait_for(lambda: env.feed._kws.subscribed_tokens.get(TOKENS["TCS"]) == "ltp")
        env.sandbox.push_tick(TOKENS["TCS"], "3412.20")
        env.wait_tick(lambda t: t.symbol == "TCS" and t.price == Decimal("3412.20"))
    finally:
        env.feed.set_mode("quote")


def test_stale_callback_blocks_entries_for_the_account() -> None:
    gate = EntryGate()
    on_stale = block_entries_while_stale(gate, "acct-1")
    on_stale(True)
    assert "stale" in gate.blocked_accounts["acct-1"]
    on_stale(False)
    assert gate.blocked_accounts == {}
    gate.blocked_accounts["acct-1"] = "broker token lapsed: log in again"
    on_stale(True)
    on_stale(False)  # someone else's block stays
    assert gate.blocked_accounts == {"acct-1": "broker token lapsed: log in again"}


def test_a_closed_market_is_quiet_not_stale() -> None:
    mono = [0.0]
    market_open = [True]
    feed = KiteTickerFeed(Secret(kc.API_KEY), Secret("token"), symbol_tokens=TOKENS,
                          clock=FrozenClock(kc.MONDAY_10AM), stale_after_s=5.0,
                          monotonic=lambda: mono[0],
                          is_market_open=lambda _now: market_open[0])
    feed.subscribe(["INFY"])
    mono[0] = 5.5
    assert feed.is_stale()  # open, subscribed, no tick for longer than 5 s
    market_open[0] = False
    assert not feed.is_stale()
    mono[0] = 900.0
    assert not feed.is_stale()  # a night without ticks
    market_open[0] = True
    assert not feed.is_stale()  # the open: the first tick has its grace period
    mono[0] = 904.0
    assert not feed.is_stale()
    mono[0] = 905.5
    assert feed.is_stale()


def test_stalled_feed_goes_stale_then_recovers(env: FeedEnv) -> None:
    env.feed.subscribe(["LT", "TCS"])
    env.wait_tick(lambda t: t.symbol == "LT")
    env.wait_tick(lambda t: t.symbol == "TCS")  # ticks keep coming: they trade
    assert not env.feed.is_stale() and env.stale.empty()
    env.sandbox.stall_feed(True)  # socket open, heartbeats flowing, no ticks
    assert env.stale.get(timeout=STALE_AFTER_S + 3) is True
    assert env.feed.is_stale() and env.feed.counters.stale_episodes >= 1
    env.sandbox.stall_feed(False)
    assert env.stale.get(timeout=3) is False
    assert not env.feed.is_stale()


def test_nothing_subscribed_is_never_stale(env: FeedEnv) -> None:
    time.sleep(STALE_AFTER_S + 0.3)
    assert not env.feed.is_stale() and env.stale.empty()


def test_order_updates_reach_broker_listeners(env: FeedEnv) -> None:
    broker = KiteBroker(Secret(kc.API_KEY), Secret(env.access_token), root=env.sandbox.url,
                        clock=FrozenClock(kc.MONDAY_10AM), limits=kc.BIG)
    seen: queue.Queue[BrokerOrder] = queue.Queue()
    broker.subscribe_updates(seen.put)
    env.feed.on_order_update = broker.apply_order_update
    try:
        order = broker.place_order(OrderRequest(client_tag="TICKUPD1", symbol="INFY",
                                                side="BUY", kind="LIMIT", quantity=1,
                                                price=Decimal("1300")))
        assert order.status is OrderStatus.OPEN  # from the placement's own answer
        broker.modify_order(order.broker_order_id, price=Decimal("1300.50"))
        broker.cancel_order(order.broker_order_id)
        updates: list[BrokerOrder] = []
        deadline = time.monotonic() + 5
        while not updates or updates[-1].status is not OrderStatus.CANCELLED:
            update = seen.get(timeout=max(0.01, deadline - time.monotonic()))
            assert update.client_tag == "TICKUPD1"
            assert update.broker_order_id == order.broker_order_id
            updates.append(update)
        # No update for the placement; the modification (Kite's UPDATE) is still working.
        assert [u.status for u in updates] == [OrderStatus.OPEN, OrderStatus.CANCELLED]
        assert updates[0].price == Decimal("1300.5") and updates[0].raw["status"] == "UPDATE"
    finally:
        env.feed.on_order_update = env.orders.put
        broker.close()


def test_restart_with_a_new_token_keeps_subscriptions(env: FeedEnv) -> None:
    env.feed.subscribe(["ITC"])
    env.wait_tick(lambda t: t.symbol == "ITC")
    old_kws = env.feed._kws
    connects = env.feed.counters.connects
    new_token = env.sandbox.issue_access_token()
    env.feed.restart_with_token(Secret(new_token))
    assert env.feed._kws is not old_kws and env.feed.is_alive()
    env.wait_for(lambda: env.feed.counters.connects > connects)
    kc.drain(env.batches)
    env.sandbox.push_tick(TOKENS["ITC"], "455.55")
    env.wait_tick(lambda t: t.symbol == "ITC" and t.price == Decimal("455.55"))
    env.wait_for(lambda: env.sandbox.ticker_connections == 1)  # the old socket closed
    assert new_token not in repr(env.feed)


def test_bad_ticks_are_counted_and_dropped(env: FeedEnv) -> None:
    feed = env.feed
    env.feed.subscribe(["INFY"])
    before_unknown, before_bad = feed.counters.unknown_token, feed.counters.malformed
    feed._on_ticks(None, [
        {"instrument_token": 123456789, "last_price": 10.0},        # not ours
        {"instrument_token": TOKENS["INFY"], "last_price": float("nan")},
        {"instrument_token": TOKENS["INFY"], "last_price": -1.0},
        {"last_price": 10.0},
        {"instrument_token": TOKENS["INFY"], "last_price": 1777.77},
    ])
    tick = env.wait_tick(lambda t: t.price == Decimal("1777.77"))
    assert tick.symbol == "INFY"
    assert feed.counters.unknown_token == before_unknown + 1
    assert feed.counters.malformed == before_bad + 3
    # A binary frame with one good LTP packet and one of an unknown length.
    good = struct.pack(">II", TOKENS["INFY"], 177777)
    frame = struct.pack(">H", 2) + struct.pack(">H", 8) + good + struct.pack(">H", 5) + b"x" * 5
    parsed = feed._kws._parse_binary(frame)
    assert [p["last_price"] for p in parsed] == [1777.77]
    assert feed.counters.malformed == before_bad + 4


def test_server_error_message_keeps_the_link(env: FeedEnv) -> None:
    errors = env.feed.counters.server_errors
    env.feed._kws._parse_text_message(b'{"type": "error", "data": "Invalid token"}')
    assert env.feed.counters.server_errors == errors + 1 and env.feed.connected


def test_a_stopped_reactor_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import tui_trader.brokers.feeds.kite_ticker as module

    class DeadReactor:
        running = False
        _startedBefore = True
        _stopped = True

    monkeypatch.setattr(module, "_reactor", lambda: DeadReactor())
    with pytest.raises(FeedUnavailable, match="restart the application"):
        run_on_reactor(object())


def test_stoploss_crossed_during_an_outage_fires_on_the_first_tick_after(env: FeedEnv) -> None:
    """The socket drops, the price falls through the stop while we are blind; the first tick
    after the reconnect carries the new price and the stop-loss watcher fires on it."""
    import uuid

    from tui_trader.engine.router import StopLossWatch, TickRouter

    fired: list[Decimal] = []
    router = TickRouter(lambda w, price, ts: fired.append(price), known_symbols=SYMBOLS)
    router.watch(StopLossWatch(uuid.uuid4(), uuid.uuid4(), "LT", Decimal("3500"), armed=True))
    env.sandbox.set_price("LT", "3980.00")
    env.feed.subscribe(["LT"])
    router.on_batch([env.wait_tick(lambda t: t.symbol == "LT")])
    assert fired == []
    connects = env.feed.counters.connects
    env.sandbox.stall_feed(True)  # nothing reaches us from here ...
    assert env.sandbox.drop_sockets() >= 1  # ... and the link is gone
    kc.drain(env.batches)  # whatever arrived before the outage is history
    env.sandbox.set_price("LT", "3400.00")  # the stop is crossed during the outage
    env.sandbox.stall_feed(False)
    env.wait_for(lambda: env.feed.counters.connects > connects, timeout=15)
    # A tick already in flight inside the client when the link dropped may still surface
    # (with the old price); the first one carrying the new price is the one that matters.
    first = env.wait_tick(lambda t: t.symbol == "LT" and t.price != Decimal("3980.00"))
    router.on_batch([first])
    assert first.price < Decimal("3500")
    assert fired == [first.price]
