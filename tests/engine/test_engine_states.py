"""The engine's own lifecycle as it publishes it: every state it reports is an `EngineState`
reached by a move the ENGINE table lists, and a move it does not list is refused."""

from __future__ import annotations

import time

import pytest
import redis

from tui_trader.domain.events import EngineStatus, decode_event
from tui_trader.domain.lifecycle import ENGINE, EngineState, IllegalTransition
from tui_trader.live import keys

E = EngineState


class EngineChannel:
    """What every console hears on the engine channel, decoded by the one event codec."""

    def __init__(self, ctx) -> None:
        db = ctx.store.connection_pool.connection_kwargs.get("db", 0)
        self.pubsub = ctx.store.pubsub()
        self.pubsub.subscribe(keys.engine_events(db))
        # Redis confirms the subscription before anything the engine publishes is heard.
        confirmed = self.pubsub.get_message(timeout=5)
        assert confirmed is not None and confirmed["type"] == "subscribe", confirmed

    def take(self, count: int) -> list[EngineStatus]:
        """The next `count` engine events; fails if they have not all come within 5 s."""
        events: list[EngineStatus] = []
        deadline = time.monotonic() + 5
        while len(events) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"waited 5 s for {count} engine events; got {events}")
            message = self.pubsub.get_message(timeout=left)
            if message and message["type"] == "message":
                event = decode_event(message["data"])
                assert isinstance(event, EngineStatus)
                events.append(event)
        return events

    def nothing_more(self) -> bool:
        return self.pubsub.get_message(timeout=0.05) is None

    def close(self) -> None:
        self.pubsub.close()


@pytest.fixture
def channel(ctx):
    listening = EngineChannel(ctx)
    yield listening
    listening.close()


def _states(events: list[EngineStatus]) -> list[tuple[EngineState, bool, str]]:
    return [(e.state, e.entries_allowed, e.detail) for e in events]


def test_the_engine_publishes_each_state_of_its_life(ctx, trader, strategy, harness,
                                                       channel, monkeypatch):
    engine = harness.engine
    assert engine.health().state is E.STOPPED  # a new engine has not started

    harness.start()
    assert _states(channel.take(3)) == [
        (E.STARTING, False, "loading strategies"),
        (E.RECONCILING, False, "reconciling open intents"),
        (E.RUNNING, True, ""),
    ]
    harness.engine.start_strategy(trader.id, strategy.id)

    # The live store stops answering the engine's probe: entries blocked, saying why.
    def down(*args, **kwargs):
        raise redis.ConnectionError("live store down")

    monkeypatch.setattr(engine.live, "is_fresh", down)
    engine.maintain()
    [blocked] = channel.take(1)
    assert blocked.state is E.ENTRIES_BLOCKED and not blocked.entries_allowed
    assert blocked.detail == "live store unreachable"
    health = engine.health()
    assert (health.state, health.entries_allowed, health.detail) == \
        (E.ENTRIES_BLOCKED, False, "live store unreachable")
    assert engine.gate.allowed is False

    # It answers again with its data whole: settled again, entries reopen.
    monkeypatch.undo()
    engine.maintain()
    assert _states(channel.take(2)) == [
        (E.RECONCILING, False, "reconciling open intents"),
        (E.RUNNING, True, "live store reachable again"),
    ]
    assert engine.health().state is E.RUNNING and engine.gate.allowed
    engine.maintain()  # healthy and running: no further move
    assert channel.nothing_more()

    engine.stop()
    assert _states(channel.take(2)) == [(E.STOPPING, False, "stopping"), (E.STOPPED, False, "")]
    assert engine.health().state is E.STOPPED
    engine.stop()  # stopping a stopped engine again moves nothing
    assert channel.nothing_more()
    # Every move the engine made is a move of its table.
    moves = [E.STARTING, E.RECONCILING, E.RUNNING, E.ENTRIES_BLOCKED, E.RECONCILING,
             E.RUNNING, E.STOPPING, E.STOPPED]
    assert all(ENGINE.allows(a, b) for a, b in zip(moves, moves[1:], strict=False))


def test_a_stopped_engine_refuses_to_move_again(ctx, harness, channel, monkeypatch):
    engine = harness.start().engine
    engine.stop()
    channel.take(5)  # starting, reconciling, running, stopping, stopped
    with pytest.raises(IllegalTransition, match="engine: stopped -> starting is not an "
                                                "allowed move"):
        engine.start(threads=False)
    assert engine.health().state is E.STOPPED
    # A last maintenance pass that finds the store gone after stop() leaves it stopped.
    monkeypatch.setattr(engine.live, "is_fresh",
                        lambda: (_ for _ in ()).throw(redis.ConnectionError("down")))
    engine.maintain()
    assert engine.health().state is E.STOPPED
    assert channel.nothing_more()


def test_the_table_refuses_what_the_engine_must_never_do():
    for before, after in [(E.STOPPED, E.RUNNING), (E.STOPPING, E.RUNNING),
                          (E.STARTING, E.RUNNING), (None, E.RUNNING)]:
        with pytest.raises(IllegalTransition):
            ENGINE.check(before, after)
