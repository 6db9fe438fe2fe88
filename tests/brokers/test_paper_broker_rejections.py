"""Paper broker refusals and injected faults: what is recorded, what is not, what moves."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from tui_trader.brokers.base import (
    BrokerOrder,
    BrokerUnavailable,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    OutcomeUnknown,
    TokenExpired,
)
from tui_trader.brokers.feeds.base import Tick
from tui_trader.brokers.paper import PaperBroker
from tui_trader.domain.enums import OrderKind, OrderStatus, Side
from tui_trader.domain.errors import ValidationError

D = Decimal
START = D("1000000")


@pytest.mark.parametrize("kwargs,reason", [
    ({"quantity": 0}, "quantity must be greater than 0"),
    ({"quantity": -5}, "quantity must be greater than 0"),
    ({"quantity": 2.5}, "quantity must be a whole number"),
    ({"kind": "LIMIT", "price": "1500.03"}, "not a multiple of the tick size 0.05"),
    ({"kind": "LIMIT", "price": "0"}, "price must be greater than 0"),
    ({"kind": "LIMIT", "price": "-1.00"}, "price must be greater than 0"),
    ({"kind": "SL-M", "side": "SELL", "trigger": "1500.01"}, "trigger price 1500.01 is not"),
    ({"kind": "LIMIT", "price": "1500.00", "quantity": 700},
     "insufficient funds: the order needs 1050000.00, 1000000 is available"),
    ({"quantity": 700}, "insufficient funds"),  # MARKET estimated at the last price
    ({"symbol": "NOSUCH"}, "unknown instrument NSE:NOSUCH"),
    ({"symbol": "NIFTY 50"}, "is an index"),
    ({"kind": "LIMIT"}, "a LIMIT order needs a price"),
    ({"kind": "MARKET", "price": "1500.00"}, "a MARKET order takes no price"),
    ({"kind": "SL", "price": "1500.00"}, "needs a trigger price"),
    ({"kind": "SL", "price": "1530.00", "trigger": "1535.00"}, "must not be above its price"),
    ({"kind": "SL-M", "trigger": "1520.00"}, "must be above the last price 1520.40"),
    ({"kind": "SL-M", "side": "SELL", "trigger": "1525.00"}, "below the last price"),
    ({"side": "SELL", "product": "CNC"}, "insufficient holdings"),
])
def test_rejection_is_recorded_with_its_reason_and_moves_nothing(broker, order, tick,
                                                                 kwargs, reason) -> None:
    tick("1520.40")
    req = order(tag="rej1", **kwargs)
    with pytest.raises(OrderRejected) as err:
        broker.place_order(req)
    assert reason in err.value.reason
    rejected = err.value.order
    assert rejected is not None and rejected.status is OrderStatus.REJECTED
    assert rejected.message == err.value.reason and rejected.raw["status"] == "REJECTED"
    assert rejected.raw["status_message"] == err.value.reason
    assert broker.get_order(rejected.broker_order_id) == rejected
    assert broker.orders_by_tag("rej1") == [rejected]
    assert broker.cash() == START and broker.funds() == START
    assert broker.positions() == {} and broker.trades() == []
    tick("1400.00")
    tick("1700.00")
    assert broker.get_order(rejected.broker_order_id).status is OrderStatus.REJECTED
    assert broker.cash() == START and broker.positions() == {}


def test_funds_check_counts_what_working_orders_already_block(broker, order, tick) -> None:
    tick("1520.40")
    broker.place_order(order(kind="LIMIT", price="1500.00", quantity=600))  # blocks 900000
    assert broker.funds() == D("100000.00")
    with pytest.raises(OrderRejected, match="insufficient funds"):
        broker.place_order(order(kind="LIMIT", price="1500.00", quantity=100))
    broker.place_order(order(side="SELL", kind="LIMIT", price="1600.00", quantity=100))
    assert broker.funds() == D("100000.00")  # sells block nothing


def test_cnc_sell_is_allowed_against_holdings(broker, order, tick) -> None:
    broker.place_order(order(quantity=5, product="CNC"))
    tick("1520.40")
    sold = broker.place_order(order(side="SELL", quantity=5, product="CNC"))
    assert sold.status is OrderStatus.OPEN


def test_unknown_order_ids_are_reported_as_not_found(broker) -> None:
    for call in (broker.get_order, broker.cancel_order, broker.order_history,
                 lambda i: broker.modify_order(i, quantity=1)):
        with pytest.raises(OrderNotFound):
            call("P999999")


def test_outcome_unknown_happens_after_the_order_exists(broker, order, tick) -> None:
    tick("1520.40")
    broker.fail_next(1, OutcomeUnknown)
    req = order(tag="amb1")
    with pytest.raises(OutcomeUnknown) as err:
        broker.place_order(req)
    assert err.value.client_tag == "amb1"
    assert broker.placed_count() == 1
    [found] = broker.orders_by_tag("amb1")
    assert found.status is OrderStatus.OPEN
    tick("1521.00")  # the order is live: it fills although the caller never heard back
    assert broker.orders_by_tag("amb1")[0].status is OrderStatus.FILLED
    again = broker.place_order(order(tag="amb2"))  # the fault was used up
    assert again.status is OrderStatus.OPEN


@pytest.mark.parametrize("exc_type", [BrokerUnavailable, TokenExpired])
def test_not_sent_faults_happen_before_anything_is_recorded(broker, order, exc_type) -> None:
    broker.fail_next(2, exc_type)
    for _ in range(2):
        with pytest.raises(exc_type):
            broker.place_order(order(tag="gone"))
    assert broker.placed_count() == 0 and broker.orders_by_tag("gone") == []
    broker.place_order(order(tag="gone"))
    assert broker.placed_count() == 1


def test_injected_rejection_is_recorded(broker, order) -> None:
    broker.fail_next(1, OrderRejected)
    with pytest.raises(OrderRejected, match="injected"):
        broker.place_order(order(tag="nope"))
    assert [o.status for o in broker.orders_by_tag("nope")] == [OrderStatus.REJECTED]


def test_duplicate_tags_are_accepted_and_all_found(broker, order) -> None:
    first = broker.place_order(order(tag="dup"))
    second = broker.place_order(order(tag="dup"))
    assert first.broker_order_id != second.broker_order_id
    assert [o.broker_order_id for o in broker.orders_by_tag("dup")] == [
        first.broker_order_id, second.broker_order_id]
    assert broker.placed_count() == 2
    assert [o.broker_order_id for o in broker.orders()] == [first.broker_order_id,
                                                            second.broker_order_id]


def test_a_closed_broker_refuses_as_unavailable(broker, order, clock) -> None:
    broker.close()
    with pytest.raises(BrokerUnavailable):
        broker.place_order(order())
    broker.on_tick("INFY", D("1520.40"), clock.now())  # ignored, no error


def test_ticks_must_carry_a_positive_decimal(broker, clock) -> None:
    with pytest.raises(ValidationError):
        broker.on_tick("INFY", 1520.4, clock.now())  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        broker.on_tick("INFY", D("0"), clock.now())


def test_starting_cash_must_be_exact(clock) -> None:
    with pytest.raises(ValidationError):
        PaperBroker(clock, starting_cash=1e6)  # type: ignore[arg-type]


def test_request_quantity_type_is_the_brokers_to_reject() -> None:
    # OrderRequest leaves broker rules to the broker, so the paper broker can reject them.
    req = OrderRequest("abc", "INFY", Side.BUY, OrderKind.MARKET, 0)
    assert req.quantity == 0


def test_latency_delays_the_reply_but_the_order_exists_meanwhile(clock, order) -> None:
    broker = PaperBroker(clock, latency=(0.02, 0.03))
    began = time.monotonic()
    placed = broker.place_order(order())
    assert time.monotonic() - began >= 0.02
    assert broker.get_order(placed.broker_order_id).status is OrderStatus.OPEN


def test_a_bad_tick_in_a_batch_still_announces_earlier_fills(broker, order, clock) -> None:
    heard: list[BrokerOrder] = []
    broker.subscribe_updates(heard.append)
    broker.place_order(order())
    with pytest.raises(ValidationError):
        broker.on_ticks([Tick("INFY", D("1520.40"), clock.now(), 1, 1),
                         Tick("INFY", D("-1"), clock.now(), 1, 2)])
    assert [u.status for u in heard] == [OrderStatus.FILLED]
