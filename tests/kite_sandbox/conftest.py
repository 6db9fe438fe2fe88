"""Fixtures: sandboxes on free ports, a scripted Kite login, and ONE shared KiteTicker.

KiteTicker runs Twisted's reactor, which cannot be restarted within a process, so the
ticker fixture is session-scoped (per xdist worker) and never stopped; its sandbox is shared
by the ticker tests, which use different instruments so they cannot disturb each other.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from kite_support import MONDAY_10AM as MONDAY_10AM  # re-exported for the tests
from kite_support import login_redirect, sandbox_config, sandbox_fixtures
from kiteconnect import KiteConnect, KiteTicker

from tui_trader.brokers.feeds.kite_ticker import run_on_reactor
from tui_trader.brokers.kite_sandbox import KiteSandbox, SandboxConfig
from tui_trader.domain.clock import FrozenClock

API_KEY = "sbkey123"
API_SECRET = "sbsecret456"


def make_config(clock: FrozenClock | None = None, **overrides: Any) -> SandboxConfig:
    overrides.setdefault("seed", 7)
    return sandbox_config(API_KEY, API_SECRET, clock=clock, **overrides)


def request_token(sandbox: KiteSandbox) -> str:
    """The browser step: follow nothing, read request_token off the redirect."""
    return parse_qs(urlsplit(login_redirect(sandbox, API_KEY)).query)["request_token"][0]


def login(sandbox: KiteSandbox, timeout: float = 5) -> KiteConnect:
    kite = KiteConnect(API_KEY, root=sandbox.url, timeout=timeout)
    kite.generate_session(request_token(sandbox), API_SECRET)
    return kite


clock, make_sandbox, sandbox = sandbox_fixtures(make_config)


@pytest.fixture
def kite(sandbox: KiteSandbox) -> KiteConnect:
    return login(sandbox)


class OrderEvents:
    """Order updates straight from the sandbox's order book (exactly what its ticker sends),
    for waiting without sleeps."""

    def __init__(self, sandbox: KiteSandbox) -> None:
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        sandbox.add_order_listener(lambda _user, order: self.queue.put(order))

    def until(self, order_id: str, status: str, timeout: float = 5) -> list[dict[str, Any]]:
        """Every update of `order_id` up to and including the first with `status`."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"order {order_id} never reached {status}; saw "
                                     f"{[u['status'] for u in seen]}")
            try:
                order = self.queue.get(timeout=left)
            except queue.Empty:
                continue
            if order["order_id"] == order_id:
                seen.append(order)
                if order["status"] == status:
                    return seen

    def wait_for(self, order_id: str, status: str, timeout: float = 5) -> dict[str, Any]:
        return self.until(order_id, status, timeout)[-1]


@pytest.fixture
def order_events(sandbox: KiteSandbox) -> OrderEvents:
    return OrderEvents(sandbox)


# -- the shared ticker -----------------------------------------------------------------------------


@dataclass
class TickerEnv:
    sandbox: KiteSandbox
    kite: KiteConnect
    kws: KiteTicker
    ticks: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    orders: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)
    connects: queue.Queue[float] = field(default_factory=queue.Queue)
    heartbeats: queue.Queue[float] = field(default_factory=queue.Queue)

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Twisted is not thread-safe: run client calls on the reactor thread."""
        from twisted.internet import reactor

        reactor.callFromThread(fn, *args)  # type: ignore[attr-defined]

    def drain(self) -> None:
        for q in (self.ticks, self.orders):
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break

    def wait_tick(self, match: Callable[[dict[str, Any]], bool],
                  timeout: float = 5) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching tick arrived")
            try:
                tick = self.ticks.get(timeout=left)
            except queue.Empty:
                continue
            if match(tick):
                return tick

    def wait_order(self, order_id: str, status: str, timeout: float = 5) -> list[str]:
        """Statuses seen for `order_id` up to and including `status`."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"order update {status} never arrived; saw {seen}")
            try:
                update = self.orders.get(timeout=left)
            except queue.Empty:
                continue
            if update["order_id"] == order_id:
                seen.append(update["status"])
                if update["status"] == status:
                    return seen


@pytest.fixture(scope="session")
def ticker_env() -> Iterator[TickerEnv]:
    sandbox = KiteSandbox(make_config(tick_interval_s=0.1))
    sandbox.start()
    kite = login(sandbox)
    assert kite.access_token
    kws = KiteTicker(API_KEY, kite.access_token, root=sandbox.ws_url, reconnect_max_delay=5)
    env = TickerEnv(sandbox, kite, kws)
    connected = threading.Event()

    def on_connect(_ws: Any, _response: Any) -> None:
        env.connects.put(time.monotonic())
        connected.set()

    def on_ticks(_ws: Any, ticks: list[dict[str, Any]]) -> None:
        for tick in ticks:
            env.ticks.put(tick)

    kws.on_connect = on_connect
    kws.on_ticks = on_ticks
    def on_message(_ws: Any, payload: bytes, is_binary: bool) -> None:
        if is_binary and len(payload) == 1:
            env.heartbeats.put(time.monotonic())

    kws.on_order_update = lambda _ws, data: env.orders.put(data)
    kws.on_message = on_message
    # On the process's one reactor, as the application connects: a Kite feed test on this
    # worker may have started it already (a second `kws.connect` from this thread would
    # then never be picked up by the running reactor).
    run_on_reactor(kws)
    assert connected.wait(15), "KiteTicker never connected to the sandbox"
    yield env
    # Never kws.stop(): the reactor could not start again in this process.
    env.call(kws.close)
    sandbox.stop()
