"""Kite sandbox helpers shared by tests/kite and tests/kite_sandbox.

A plain module, not a conftest: its fixtures exist only where a suite's conftest binds them
(`clock, make_sandbox, sandbox = sandbox_fixtures(make_config)`), so nothing leaks into the
other suites. Each suite keeps its own API key, secret and seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tui_trader.brokers.kite_sandbox import KiteSandbox, RateLimits, SandboxConfig
from tui_trader.domain.clock import IST, FrozenClock

# A Monday, mid-session.
MONDAY_10AM = datetime(2026, 1, 12, 10, 0, 0, tzinfo=IST)


def sandbox_config(api_key: str, api_secret: str, *, clock: FrozenClock | None = None,
                   **overrides: Any) -> SandboxConfig:
    """A sandbox whose prices move only when a test moves them, with no rate limits."""
    options: dict[str, Any] = {
        "clock": clock or FrozenClock(MONDAY_10AM),
        "volatility": 0.0,
        "rate_limits": RateLimits.unlimited(),
        "tick_interval_s": 0.1,
    }
    options.update(overrides)
    return SandboxConfig(api_key, api_secret, **options)


def login_redirect(sandbox: KiteSandbox, api_key: str) -> str:
    """The browser step: open the login URL and read where Kite redirects to (a success)."""
    response = requests.get(f"{sandbox.url}/connect/login", params={"api_key": api_key,
                                                                     "v": "3"},
                            allow_redirects=False, timeout=5)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert parse_qs(urlsplit(location).query)["status"] == ["success"]
    return location


def sandbox_fixtures(make_config: Callable[..., SandboxConfig]) -> tuple[Any, Any, Any]:
    """The `clock`, `make_sandbox` and `sandbox` fixtures over a suite's `make_config`
    (which takes `clock=` and overrides): sandboxes on free ports, stopped after the test."""

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

    return clock, make_sandbox, sandbox
