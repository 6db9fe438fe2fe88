"""Orders that fill in parts and strategies the kill switch stops while their orders are at
the broker: every share bought is either watched by a stop or closed, none is sold twice, and
a failure part-way through a batch never leaves an event waiting forever."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tui_trader.brokers.base import OrderRejected
from tui_trader.brokers.paper import PaperBroker
from tui_trader.db.models import Notification, Order
from tui_trader.domain.enums import OrderStatus, TriggerEvent
from tui_trader.engine.faults import OnStep, Step
from tui_trader.live.order_queue import OrderEvent

from .conftest import on_paper, resting_stoploss_exit


def _orders(ctx):
    with ctx.session() as s:
        return [(o.reason.value, o.side.value, o.status, o.quantity, o.filled_quantity)
                for o in s.exec(select(Order).order_by(Order.created_at))]


def _open(ctx):
    with ctx.db.connect() as conn:
        return conn.execute(sa.text(
            "SELECT quantity FROM positions WHERE status = 'OPEN'")).scalars().all()


def _resting_buy(ctx, h, paper, trader, strategy):
    """Start the strategy and let its 09:30 BUY of 10 rest at the exchange: the test fills
    it by hand. Returns the BUY's snapshot at the broker."""
    h.engine.start_strategy(trader.id, strategy.id)
    h.tick("INFY", "1520.00")
    paper.fill_market_immediately = False
    h.advance_to(9, 30)
    h.engine.executor.drain()
    with ctx.session() as s:
        buy = s.exec(select(Order)).one()
    (working,) = paper.orders_by_tag(buy.client_tag)
    paper.freeze_working_orders()  # never matched by the paper exchange itself
    return working


def _buy_fills_4_of_10(ctx, h, paper, trader, strategy):
    """The 09:30 BUY rests at the exchange and fills 4 of 10; returns its snapshot."""
    working = _resting_buy(ctx, h, paper, trader, strategy)
    h.engine.executor.on_broker_update(dataclasses.replace(
        working, status=OrderStatus.PARTIALLY_FILLED, filled_quantity=4,
        average_price=Decimal("1520")))
    return working


def test_a_killed_strategys_buy_filling_in_two_parts_is_closed_in_full(ctx, trader, strategy):
    h, paper = on_paper(ctx, "kill-partial")
    engine = h.engine
    try:
        working = _resting_buy(ctx, h, paper, trader, strategy)
        report = engine.kill_switch(trader.id)
        assert report.exit_orders == 0
        paper.fill_market_immediately = True
        engine.executor.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.PARTIALLY_FILLED, filled_quantity=4,
            average_price=Decimal("1520")))
        engine.executor.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.FILLED, filled_quantity=10,
            average_price=Decimal("1520")))
        assert _open(ctx) == [], "6 bought after the kill switch left open"
        exits = sorted(o[3:] for o in _orders(ctx) if o[0] == "EXIT")
        assert exits == [(4, 4), (6, 6)]  # each part closed once, nothing sold twice
    finally:
        engine.stop()


def test_a_failure_part_way_through_a_batch_frees_every_leg(ctx, trader, strategy):
    state = {"arm": False, "taken": 0}

    def fault(step):
        if state["arm"] and step is Step.TAKEN:
            state["taken"] += 1
            if state["taken"] == 2:
                raise RuntimeError("db blinked on the second entry")

    h, paper = on_paper(ctx, "leak", faults=OnStep(fault))
    engine = h.engine
    ex = engine.executor
    try:
        h.buy_at_930(trader, strategy)
        paper.fill_market_immediately = False  # the exit rests at the exchange
        state["arm"] = True
        engine.router.forget_prices()
        # two events in one inbox drain: the stop-loss, and anything else after it
        from tui_trader.domain.enums import TriggerEvent
        from tui_trader.live.order_queue import OrderEvent
        ex.submit(OrderEvent(strategy_id=strategy.id, user_id=trader.id,
                             event=TriggerEvent.STOPLOSS, symbol="INFY",
                             trigger_price=Decimal("1400"), created_at=ctx.clock.now()))
        ex.submit(OrderEvent(strategy_id=strategy.id, user_id=trader.id,
                             event=TriggerEvent.SELL, symbol="INFY",
                             trigger_price=None, created_at=ctx.clock.now()))
        with pytest.raises(RuntimeError, match="db blinked"):
            ex.run_once(block_ms=1)
        assert engine.placement.idle  # nothing left holding the leg
        state["arm"] = False
        ex.retry_dropped()  # what the loop does next
        for _ in range(200):
            ex.run_once(block_ms=1, retry_held_now=True)
        # the exit is then refused at the broker (RMS, async): nothing is sent again
        with ctx.session() as s:
            exit_order = s.exec(select(Order).where(Order.reason != "BUY")).first()
        (working,) = paper.orders_by_tag(exit_order.client_tag)
        ex.on_broker_update(dataclasses.replace(working, status=OrderStatus.CANCELLED,
                                                message="RMS"))
        for _ in range(200):
            ex.run_once(block_ms=1, retry_held_now=True)
        assert engine.placement.idle, "leg guard leaked"
    finally:
        engine.stop()


