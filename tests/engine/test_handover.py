"""The stop-loss hand-over: a trigger is published, taken and locked in one store call and
handed to the executor in-process; an idle engine waits instead of spinning."""

from __future__ import annotations

import threading
import time

from sqlmodel import select

from tui_trader.db.models import Order
from tui_trader.domain.enums import OrderStatus, RuntimePosition
from tui_trader.live.state import LiveState

from .conftest import Harness, wait_until


def _bought(ctx, trader, strategy, harness: Harness) -> None:
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.tick("INFY", "1520.00")
    harness.advance_to(9, 30)
    harness.settle()
    assert LiveState(ctx.store).get_runtime(strategy.id).position is RuntimePosition.BOUGHT


def test_stoploss_is_taken_and_locked_by_the_publisher(ctx, trader, strategy, harness):
    _bought(ctx, trader, strategy, harness)
    engine = harness.engine
    pending_before = engine.queue.pending_count()
    harness.tick("INFY", "1499.00")
    # Already this consumer's (pending, so a crash now loses nothing) and locked for it.
    assert engine.queue.pending_count() == pending_before + 1
    assert ctx.store.get(f"runtime:{strategy.id}:lock") is not None
    assert engine.queue.read() == []  # never delivered a second time
    assert engine.executor.run_once(block_ms=1) == 1
    assert engine.queue.pending_count() == pending_before
    assert ctx.store.get(f"runtime:{strategy.id}:lock") is None
    with ctx.session() as s:
        reasons = [o.reason.value for o in s.exec(select(Order).order_by(Order.created_at))]
    assert reasons == ["BUY", "STOPLOSS"]


def _stoploss_on_a_running_executor(harness, block_ms: int, done=None, what: str = "") -> None:
    """Run the executor loop on its own thread, send a tick through the stop, and wait
    until `done()` holds (by default: the exit is placed, the BUY being the first
    placement); fails at the deadline."""
    engine = harness.engine
    if done is None:
        def done():
            return engine.executor.counters.placed >= 2
        what = what or "the stop-loss exit placed"
    stop = threading.Event()
    worker = threading.Thread(target=engine.executor.run, args=(stop, block_ms), daemon=True)
    worker.start()
    try:
        harness.tick("INFY", "1499.00")
        wait_until(done, what)
    finally:
        stop.set()
        engine.executor.wake()
        worker.join(timeout=10)


def test_a_running_executor_is_woken_by_the_hand_over(ctx, trader, strategy, harness):
    _bought(ctx, trader, strategy, harness)
    engine = harness.engine
    # A long wait: only the in-process wake can get the stop-loss through in time.
    _stoploss_on_a_running_executor(harness, block_ms=60_000)
    assert engine.executor.counters.placed == 2
    with ctx.session() as s:
        exit_order = s.exec(select(Order).where(Order.reason == "STOPLOSS")).one()
    assert exit_order.status is OrderStatus.FILLED


def test_an_idle_executor_waits_instead_of_spinning(ctx, harness):
    harness.start()
    executor = harness.engine.executor
    reads = []
    original = executor.queue.read

    def counted(*args, **kwargs):
        reads.append(1)
        return original(*args, **kwargs)

    executor.queue.read = counted
    started = time.monotonic()
    for _ in range(4):
        assert executor.run_once(block_ms=40) == 0
    # Each idle round waits its block out: one stream read per round, not thousands.
    assert len(reads) == 4
    assert time.monotonic() - started >= 4 * 0.035


def test_an_idle_engine_does_not_spin_its_threads(ctx):
    from dataclasses import replace

    from tui_trader.engine.config import DEFAULT
    from tui_trader.engine.embedded import EmbeddedEngine
    from tui_trader.engine.scheduler import ManualSchedule

    engine = EmbeddedEngine(ctx, runner=ManualSchedule(), consumer="idle-engine",
                            config=replace(DEFAULT, maintenance_interval_s=3600))
    polls, reads = [], []
    control_poll, queue_read = engine.control.poll, engine.queue.read
    engine.control.poll = lambda *a, **k: polls.append(1) or control_poll(*a, **k)
    engine.queue.read = lambda *a, **k: reads.append(1) or queue_read(*a, **k)
    engine.start()
    try:
        time.sleep(1.0)  # an observation window, not synchronisation: count what ran in it
    finally:
        engine.stop()
    # Control waits 500 ms per poll, the executor 50 ms per stream read.
    assert len(polls) <= 4
    assert len(reads) <= 30


def test_a_burst_of_stoplosses_calls_the_broker_before_any_bookkeeping(ctx, trader, harness):
    from tui_trader.services.strategies import StrategyService

    from .conftest import FORM

    service = StrategyService(ctx, trader.id)
    ids = [service.create({**FORM, "name": f"INFY {i}"}).id for i in range(4)]
    harness.start()
    for strategy_id in ids:
        harness.engine.start_strategy(trader.id, strategy_id)
    harness.tick("INFY", "1520.00")
    harness.advance_to(9, 30)
    harness.settle()
    executor = harness.engine.executor
    steps: list[str] = []
    harness.engine.placement.on_broker_call = lambda request: steps.append("call")
    answers = harness.engine.answers
    record = answers.apply_update
    answers.apply_update = lambda update: steps.append("record") or record(update)
    harness.tick("INFY", "1499.00")  # all four stops at once
    executor.drain()
    assert steps[:4] == ["call"] * 4 and set(steps[4:]) == {"record"}
    assert executor.counters.placed == 8
    with ctx.session() as s:
        exits = s.exec(select(Order).where(Order.reason == "STOPLOSS")).all()
    assert len(exits) == 4 and {o.status for o in exits} == {OrderStatus.FILLED}
    runtime = LiveState(ctx.store)
    assert {runtime.get_runtime(i).position for i in ids} == {RuntimePosition.SOLD}


