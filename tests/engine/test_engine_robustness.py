"""What a long-running engine must survive: a start that fails half-way, a restart under
the same name, an engine that died holding events, a BUY taken too late, a lock that aged
out during a slow call."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from tui_trader.db.models import Notification, Order, Position, Strategy
from tui_trader.domain.enums import RuntimePosition, StrategyStatus, TriggerEvent
from tui_trader.domain.errors import StateError
from tui_trader.engine.embedded import EmbeddedEngine, stable_consumer
from tui_trader.engine.scheduler import ManualSchedule
from tui_trader.live.order_queue import OrderEvent
from tui_trader.live.state import LiveState

from .conftest import Harness, on_paper


def test_a_start_that_fails_half_way_leaves_the_strategy_stopped(ctx, trader, strategy,
                                                                 harness):
    harness.start()
    engine = harness.engine
    real = engine.live.activate

    def store_blinks(*args, **kwargs):
        engine.live.activate = real  # only this once
        raise ConnectionError("live store unreachable")

    engine.live.activate = store_blinks
    with pytest.raises(StateError, match="could not start"):
        engine.start_strategy(trader.id, strategy.id)
    with ctx.session() as s:
        row = s.get(Strategy, strategy.id)
        assert row.status == StrategyStatus.STOPPED and "start failed" in row.status_reason
    assert engine.strategies.get(strategy.id) is None and engine.router.get(strategy.id) is None
    assert not harness.runner.jobs()
    engine.start_strategy(trader.id, strategy.id)  # trying again is not "already running"
    assert engine.router.get(strategy.id) is not None


def test_the_engine_keeps_its_name_across_restarts(ctx):
    first = stable_consumer(ctx)
    assert first == stable_consumer(ctx)
    assert (ctx.settings.data_dir / "engine-id").read_text().strip() in first
    engine = EmbeddedEngine(ctx, runner=ManualSchedule())
    assert engine.consumer == first


def test_events_a_dead_engine_took_are_adopted_by_a_running_one(ctx, trader, strategy):
    dead = Harness(ctx, consumer="engine-that-died").start()
    dead.engine.start_strategy(trader.id, strategy.id)
    dead.tick("INFY", "1520.00")
    dead.advance_to(9, 30)  # its BUY is taken (pending for it), and it dies before firing
    dead.engine.stop()
    survivor = Harness(ctx, consumer="survivor").start()
    try:
        # The dead one's entry is idle enough after 1 ms.
        assert survivor.engine.executor.adopt_abandoned(min_idle_ms=1) == 1
        with ctx.session() as s:
            [buy] = s.exec(select(Order)).all()
        assert buy.reason.value == "BUY"
        assert survivor.engine.queue.pending_count() == 0
    finally:
        survivor.engine.stop()


def test_a_buy_taken_too_late_is_not_placed_and_the_trader_is_told(ctx, trader, strategy,
                                                                   harness):
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.tick("INFY", "1520.00")
    stale = OrderEvent(strategy.id, trader.id, TriggerEvent.BUY, "INFY", None,
                       ctx.clock.now() - timedelta(minutes=30))
    harness.engine.queue.publish(stale)  # e.g. left in the stream while the engine was down
    harness.settle()
    with ctx.session() as s:
        assert s.exec(select(Order)).all() == []
        titles = [n.title for n in s.exec(select(Notification))]
    assert any("BUY of" in t and "not placed" in t for t in titles), titles
    assert harness.engine.queue.pending_count() == 0


def test_a_lock_that_aged_out_during_the_call_still_records_the_position(
        ctx, trader, strategy, harness):
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.tick("INFY", "1520.00")
    # The TTL ran out while the call was on its way.
    harness.engine.placement.on_broker_call = \
        lambda request: ctx.store.delete(f"runtime:{strategy.id}:lock")
    harness.advance_to(9, 30)
    harness.settle()
    assert LiveState(ctx.store).get_runtime(strategy.id).position is RuntimePosition.BOUGHT
    assert harness.engine.router.get(strategy.id).armed  # its stop-loss is watched


def test_one_event_handled_twice_at_once_places_one_exit(ctx, trader, strategy):
    """Redis came back empty while a stop-loss waited (held: no live state), and the
    recovery re-took the same entry while the held retry ran: the second handling waits for
    the first one's answer instead of taking its FIRING intent for a dead one's."""

    h, paper = on_paper(ctx, "race")
    engine = h.engine
    try:
        h.buy_at_930(trader, strategy)
        ctx.store.flushdb()  # Redis restarted empty
        h.tick("INFY", "1400.00")  # the stop-loss finds no live state: held
        engine.executor.run_once(block_ms=1)
        assert engine.executor.held_count == 1
        calls = []

        def meanwhile(request):
            calls.append(request.side)
            if len(calls) == 1:  # the held retry runs while the recovery's call is out
                engine.executor.run_once(block_ms=1, retry_held_now=True)

        engine.placement.on_broker_call = meanwhile
        engine.maintain()  # sees the empty store: rebuild, reconcile, recover
        engine.executor.drain()
        sells = [o for o in paper.orders() if o.side.value == "SELL"]
        assert len(sells) == 1, [(o.side.value, o.client_tag) for o in paper.orders()]
        with ctx.session() as s:
            positions = s.exec(select(Position)).all()
        assert [(p.status.value, p.quantity) for p in positions] == [("CLOSED", 0)]
    finally:
        engine.stop()


def test_an_exit_recorded_before_a_crash_still_moves_the_strategy_on(ctx, trader, strategy):
    """The stop-loss exit filled and was recorded, then the process died before the
    runtime moved to `sold`: after the restart the retried event sees nothing held and an
    exit filled, and moves the runtime (before, it stayed `bought` for good and the
    strategy never bought again)."""
    from tui_trader.brokers.paper import PaperBroker
    from tui_trader.engine.faults import CrashAt, SimulatedCrash, Step

    fault = CrashAt(None)
    paper = PaperBroker(ctx.clock, fill_market_immediately=True,
                        starting_cash=Decimal("1000000000"))
    h = Harness(ctx, consumer="crash-after-record", faults=fault,
                paper_factory=lambda _u: paper)
    h.start()
    h.buy_at_930(trader, strategy)
    fault.rearm(Step.RECORDED)
    h.tick("INFY", "1400.00")
    with pytest.raises(SimulatedCrash):
        h.engine.executor.drain()
    h.engine.brokers.detach()
    h.engine.ledger.close()

    runner = ManualSchedule()  # the dead engine's jobs died with it
    again = EmbeddedEngine(ctx, runner=runner, consumer="crash-after-record",
                           paper_factory=lambda _u: paper)
    again.start(threads=False)
    try:
        again.executor.drain()
        live = LiveState(ctx.store)
        assert live.get_runtime(strategy.id).position is RuntimePosition.SOLD
        assert not again.router.get(strategy.id).armed
        assert len([o for o in paper.orders() if o.side.value == "SELL"]) == 1
        # On the next trading day it buys again.
        ctx.clock.set(runner.jobs()[f"{strategy.id}:BUY"])
        runner.run_due(ctx.clock.now())
        again.executor.drain()
        assert len([o for o in paper.orders() if o.side.value == "BUY"]) == 2
    finally:
        again.stop()