def test_a_buy_filling_around_a_stop_loss_is_closed_by_the_sell(ctx, trader, strategy):
    h, paper = on_paper(ctx, "pingpong")
    engine = h.engine
    ex = engine.executor
    try:
        working = _buy_fills_4_of_10(ctx, h, paper, trader, strategy)
        paper.fill_market_immediately = True
        h.tick("INFY", "1400.00")  # through the stop: exit of the 4 held
        ex.drain()
        ex.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.FILLED, filled_quantity=10,
            average_price=Decimal("1520")))
        ex.counters.held = 0
        before = ex.counters.events
        h.advance_to(15, 0)  # the scheduled SELL
        for _ in range(100):
            ex.run_once(block_ms=1, retry_held_now=True)
        assert _open(ctx) == []
        assert ex.counters.events - before <= 3  # no correction going round in circles
        exits = sorted(o[3:] for o in _orders(ctx) if o[0] != "BUY")
        assert exits == [(4, 4), (6, 6)]
    finally:
        engine.stop()


def test_a_late_refusal_found_by_the_reconciler_is_handled_once(ctx, trader, strategy):
    h, paper = on_paper(ctx, "double")
    engine = h.engine
    ex = engine.executor
    try:
        exit_order, working = resting_stoploss_exit(h, paper, trader, strategy)
        paper.freeze_working_orders()
        refused = dataclasses.replace(working, status=OrderStatus.REJECTED, message="RMS")
        paper.orders_by_tag = lambda tag: [refused] if tag == exit_order.client_tag else []
        submitted = []
        real_submit = ex.submit
        ex.submit = lambda ev: (submitted.append(ev.event), real_submit(ev))[1]
        engine.reconcile()  # the websocket missed the rejection; the reconciler finds it
        with ctx.session() as s:
            notes = [n.title for n in s.exec(select(Notification)) if "rejected" in n.title]
        assert len(notes) == 1, notes
        paper.orders_by_tag = PaperBroker.orders_by_tag.__get__(paper)
        paper.fill_market_immediately = True
        ex.drain()
        assert len(submitted) == 1, submitted
    finally:
        engine.stop()


def test_a_stop_loss_exit_refused_after_the_kill_switch_is_replaced(ctx, trader, strategy):
    from datetime import timedelta

    from tui_trader.brokers.base import OrderRejected
    h, paper = on_paper(ctx, "kill-sl")
    engine = h.engine
    ex = engine.executor
    try:
        h.buy_at_930(trader, strategy)
        reports = []

        def kill_now(request):
            if request.side.value == "SELL" and not reports:
                reports.append(engine.kill_switch(trader.id))
                paper.fail_next(1, OrderRejected)  # the stop-loss exit is refused (RMS)

        engine.placement.on_broker_call = kill_now
        engine.router.forget_prices()
        h.tick("INFY", "1400.00")
        ex.drain()
        ctx.clock.advance(timedelta(seconds=30))
        ex.drain()
        h.settle()
        assert "already" in reports[0].errors[0]  # the stop-loss exit was at the broker
        assert _open(ctx) == []
        assert [o[:3] for o in _orders(ctx) if o[0] != "BUY"] == [
            ("STOPLOSS", "SELL", OrderStatus.REJECTED), ("EXIT", "SELL", OrderStatus.FILLED)]
    finally:
        engine.stop()


def test_one_kill_switch_press_sends_one_exit_when_it_is_refused_in_the_answer(ctx, trader,
                                                                              strategy):
    """Kite answers an RMS refusal with an order id and status REJECTED (no exception)."""
    h, paper = on_paper(ctx, "kill-recurse")
    engine = h.engine
    try:
        h.buy_at_930(trader, strategy)
        real = paper.place_order
        calls = []

        def kite_like(req):
            calls.append(req.client_tag)
            if req.side.value == "SELL":
                paper.fail_next(1, OrderRejected)
                try:
                    return real(req)
                except OrderRejected as exc:
                    return exc.order  # the snapshot Kite's get_order would give
            return real(req)

        paper.place_order = kite_like
        report = engine.kill_switch(trader.id)
        assert len(calls) == 1, "one K press sent several exits"
        assert "refused" in report.errors[0] and _open(ctx) == [10]
    finally:
        engine.stop()


