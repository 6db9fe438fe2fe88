"""Order life cycles, modify/cancel, trades, positions and margins via kiteconnect."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException, NetworkException

from tui_trader.brokers.kite_sandbox import HoldingSeed, KiteSandbox, RateLimits

from .conftest import OrderEvents, login

ACCEPTED = ["PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING"]


def statuses(kite: KiteConnect, order_id: str) -> list[str]:
    return [h["status"] for h in kite.order_history(order_id)]


def place(kite: KiteConnect, **fields: object) -> str:
    params: dict[str, object] = {
        "variety": "regular", "exchange": "NSE", "tradingsymbol": "INFY",
        "transaction_type": "BUY", "quantity": 5, "product": "CNC", "order_type": "MARKET",
    }
    if fields.get("order_type", "MARKET") in ("MARKET", "SL-M"):
        params["market_protection"] = -1
    params.update(fields)
    return kite.place_order(**params)  # type: ignore[arg-type]


def test_market_order_completes_through_interim_states(sandbox: KiteSandbox,
                                                       kite: KiteConnect) -> None:
    sandbox.set_price("INFY", "1500.05")
    order_id = place(kite)
    assert order_id.isdigit() and len(order_id) == 15
    history = kite.order_history(order_id)
    assert [h["status"] for h in history] == ACCEPTED + ["OPEN", "COMPLETE"]
    assert history[0]["exchange_order_id"] is None
    last = history[-1]
    assert last["filled_quantity"] == 5 and last["pending_quantity"] == 0
    assert last["average_price"] == 1500.05
    trades = kite.order_trades(order_id)
    assert len(trades) == 1 and trades[0]["quantity"] == 5
    assert trades[0]["average_price"] == 1500.05
    assert kite.trades()[0]["trade_id"] == trades[0]["trade_id"]
    [order] = kite.orders()
    assert order["status"] == "COMPLETE" and order["tradingsymbol"] == "INFY"
    # The client parses 19-char timestamps into datetimes.
    assert order["order_timestamp"].year == 2026


def test_market_order_without_protection_is_rejected(sandbox: KiteSandbox,
                                                     kite: KiteConnect) -> None:
    order_id = kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "MARKET")
    history = kite.order_history(order_id)
    assert [h["status"] for h in history] == ["PUT ORDER REQ RECEIVED", "VALIDATION PENDING",
                                              "REJECTED"]
    assert "market protection" in history[-1]["status_message"]
    sl_m = kite.place_order("regular", "NSE", "INFY", "SELL", 1, "CNC", "SL-M",
                            trigger_price=1400, market_protection=0)
    assert statuses(kite, sl_m)[-1] == "REJECTED"
    sandbox.set_reject_unprotected_market(False)
    allowed = kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "MARKET")
    assert statuses(kite, allowed)[-1] == "COMPLETE"


def test_limit_order_rests_then_fills_when_crossed(sandbox: KiteSandbox,
                                                   kite: KiteConnect) -> None:
    sandbox.set_price("TCS", "3410.25")
    order_id = place(kite, tradingsymbol="TCS", order_type="LIMIT", price=3400, quantity=2)
    assert statuses(kite, order_id) == ACCEPTED + ["OPEN"]
    sandbox.set_price("TCS", "3400.50")
    assert statuses(kite, order_id)[-1] == "OPEN"
    sandbox.set_price("TCS", "3399.10")
    history = kite.order_history(order_id)
    assert [h["status"] for h in history] == ACCEPTED + ["OPEN", "COMPLETE"]
    assert history[-1]["average_price"] == 3399.10  # the better price, never worse than limit


def test_marketable_limit_fills_at_once(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.set_price("SBIN", "955.70")
    order_id = place(kite, tradingsymbol="SBIN", transaction_type="SELL", order_type="LIMIT",
                     price=950, product="MIS")
    history = kite.order_history(order_id)
    assert history[-1]["status"] == "COMPLETE"
    assert history[-1]["average_price"] == 955.70


def test_sl_buy_triggers_then_fills(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.set_price("ITC", "405.15")
    order_id = place(kite, tradingsymbol="ITC", order_type="SL", trigger_price=410,
                     price=411, quantity=3)
    assert statuses(kite, order_id) == ACCEPTED + ["TRIGGER PENDING"]
    sandbox.set_price("ITC", "409.95")
    assert statuses(kite, order_id)[-1] == "TRIGGER PENDING"
    sandbox.set_price("ITC", "410.50")
    history = kite.order_history(order_id)
    assert [h["status"] for h in history] == ACCEPTED + ["TRIGGER PENDING", "OPEN", "COMPLETE"]
    assert history[-1]["average_price"] == 410.50
    assert history[-1]["order_type"] == "SL"


def test_sl_triggered_but_limit_not_reached_stays_open(sandbox: KiteSandbox,
                                                       kite: KiteConnect) -> None:
    sandbox.set_price("ITC", "405.15")
    order_id = place(kite, tradingsymbol="ITC", order_type="SL", trigger_price=410,
                     price=410.5)
    sandbox.set_price("ITC", "412")  # gapped through the limit
    assert statuses(kite, order_id)[-2:] == ["TRIGGER PENDING", "OPEN"]
    sandbox.set_price("ITC", "410.40")
    assert statuses(kite, order_id)[-1] == "COMPLETE"


def test_sl_m_sell_triggers_at_market(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.set_price("WIPRO", "248.30")
    order_id = place(kite, tradingsymbol="WIPRO", transaction_type="SELL", order_type="SL-M",
                     trigger_price=245, product="MIS")
    assert statuses(kite, order_id)[-1] == "TRIGGER PENDING"
    sandbox.set_price("WIPRO", "244.10")
    history = kite.order_history(order_id)
    assert [h["status"] for h in history][-3:] == ["TRIGGER PENDING", "OPEN", "COMPLETE"]
    assert history[-1]["average_price"] == 244.10


def test_stop_on_the_wrong_side_is_rejected(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.set_price("ITC", "405.15")
    order_id = place(kite, tradingsymbol="ITC", order_type="SL", trigger_price=400, price=401)
    history = kite.order_history(order_id)
    assert history[-1]["status"] == "REJECTED"
    assert "last traded price" in history[-1]["status_message"]


def test_off_tick_price_is_rejected(kite: KiteConnect) -> None:
    order_id = place(kite, order_type="LIMIT", price="1500.03")
    history = kite.order_history(order_id)
    assert history[-1]["status"] == "REJECTED"
    assert "Tick size" in history[-1]["status_message"]


def test_cancel_open_order(kite: KiteConnect) -> None:
    order_id = place(kite, order_type="LIMIT", price=1300, quantity=4)
    assert kite.cancel_order("regular", order_id) == order_id
    history = kite.order_history(order_id)
    assert [h["status"] for h in history] == ACCEPTED + ["OPEN", "CANCEL PENDING", "CANCELLED"]
    assert history[-1]["cancelled_quantity"] == 4
    assert history[-1]["pending_quantity"] == 0
    with pytest.raises(InputException):
        kite.cancel_order("regular", order_id)


def test_modify_then_fill(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.set_price("INFY", "1520.40")
    order_id = place(kite, order_type="LIMIT", price=1500, quantity=2)
    assert kite.modify_order("regular", order_id, price=1505, quantity=3) == order_id
    history = kite.order_history(order_id)
    assert [h["status"] for h in history][-4:] == ["MODIFY VALIDATION PENDING", "MODIFY PENDING",
                                                   "MODIFIED", "OPEN"]
    assert history[-1]["price"] == 1505 and history[-1]["quantity"] == 3
    assert history[-1]["modified"] is True
    kite.modify_order("regular", order_id, price=1525)  # now marketable
    assert statuses(kite, order_id)[-1] == "COMPLETE"
    with pytest.raises(InputException):
        kite.modify_order("regular", order_id, price=1510)


def test_modification_cap_is_429(make_sandbox: Callable[..., KiteSandbox]) -> None:
    limits = RateLimits.unlimited()
    sandbox = make_sandbox(rate_limits=RateLimits(
        *(limits.quote_per_s, limits.historical_per_s, limits.orders_per_s,
          limits.other_per_s, limits.orders_per_min, limits.orders_per_day), 2))
    kite = login(sandbox)
    order_id = place(kite, order_type="LIMIT", price=1300)
    kite.modify_order("regular", order_id, price=1001)
    kite.modify_order("regular", order_id, price=1002)
    with pytest.raises(NetworkException) as info:
        kite.modify_order("regular", order_id, price=1003)
    assert info.value.code == 429


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"tag": "A" * 21}, "tag"),
        ({"tag": "bad-tag"}, "tag"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": "1.5"}, "quantity"),
        ({"tradingsymbol": "NOSUCH"}, "tradingsymbol"),
        ({"tradingsymbol": "NIFTY 50"}, "index"),
        ({"exchange": "XYZ"}, "exchange"),
        ({"transaction_type": "HOLD"}, "transaction_type"),
        ({"product": "BO"}, "product"),
        ({"order_type": "LIMIT"}, "price"),
        ({"order_type": "SL", "price": 1500}, "trigger_price"),
        ({"order_type": "SL-M"}, "trigger_price"),
        ({"validity": "GTC"}, "validity"),
        ({"validity": "TTL"}, "validity_ttl"),
        ({"market_protection": 101}, "market_protection"),
        ({"variety": "co"}, "co"),
    ],
)
def test_bad_fields_are_input_exceptions(kite: KiteConnect, fields: dict[str, object],
                                         fragment: str) -> None:
    with pytest.raises(InputException) as info:
        place(kite, **fields)
    assert info.value.code == 400
    assert fragment in str(info.value)
    assert kite.orders() == []  # nothing was created


def test_twenty_char_tag_is_kept(kite: KiteConnect) -> None:
    order_id = place(kite, tag="A1" * 10)
    [order] = kite.orders()
    assert order["order_id"] == order_id and order["tag"] == "A1" * 10
    assert order["tags"] == ["A1" * 10, "mktp", "mktp:0.50"]  # Kite's own follow ours


def test_ioc_limit_that_cannot_fill_is_cancelled(sandbox: KiteSandbox,
                                                 kite: KiteConnect) -> None:
    sandbox.set_price("INFY", "1520.40")
    order_id = place(kite, order_type="LIMIT", price=1500, validity="IOC")
    assert statuses(kite, order_id)[-1] == "CANCELLED"




def test_partial_fills(sandbox: KiteSandbox, kite: KiteConnect,
                       order_events: OrderEvents) -> None:
    sandbox.set_partial_fills(True)
    order_id = place(kite, quantity=10)
    order_events.wait_for(order_id, "COMPLETE")
    history = kite.order_history(order_id)
    fills = [(h["status"], h["filled_quantity"]) for h in history]
    assert ("OPEN", 5) in fills and fills[-1] == ("COMPLETE", 10)
    assert [t["quantity"] for t in kite.order_trades(order_id)] == [5, 5]


def test_order_latency_keeps_order_received(make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(order_latency_s=60)  # far longer than the test
    events = OrderEvents(sandbox)
    kite = login(sandbox)
    waiting = place(kite)
    assert statuses(kite, waiting) == ["PUT ORDER REQ RECEIVED", "VALIDATION PENDING"]
    kite.cancel_order("regular", waiting)
    sandbox.state.book.accept(waiting)  # the exchange hand-off comes too late: no effect
    assert statuses(kite, waiting)[-1] == "CANCELLED"
    sandbox.config.order_latency_s = 0.05
    order_id = place(kite)
    events.wait_for(order_id, "COMPLETE")


def test_positions_follow_fills(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.set_price("INFY", "1520.40")
    place(kite, quantity=10, product="MIS")
    sandbox.set_price("INFY", "1530.40")
    place(kite, quantity=4, product="MIS", transaction_type="SELL")
    positions = kite.positions()
    assert set(positions) == {"net", "day"}
    [net] = positions["net"]
    assert net["quantity"] == 6 and net["product"] == "MIS"
    assert net["average_price"] == 1520.40
    assert net["realised"] == pytest.approx(40.0)
    assert net["pnl"] == pytest.approx(4 * 10.0 + 6 * 10.0)
    assert net["buy_quantity"] == 10 and net["sell_quantity"] == 4
    equity = kite.margins("equity")
    blocked = Decimal("6") * Decimal("1520.40") * Decimal("0.2")
    assert equity["utilised"]["debits"] == pytest.approx(float(blocked))


def test_insufficient_funds_rejects(make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(opening_cash=Decimal("10000"))
    kite = login(sandbox)
    sandbox.set_price("INFY", "1520.40")
    order_id = place(kite, quantity=10)
    history = kite.order_history(order_id)
    assert history[-1]["status"] == "REJECTED"
    assert history[-1]["status_message"].startswith("Insufficient funds")
    # Intraday leverage makes the same order fit.
    assert statuses(kite, place(kite, quantity=10, product="MIS"))[-1] == "COMPLETE"


def test_holdings(make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(holdings=(HoldingSeed("TCS", 3, Decimal("3000")),))
    kite = login(sandbox)
    [holding] = kite.holdings()
    assert holding["tradingsymbol"] == "TCS" and holding["quantity"] == 3
    assert holding["pnl"] == pytest.approx(3 * (3410.25 - 3000))


def test_order_updates_announce_triggers_partial_fills_and_completion(
        sandbox: KiteSandbox, kite: KiteConnect, order_events: OrderEvents) -> None:
    sandbox.set_partial_fills(True)
    sandbox.set_price("ITC", "405.15")
    order_id = place(kite, tradingsymbol="ITC", order_type="SL", trigger_price=410, price=411,
                     quantity=4)
    sandbox.set_price("ITC", "410.50")
    updates = order_events.until(order_id, "COMPLETE")
    # The trigger, the first part filled (an UPDATE of the still-open order), the rest.
    assert [(u["status"], u["filled_quantity"]) for u in updates] == [
        ("OPEN", 0), ("UPDATE", 2), ("COMPLETE", 4)]
    assert updates[1]["pending_quantity"] == 2 and updates[1]["unfilled_quantity"] == 2
    # The order book itself never shows UPDATE: it keeps Kite's statuses.
    assert "UPDATE" not in statuses(kite, order_id)


def test_protected_market_order_is_held_as_a_limit_at_the_protection_price(
        sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.set_price("INFY", "1500.05")
    order_id = place(kite, market_protection=2, tag="mkt1")
    history = kite.order_history(order_id)
    assert [h["status"] for h in history] == ACCEPTED + ["OPEN", "COMPLETE"]
    assert history[0]["order_type"] == "MARKET"
    last = history[-1]
    # 2% above the last price, on the tick grid and never above the band: 1530.05.
    assert last["order_type"] == "LIMIT" and last["price"] == 1530.05
    assert last["average_price"] == 1500.05
    assert last["tag"] == "mkt1" and last["tags"] == ["mkt1", "mktp", "mktp:2.00"]


def test_automatic_protection_follows_the_price_band(sandbox: KiteSandbox,
                                                     kite: KiteConnect) -> None:
    sandbox.set_price("INFY", "1500")  # above 1000: 0.5%
    sell = place(kite, transaction_type="SELL", product="MIS")
    assert kite.order_history(sell)[-1]["price"] == 1492.5
    assert kite.order_history(sell)[-1]["tags"] == ["mktp", "mktp:0.50"]
    sandbox.set_price("WIPRO", "248.30")
    buy = place(kite, tradingsymbol="WIPRO", market_protection="1.5")  # a decimal percent
    assert kite.order_history(buy)[-1]["price"] == 252.0  # 252.0245 down to the tick grid
    assert kite.order_history(buy)[-1]["tags"][-1] == "mktp:1.50"


def test_protected_market_order_fills_partly_and_rests_at_its_limit(
        sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.set_price("INFY", "1500")
    sandbox.set_liquidity("INFY", 4)  # 4 shares trade at each price
    order_id = place(kite, quantity=10)
    order = kite.order_history(order_id)[-1]
    assert (order["status"], order["filled_quantity"], order["pending_quantity"]) == \
        ("OPEN", 4, 6)
    assert order["order_type"] == "LIMIT" and order["price"] == 1507.5
    sandbox.set_price("INFY", "1510")  # above the protection price: nothing more
    assert kite.order_history(order_id)[-1]["filled_quantity"] == 4
    sandbox.set_price("INFY", "1507")
    assert kite.order_history(order_id)[-1]["filled_quantity"] == 8
    sandbox.set_liquidity("INFY", None)
    sandbox.set_price("INFY", "1506")
    done = kite.order_history(order_id)[-1]
    assert done["status"] == "COMPLETE" and done["filled_quantity"] == 10
    assert [t["quantity"] for t in kite.order_trades(order_id)] == [4, 4, 2]


def test_protected_sl_m_triggers_then_rests_when_the_price_gaps(sandbox: KiteSandbox,
                                                                 kite: KiteConnect) -> None:
    sandbox.set_price("WIPRO", "248.30")
    order_id = place(kite, tradingsymbol="WIPRO", transaction_type="SELL", order_type="SL-M",
                     trigger_price=245, product="MIS", market_protection=1)
    sandbox.set_liquidity("WIPRO", 0)
    sandbox.set_price("WIPRO", "244.10")  # triggered; nothing trades at this print
    assert statuses(kite, order_id)[-1] == "OPEN"
    sandbox.set_liquidity("WIPRO", None)
    sandbox.set_price("WIPRO", "241.50")  # below the protection price 241.70: no fill
    assert statuses(kite, order_id)[-1] == "OPEN"
    sandbox.set_price("WIPRO", "242")
    history = kite.order_history(order_id)
    assert history[-1]["status"] == "COMPLETE" and history[-1]["average_price"] == 242


def test_prices_beyond_the_circuit_limits_are_rejected(sandbox: KiteSandbox,
                                                       kite: KiteConnect) -> None:
    quote = kite.quote("NSE:INFY")["NSE:INFY"]
    lower, upper = quote["lower_circuit_limit"], quote["upper_circuit_limit"]
    assert (lower, upper) == (1216.3, 1824.5)  # 20% either side of the previous close
    below = kite.order_history(place(kite, order_type="LIMIT", price="1216.25"))[-1]
    assert below["status"] == "REJECTED"
    assert below["status_message"] == ("Your order price is lower than the current lower "
                                       "circuit limit of 1216.30. Place an order within the "
                                       "daily range.")
    above = kite.order_history(place(kite, transaction_type="SELL", product="MIS",
                                     order_type="LIMIT", price="1824.55"))[-1]
    assert above["status"] == "REJECTED"
    assert "higher than the current upper circuit limit of 1824.50" in above["status_message"]
    stop = kite.order_history(place(kite, order_type="SL-M", trigger_price=1830))[-1]
    assert stop["status"] == "REJECTED" and "upper circuit" in stop["status_message"]
    assert statuses(kite, place(kite, order_type="LIMIT", price="1216.30"))[-1] == "OPEN"
    # A protected market order's limit stays inside the band.
    sandbox.set_price("INFY", "1822")
    capped = kite.order_history(place(kite, product="MIS", quantity=1))[-1]
    assert capped["price"] == 1824.5 and capped["status"] == "COMPLETE"


def test_cnc_sell_needs_the_shares(make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(holdings=(HoldingSeed("TCS", 3, Decimal("3000")),))
    kite = login(sandbox)
    short = kite.order_history(place(kite, transaction_type="SELL", quantity=1))[-1]
    assert short["status"] == "REJECTED"
    assert short["status_message"] == ("Insufficient stock holding or there are pending sell "
                                       "orders for this stock. Check the orderbook.")
    tcs = {"tradingsymbol": "TCS", "transaction_type": "SELL"}
    assert statuses(kite, place(kite, **tcs, quantity=4))[-1] == "REJECTED"
    resting = place(kite, **tcs, quantity=2, order_type="LIMIT", price=3500)
    assert statuses(kite, resting)[-1] == "OPEN"
    # Two of the three are already on their way out in the resting sell.
    assert statuses(kite, place(kite, **tcs, quantity=2))[-1] == "REJECTED"
    assert statuses(kite, place(kite, **tcs, quantity=1))[-1] == "COMPLETE"
    # Shares bought today for delivery can be sold today; intraday shorts need no shares.
    assert statuses(kite, place(kite, quantity=2))[-1] == "COMPLETE"
    assert statuses(kite, place(kite, transaction_type="SELL", quantity=2))[-1] == "COMPLETE"
    assert statuses(kite, place(kite, tradingsymbol="SBIN", transaction_type="SELL",
                                product="MIS"))[-1] == "COMPLETE"


def test_json_as_kite_writes_it(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    """Whole numbers are JSON integers (Kite sends 72, not 72.0); orders carry account_id."""
    sandbox.set_price("INFY", "1520")
    filled = place(kite, quantity=2)
    resting = place(kite, order_type="LIMIT", price="1300.05")
    headers = {"X-Kite-Version": "3",
               "Authorization": f"token {kite.api_key}:{kite.access_token}"}
    body = requests.get(f"{sandbox.url}/orders", headers=headers, timeout=5).json()
    orders = {o["order_id"]: o for o in body["data"]}
    assert orders[filled]["average_price"] == 1520
    assert type(orders[filled]["average_price"]) is int
    assert type(orders[filled]["trigger_price"]) is int
    assert type(orders[resting]["price"]) is float and orders[resting]["price"] == 1300.05
    assert {o["account_id"] for o in orders.values()} == {"SB1234"}
    history = requests.get(f"{sandbox.url}/orders/{filled}", headers=headers,
                           timeout=5).json()["data"]
    assert all(h["account_id"] == "SB1234" for h in history)
    ltp = requests.get(f"{sandbox.url}/quote/ltp", params={"i": "NSE:INFY"}, headers=headers,
                       timeout=5).json()["data"]["NSE:INFY"]["last_price"]
    assert type(ltp) is int and ltp == 1520
