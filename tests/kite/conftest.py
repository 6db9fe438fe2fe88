"""Fixtures for the Kite adapter tests: a sandbox on a free port per test, KiteBrokers on the
real `kiteconnect` client, and ONE shared ticker feed per session.

KiteTicker runs Twisted's reactor, which cannot be restarted within a process: the feed
fixture is session-scoped and never stops the reactor (`KiteTickerFeed.stop()` only closes
its socket), and `run_on_reactor` reuses a reactor another suite already started.
"""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kite_support import MONDAY_10AM as MONDAY_10AM  # re-exported for the tests
from kite_support import login_redirect, sandbox_config, sandbox_fixtures

from tui_trader.brokers.kite import KiteBroker
from tui_trader.brokers.kite_sandbox import KiteSandbox, SandboxConfig
from tui_trader.domain.clock import FrozenClock
from tui_trader.security.secret import Secret

API_KEY = "kitetestkey1"
API_SECRET = "kitetestsecret9"
BIG = (1_000_000, 1_000_000, 1_000_000)


def make_config(clock: FrozenClock, **overrides: Any) -> SandboxConfig:
    overrides.setdefault("seed", 11)
    return sandbox_config(API_KEY, API_SECRET, clock=clock, **overrides)


def redirect_location(sandbox: KiteSandbox) -> str:
    return login_redirect(sandbox, API_KEY)


clock, make_sandbox, sandbox = sandbox_fixtures(make_config)


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