def test_a_kill_switch_exit_resting_while_the_buy_fills_more_is_followed_up(ctx, trader, strategy):
    h, paper = on_paper(ctx, "kill-rest")
    engine = h.engine
    ex = engine.executor
    try:
        working = _resting_buy(ctx, h, paper, trader, strategy)
        ex.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.PARTIALLY_FILLED, filled_quantity=4,
            average_price=Decimal("1520")))
        report = engine.kill_switch(trader.id)  # exit of 4, resting (not filled yet)
        assert report.exit_orders == 1
        with ctx.session() as s:
            exit_order = s.exec(select(Order).where(Order.reason != "BUY")).one()
        (exit_working,) = paper.orders_by_tag(exit_order.client_tag)
        paper.freeze_working_orders()
        # the rest of the BUY fills while the kill switch's exit is still working
        ex.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.FILLED, filled_quantity=10,
            average_price=Decimal("1520")))
        # then the kill switch's exit fills
        ex.on_broker_update(dataclasses.replace(
            exit_working, status=OrderStatus.FILLED, filled_quantity=4,
            average_price=Decimal("1520")))
        h.settle()
        assert _open(ctx) == [], "shares bought after K left open, unwatched"
    finally:
        engine.stop()


def _sell_after_each_part(ctx, h, paper, trader, strategy, parts) -> None:
    """The 09:30 BUY rests and fills in `parts` (cumulative quantities); a SELL follows
    each part."""
    ex = h.engine.executor
    working = _resting_buy(ctx, h, paper, trader, strategy)
    paper.fill_market_immediately = True
    for filled in parts:
        ex.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.PARTIALLY_FILLED, filled_quantity=filled,
            average_price=Decimal("1520")))
        ex.submit(OrderEvent(strategy_id=strategy.id, user_id=trader.id,
                             event=TriggerEvent.SELL, symbol="INFY", trigger_price=None,
                             created_at=ctx.clock.now()))
        for _ in range(20):
            ex.run_once(block_ms=1, retry_held_now=True)


def test_exits_that_filled_do_not_use_up_the_days_attempts(ctx, trader, strategy):
    h, paper = on_paper(ctx, "exhaust")
    try:
        _sell_after_each_part(ctx, h, paper, trader, strategy, (2, 4, 6, 8))
        assert _open(ctx) == []
        exits = [o[3:5] for o in _orders(ctx) if o[0] != "BUY"]
        assert exits == [(2, 2)] * 4  # each part sold once, none refused for "attempts"
    finally:
        h.engine.stop()


def test_when_the_days_exits_run_out_the_trader_is_told_to_act(ctx, trader, strategy,
                                                              monkeypatch):
    """Past the day's last exit sequence, an exit event with shares still held does not
    call the strategy sold (as if nothing were held): the trader is told to act."""
    from tui_trader.domain.enums import RuntimePosition
    from tui_trader.engine import intents
    from tui_trader.live.state import LiveState

    monkeypatch.setattr(intents, "MAX_SEQUENCES", 2)
    h, paper = on_paper(ctx, "out-of-exits")
    try:
        _sell_after_each_part(ctx, h, paper, trader, strategy, (2, 4, 6))
        assert _open(ctx) == [2]
        assert [o[3:5] for o in _orders(ctx) if o[0] != "BUY"] == [(2, 2), (2, 2)]
        with ctx.session() as s:
            critical = [n.title for n in s.exec(select(Notification))
                        if n.severity.value == "CRITICAL"]
        assert critical == ["INFY morning: no more exits today, position open"]
        assert LiveState(ctx.store).get_runtime(strategy.id).position is not \
            RuntimePosition.SOLD
    finally:
        h.engine.stop()


def _notes(ctx):
    with ctx.session() as s:
        return [(n.severity.value, n.title) for n in s.exec(select(Notification))]


