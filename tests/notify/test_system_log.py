"""Warnings and errors reach `system_logs`: redacted, rate-limited per message (with the
count of what was suppressed), filtered by level and component when read back."""

from __future__ import annotations

import logging

import pytest

from tui_trader.domain.enums import Severity
from tui_trader.security.redaction import register_secret, unregister_secret
from tui_trader.services.system_log import (
    component_of,
    install_system_log,
    log_components,
    system_logs,
    uninstall_system_log,
)

SECRET = "access-token-93be4d10aa"


@pytest.fixture
def handler(ctx):
    now = [1000.0]
    installed = install_system_log(ctx, burst=3, window=60.0, monotonic=lambda: now[0])
    installed.now = now
    register_secret(SECRET)
    yield installed
    unregister_secret(SECRET)
    uninstall_system_log(installed)


def test_warnings_and_errors_are_stored_redacted(ctx, handler):
    feed = logging.getLogger("tui_trader.brokers.kite")
    feed.info("an info line is not kept")
    feed.warning("token %s refused", SECRET)
    try:
        raise RuntimeError(f"bad token {SECRET}")
    except RuntimeError:
        logging.getLogger("tui_trader.engine.executor").exception("placing failed")
    logging.getLogger("apprise").error("a library's error")
    assert handler.flush()
    rows = system_logs(ctx)
    assert [(r.component, r.level) for r in reversed(rows)] == [
        ("brokers.kite", Severity.WARNING), ("engine.executor", Severity.ERROR),
        ("apprise", Severity.ERROR)]
    text = " ".join(f"{r.message} {r.data}" for r in rows)
    assert SECRET not in text and "token ******** refused" in text
    assert "RuntimeError: bad token ********" in text
    assert [r.component for r in system_logs(ctx, component="engine")] == ["engine.executor"]
    assert {r.level for r in system_logs(ctx, level=Severity.ERROR)} == {Severity.ERROR}
    assert log_components(ctx) == ["apprise", "brokers.kite", "engine.executor"]


def test_a_flood_is_rate_limited_and_the_suppressed_are_counted(ctx, handler):
    flood = logging.getLogger("tui_trader.brokers.feeds.kite_ticker")
    for n in range(50):
        flood.warning("tick %d out of order", n)
    flood.warning("another message is counted apart")
    assert handler.flush()
    assert len(system_logs(ctx)) == 4  # 3 of the flood, 1 other
    handler.now[0] += 61  # the next window
    flood.warning("tick %d out of order", 50)
    assert handler.flush()
    newest = system_logs(ctx)[0]
    assert newest.message == "tick 50 out of order" and newest.data["suppressed"] == 47


def test_component_names():
    assert component_of("tui_trader.services.notify_delivery") == "services.notify_delivery"
    assert component_of("kiteconnect.connect") == "kiteconnect"
