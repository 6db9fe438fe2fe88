"""What the console asks of the services instead of reaching into the database or the
engine itself: the symbols it completes, and the engine it runs or attaches to."""

from __future__ import annotations

import uuid

import pytest

from tui_trader.domain.errors import StateError
from tui_trader.domain.universe import ALL_INSTRUMENTS
from tui_trader.services.engine_control import (
    UnavailableEngine,
    attach_remote_engine,
    start_embedded_engine,
)
from tui_trader.services.market_data import instrument_symbols


def test_instrument_symbols_are_one_exchanges_sorted(ctx):
    symbols = instrument_symbols(ctx)
    nse = sorted({i.symbol for i in ALL_INSTRUMENTS if i.exchange == "NSE"})
    assert symbols == nse and "INFY" in symbols
    assert instrument_symbols(ctx, "BSE") == sorted(
        {i.symbol for i in ALL_INSTRUMENTS if i.exchange == "BSE"})


def test_the_embedded_engine_starts_running_and_stops(ctx):
    engine = start_embedded_engine(ctx)
    try:
        health = engine.health()
        assert health.state == "running" and health.entries_allowed
        assert health.feed == "simulated"
    finally:
        engine.stop()


def test_an_engine_that_cannot_start_is_unavailable_and_says_why(ctx, monkeypatch):
    from tui_trader.engine.embedded import EmbeddedEngine

    def broken(self):
        raise RuntimeError("no room at the inn")

    monkeypatch.setattr(EmbeddedEngine, "start", broken)
    engine = start_embedded_engine(ctx)
    assert isinstance(engine, UnavailableEngine)
    health = engine.health()
    assert health.state == "stopped" and not health.entries_allowed
    assert health.detail == "failed to start (RuntimeError: no room at the inn)"
    with pytest.raises(StateError, match="The engine is unavailable: failed to start"):
        engine.start_strategy(uuid.uuid4(), uuid.uuid4())
    engine.stop()  # nothing runs: nothing to stop, nothing raised


def test_attach_mode_talks_to_the_server_engine_over_the_live_store(ctx):
    from tui_trader.services.remote_engine import RemoteEngineControl

    remote = attach_remote_engine(ctx)
    assert isinstance(remote, RemoteEngineControl)
    assert remote.health().state == "unreachable"  # no server engine is running
