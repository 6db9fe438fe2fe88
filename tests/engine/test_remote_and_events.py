"""A console attached to a server engine: commands over the live store, heartbeat health,
and the coalesced event stream a UI consumes."""

from __future__ import annotations

import queue
import threading
from decimal import Decimal

import pytest
import redis

from tui_trader.domain.errors import StateError, TuiTraderError
from tui_trader.domain.lifecycle import EngineState
from tui_trader.engine.control import UNREACHABLE
from tui_trader.engine.events import NotificationRaised, PositionChanged
from tui_trader.engine.publisher import EventPublisher
from tui_trader.engine.remote import HEARTBEAT
from tui_trader.live import keys
from tui_trader.live.store import db_number
from tui_trader.services.auth import AuthService
from tui_trader.services.event_stream import UserEventStream
from tui_trader.services.remote_engine import RemoteEngineControl


def signed_in(ctx, timeout_s: float = 5.0) -> RemoteEngineControl:
    """The console's control as the trader's signed-in session (see test_signed_commands)."""
    login = AuthService(ctx).login("t@example.com", "password-t")
    return RemoteEngineControl(ctx.store, timeout_s=timeout_s).for_session(login)


@pytest.fixture
def serving(harness):
    """The engine's control loop on a thread, as `tui-trader engine` runs it."""
    harness.start()
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            harness.engine.control.poll(block_ms=50)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield harness
    stop.set()
    thread.join(timeout=2)


def test_remote_start_stop_kill(ctx, trader, strategy, serving):
    remote = signed_in(ctx)
    result = remote.start_strategy(trader.id, strategy.id)
    assert "next buy" in result.message
    assert strategy.id in {s.id for s in serving.engine.strategies.all()}
    with pytest.raises(StateError, match="already running"):
        remote.start_strategy(trader.id, strategy.id)
    remote.stop_strategy(trader.id, strategy.id)
    assert serving.engine.strategies.all() == []
    report = remote.kill_switch(trader.id)
    assert report.strategies_stopped == 0 and report.exit_orders == 0


def test_remote_health_from_heartbeat(ctx, harness):
    remote = RemoteEngineControl(ctx.store)
    assert remote.health().state == "unreachable"
    harness.start()
    harness.engine.maintain()
    health = remote.health()
    assert health.state is EngineState.RUNNING and health.entries_allowed


def test_an_attached_console_hears_entries_blocked_and_reads_an_older_heartbeat(
        ctx, harness, monkeypatch):
    remote = RemoteEngineControl(ctx.store)
    engine = harness.start().engine

    def down():
        raise redis.ConnectionError("live store down")

    monkeypatch.setattr(engine.live, "is_fresh", down)
    engine.maintain()  # the probe fails: entries blocked; the heartbeat still gets out
    health = remote.health()
    assert (health.state, health.entries_allowed, health.detail) == \
        (EngineState.ENTRIES_BLOCKED, False, "live store unreachable")
    # An engine process from before the enum beats "degraded": the same thing.
    ctx.store.hset(HEARTBEAT, mapping={"state": "degraded", "entries_allowed": 0,
                                       "detail": "live store unreachable: no new entries"})
    assert remote.health().state is EngineState.ENTRIES_BLOCKED
    # A state this console does not know is not taken for one: it cannot read the engine.
    ctx.store.hset(HEARTBEAT, "state", "napping")
    health = remote.health()
    assert (health.state, health.entries_allowed) == (UNREACHABLE, False)
    assert health.detail == "server engine heartbeat unreadable"


def test_no_engine_answers_in_one_line(ctx, trader):
    remote = signed_in(ctx, timeout_s=0.2)
    with pytest.raises(TuiTraderError, match="No answer from the server engine"):
        remote.stop_strategy(__import__("uuid").uuid4(), __import__("uuid").uuid4())


def test_event_stream_coalesces_bursts(ctx, trader):
    batches: queue.Queue = queue.Queue()
    health: queue.Queue = queue.Queue()
    stream = UserEventStream(ctx.store, trader.id, batches.put,
                             on_health=lambda ok, d: health.put(ok), interval=0.2)
    stream.start()
    try:
        assert health.get(timeout=5) is True
        publisher = EventPublisher(ctx.store)
        for i in range(200):  # a burst of ticks moving one position
            publisher.publish(PositionChanged(
                user_id=str(trader.id), position_id="p1", strategy_id=None, symbol="INFY",
                quantity=10, average_price=Decimal("1500"), ltp=Decimal(1500 + i),
                unrealized_pnl=Decimal(i * 10), realized_pnl=Decimal(0), status="OPEN"))
        for i in range(3):
            publisher.publish(NotificationRaised(user_id=str(trader.id),
                                                 notification_id=f"n{i}", kind="FILL",
                                                 severity="INFO", title=f"fill {i}"))
        ctx.store.publish(keys.events(trader.id, db_number(ctx.store)), "{not json")
        seen: list = []
        while sum(isinstance(e, NotificationRaised) for e in seen) < 3:
            seen.extend(batches.get(timeout=5))
    finally:
        stream.stop()
    positions = [e for e in seen if isinstance(e, PositionChanged)]
    assert len(positions) < 20, "a burst must not become a burst of repaints"
    assert positions[-1].ltp == Decimal(1699) and positions[-1].unrealized_pnl == Decimal(1990)
    assert stream.malformed == 1


