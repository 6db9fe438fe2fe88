"""Fault switches, rate limits, order bookkeeping hooks, GTTs and serve_forever."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import (
    DataException,
    GeneralException,
    InputException,
    NetworkException,
    OrderException,
    PermissionException,
)

from tui_trader.brokers.kite_sandbox import HoldingSeed, KiteSandbox, RateLimits, ReceivedOrder

from .conftest import API_KEY, login


def test_quote_rate_limit_is_429(make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(rate_limits=RateLimits())  # Kite's real limits
    kite = login(sandbox)
    kite.ltp("NSE:INFY")
    with pytest.raises(NetworkException) as info:
        kite.ltp("NSE:INFY")
    assert info.value.code == 429
    kite.profile()  # other buckets are unaffected


def test_order_rate_limits(make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(rate_limits=RateLimits(orders_per_s=100, orders_per_min=2))
    kite = login(sandbox)
    for _ in range(2):
        kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=1300)
    with pytest.raises(NetworkException) as info:
        kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=1300)
    assert info.value.code == 429
    assert len(kite.orders()) == 2
    assert [r.http_status for r in sandbox.received_orders] == [200, 200, 429]


def test_timeout_fault_order_still_exists(sandbox: KiteSandbox) -> None:
    kite = login(sandbox, timeout=2)
    sandbox.timeout_next_orders(1, delay_s=5)
    with pytest.raises(requests.exceptions.Timeout):
        kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=1300,
                         tag="retry1")
    [order] = kite.orders()
    assert order["tag"] == "retry1" and order["status"] == "OPEN"
    # Only the next n are delayed.
    assert kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=1300)


def test_fail_next_serves_html_5xx(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.fail_next(1, status=503)
    with pytest.raises(DataException) as info:
        kite.profile()
    assert "text/html" in str(info.value)
    assert kite.profile()["user_id"] == "SB1234"
    sandbox.fail_next(1, status=502)
    raw = requests.get(f"{sandbox.url}/user/profile", timeout=5)
    assert raw.status_code == 502 and raw.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(("error_type", "status", "raised"), [
    ("OrderException", 500, OrderException),
    ("PermissionException", 403, PermissionException),
    ("DataException", 502, DataException),
    ("NetworkException", 503, NetworkException),
    ("GeneralException", 500, GeneralException),
    # The client has no class for these three: it raises GeneralException with the code.
    ("MarginException", 400, GeneralException),
    ("HoldingException", 400, GeneralException),
    ("UserException", 403, GeneralException),
])
def test_answer_next_gives_kites_error_envelopes(sandbox: KiteSandbox, kite: KiteConnect,
                                                 error_type: str, status: int,
                                                 raised: type[Exception]) -> None:
    sandbox.answer_next(1, error_type, message="Refused by the sandbox.",
                        path_prefix="/orders/")
    with pytest.raises(raised) as info:
        kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=1300)
    assert type(info.value) is raised and info.value.code == status
    assert str(info.value) == "Refused by the sandbox."
    assert kite.orders() == []  # refused before anything was created
    sandbox.answer_next(1, error_type, status=504)
    raw = requests.get(f"{sandbox.url}/user/profile", timeout=5,
                       headers={"X-Kite-Version": "3"})
    assert raw.status_code == 504 and raw.headers["Content-Type"].startswith(
        "application/json")
    assert raw.json() == {"status": "error", "error_type": error_type, "data": None,
                          "message": f"{error_type} injected by the sandbox."}


def test_answer_next_after_placing_the_order(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.answer_next(1, "NetworkException", path_prefix="/orders/", placed=True)
    with pytest.raises(NetworkException):
        kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=1300,
                         tag="lost1")
    [order] = kite.orders()  # the order exists; only its answer was an error
    assert order["tag"] == "lost1" and order["status"] == "OPEN"


def test_fail_next_only_on_a_path(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.fail_next(1, status=504, path_prefix="/orders")
    kite.profile()
    with pytest.raises(DataException):
        kite.orders()
    assert kite.orders() == []


def test_received_orders_and_hook(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    seen: queue.Queue[ReceivedOrder] = queue.Queue()
    sandbox.on_order_received = seen.put
    before = time.perf_counter_ns()
    ids = [kite.place_order("regular", "NSE", "INFY", "BUY", q, "CNC", "LIMIT", price=1300)
           for q in (1, 2)]
    with pytest.raises(InputException):
        kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=1300,
                         tag="x" * 21)
    received = sandbox.received_orders
    assert [r.params["quantity"] for r in received] == ["1", "2", "1"]
    assert [r.order_id for r in received] == [*ids, None]
    assert [r.http_status for r in received] == [200, 200, 400]
    assert before < received[0].arrived_ns < received[1].arrived_ns < received[2].arrived_ns
    assert received[0].variety == "regular"
    assert seen.get(timeout=1).params["quantity"] == "1"


def test_gtt_crud_and_trigger(make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(holdings=(HoldingSeed("INFY", 2, Decimal("1400")),))
    kite = login(sandbox)
    sandbox.set_price("INFY", "1520.40")
    leg = {"transaction_type": "SELL", "quantity": 2, "order_type": "LIMIT",
           "product": "CNC", "price": 1600}
    created = kite.place_gtt("single", "INFY", "NSE", [1600], 1520.40, [leg])
    trigger_id = created["trigger_id"]
    gtt = kite.get_gtt(trigger_id)
    assert gtt["status"] == "active" and gtt["condition"]["trigger_values"] == [1600.0]
    kite.modify_gtt(trigger_id, "single", "INFY", "NSE", [1590], 1520.40,
                    [{**leg, "price": 1590}])
    assert kite.get_gtt(trigger_id)["condition"]["trigger_values"] == [1590.0]
    sandbox.set_price("INFY", "1591")
    fired = kite.get_gtt(trigger_id)
    assert fired["status"] == "triggered"
    result = fired["orders"][0]["result"]
    order_id = result["order_result"]["order_id"]
    assert result["order_result"]["status"] == "success"
    # What Kite records of the order it placed, and when, at what price it fired.
    assert {k: result[k] for k in ("account_id", "exchange", "tradingsymbol", "validity",
                                   "product", "order_type", "transaction_type", "quantity",
                                   "price", "triggered_at", "timestamp")} == {
        "account_id": "SB1234", "exchange": "NSE", "tradingsymbol": "INFY", "validity": "DAY",
        "product": "CNC", "order_type": "LIMIT", "transaction_type": "SELL", "quantity": 2,
        "price": 1590, "triggered_at": 1591, "timestamp": "2026-01-12 10:00:00"}
    assert json.loads(result["meta"]) == {"app_id": 0, "gtt": trigger_id}
    [order] = [o for o in kite.orders() if o["order_id"] == order_id]
    assert order["transaction_type"] == "SELL" and order["status"] == "COMPLETE"
    oco = kite.place_gtt("two-leg", "INFY", "NSE", [1500, 1700], 1591,
                         [{**leg, "price": 1500}, {**leg, "price": 1700}])
    assert kite.delete_gtt(oco["trigger_id"]) == {"trigger_id": oco["trigger_id"]}
    assert {g["id"]: g["status"] for g in kite.get_gtts()} == {
        trigger_id: "triggered", oco["trigger_id"]: "deleted"}
    with pytest.raises(InputException):
        kite.get_gtt(999)


def test_gtt_sell_without_the_shares_fails_when_it_fires(sandbox: KiteSandbox,
                                                         kite: KiteConnect) -> None:
    sandbox.set_price("INFY", "1520.40")
    leg = {"transaction_type": "SELL", "quantity": 2, "order_type": "LIMIT",
           "product": "CNC", "price": 1400}
    trigger_id = kite.place_gtt("single", "INFY", "NSE", [1450], 1520.40, [leg])["trigger_id"]
    sandbox.set_price("INFY", "1449")
    fired = kite.get_gtt(trigger_id)
    assert fired["status"] == "triggered"
    assert fired["orders"][0]["result"]["order_result"] == {
        "status": "failed", "order_id": "",
        "rejection_reason": "Insufficient stock holding or there are pending sell orders for "
                            "this stock. Check the orderbook."}
    assert kite.orders() == []  # no order came of it


def test_serve_forever_stops_on_ctrl_c() -> None:
    code = ("from tui_trader.brokers.kite_sandbox import SandboxConfig, serve_forever;"
            "serve_forever(SandboxConfig('clikey', 'clisecret'), 0)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line
        url = line.split("listening on ")[1].split()[0]
        assert requests.get(url, timeout=5).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_kite_sandbox_command_runs_on_the_simulated_clock() -> None:
    env = {**os.environ, "TUI_TRADER_CLOCK_START": "2026-01-11T07:17:00+05:30",  # a Sunday
           "TUI_TRADER_SANDBOX_API_SECRET": "clisecret"}
    tool = Path(sys.executable).with_name("tui-trader")
    proc = subprocess.Popen([str(tool), "kite-sandbox", "--port", "0", "--api-key", API_KEY],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split("listening on ")[1].split()[0]
        login_url = f"{url}/connect/login?api_key={API_KEY}&v=3"
        location = requests.get(login_url, allow_redirects=False, timeout=5).headers["Location"]
        kite = KiteConnect(API_KEY, root=url)
        kite.generate_session(parse_qs(urlsplit(location).query)["request_token"][0],
                              "clisecret")
        with pytest.raises(InputException, match="Markets are closed"):
            kite.place_order("regular", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=1300)
        amo = kite.place_order("amo", "NSE", "INFY", "BUY", 1, "CNC", "LIMIT", price=1300)
        [order] = kite.order_history(amo)
        assert order["order_timestamp"].strftime("%Y-%m-%d %H:%M") == "2026-01-11 07:17"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_start_twice_and_stop_twice(sandbox: KiteSandbox) -> None:
    with pytest.raises(RuntimeError):
        sandbox.start()
    sandbox.stop()
    sandbox.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(sandbox.url, timeout=2)


def test_context_manager_uses_free_ports() -> None:
    from .conftest import make_config

    with KiteSandbox(make_config()) as a, KiteSandbox(make_config()) as b:
        assert a.port != b.port
        assert requests.get(f"{a.url}/", timeout=5).status_code == 200
        assert API_KEY in a.login_url
