"""Fixtures for the Kite adapter tests: a sandbox on a free port per test, KiteBrokers on the
real `kiteconnect` client, and ONE shared ticker feed per session.

KiteTicker runs Twisted's reactor, which cannot be restarted within a process: the feed
fixture is session-scoped and never stops the reactor (`KiteTickerFeed.stop()` only closes
its socket), and `run_on_reactor` reuses a reactor another suite already started.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tui_trader.brokers.kite import KiteBroker
from tui_trader.brokers.kite_sandbox import KiteSandbox, RateLimits, SandboxConfig
from tui_trader.domain.clock import IST, FrozenClock
from tui_trader.security.secret import Secret

API_KEY = "kitetestkey1"
API_SECRET = "kitetestsecret9"
MONDAY_10AM = datetime(2026, 1, 12, 10, 0, 0, tzinfo=IST)
BIG = (1_000_000, 1_000_000, 1_000_000)


def make_config(clock: FrozenClock, **overrides: Any) -> SandboxConfig:
    options: dict[str, Any] = {
        "clock": clock, "seed": 11, "volatility": 0.0,
        "rate_limits": RateLimits.unlimited(), "tick_interval_s": 0.1,
    }
    options.update(overrides)
    return SandboxConfig(API_KEY, API_SECRET, **options)


def redirect_location(sandbox: KiteSandbox) -> str:
    """The browser step: open the login URL and read where Kite redirects to."""
    response = requests.get(f"{sandbox.url}/connect/login", params={"api_key": API_KEY,
                                                                     "v": "3"},
                            allow_redirects=False, timeout=5)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert parse_qs(urlsplit(location).query)["status"] == ["success"]
    return location


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY_10AM)


@pytest.fixture
def make_sandbox(clock: FrozenClock) -> Iterator[Callable[..., KiteSandbox]]:
    created: list[KiteSandbox] = []

    def make(**overrides: Any) -> KiteSandbox:
        overrides.setdefault("clock", clock)
        sandbox = KiteSandbox(make_config(**overrides))
        sandbox.start()
        created.append(sandbox)
        return sandbox

    yield make
    for sandbox in created:
        sandbox.stop()


@pytest.fixture
def sandbox(make_sandbox: Callable[..., KiteSandbox]) -> KiteSandbox:
    return make_sandbox()


@pytest.fixture
def make_broker(clock: FrozenClock) -> Iterator[Callable[..., KiteBroker]]:
    created: list[KiteBroker] = []

    def make(sandbox: KiteSandbox, token: str | None = None, **options: Any) -> KiteBroker:
        options.setdefault("clock", clock)
        options.setdefault("timeout", 5)
        options.setdefault("limits", BIG)
        broker = KiteBroker(Secret(API_KEY), Secret(token or sandbox.issue_access_token()),
                            root=sandbox.url, **options)
        created.append(broker)
        return broker

    yield make
    for broker in created:
        broker.close()


@pytest.fixture
def broker(sandbox: KiteSandbox, make_broker: Callable[..., KiteBroker]) -> KiteBroker:
    return make_broker(sandbox)


def drain(q: queue.Queue[Any]) -> None:
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            return