def test_an_exit_that_fails_part_way_is_retried_without_a_restart(ctx, trader, strategy,
                                                                 harness):
    _bought(ctx, trader, strategy, harness)
    engine = harness.engine
    ledger = engine.executor.ledger
    real_claim = ledger.claim
    failures = []

    def blinking_claim(draft, now):
        if not failures:
            failures.append(draft.key)
            raise ConnectionError("database connection lost")  # e.g. PostgreSQL restarting
        return real_claim(draft, now)

    ledger.claim = blinking_claim
    _stoploss_on_a_running_executor(harness, block_ms=20)
    assert failures and engine.executor.counters.errors == 1
    assert engine.executor.counters.placed == 2  # the BUY, and the exit on the retry
    assert engine.queue.pending_count() == 0
    with ctx.session() as s:
        exits = s.exec(select(Order).where(Order.reason == "STOPLOSS")).all()
    assert len(exits) == 1 and exits[0].status is OrderStatus.FILLED


def test_arming_on_a_price_already_through_the_stop_fires_at_once(ctx):
    import uuid
    from decimal import Decimal

    from tui_trader.brokers.feeds.base import Tick
    from tui_trader.engine.router import StopLossWatch, TickRouter

    fired = []
    router = TickRouter(lambda w, p, t: fired.append((w.strategy_id, p)),
                        known_symbols=["INFY", "TCS"])
    crossed, clear, unseen = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    router.watch(StopLossWatch(crossed, uuid.uuid4(), "INFY", Decimal("1500")))
    router.watch(StopLossWatch(clear, uuid.uuid4(), "TCS", Decimal("3300")))
    now = ctx.clock.now()
    # The BUY was still being recorded (not armed): this tick went through the stop unseen.
    router.on_batch([Tick("INFY", Decimal("1495"), now, 1, 1),
                     Tick("TCS", Decimal("3400"), now, 1, 2)])
    assert fired == []
    assert router.arm(crossed) is True
    assert fired == [(crossed, Decimal("1495"))] and not router.get(crossed).armed
    assert router.arm(clear) is False and router.get(clear).armed
    assert router.arm(unseen) is False  # not watched: nothing to do
    router.on_batch([Tick("TCS", Decimal("3299"), now, 1, 3)])
    assert fired[-1] == (clear, Decimal("3299"))


def test_a_stop_crossed_while_the_buy_was_recorded_still_exits(ctx, trader, strategy, harness):
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.tick("INFY", "1520.00")
    harness.advance_to(9, 30)
    engine = harness.engine
    # The BUY goes out; before its bookkeeping arms the stop, the price falls through it.
    original = engine.answers.apply_update
    seen = []

    def fall_during_record(update):
        if not seen:
            seen.append(update)
            harness.tick("INFY", "1495.00")  # not armed yet: the router cannot fire here
        return original(update)

    engine.answers.apply_update = fall_during_record
    harness.settle()
    harness.settle()
    with ctx.session() as s:
        reasons = [o.reason.value for o in s.exec(select(Order).order_by(Order.created_at))]
    assert reasons == ["BUY", "STOPLOSS"]


def test_a_fill_whose_position_write_fails_is_applied_once_on_the_retry(ctx, trader,
                                                                        strategy, harness):
    """The exit's fill is recorded with the position change in one transaction: when the
    database fails part-way, neither lands, and the retry closes the position exactly once
    (before, the order said FILLED while the position stayed open for good)."""
    import sqlalchemy as sa

    from tui_trader.db.models import Position, PositionHistory
    from tui_trader.domain.enums import PositionStatus

    _bought(ctx, trader, strategy, harness)
    failures = []

    def blink(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO POSITION_HISTORY") and \
                not failures:
            failures.append(statement)
            raise sa.exc.OperationalError(statement, parameters,
                                          Exception("server closed the connection"))

    engine = harness.engine

    def settled():
        # The retried exit is a duplicate of the first (placed) attempt, so `placed` stays
        # at 1: wait for what the retry does instead — the entry acknowledged and the
        # position closed once.
        return bool(failures) and engine.executor.counters.errors == 1 and \
            engine.queue.pending_count() == 0 and \
            engine.positions.open_for_strategy(strategy.id) is None

    sa.event.listen(ctx.db, "before_cursor_execute", blink)
    try:
        _stoploss_on_a_running_executor(harness, block_ms=20, done=settled,
                                        what="the failed fill applied on the retry")
    finally:
        sa.event.remove(ctx.db, "before_cursor_execute", blink)
    assert failures and engine.executor.counters.errors == 1
    assert engine.queue.pending_count() == 0
    with ctx.session() as s:
        exits = s.exec(select(Order).where(Order.reason == "STOPLOSS")).all()
        positions = s.exec(select(Position).where(Position.strategy_id == strategy.id)).all()
        history = s.exec(select(PositionHistory)).all()
    assert len(exits) == 1 and exits[0].status is OrderStatus.FILLED
    assert [(p.status, p.quantity) for p in positions] == [(PositionStatus.CLOSED, 0)]
    assert sorted(h.action.value for h in history) == ["CLOSE", "OPEN"]
    assert engine.positions.open_for_strategy(strategy.id) is None
    assert LiveState(ctx.store).get_runtime(strategy.id).position is RuntimePosition.SOLD