def test_after_the_days_last_refusal_the_trader_is_told_to_act(ctx, trader, strategy):
    """Each stop-loss exit is accepted (rests) and later REJECTED (RMS over the ticker)."""
    h, paper = on_paper(ctx, "z-async")
    engine = h.engine
    ex = engine.executor
    try:
        h.buy_at_930(trader, strategy)
        paper.fill_market_immediately = False
        engine.router.forget_prices()
        h.tick("INFY", "1400.00")
        ex.drain()
        for _round in range(5):
            with ctx.session() as s:
                exits = s.exec(select(Order).where(Order.reason != "BUY")
                               .order_by(Order.created_at)).all()
            working = [o for o in exits if o.status not in (OrderStatus.REJECTED,
                                                           OrderStatus.CANCELLED,
                                                           OrderStatus.FILLED)]
            if not working:
                break
            (w,) = paper.orders_by_tag(working[0].client_tag)
            paper.cancel_order(w.broker_order_id)
            ex.on_broker_update(dataclasses.replace(w, status=OrderStatus.REJECTED,
                                                    message="RMS: margin"))
            ex.drain()
            h.tick("INFY", "1390.00")
            ex.drain()
        h.advance_to(15, 0)
        h.settle()
        h.tick("INFY", "1380.00")
        h.settle()
        crit = [n for n in _notes(ctx) if n[0] == "CRITICAL"]
        assert _open(ctx) == [10]
        assert crit, "position open after the day's last refusal, no CRITICAL alert"
    finally:
        engine.stop()


def test_the_rest_of_a_buy_filling_after_the_exit_is_watched_again(ctx, trader, strategy):
    h, paper = on_paper(ctx, "z-pp")
    engine = h.engine
    ex = engine.executor
    try:
        working = _buy_fills_4_of_10(ctx, h, paper, trader, strategy)
        paper.fill_market_immediately = True
        h.tick("INFY", "1400.00")
        ex.drain()
        h.tick("INFY", "1520.00")
        ex.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.FILLED, filled_quantity=10,
            average_price=Decimal("1520")))
        h.settle()
        h.tick("INFY", "1300.00")   # far through the stop
        h.settle()
        assert _open(ctx) == []  # the 6 bought after the exit were watched and sold
        assert any(n[0] == "WARNING" and "bought after the exit" in n[1]
                   for n in _notes(ctx))
    finally:
        engine.stop()


def test_the_last_exit_sequence_refused_is_announced(ctx, trader, strategy, monkeypatch):
    from tui_trader.brokers.base import OrderRejected
    from tui_trader.domain.enums import TriggerEvent
    from tui_trader.engine import intents
    from tui_trader.live.order_queue import OrderEvent
    monkeypatch.setattr(intents, "MAX_SEQUENCES", 2)
    h, paper = on_paper(ctx, "z-seq")
    ex = h.engine.executor
    try:
        working = _resting_buy(ctx, h, paper, trader, strategy)
        paper.fill_market_immediately = True
        for i, filled in enumerate((2, 4)):
            ex.on_broker_update(dataclasses.replace(
                working, status=OrderStatus.PARTIALLY_FILLED, filled_quantity=filled,
                average_price=Decimal("1520")))
            if i == 1:
                paper.fail_next(1, OrderRejected)
            ex.submit(OrderEvent(strategy_id=strategy.id, user_id=trader.id,
                                 event=TriggerEvent.SELL, symbol="INFY", trigger_price=None,
                                 created_at=ctx.clock.now()))
            for _ in range(20):
                ex.run_once(block_ms=1, retry_held_now=True)
        h.settle()
        assert _open(ctx) == [2]
        assert ("CRITICAL", "INFY morning: no more exits today, position open") in \
            [n[:2] for n in _notes(ctx)]
    finally:
        h.engine.stop()


def test_one_update_of_a_killed_strategys_exit_sends_one_follow_up(ctx, trader, strategy):
    from tui_trader.brokers.base import OrderRejected
    h, paper = on_paper(ctx, "z-kill2")
    engine = h.engine
    ex = engine.executor
    try:
        exit_order, working = resting_stoploss_exit(h, paper, trader, strategy)
        paper.freeze_working_orders()
        engine.kill_switch(trader.id)
        real = paper.place_order
        calls = []

        def kite_like(req):
            calls.append(req.client_tag)
            paper.fail_next(1, OrderRejected)
            try:
                return real(req)
            except OrderRejected as exc:
                return exc.order
        paper.place_order = kite_like
        ex.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.CANCELLED, filled_quantity=4,
            average_price=Decimal("1400"), message="market protection"))
        assert len(calls) == 1  # one follow-up exit for one update, not one per branch
    finally:
        engine.stop()



