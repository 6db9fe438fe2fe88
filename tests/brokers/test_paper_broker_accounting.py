"""Paper broker accounting under concurrency and random fill sequences: every rupee that
leaves cash is in a position, exactly, and matches the trade list."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tui_trader.brokers.base import BrokerOrder, OrderRejected, OrderRequest
from tui_trader.brokers.paper import PaperBroker, PaperTrade
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.enums import OrderKind, OrderStatus, Side

D = Decimal
TICK = D("0.05")
T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def signed(trade: PaperTrade) -> int:
    return trade.quantity if trade.side is Side.BUY else -trade.quantity


def assert_books_reconcile(broker: PaperBroker, start: Decimal) -> None:
    trades = broker.trades()
    flow = sum((signed(t) * t.price for t in trades), D(0))
    assert broker.cash() == start - flow
    per_symbol: dict[str, int] = defaultdict(int)
    for trade in trades:
        per_symbol[trade.symbol] += signed(trade)
    positions = broker.positions()
    assert {s: p.quantity for s, p in positions.items()} == dict(per_symbol)
    for symbol, position in positions.items():
        mine = [t for t in trades if t.symbol == symbol]
        assert position.buy_value == sum(
            (t.price * t.quantity for t in mine if t.side is Side.BUY), D(0))
        assert position.sell_value == sum(
            (t.price * t.quantity for t in mine if t.side is Side.SELL), D(0))
    by_order: dict[str, int] = defaultdict(int)
    for trade in trades:
        by_order[trade.broker_order_id] += trade.quantity
    blocked = D(0)
    market_buys_working = False
    for order in broker.orders():
        assert order.filled_quantity == by_order.get(order.broker_order_id, 0)
        if order.side is Side.BUY and not order.is_final:
            if order.price is None:  # a MARKET buy blocks an estimate at the last price
                market_buys_working = True
            else:
                blocked += order.price * order.pending_quantity
    if market_buys_working:
        assert broker.funds() < broker.cash() - blocked
    else:
        assert broker.funds() == broker.cash() - blocked


def test_eight_placing_threads_and_a_ticking_thread_reconcile_exactly() -> None:
    clock = FrozenClock(T0)
    start = D("100000000")
    broker = PaperBroker(clock, starting_cash=start, partial_fills=True, seed=11)
    symbols = {"INFY": D("1520.40"), "TCS": D("3410.25"), "SBIN": D("955.70"),
               "ITC": D("405.15")}
    for symbol, price in symbols.items():
        broker.on_tick(symbol, price, clock.now())
    fills: list[BrokerOrder] = []
    fills_lock = threading.Lock()

    def on_update(update: BrokerOrder) -> None:
        with fills_lock:
            fills.append(update)

    broker.subscribe_updates(on_update)
    barrier = threading.Barrier(9)
    placing_done = threading.Event()
    placed: list[list[BrokerOrder]] = [[] for _ in range(8)]
    errors: list[BaseException] = []

    def place(worker: int) -> None:
        try:
            barrier.wait()
            names = list(symbols)
            for i in range(100):
                symbol = names[(worker + i) % len(names)]
                side = Side.BUY if (i + worker) % 2 else Side.SELL
                limit = i % 3 == 0
                offset = D(i % 7 - 3) * TICK
                req = OrderRequest(
                    f"w{worker}n{i}", symbol, side,
                    OrderKind.LIMIT if limit else OrderKind.MARKET, 1 + (i * 7 + worker) % 25,
                    price=symbols[symbol] + offset if limit else None)
                placed[worker].append(broker.place_order(req))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def ticker() -> None:
        barrier.wait()
        n = 0
        while not placing_done.is_set():
            n += 1
            for symbol, ref in symbols.items():
                broker.on_tick(symbol, ref + D(n % 9 - 4) * TICK, clock.now())

    threads = [threading.Thread(target=place, args=(w,)) for w in range(8)]
    tick_thread = threading.Thread(target=ticker)
    for thread in [*threads, tick_thread]:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    placing_done.set()
    tick_thread.join(timeout=30)
    assert not errors
    # Settle: enough ticks at the reference price for every MARKET order to finish its slices.
    for _ in range(6):
        for symbol, ref in symbols.items():
            broker.on_tick(symbol, ref, clock.now())

    orders = broker.orders()
    assert broker.placed_count() == 800 == len(orders)
    assert len({o.broker_order_id for o in orders}) == 800
    assert all(len(broker.orders_by_tag(f"w{w}n{i}")) == 1 for w in range(8) for i in range(100))
    assert all(o.status is OrderStatus.FILLED for o in orders if o.kind is OrderKind.MARKET)
    assert_books_reconcile(broker, start)
    fill_updates = [u for u in fills if u.status in (OrderStatus.FILLED,
                                                     OrderStatus.PARTIALLY_FILLED)]
    assert len(fill_updates) == len(broker.trades())


price_moves = st.integers(min_value=-40, max_value=40)
actions = st.lists(
    st.one_of(
        st.tuples(st.just("tick"), price_moves),
        st.tuples(st.just("order"), st.sampled_from(Side), st.booleans(),
                  st.integers(min_value=1, max_value=400), st.integers(-20, 20)),
        st.tuples(st.just("cancel"), st.integers(min_value=0, max_value=50)),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(actions=actions, partial=st.booleans(), seed=st.integers(0, 3))
def test_cash_plus_position_value_is_conserved_at_zero_slippage(actions, partial,
                                                                seed) -> None:
    clock = FrozenClock(T0)
    start = D("1000000")
    broker = PaperBroker(clock, starting_cash=start, partial_fills=partial, seed=seed)
    price = D("1520.40")
    tick_price_at: dict[datetime, Decimal] = {}
    n = 0

    def tick(new_price: Decimal) -> None:
        nonlocal n
        n += 1
        ts = T0 + timedelta(seconds=n)
        tick_price_at[ts] = new_price
        broker.on_tick("INFY", new_price, ts)

    tick(price)
    for action in actions:
        if action[0] == "tick":
            price = max(price + action[1] * TICK, TICK)
            tick(price)
        elif action[0] == "order":
            _, side, is_limit, quantity, offset = action
            limit = max(price + offset * TICK, TICK) if is_limit else None
            kind = OrderKind.LIMIT if is_limit else OrderKind.MARKET
            try:
                broker.place_order(OrderRequest(f"h{n}", "INFY", side, kind, quantity,
                                                price=limit))
            except OrderRejected as err:
                assert "insufficient funds" in err.reason
        else:
            orders = broker.orders()
            if orders:
                target = orders[action[1] % len(orders)]
                if not target.is_final:
                    broker.cancel_order(target.broker_order_id)

    trades = broker.trades()
    for trade in trades:  # zero slippage: every fill is at the price that traded
        assert trade.price == tick_price_at[trade.ts]
    position = broker.position("INFY")
    held = position.quantity if position else 0
    equity = broker.cash() + held * price
    # Value is only created by the market moving after a fill: nothing leaks anywhere else.
    assert equity == start + sum((signed(t) * (price - t.price) for t in trades), D(0))
    if position is not None:
        assert equity == start + position.pnl(price)
    assert_books_reconcile(broker, start)
