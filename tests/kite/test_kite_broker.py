"""KiteBroker against the sandbox with the real kiteconnect client: every order type to its
final status, status mapping, rejections, funds, token lapse and HTTP failures."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tui_trader.brokers.base import (
    Broker,
    BrokerOrder,
    BrokerUnavailable,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    OutcomeUnknown,
    TokenExpired,
)
from tui_trader.brokers.kite import TOKEN_EXPIRED_MESSAGE, KiteBroker, map_status
from tui_trader.brokers.kite_sandbox import KiteSandbox, RateLimits
from tui_trader.domain.clock import IST, FrozenClock
from tui_trader.domain.enums import OrderStatus
from tui_trader.security.secret import Secret

from .conftest import API_KEY


def req(tag: str, kind: str = "MARKET", side: str = "BUY", qty: int = 1, *,
        price: str | None = None, trigger: str | None = None,
        symbol: str = "INFY") -> OrderRequest:
    return OrderRequest(client_tag=tag, symbol=symbol, side=side, kind=kind, quantity=qty,
                        price=Decimal(price) if price else None,
                        trigger_price=Decimal(trigger) if trigger else None)


def wait_status(broker: KiteBroker, order_id: str, status: OrderStatus,
                timeout: float = 5) -> BrokerOrder:
    deadline = time.monotonic() + timeout
    while True:
        order = broker.get_order(order_id)
        if order.status is status:
            return order
        if time.monotonic() > deadline:
            raise AssertionError(f"order {order_id} is {order.status}, never {status}")
        time.sleep(0.05)


def test_is_a_broker_and_repr_hides_secrets(broker: KiteBroker) -> None:
    assert isinstance(broker, Broker)
    assert API_KEY not in repr(broker)
    assert broker.kite.access_token not in repr(broker)


def test_market_order_fills(sandbox: KiteSandbox, broker: KiteBroker) -> None:
    sandbox.set_price("INFY", "1520.40")
    order = broker.place_order(req("MKT1", qty=3))
    assert order.status is OrderStatus.FILLED
    assert order.filled_quantity == 3 and order.average_price == Decimal("1520.4")
    assert order.client_tag == "MKT1" and order.updated_at.tzinfo is not None
    sent = sandbox.received_orders[-1].params
    assert sent["tag"] == "MKT1" and sandbox.received_orders[-1].variety == "regular"
    assert sent["market_protection"] == "-1" and sent["product"] == "MIS"


def test_limit_order_rests_then_modify_fills(sandbox: KiteSandbox, broker: KiteBroker) -> None:
    sandbox.set_price("INFY", "1520")
    order = broker.place_order(req("LMT1", "LIMIT", price="1500.05", qty=2))
    assert order.status is OrderStatus.OPEN and order.price == Decimal("1500.05")
    assert "market_protection" not in sandbox.received_orders[-1].params
    broker.modify_order(order.broker_order_id, price=Decimal("1525"))
    filled = wait_status(broker, order.broker_order_id, OrderStatus.FILLED)
    assert filled.average_price == Decimal("1520")


def test_limit_order_cancelled(broker: KiteBroker) -> None:
    order = broker.place_order(req("LMT2", "LIMIT", price="1300"))
    cancelled = broker.cancel_order(order.broker_order_id)
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.is_final
    history = broker.order_history(order.broker_order_id)
    assert [h.status for h in history][-2:] == [OrderStatus.OPEN, OrderStatus.CANCELLED]
    assert history[0].status is OrderStatus.PENDING


@pytest.mark.parametrize("kind, price", [("SL", "1530.00"), ("SL-M", None)])
def test_stop_orders_trigger_and_fill(sandbox: KiteSandbox, broker: KiteBroker, kind: str,
                                      price: str | None) -> None:
    sandbox.set_price("INFY", "1520")
    order = broker.place_order(req(f"STP{kind.replace('-', '')}", kind, price=price,
                                   trigger="1525.00"))
    assert order.status is OrderStatus.OPEN
    assert order.raw["status"] == "TRIGGER PENDING"
    assert order.trigger_price == Decimal("1525.00")
    assert ("market_protection" in sandbox.received_orders[-1].params) is (kind == "SL-M")
    sandbox.set_price("INFY", "1526")
    filled = wait_status(broker, order.broker_order_id, OrderStatus.FILLED)
    assert filled.average_price == Decimal("1526")


def test_sell_limit_fills_immediately_when_marketable(sandbox: KiteSandbox,
                                                      broker: KiteBroker) -> None:
    sandbox.set_price("TCS", "3400")
    order = broker.place_order(req("SELL1", "LIMIT", "SELL", price="3390", symbol="TCS"))
    assert order.status is OrderStatus.FILLED and order.side.value == "SELL"


def test_partial_fill_is_reported(sandbox: KiteSandbox, broker: KiteBroker) -> None:
    sandbox.set_partial_fills(True)
    sandbox.set_price("INFY", "1520")
    order = broker.place_order(req("PART1", "LIMIT", price="1521", qty=4))
    final = wait_status(broker, order.broker_order_id, OrderStatus.FILLED)
    history = broker.order_history(order.broker_order_id)
    partial = [h for h in history if h.status is OrderStatus.PARTIALLY_FILLED]
    assert partial and partial[0].filled_quantity == 2 and partial[0].pending_quantity == 2
    assert final.filled_quantity == 4


def test_input_error_is_rejected(sandbox: KiteSandbox, broker: KiteBroker) -> None:
    with pytest.raises(OrderRejected) as info:
        broker.place_order(req("BAD1", symbol="NOSUCHSYM"))
    assert "NOSUCHSYM" in info.value.reason
    assert broker.orders_by_tag("BAD1") == []


def test_rms_rejection_arrives_as_rejected_status(broker: KiteBroker) -> None:
    # Accepted by the API, then rejected by risk checks: price off the tick grid.
    order = broker.place_order(req("RMS1", "LIMIT", price="1500.03"))
    assert order.status is OrderStatus.REJECTED and "Tick size" in (order.message or "")


def test_unprotected_market_is_rejected_by_kite(sandbox: KiteSandbox,
                                                make_broker: Callable[..., KiteBroker]) -> None:
    raw = make_broker(sandbox, market_protection=0)
    order = raw.place_order(req("NOPROT1"))
    assert order.status is OrderStatus.REJECTED


def test_protected_market_order_that_rests_is_working_not_failed(
        sandbox: KiteSandbox, broker: KiteBroker) -> None:
    sandbox.set_price("INFY", "1520")
    sandbox.set_liquidity("INFY", 4)
    order = broker.place_order(req("PROT1", qty=10))
    # Kite holds it as a limit at the protection price: 4 bought, 6 working.
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.filled_quantity == 4
    assert order.kind.value == "LIMIT" and order.price == Decimal("1527.6")
    assert order.client_tag == "PROT1" and order.pending_quantity == 6
    assert broker.orders_by_tag("PROT1")[0].broker_order_id == order.broker_order_id
    sandbox.set_liquidity("INFY", None)
    sandbox.set_price("INFY", "1525")
    filled = wait_status(broker, order.broker_order_id, OrderStatus.FILLED)
    assert filled.filled_quantity == 10 and filled.average_price == Decimal("1523")


def test_kites_own_tags_are_not_taken_for_ours(broker: KiteBroker) -> None:
    update = broker.to_order({"order_id": "7", "status": "OPEN", "tag": None,
                              "tags": ["mktp", "mktp:0.50"], "tradingsymbol": "INFY"})
    assert update.client_tag == ""


def test_reads(sandbox: KiteSandbox, broker: KiteBroker) -> None:
    assert broker.funds() == Decimal("1000000")
    a = broker.place_order(req("READA", "LIMIT", price="1300"))
    b = broker.place_order(req("READB"))
    assert [o.broker_order_id for o in broker.orders()] == [a.broker_order_id,
                                                            b.broker_order_id]
    [found] = broker.orders_by_tag("READB")
    assert found.broker_order_id == b.broker_order_id
    with pytest.raises(OrderNotFound):
        broker.get_order("999999999")


def test_funds_are_what_is_left_after_margin_used(sandbox: KiteSandbox,
                                                  broker: KiteBroker) -> None:
    sandbox.set_price("INFY", "1520")
    broker.place_order(OrderRequest(client_tag="FUNDS1", symbol="INFY", side="BUY",
                                    kind="MARKET", quantity=10, product="CNC"))
    broker.place_order(req("FUNDS2", "LIMIT", price="1300", qty=5))  # MIS, resting
    # Delivery blocks the full 15,200; the resting MIS order a fifth of 6,500.
    assert broker.funds() == Decimal("1000000") - Decimal("15200") - Decimal("1300")
    assert sandbox.state.portfolio.margins("SB1234", "equity")["available"]["cash"] == 1000000


def test_status_mapping() -> None:
    assert map_status("COMPLETE", 5) is OrderStatus.FILLED
    assert map_status("CANCELLED", 2) is OrderStatus.CANCELLED
    assert map_status("REJECTED") is OrderStatus.REJECTED
    assert map_status("OPEN") is OrderStatus.OPEN
    assert map_status("TRIGGER PENDING") is OrderStatus.OPEN
    assert map_status("OPEN", 1) is OrderStatus.PARTIALLY_FILLED
    assert map_status("MODIFY PENDING", 1) is OrderStatus.PARTIALLY_FILLED
    # Kite announces a modification or a partial fill of a working order as UPDATE.
    assert map_status("UPDATE") is OrderStatus.OPEN
    assert map_status("UPDATE", 2) is OrderStatus.PARTIALLY_FILLED
    for interim in ("PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING",
                    "AMO REQ RECEIVED", "SOMETHING NEW", None):
        assert map_status(interim) is OrderStatus.PENDING


def test_ticker_style_update_reaches_listeners(broker: KiteBroker) -> None:
    seen: list[BrokerOrder] = []
    broker.subscribe_updates(seen.append)
    broker.apply_order_update({"order_id": "1", "status": "OPEN", "filled_quantity": 1,
                               "quantity": 3, "tag": "UPD1", "tradingsymbol": "INFY",
                               "transaction_type": "BUY", "order_type": "LIMIT",
                               "price": 1500.1, "average_price": 1500.1,
                               "order_timestamp": "2026-01-12 10:00:05"})
    [update] = seen
    assert update.status is OrderStatus.PARTIALLY_FILLED and update.price == Decimal("1500.1")
    assert update.updated_at == datetime(2026, 1, 12, 10, 0, 5, tzinfo=IST)
    assert broker.apply_order_update({"status": "OPEN"}) is None  # no order id: dropped
    assert len(seen) == 1


# -- failures ------------------------------------------------------------------------------------


def test_html_503_on_place_is_unknown_and_not_resent(sandbox: KiteSandbox,
                                                     broker: KiteBroker) -> None:
    sandbox.fail_next(1, status=503, path_prefix="/orders/")
    before = len(sandbox.received_orders)
    with pytest.raises(OutcomeUnknown) as info:
        broker.place_order(req("HTML1"))
    assert info.value.client_tag == "HTML1"
    assert "<html" not in info.value.message.lower()
    assert len(sandbox.received_orders) == before  # the proxy answered; one attempt only
    assert broker.orders_by_tag("HTML1") == []


@pytest.mark.parametrize("error_type", ["MarginException", "HoldingException", "UserException",
                                        "OrderException", "PermissionException",
                                        "InputException"])
def test_kites_refusals_are_rejections(sandbox: KiteSandbox, broker: KiteBroker,
                                       error_type: str) -> None:
    sandbox.answer_next(1, error_type, message="Not enough to place this order.",
                        path_prefix="/orders/")
    with pytest.raises(OrderRejected) as info:
        broker.place_order(req("REFUSE1"))
    assert info.value.reason == "Not enough to place this order."
    assert broker.orders_by_tag("REFUSE1") == []
    order = broker.place_order(req("REFUSE2", "LIMIT", price="1300"))
    sandbox.answer_next(1, error_type, message="Not now.", path_prefix="/orders/regular/")
    with pytest.raises(OrderRejected, match="Not now"):
        broker.modify_order(order.broker_order_id, price=Decimal("1300.05"))


@pytest.mark.parametrize(("error_type", "status"), [("GeneralException", 500),
                                                    ("DataException", 502),
                                                    ("NetworkException", 503)])
def test_json_5xx_on_place_is_unknown(sandbox: KiteSandbox, broker: KiteBroker,
                                      error_type: str, status: int) -> None:
    sandbox.answer_next(1, error_type, status=status, path_prefix="/orders/", placed=True)
    with pytest.raises(OutcomeUnknown) as info:
        broker.place_order(req("JSON5XX"))
    assert info.value.client_tag == "JSON5XX" and f"HTTP {status}" in info.value.message
    [found] = broker.orders_by_tag("JSON5XX")  # it was placed: reconciliation finds it
    assert found.status is OrderStatus.FILLED
    assert len(sandbox.received_orders) == 1  # and it was never re-sent


def test_read_failure_is_unavailable_and_retried_once(sandbox: KiteSandbox,
                                                      broker: KiteBroker) -> None:
    sandbox.fail_next(1, status=502, path_prefix="/orders")
    assert broker.orders() == []  # the one retry succeeds
    sandbox.fail_next(2, status=502, path_prefix="/user/margins")
    with pytest.raises(BrokerUnavailable) as info:
        broker.funds()
    assert "Kite unavailable" in info.value.message


def test_connection_refused_on_place_is_unknown(clock: FrozenClock) -> None:
    dead = KiteBroker(Secret(API_KEY), Secret("x" * 32), root="http://127.0.0.1:9",
                      clock=clock, timeout=0.5)
    with pytest.raises(OutcomeUnknown):
        dead.place_order(req("DEAD1"))
    with pytest.raises(BrokerUnavailable):
        dead.orders_by_tag("DEAD1")


def test_server_429_on_place_is_not_placed(make_sandbox: Callable[..., KiteSandbox],
                                           make_broker: Callable[..., KiteBroker]) -> None:
    sandbox = make_sandbox(rate_limits=RateLimits(orders_per_s=1000, orders_per_min=2))
    broker = make_broker(sandbox, sleep=lambda s: None)
    broker.place_order(req("RL1", "LIMIT", price="1300"))
    broker.place_order(req("RL2", "LIMIT", price="1300"))
    with pytest.raises(BrokerUnavailable) as info:
        broker.place_order(req("RL3", "LIMIT", price="1300"))
    assert not isinstance(info.value, OutcomeUnknown)
    assert "429" in info.value.message and "not placed" in info.value.message
    assert [r.http_status for r in sandbox.received_orders] == [200, 200, 429]
    assert broker.orders_by_tag("RL3") == []


def test_token_lapse_at_six_ist(sandbox: KiteSandbox, clock: FrozenClock,
                                make_broker: Callable[..., KiteBroker]) -> None:
    broker = make_broker(sandbox)
    broker.place_order(req("DAY1", "LIMIT", price="1300"))
    # Tuesday 05:59:59 IST: still valid; 06:00: lapsed at the server.
    clock.set(datetime(2026, 1, 13, 5, 59, 59, tzinfo=IST))
    assert broker.funds() > 0
    clock.set(datetime(2026, 1, 13, 6, 0, 0, tzinfo=IST))
    sent = len(sandbox.received_orders)
    with pytest.raises(TokenExpired) as info:
        broker.place_order(req("DAY2", "LIMIT", price="1300"))
    assert info.value.message == TOKEN_EXPIRED_MESSAGE
    assert len(sandbox.received_orders) == sent + 1
    calls = broker.requests_sent
    # No retry loop: later calls fail fast without touching Kite.
    for _ in range(3):
        with pytest.raises(TokenExpired):
            broker.place_order(req("DAY3", "LIMIT", price="1300"))
        with pytest.raises(TokenExpired):
            broker.orders_by_tag("DAY2")
    assert broker.requests_sent == calls and len(sandbox.received_orders) == sent + 1
    # A new login's token revives it.
    broker.set_access_token(Secret(sandbox.issue_access_token()))
    assert broker.orders_by_tag("DAY2") == []


def test_known_expiry_refuses_before_sending(sandbox: KiteSandbox, clock: FrozenClock,
                                            make_broker: Callable[..., KiteBroker]) -> None:
    lapse = clock.now() + timedelta(minutes=1)
    fresh: list[tuple[Secret | None, datetime | None]] = [(None, None)]
    broker = make_broker(sandbox, token_expires_at=lapse, token_source=lambda: fresh[0])
    clock.advance(timedelta(minutes=2))
    with pytest.raises(TokenExpired):
        broker.place_order(req("EXP1"))
    assert broker.requests_sent == 0 and sandbox.received_orders == []
    fresh[0] = (Secret(sandbox.issue_access_token()), clock.now() + timedelta(hours=5))
    assert broker.place_order(req("EXP2")).status is OrderStatus.FILLED


def test_revoked_token_is_token_expired(sandbox: KiteSandbox, broker: KiteBroker) -> None:
    sandbox.revoke_tokens()
    with pytest.raises(TokenExpired, match="log in again"):
        broker.orders()


def test_algo_id_is_sent_when_configured(sandbox: KiteSandbox,
                                         make_broker: Callable[..., KiteBroker]) -> None:
    broker = make_broker(sandbox, algo_id="ALGO42")
    broker.place_order(req("ALGO1"))
    assert sandbox.received_orders[-1].params["algo_id"] == "ALGO42"


def test_placed_order_survives_a_failed_snapshot_read(
        sandbox: KiteSandbox, make_broker: Callable[..., KiteBroker]) -> None:
    broker = make_broker(sandbox, read_retries=0)
    sandbox.fail_next(1, status=503, path_prefix="/orders/26")  # GET /orders/{id} only
    order = broker.place_order(req("SNAP1", "LIMIT", price="1300"))
    assert order.status is OrderStatus.PENDING and order.client_tag == "SNAP1"
    assert order.broker_order_id == sandbox.received_orders[-1].order_id
    assert broker.get_order(order.broker_order_id).status is OrderStatus.OPEN


def test_read_429_backs_off_then_succeeds(make_sandbox: Callable[..., KiteSandbox],
                                          make_broker: Callable[..., KiteBroker]) -> None:
    sandbox = make_sandbox(rate_limits=RateLimits())  # Kite's real limits: 3 candles req/s
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    broker = make_broker(sandbox, sleep=sleep)
    start = datetime(2026, 1, 5, 9, 15, tzinfo=IST)
    for _ in range(4):
        assert broker.historical(408065, start, start + timedelta(days=3), "day")
    assert slept == [1.0]
    no_retry = make_broker(sandbox, read_retries=0)
    with pytest.raises(BrokerUnavailable, match="HTTP 429"):
        for _ in range(4):
            no_retry.historical(408065, start, start + timedelta(days=3), "day")