def test_kill_switch_works_with_the_live_store_down(ctx, trader, strategy, harness,
                                                    monkeypatch):
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.tick("INFY", "1520.00")
    harness.advance_to(9, 30)
    harness.settle()

    def down(*args, **kwargs):
        raise redis.ConnectionError("live store down")

    monkeypatch.setattr(ctx.store, "execute_command", down)
    monkeypatch.setattr(ctx.store, "pipeline", down)
    report = harness.engine.kill_switch(trader.id)
    assert report.strategies_stopped == 1 and report.exit_orders == 1 and not report.errors
    with ctx.db.connect() as conn:
        open_positions = conn.exec_driver_sql(
            "SELECT count(*) FROM positions WHERE status = 'OPEN'").scalar()
    assert open_positions == 0


def test_a_command_the_console_gave_up_on_is_never_carried_out_later(ctx, trader, strategy,
                                                                      harness):
    """The server engine was down: the console said the start failed. When the engine comes
    back it must not start the strategy (or square everything off) hours later."""
    from tui_trader.engine import remote as remote_module

    console = signed_in(ctx, timeout_s=0.2)
    with pytest.raises(TuiTraderError, match="No answer"):
        console.start_strategy(trader.id, strategy.id)
    harness.start()
    assert harness.engine.control.poll() == 0  # withdrawn: nothing left to carry out
    # Even an entry left behind (the console died before withdrawing it) expires.
    ctx.store.xadd(remote_module.CONTROL_STREAM, {
        "command": "kill", "request_id": "r1", "user_id": str(trader.id),
        "deadline": "1"})
    harness.engine.control.poll()
    assert strategy.id not in {s.id for s in harness.engine.strategies.all()}
    assert not ctx.store.exists(remote_module.reply_key("r1"))


def test_two_deployments_on_one_redis_server_never_see_each_others_events(store_url):
    """Pub/sub ignores the database number: the channel names carry it instead."""
    if store_url is None:
        pytest.skip("one process has one embedded store")
    from urllib.parse import urlsplit, urlunsplit

    from tui_trader.engine.events import EngineStatus
    from tui_trader.live.store import connect_store

    parts = urlsplit(store_url)
    # The other deployment's db: far from the ones test workers count down from (the
    # neighbouring db may be another worker's, whose own engine events would show up).
    other_db = (int(parts.path.strip("/")) - 8) % 16
    ours = connect_store(store_url)
    theirs = connect_store(urlunsplit(parts._replace(path=f"/{other_db}")))
    user = str(__import__("uuid").uuid4())
    seen: dict[str, queue.Queue] = {"ours": queue.Queue(), "theirs": queue.Queue()}
    up: dict[str, queue.Queue] = {"ours": queue.Queue(), "theirs": queue.Queue()}
    streams = [UserEventStream(client, user, seen[name].put, on_health=lambda ok, d, n=name:
                               up[n].put(ok), interval=0.05)
               for name, client in (("ours", ours), ("theirs", theirs))]
    for stream in streams:
        stream.start()
    try:
        assert up["ours"].get(timeout=5) is True and up["theirs"].get(timeout=5) is True
        publisher = EventPublisher(ours)
        publisher.publish(NotificationRaised(user_id=user, notification_id="n1", kind="FILL",
                                             severity="INFO", title="ours", body="b"))
        publisher.publish(EngineStatus(user_id="*", state="running", entries_allowed=True))
        got = []
        while len(got) < 2:
            got.extend(seen["ours"].get(timeout=5))
        assert {type(e).__name__ for e in got} == {"NotificationRaised", "EngineStatus"}
        # What the other deployment's stream would have delivered by now: nothing. Its own
        # publish proves it is listening, and is the only thing it gets.
        EventPublisher(theirs).publish(NotificationRaised(
            user_id=user, notification_id="n2", kind="FILL", severity="INFO", title="theirs",
            body="b"))
        (only,) = seen["theirs"].get(timeout=5)
        assert only.title == "theirs" and seen["theirs"].empty()
    finally:
        for stream in streams:
            stream.stop()
        ours.close()
        theirs.close()