def test_the_rest_of_a_buy_filling_while_the_exit_works_is_watched(ctx, trader, strategy):
    """The stop-loss exit of the 4 rests; meanwhile the BUY's other 6 fill; then the exit
    fills: the 6 are watched by the stop (as Kite's postbacks can order it)."""
    h, paper = on_paper(ctx, "rest-while-exit")
    ex = h.engine.executor
    try:
        working = _buy_fills_4_of_10(ctx, h, paper, trader, strategy)
        h.tick("INFY", "1400.00")  # through the stop: the exit of 4 goes out and rests
        ex.drain()
        with ctx.session() as s:
            exit_row = s.exec(select(Order).where(Order.reason == "STOPLOSS")).one()
        (exit_working,) = paper.orders_by_tag(exit_row.client_tag)
        paper.freeze_working_orders()
        ex.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.FILLED, filled_quantity=10,
            average_price=Decimal("1520")))
        ex.on_broker_update(dataclasses.replace(
            exit_working, status=OrderStatus.FILLED, filled_quantity=4,
            average_price=Decimal("1400")))
        paper.fill_market_immediately = True
        h.settle()
        h.tick("INFY", "1300.00")
        h.settle()
        assert _open(ctx) == []
        assert sorted(o[3:5] for o in _orders(ctx) if o[0] != "BUY") == [(4, 4), (6, 6)]
    finally:
        h.engine.stop()


def test_the_rest_of_a_buy_filling_after_the_sell_time_is_sold(ctx, trader, strategy):
    h, paper = on_paper(ctx, "rest-after-sell")
    ex = h.engine.executor
    try:
        working = _buy_fills_4_of_10(ctx, h, paper, trader, strategy)
        paper.fill_market_immediately = True
        h.advance_to(15, 0)  # the scheduled SELL sells the 4
        h.settle()
        ex.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.FILLED, filled_quantity=10,
            average_price=Decimal("1520")))
        h.settle()
        assert _open(ctx) == []
        assert sorted(o[3:5] for o in _orders(ctx) if o[0] != "BUY") == [(4, 4), (6, 6)]
        assert ("WARNING", "INFY morning: more INFY bought after the exit") in _notes(ctx)
    finally:
        h.engine.stop()


def test_running_out_of_exits_is_announced_once(ctx, trader, strategy):
    """Three refused stop-loss exits while the BUY still works: one critical alert, not one
    per reconciler pass."""
    from datetime import timedelta

    h, paper = on_paper(ctx, "out-once")
    ex = h.engine.executor
    try:
        _buy_fills_4_of_10(ctx, h, paper, trader, strategy)
        paper.fill_market_immediately = True
        for _ in range(3):
            paper.fail_next(1, OrderRejected)
            h.tick("INFY", "1400.00")
            ex.drain()
        for _ in range(6):
            ctx.clock.advance(timedelta(seconds=6))
            h.tick("INFY", "1400.00")
            h.settle()
        critical = [n for n in _notes(ctx) if n[0] == "CRITICAL"]
        assert critical == [("CRITICAL", "INFY morning: exit refused 3 times, position open")]
        assert _open(ctx) == [4]
    finally:
        h.engine.stop()


def test_a_buy_whose_answer_was_lost_and_then_announced_moves_the_strategy(ctx, trader,
                                                                           strategy):
    """The BUY's answer is lost and the broker lists it late; its own update (OPEN) comes
    first, then the reconciler finds it: the strategy moves to bought, so its fill is
    watched and sold (not left at `none` with the lock held, never exited)."""
    from datetime import timedelta

    from tui_trader.brokers.base import OutcomeUnknown

    h, paper = on_paper(ctx, "lost-buy-answer")
    ex = h.engine.executor
    try:
        h.engine.start_strategy(trader.id, strategy.id)
        h.tick("INFY", "1520.00")
        paper.fill_market_immediately = False  # the BUY rests
        paper.fail_next(1, OutcomeUnknown)
        listed = paper.orders_by_tag
        late = {"asks": 1}

        def listed_late(tag):
            if late["asks"]:
                late["asks"] -= 1
                return []
            return listed(tag)

        paper.orders_by_tag = listed_late
        h.advance_to(9, 30)
        ex.drain()
        with ctx.session() as s:
            buy = s.exec(select(Order)).one()
        (working,) = listed(buy.client_tag)
        paper.freeze_working_orders()
        ex.on_broker_update(working)  # the broker's own update: accepted, OPEN
        ctx.clock.advance(timedelta(seconds=30))
        h.settle()  # the reconciler finds it
        ex.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.FILLED, filled_quantity=10,
            average_price=Decimal("1520")))
        h.settle()
        paper.fill_market_immediately = True
        h.tick("INFY", "1400.00")  # through the stop
        h.settle()
        assert _open(ctx) == []
        assert [o[:3] for o in _orders(ctx)] == [("BUY", "BUY", OrderStatus.FILLED),
                                                 ("STOPLOSS", "SELL", OrderStatus.FILLED)]
    finally:
        h.engine.stop()
