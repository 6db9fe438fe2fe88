"""Market hours and validity as Kite applies them: regular orders from the pre-open to the
close of a trading day, AMOs outside it (sent to the exchange the next morning), matching
only in the session, DAY orders expiring at the close, TTL orders after their minutes.

Every test pins the sandbox's clock, so none depends on when the suite runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException

from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.domain.clock import IST, FrozenClock

from .conftest import OrderEvents, login

SUNDAY_0717 = datetime(2026, 1, 11, 7, 17, tzinfo=IST)
MONDAY = (2026, 1, 12)
TUESDAY = (2026, 1, 13)


def at(day: tuple[int, int, int], hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(*day, hh, mm, ss, tzinfo=IST)


def limit(kite: KiteConnect, variety: str = "regular", **fields: object) -> str:
    params: dict[str, object] = {
        "variety": variety, "exchange": "NSE", "tradingsymbol": "INFY",
        "transaction_type": "BUY", "quantity": 2, "product": "CNC", "order_type": "LIMIT",
        "price": 1500,
    }
    params.update(fields)
    return kite.place_order(**params)  # type: ignore[arg-type]


def last(kite: KiteConnect, order_id: str) -> dict[str, object]:
    return kite.order_history(order_id)[-1]


@pytest.fixture
def sunday(make_sandbox: Callable[..., KiteSandbox]) -> tuple[KiteSandbox, FrozenClock]:
    clock = FrozenClock(SUNDAY_0717)
    return make_sandbox(clock=clock), clock


def test_no_regular_orders_and_no_fills_on_a_sunday(sunday) -> None:
    sandbox, _clock = sunday
    kite = login(sandbox)
    sandbox.set_price("INFY", "1490")
    for order_type in ("LIMIT", "MARKET"):
        with pytest.raises(InputException) as info:
            limit(kite, order_type=order_type, market_protection=-1)
        assert info.value.code == 400 and "Markets are closed" in str(info.value)
    assert kite.orders() == []
    # An AMO is taken (any time on a day without a session) and waits, even when its
    # limit is crossed.
    amo = limit(kite, variety="amo")
    sandbox.set_price("INFY", "1480")
    order = last(kite, amo)
    assert order["status"] == "AMO REQ RECEIVED" and order["filled_quantity"] == 0
    assert order["variety"] == "amo"
    # GTTs are watched only in the session too.
    leg = {"transaction_type": "BUY", "quantity": 1, "order_type": "LIMIT", "product": "CNC",
           "price": 1470}
    gtt = kite.place_gtt("single", "INFY", "NSE", [1470], 1480, [leg])["trigger_id"]
    sandbox.set_price("INFY", "1465")
    assert kite.get_gtt(gtt)["status"] == "active"


def test_prices_stand_still_outside_the_session(make_sandbox: Callable[..., KiteSandbox]
                                                ) -> None:
    sandbox = make_sandbox(clock=FrozenClock(SUNDAY_0717), volatility=0.05)
    before = sandbox.price("INFY")
    assert sandbox.state.market.step(60.0) == []
    assert sandbox.price("INFY") == before


def test_amo_waits_for_the_next_morning(sandbox: KiteSandbox, clock: FrozenClock) -> None:
    kite = login(sandbox)
    sandbox.set_price("INFY", "1490")  # the AMO below is marketable all along
    clock.set(at(MONDAY, 15, 45))  # after the close, before the AMO window
    with pytest.raises(InputException, match="Markets are closed"):
        limit(kite)
    with pytest.raises(InputException, match="AMO"):
        limit(kite, variety="amo")
    clock.set(at(MONDAY, 16, 0))
    with pytest.raises(InputException, match="Markets are closed"):
        limit(kite)
    amo = limit(kite, variety="amo")
    stop = limit(kite, variety="amo", order_type="SL", price=1530, trigger_price=1525)
    assert last(kite, amo)["status"] == "AMO REQ RECEIVED"
    kite.modify_order("amo", amo, quantity=3)  # inside the AMO window: allowed
    assert last(kite, amo)["status"] == "AMO REQ RECEIVED" and last(kite, amo)["quantity"] == 3
    clock.set(at(TUESDAY, 8, 59))  # past the AMO window, before the pre-open
    kite = login(sandbox)  # Monday's session lapsed at 06:00
    assert last(kite, amo)["status"] == "AMO REQ RECEIVED"
    with pytest.raises(InputException):
        kite.modify_order("amo", amo, quantity=2)
    clock.set(at(TUESDAY, 9, 0))
    # Market and limit AMOs go to the exchange at 09:00 (the pre-open): working, not
    # matched before the open. Stop-loss AMOs go at 09:15.
    assert [h["status"] for h in kite.order_history(amo)][-3:] == [
        "VALIDATION PENDING", "OPEN PENDING", "OPEN"]
    assert last(kite, amo)["filled_quantity"] == 0
    assert last(kite, stop)["status"] == "AMO REQ RECEIVED"
    clock.set(at(TUESDAY, 9, 15))
    filled = last(kite, amo)
    assert filled["status"] == "COMPLETE" and filled["average_price"] == 1490
    assert last(kite, stop)["status"] == "TRIGGER PENDING"


def test_amo_is_refused_in_market_hours(kite: KiteConnect) -> None:
    with pytest.raises(InputException, match="AMO"):
        limit(kite, variety="amo")
    assert kite.orders() == []


def test_pre_open_takes_day_orders_and_matches_from_the_open(sandbox: KiteSandbox,
                                                             clock: FrozenClock) -> None:
    clock.set(at(MONDAY, 8, 59))
    kite = login(sandbox)
    sandbox.set_price("INFY", "1490")
    with pytest.raises(InputException, match="Markets are closed"):
        limit(kite)
    clock.set(at(MONDAY, 9, 5))
    order_id = limit(kite)
    assert last(kite, order_id)["status"] == "OPEN"
    assert last(kite, order_id)["filled_quantity"] == 0
    for refused in ({"validity": "IOC"}, {"order_type": "SL", "trigger_price": 1495,
                                          "price": 1496}):
        with pytest.raises(InputException, match="pre-open"):
            limit(kite, **refused)
    clock.set(at(MONDAY, 9, 15))
    assert last(kite, order_id)["status"] == "COMPLETE"


def test_day_order_expires_at_the_close(sandbox: KiteSandbox, clock: FrozenClock,
                                        order_events: OrderEvents) -> None:
    kite = login(sandbox)
    order_id = limit(kite, price=1300)
    clock.set(at(MONDAY, 15, 29, 59))
    assert last(kite, order_id)["status"] == "OPEN"
    clock.set(at(MONDAY, 15, 30))
    # Announced over the ticker by the sandbox's own clock, with no request to prompt it.
    update = order_events.wait_for(order_id, "CANCELLED")
    assert update["cancelled_quantity"] == 2 and update["pending_quantity"] == 0
    assert "close" in update["status_message"]


def test_ttl_order_expires_after_its_minutes(sandbox: KiteSandbox, clock: FrozenClock
                                             ) -> None:
    kite = login(sandbox)
    sandbox.set_price("INFY", "1500")
    sandbox.set_liquidity("INFY", 1)
    order_id = limit(kite, validity="TTL", validity_ttl=5, quantity=3, price=1500)
    assert last(kite, order_id)["filled_quantity"] == 1
    assert last(kite, order_id)["validity_ttl"] == 5
    clock.advance(timedelta(minutes=4, seconds=59))
    assert last(kite, order_id)["status"] == "OPEN"
    clock.advance(timedelta(seconds=1))
    expired = last(kite, order_id)
    assert expired["status"] == "CANCELLED"
    assert (expired["filled_quantity"], expired["cancelled_quantity"]) == (1, 2)
    assert "TTL" in expired["status_message"]
