"""Exactly one order per event, whatever fails: the engine is killed at every step between
taking an event and acknowledging it, restarted, and orders are counted at the broker."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import time
from decimal import Decimal

import pytest
from sqlmodel import select

from tui_trader.brokers.base import OutcomeUnknown
from tui_trader.brokers.feeds.base import Tick
from tui_trader.brokers.paper import PaperBroker
from tui_trader.db.models import Order, Strategy
from tui_trader.db.repositories.strategies import to_spec
from tui_trader.domain.enums import OrderStatus, RuntimePosition, StrategyStatus, TriggerEvent
from tui_trader.domain.strategy import RuntimeSnapshot
from tui_trader.engine.config import DEFAULT
from tui_trader.engine.faults import CRASH_STEPS, NO_FAULTS, CrashAt, SimulatedCrash
from tui_trader.live.order_queue import OrderEvent
from tui_trader.live.state import LiveState
from tui_trader.services.auth import AuthService

from .conftest import FORM, Harness


@pytest.fixture
def exchange(ctx):
    """The broker outside us: it survives every engine crash."""
    broker = PaperBroker(ctx.clock, fill_market_immediately=True,
                         starting_cash=Decimal("1000000000"))
    broker.on_tick("INFY", Decimal("1520"), ctx.clock.now())
    return broker


def _engine(ctx, exchange, faults=NO_FAULTS, consumer="engine-1"):
    return Harness(ctx, consumer=consumer, faults=faults,
                   paper_factory=lambda user_id: exchange,
                   config=replace(DEFAULT, claim_stale_ms=0)).engine


def _strategies(ctx, user_id, n: int, status=StrategyStatus.RUNNING) -> list[uuid.UUID]:
    ids = []
    with ctx.session() as s:
        for i in range(n):
            row = Strategy(user_id=user_id, name=f"s{i}", symbol=FORM["symbol"],
                           buy_time=time(9, 30), sell_time=time(15), stop_loss=Decimal("1500"),
                           quantity=1, status=status)
            s.add(row)
            ids.append(row.id)
    return ids


def _set_status(ctx, strategy_id, status) -> None:
    with ctx.session() as s:
        row = s.get(Strategy, strategy_id)
        row.status = status
        if status is StrategyStatus.RUNNING:
            LiveState(ctx.store).activate(to_spec(row), RuntimeSnapshot())


def _event(ctx, user_id, strategy_id, kind=TriggerEvent.BUY) -> OrderEvent:
    return OrderEvent(strategy_id=strategy_id, user_id=user_id, event=kind, symbol="INFY",
                      trigger_price=None, created_at=ctx.clock.now())


def _trial_count(ctx) -> int:
    return 40 if ctx.db.dialect.name == "sqlite" else 20


def test_crash_at_every_step_places_exactly_one_order(ctx, exchange):
    user = AuthService(ctx).sign_up("x@example.com", "password-x")
    trials = _trial_count(ctx)
    ids = _strategies(ctx, user.id, trials * len(CRASH_STEPS), StrategyStatus.CREATED)
    index = 0
    for step in CRASH_STEPS:
        for _ in range(trials):
            strategy_id = ids[index]
            index += 1
            _set_status(ctx, strategy_id, StrategyStatus.RUNNING)
            hook = CrashAt(step)
            engine = _engine(ctx, exchange, faults=hook)
            engine.start(threads=False)
            engine.queue.publish(_event(ctx, user.id, strategy_id))
            with pytest.raises(SimulatedCrash):
                engine.executor.drain()
            assert hook.fired
            engine.brokers.detach()  # the process is gone: it hears nothing more
            engine.ledger.close()  # and so are its connections
            survivor = _engine(ctx, exchange)
            survivor.start(threads=False)  # fail-closed start: reconcile, then pending
            survivor.executor.drain()
            assert survivor.executor.held_count == 0, (step, survivor.executor.counters)
            survivor.brokers.detach()
            survivor.ledger.close()
            _set_status(ctx, strategy_id, StrategyStatus.STOPPED)
    tags_seen = {}
    for order in exchange.orders():
        tags_seen[order.client_tag] = tags_seen.get(order.client_tag, 0) + 1
    assert len(tags_seen) == len(ids), "lost orders"
    assert set(tags_seen.values()) == {1}, "doubled orders"
    with ctx.session() as s:
        rows = s.exec(select(Order)).all()
    assert len(rows) == len(ids)
    assert {r.status for r in rows} == {OrderStatus.FILLED}
    live = LiveState(ctx.store)
    assert {live.get_runtime(i).position for i in ids} == {RuntimePosition.BOUGHT}
    assert ctx.store.xpending("queue:orders", "executors")["pending"] == 0


def test_ambiguous_broker_answer_is_resolved_not_resent(ctx, exchange):
    user = AuthService(ctx).sign_up("x@example.com", "password-x")
    ids = _strategies(ctx, user.id, 30)
    engine = _engine(ctx, exchange)
    engine.start(threads=False)
    for strategy_id in ids:
        exchange.fail_next(1, OutcomeUnknown)
        engine.queue.publish(_event(ctx, user.id, strategy_id))
        engine.executor.drain()
    assert exchange.placed_count() == len(ids)
    with ctx.session() as s:
        assert {r.status for r in s.exec(select(Order)).all()} == {OrderStatus.FILLED}


def test_stoploss_racing_sell_gives_one_exit(ctx, exchange):
    user = AuthService(ctx).sign_up("x@example.com", "password-x")
    [strategy_id] = _strategies(ctx, user.id, 1)
    engine = _engine(ctx, exchange)
    engine.start(threads=False)
    engine.queue.publish(_event(ctx, user.id, strategy_id))
    engine.executor.drain()
    engine.queue.publish(_event(ctx, user.id, strategy_id, TriggerEvent.SELL))
    engine.queue.publish(_event(ctx, user.id, strategy_id, TriggerEvent.STOPLOSS))
    engine.queue.publish(_event(ctx, user.id, strategy_id, TriggerEvent.SELL))
    engine.executor.drain()
    sides = [o.side.value for o in exchange.orders()]
    assert sides == ["BUY", "SELL"]
    counters = engine.executor.counters
    assert counters.placed == 2 and counters.ignored + counters.duplicates == 2


def test_sell_without_position_does_nothing(ctx, exchange, caplog):
    user = AuthService(ctx).sign_up("x@example.com", "password-x")
    [strategy_id] = _strategies(ctx, user.id, 1)
    engine = _engine(ctx, exchange)
    engine.start(threads=False)
    caplog.set_level("INFO")
    engine.queue.publish(_event(ctx, user.id, strategy_id, TriggerEvent.SELL))
    engine.executor.drain()
    assert exchange.orders() == []
    assert "SELL for s0 ignored: position is none" in caplog.text


def test_redis_emptied_is_rebuilt_from_sql(ctx, exchange):
    user = AuthService(ctx).sign_up("x@example.com", "password-x")
    [strategy_id] = _strategies(ctx, user.id, 1)
    engine = _engine(ctx, exchange)
    engine.start(threads=False)
    engine.queue.publish(_event(ctx, user.id, strategy_id))
    engine.executor.drain()
    ctx.store.flushdb()  # Redis restarted without its data
    engine.maintain()
    live = LiveState(ctx.store)
    assert live.get_runtime(strategy_id).position is RuntimePosition.BOUGHT
    assert str(strategy_id) in live.strategies_for_symbol("INFY")
    assert not live.is_fresh()
    assert engine.gate.allowed
    # And the stop-loss still works after the rebuild.
    engine.router.on_batch([Tick("INFY", Decimal("1499"), ctx.clock.now(), 1, 1)])
    engine.executor.drain()
    assert [o.side.value for o in exchange.orders()] == ["BUY", "SELL"]


def test_unknown_outcome_is_never_resent_and_declared_after_grace(ctx, exchange):
    """A broker that lost the order entirely: the engine asks, waits, then says so."""
    from datetime import timedelta

    from tui_trader.brokers.base import OutcomeUnknown as Lost
    from tui_trader.db.models import Notification

    user = AuthService(ctx).sign_up("x@example.com", "password-x")
    [strategy_id] = _strategies(ctx, user.id, 1)
    engine = _engine(ctx, exchange)
    engine.start(threads=False)
    original = exchange.place_order
    calls = []

    def lose_it(request):  # the request never reaches the book, and the answer is lost
        calls.append(request)
        raise Lost("timed out", client_tag=request.client_tag)

    exchange.place_order = lose_it
    try:
        engine.queue.publish(_event(ctx, user.id, strategy_id))
        engine.executor.drain()
        engine.maintain()
        with ctx.session() as s:
            [order] = s.exec(select(Order)).all()
        assert order.status is OrderStatus.UNKNOWN and len(calls) == 1
        ctx.clock.advance(DEFAULT.unknown_grace + timedelta(seconds=1))
        engine.maintain()
        assert len(calls) == 1, "never re-sent"
        with ctx.session() as s:
            [order] = s.exec(select(Order)).all()
            notes = [n.title for n in s.exec(select(Notification)).all()]
        assert order.status is OrderStatus.CANCELLED and "not placed" in (order.error or "")
        assert any("not placed" in t for t in notes)
    finally:
        exchange.place_order = original
