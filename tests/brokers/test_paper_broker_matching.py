"""Paper broker matching: when each order kind fills, at what price, and what it reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tui_trader.brokers.base import BrokerOrder, OrderRejected, OrderRequest
from tui_trader.brokers.paper import PaperBroker, PaperTrade
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.enums import OrderKind, OrderStatus, Side

D = Decimal
START = D("1000000")


def test_market_order_fills_at_the_next_tick_not_the_last_seen(broker, order, tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(quantity=10))
    assert placed.status is OrderStatus.OPEN
    assert placed.filled_quantity == 0
    tick("1600.00", symbol="TCS")  # another symbol's tick does not fill it
    assert broker.get_order(placed.broker_order_id).status is OrderStatus.OPEN
    filled_at = tick("1521.00")
    filled = broker.get_order(placed.broker_order_id)
    assert filled.status is OrderStatus.FILLED
    assert filled.filled_quantity == 10
    assert filled.average_price == D("1521.00")
    assert filled.updated_at == filled_at
    assert broker.cash() == START - D("15210.00")
    assert broker.position("INFY").quantity == 10


def test_market_order_waits_when_no_price_is_known(broker, order, tick) -> None:
    placed = broker.place_order(order())
    assert placed.status is OrderStatus.OPEN
    tick("1519.95")
    assert broker.get_order(placed.broker_order_id).average_price == D("1519.95")


def test_fill_market_immediately_uses_the_last_known_price(clock, order) -> None:
    broker = PaperBroker(clock, fill_market_immediately=True)
    fills: list[BrokerOrder] = []
    broker.subscribe_updates(fills.append)
    pending = broker.place_order(order(quantity=1))
    assert pending.status is OrderStatus.OPEN  # nothing known yet: waits for a tick
    broker.on_tick("INFY", D("1520.40"), clock.now())
    filled = broker.place_order(order(quantity=2))
    assert filled.status is OrderStatus.FILLED
    assert filled.average_price == D("1520.40")
    assert [f.broker_order_id for f in fills] == [pending.broker_order_id,
                                                  filled.broker_order_id]


def test_limit_buy_fills_only_when_the_price_reaches_the_limit(broker, order, tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(kind="LIMIT", price="1510.00"))
    for price in ("1515.00", "1510.05", "1530.00"):
        tick(price)
        assert broker.get_order(placed.broker_order_id).status is OrderStatus.OPEN
    tick("1509.50")  # through the limit: the tick's price, never worse than the limit
    filled = broker.get_order(placed.broker_order_id)
    assert filled.status is OrderStatus.FILLED
    assert filled.average_price == D("1509.50")


def test_limit_sell_fills_only_when_the_price_reaches_the_limit(broker, order, tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(side="SELL", kind="LIMIT", price="1530.00"))
    for price in ("1525.00", "1529.95"):
        tick(price)
        assert broker.get_order(placed.broker_order_id).status is OrderStatus.OPEN
    tick("1530.00")
    filled = broker.get_order(placed.broker_order_id)
    assert filled.status is OrderStatus.FILLED and filled.average_price == D("1530.00")
    assert broker.position("INFY").quantity == -10  # MIS may go short
    assert broker.cash() == START + D("15300.00")


def test_marketable_limit_fills_at_the_next_tick(broker, order, tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(kind="LIMIT", price="1530.00"))
    assert placed.status is OrderStatus.OPEN
    tick("1520.45")
    assert broker.get_order(placed.broker_order_id).average_price == D("1520.45")


def test_sl_sell_triggers_when_crossed_then_works_as_a_limit(broker, order, tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(side="SELL", kind="SL", price="1495.00",
                                      trigger="1500.00"))
    assert placed.raw["status"] == "TRIGGER PENDING"
    tick("1500.05")
    assert broker.get_order(placed.broker_order_id).raw["status"] == "TRIGGER PENDING"
    tick("1490.00")  # triggers; 1490 < limit 1495 so the SELL limit does not fill yet
    triggered = broker.get_order(placed.broker_order_id)
    assert triggered.status is OrderStatus.OPEN and triggered.raw["status"] == "OPEN"
    assert triggered.filled_quantity == 0
    tick("1496.00")
    filled = broker.get_order(placed.broker_order_id)
    assert filled.status is OrderStatus.FILLED and filled.average_price == D("1496.00")


def test_sl_buy_triggers_and_fills_on_the_same_tick_within_its_limit(broker, order,
                                                                     tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(kind="SL", price="1535.00", trigger="1530.00"))
    tick("1529.95")
    assert broker.get_order(placed.broker_order_id).raw["status"] == "TRIGGER PENDING"
    tick("1531.00")
    filled = broker.get_order(placed.broker_order_id)
    assert filled.status is OrderStatus.FILLED and filled.average_price == D("1531.00")
    statuses = [h.raw["status"] for h in broker.order_history(placed.broker_order_id)]
    assert statuses == ["PUT ORDER REQ RECEIVED", "TRIGGER PENDING", "OPEN", "COMPLETE"]


def test_sl_m_triggers_then_fills_at_market(broker, order, tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(side="SELL", kind="SL-M", trigger="1500.00"))
    tick("1505.00")
    assert broker.get_order(placed.broker_order_id).status is OrderStatus.OPEN
    tick("1480.00")  # a gap through the trigger fills at the market, not the trigger
    filled = broker.get_order(placed.broker_order_id)
    assert filled.status is OrderStatus.FILLED and filled.average_price == D("1480.00")


def test_slippage_moves_market_fills_against_the_order_but_not_past_a_limit(clock,
                                                                            order) -> None:
    broker = PaperBroker(clock, slippage_ticks=2)
    broker.on_tick("INFY", D("1520.40"), clock.now())
    buy = broker.place_order(order())
    sell = broker.place_order(order(side="SELL"))
    limit = broker.place_order(order(kind="LIMIT", price="1520.05"))
    broker.on_tick("INFY", D("1520.00"), clock.now())
    assert broker.get_order(buy.broker_order_id).average_price == D("1520.10")
    assert broker.get_order(sell.broker_order_id).average_price == D("1519.90")
    assert broker.get_order(limit.broker_order_id).average_price == D("1520.05")


def test_partial_fills_end_filled_with_the_exact_average(clock, order) -> None:
    broker = PaperBroker(clock, partial_fills=True, seed=3)
    updates: list[BrokerOrder] = []
    broker.subscribe_updates(updates.append)
    placed = broker.place_order(order(quantity=100))
    prices = iter(D(p) for p in ("1520.00", "1520.50", "1521.00", "1521.50", "1522.00",
                                 "1522.50"))
    while broker.get_order(placed.broker_order_id).status is not OrderStatus.FILLED:
        broker.on_tick("INFY", next(prices), clock.now())
    trades = broker.trades(placed.broker_order_id)
    assert len(trades) >= 2
    assert [u.status for u in updates] == \
        [OrderStatus.PARTIALLY_FILLED] * (len(trades) - 1) + [OrderStatus.FILLED]
    assert [u.filled_quantity for u in updates] == \
        [sum(t.quantity for t in trades[:i + 1]) for i in range(len(trades))]
    value = sum((t.price * t.quantity for t in trades), D(0))
    filled = broker.get_order(placed.broker_order_id)
    assert filled.filled_quantity == 100
    assert filled.average_price == value / 100  # exact: hundredths over 100 terminate
    assert broker.cash() == START - value
    assert broker.position("INFY").buy_value == value


def test_partial_fill_average_is_exact_for_a_known_split(clock, order) -> None:
    broker = PaperBroker(clock, partial_fills=True, seed=0)
    placed = broker.place_order(order(quantity=2))
    broker.on_tick("INFY", D("100.05"), clock.now())
    mid = broker.get_order(placed.broker_order_id)
    assert mid.status is OrderStatus.PARTIALLY_FILLED and mid.filled_quantity == 1
    assert mid.pending_quantity == 1
    broker.on_tick("INFY", D("100.10"), clock.now())
    done = broker.get_order(placed.broker_order_id)
    assert done.status is OrderStatus.FILLED
    assert done.average_price == D("100.075")


def test_cancel_an_open_limit_releases_its_blocked_funds(broker, order, tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(kind="LIMIT", price="1500.00", quantity=10))
    assert broker.funds() == START - D("15000.00")
    cancelled = broker.cancel_order(placed.broker_order_id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.raw["cancelled_quantity"] == 10
    assert broker.funds() == START == broker.cash()
    tick("1400.00")
    assert broker.get_order(placed.broker_order_id).status is OrderStatus.CANCELLED
    with pytest.raises(OrderRejected, match="CANCELLED"):
        broker.cancel_order(placed.broker_order_id)


def test_cancel_after_a_partial_fill_keeps_what_filled(clock, order) -> None:
    broker = PaperBroker(clock, partial_fills=True)
    placed = broker.place_order(order(quantity=10))
    broker.on_tick("INFY", D("1520.00"), clock.now())
    filled_before = broker.get_order(placed.broker_order_id).filled_quantity
    assert 0 < filled_before < 10
    cancelled = broker.cancel_order(placed.broker_order_id)
    assert cancelled.filled_quantity == filled_before
    assert cancelled.raw["cancelled_quantity"] == 10 - filled_before
    assert broker.position("INFY").quantity == filled_before


def test_modify_price_moves_the_limit(broker, order, tick, clock: FrozenClock) -> None:
    tick("1520.40")
    placed = broker.place_order(order(kind="LIMIT", price="1500.00"))
    clock.advance(timedelta(seconds=5))
    modified = broker.modify_order(placed.broker_order_id, price=D("1515.00"))
    assert modified.price == D("1515.00") and modified.raw["price"] == "1515.00"
    assert modified.updated_at == clock.now()
    assert broker.funds() == START - D("15150.00")
    tick("1514.00")
    assert broker.get_order(placed.broker_order_id).average_price == D("1514.00")


def test_modify_quantity_and_trigger(broker, order, tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(side="SELL", kind="SL-M", trigger="1500.00"))
    modified = broker.modify_order(placed.broker_order_id, quantity=25,
                                   trigger_price=D("1510.00"))
    assert modified.quantity == 25 and modified.trigger_price == D("1510.00")
    tick("1509.00")
    done = broker.get_order(placed.broker_order_id)
    assert done.status is OrderStatus.FILLED and done.filled_quantity == 25
    history = broker.order_history(placed.broker_order_id)
    assert [h.message for h in history].count("modified") == 1


@pytest.mark.parametrize("change,reason", [
    ({"price": D("1500.03")}, "tick size"),
    ({"quantity": 0}, "greater than 0"),
    ({"trigger_price": D("1490.00")}, "takes no trigger"),
    ({"price": D("100100.00")}, "insufficient funds"),
])
def test_modify_rejections_leave_the_order_as_it_was(broker, order, tick, change,
                                                     reason) -> None:
    tick("1520.40")
    placed = broker.place_order(order(kind="LIMIT", price="1500.00"))
    with pytest.raises(OrderRejected, match=reason):
        broker.modify_order(placed.broker_order_id, **change)
    assert broker.get_order(placed.broker_order_id) == placed


def test_modify_a_filled_order_is_rejected(broker, order, tick) -> None:
    placed = broker.place_order(order())
    tick("1520.40")
    with pytest.raises(OrderRejected, match="FILLED"):
        broker.modify_order(placed.broker_order_id, quantity=20)


def test_listeners_hear_every_fill_and_trigger_and_survive_a_failing_one(broker, order,
                                                                         tick) -> None:
    heard: list[BrokerOrder] = []

    def broken(update: BrokerOrder) -> None:
        raise RuntimeError("listener bug")

    broker.subscribe_updates(broken)
    broker.subscribe_updates(heard.append)
    tick("1520.40")
    market = broker.place_order(order())
    stop = broker.place_order(order(side="SELL", kind="SL-M", trigger="1500.00"))
    assert heard == []  # acknowledgements are return values, not updates
    tick("1520.45")
    tick("1499.00")
    assert [(u.broker_order_id, u.status, u.raw["status"]) for u in heard] == [
        (market.broker_order_id, OrderStatus.FILLED, "COMPLETE"),
        (stop.broker_order_id, OrderStatus.OPEN, "OPEN"),
        (stop.broker_order_id, OrderStatus.FILLED, "COMPLETE"),
    ]
    broker.unsubscribe_updates(heard.append)
    broker.place_order(order())
    tick("1500.00")
    assert len(heard) == 3


def test_a_listener_may_call_back_into_the_broker(broker, order, tick) -> None:
    seen: list[list[BrokerOrder]] = []
    broker.subscribe_updates(lambda update: seen.append(broker.orders()))
    broker.place_order(order())
    tick("1520.40")  # would deadlock if listeners ran under the lock
    assert len(seen) == 1


def _scenario(seed: int) -> tuple[list[BrokerOrder], list[PaperTrade]]:
    clock = FrozenClock(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))
    broker = PaperBroker(clock, seed=seed, partial_fills=True)
    for i in range(6):
        broker.place_order(OrderRequest(f"s{i}", "INFY" if i % 2 else "TCS",
                                        Side.BUY if i % 3 else Side.SELL, OrderKind.MARKET,
                                        37 + i))
    for n in range(8):
        clock.advance(timedelta(seconds=1))
        broker.on_tick("INFY", D("1520.40") + D("0.05") * n, clock.now())
        broker.on_tick("TCS", D("3410.25") - D("0.05") * n, clock.now())
    return broker.orders(), broker.trades()


def test_the_same_seed_gives_identical_order_ids_and_fills() -> None:
    orders, trades = _scenario(seed=7)
    assert (orders, trades) == _scenario(seed=7)
    assert [o.broker_order_id for o in orders] == [f"P{i:06d}" for i in range(1, 7)]
    assert trades != _scenario(seed=8)[1]  # the seed decides the partial-fill slices


def test_history_is_oldest_first_and_ends_at_the_current_state(broker, order, tick) -> None:
    placed = broker.place_order(order())
    tick("1520.40")
    history = broker.order_history(placed.broker_order_id)
    assert [h.status for h in history] == [OrderStatus.PENDING, OrderStatus.OPEN,
                                           OrderStatus.FILLED]
    assert history[-1] == broker.get_order(placed.broker_order_id)
