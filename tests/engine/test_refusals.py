"""A broker that accepts an order and then refuses it (Kite answers an RMS rejection with an
order id and status REJECTED, or sends the rejection later over the ticker) must never be
taken for a fill: no position is assumed, no exit is sold from nothing."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from sqlmodel import select

from tui_trader.brokers.base import OrderRejected
from tui_trader.brokers.paper import PaperBroker
from tui_trader.db.models import Notification, Order, Position
from tui_trader.domain.enums import OrderStatus, RuntimePosition
from tui_trader.live.state import LiveState

from .conftest import Harness, on_paper, resting_stoploss_exit


class AnswersRejections(PaperBroker):
    """Like Kite: a refused order comes back as a snapshot with status REJECTED."""

    def place_order(self, req):
        try:
            return super().place_order(req)
        except OrderRejected as exc:
            return exc.order


def _orders(ctx):
    with ctx.session() as s:
        return [(o.reason.value, o.side.value, o.status) for o in
                s.exec(select(Order).order_by(Order.created_at))]


def _assert_closed_and_sold(ctx, strategy) -> None:
    """The position is closed in SQL and the strategy's runtime says sold."""
    with ctx.session() as s:
        positions = s.exec(select(Position)).all()
    assert [(p.status.value, p.quantity) for p in positions] == [("CLOSED", 0)]
    assert LiveState(ctx.store).get_runtime(strategy.id).position is RuntimePosition.SOLD


def test_a_buy_refused_in_the_answer_is_not_a_position(ctx, trader, strategy):
    harness = Harness(ctx, consumer="refusals", paper_factory=lambda _u: AnswersRejections(
        ctx.clock, starting_cash=Decimal("1000"), fill_market_immediately=True))
    harness.start()
    try:
        harness.engine.start_strategy(trader.id, strategy.id)
        harness.tick("INFY", "1520.00")
        harness.advance_to(9, 30)
        harness.settle()  # 10 x 1,520 is more than the 1,000 of cash: refused
        assert LiveState(ctx.store).get_runtime(strategy.id).position is RuntimePosition.NONE
        assert not harness.engine.router.get(strategy.id).armed
        harness.engine.brokers.paper(trader.id)._cash = Decimal("10000000")
        harness.advance_to(15, 0)
        harness.settle()
        assert _orders(ctx) == [("BUY", "BUY", OrderStatus.REJECTED)]  # no SELL from nothing
        with ctx.session() as s:
            assert s.exec(select(Position)).all() == []
            titles = [n.title for n in s.exec(select(Notification))]
        assert "INFY morning: BUY order rejected" in titles
    finally:
        harness.engine.stop()


def test_a_buy_refused_after_acceptance_undoes_the_move(ctx, trader, strategy):
    harness = Harness(ctx, consumer="refusals", paper_factory=lambda _u: PaperBroker(
        ctx.clock, fill_market_immediately=False))
    harness.start()
    try:
        harness.engine.start_strategy(trader.id, strategy.id)
        harness.advance_to(9, 30)  # no price yet: the BUY is accepted and left working
        harness.engine.executor.drain()
        [(_, _, status)] = _orders(ctx)
        assert status is OrderStatus.OPEN
        live = LiveState(ctx.store)
        assert live.get_runtime(strategy.id).position is RuntimePosition.BOUGHT
        with ctx.session() as s:
            order = s.exec(select(Order)).one()
        paper = harness.engine.brokers.paper(trader.id)
        [snapshot] = paper.orders_by_tag(order.client_tag)
        # The rejection arrives later, as Kite's ticker would send it.
        harness.engine.executor.on_broker_update(dataclasses.replace(
            snapshot, status=OrderStatus.REJECTED, message="RMS: margin exceeded"))
        assert live.get_runtime(strategy.id).position is RuntimePosition.NONE
        assert not harness.engine.router.get(strategy.id).armed
        with ctx.session() as s:
            notes = [(n.title, n.body) for n in s.exec(select(Notification))]
        assert ("INFY morning: BUY order rejected by the broker",
                "RMS: margin exceeded") in notes
    finally:
        harness.engine.stop()


def test_a_live_strategy_without_its_account_never_trades_on_paper(ctx, trader, harness):
    from tui_trader.db.models import Strategy
    from tui_trader.domain.enums import ExecutionMode, StrategyStatus
    from tui_trader.services.brokers import BrokerAccountService
    from tui_trader.services.strategies import StrategyService

    from .conftest import FORM

    kite = BrokerAccountService(ctx, trader.id).add_kite("kiteapikey1", "kitesecret9")
    spec = StrategyService(ctx, trader.id).create(
        {**FORM, "mode": "LIVE", "broker_account_id": str(kite.id)})
    with ctx.session() as s:  # an account lost some other way (an older build allowed it)
        row = s.get(Strategy, spec.id)
        row.broker_account_id = None
        row.status = StrategyStatus.RUNNING  # and running: the engine restores it at start
        assert row.execution_mode == ExecutionMode.LIVE
    harness.engine.start(threads=False)
    harness.tick("INFY", "1520.00")
    harness.advance_to(9, 30)
    harness.settle()
    assert _orders(ctx) == [("BUY", "BUY", OrderStatus.REJECTED)]
    assert harness.engine.brokers.paper(trader.id).orders() == []
    with ctx.session() as s:
        assert "needs its Kite account" in s.exec(select(Order)).one().error


class LosesTheRejection(PaperBroker):
    """The order reaches the broker and is refused (RMS), but the answer is lost on the
    way back: the engine only learns of it by asking for the tag."""

    lose_next = False
    unlisted = 0  # answers to `orders_by_tag` that do not list it yet

    def orders_by_tag(self, client_tag):
        if self.unlisted:
            self.unlisted -= 1
            return []
        return super().orders_by_tag(client_tag)

    def place_order(self, req):
        if not self.lose_next:
            return super().place_order(req)
        self.lose_next = False
        self.fail_next(1, OrderRejected)
        try:
            return super().place_order(req)
        except OrderRejected:
            from tui_trader.brokers.base import OutcomeUnknown

            raise OutcomeUnknown("read timed out") from None


def test_an_exit_found_refused_after_a_lost_answer_is_tried_again(ctx, trader, strategy):
    """Asked about a lost answer, the broker lists the exit as REJECTED: that is a refusal,
    not an exit. Before, the runtime went to `sold` and the stop stopped watching, so the
    position stayed open, unwatched and unannounced, and the 15:00 SELL was taken for a
    duplicate."""
    harness, paper = on_paper(ctx, "lost-refusal", paper=LosesTheRejection(
        ctx.clock, fill_market_immediately=True, starting_cash=Decimal("100000000")))
    engine = harness.engine
    try:
        harness.buy_at_930(trader, strategy)
        paper.lose_next = True
        harness.tick("INFY", "1400.00")  # through the stop: the exit is refused, unseen
        harness.settle()
        runtime = LiveState(ctx.store).get_runtime(strategy.id)
        assert runtime.position is RuntimePosition.BOUGHT
        assert engine.router.get(strategy.id).armed  # the stop watches again
        with ctx.session() as s:
            titles = [n.title for n in s.exec(select(Notification))]
        assert any("STOPLOSS order rejected" in t for t in titles), titles
        harness.tick("INFY", "1390.00")  # the next tick through the stop tries again
        harness.settle()
        assert _orders(ctx) == [("BUY", "BUY", OrderStatus.FILLED),
                                ("STOPLOSS", "SELL", OrderStatus.REJECTED),
                                ("STOPLOSS", "SELL", OrderStatus.FILLED)]
        _assert_closed_and_sold(ctx, strategy)
    finally:
        engine.stop()


def test_a_scheduled_exit_the_reconciler_finds_refused_is_sent_again(ctx, trader, strategy):
    """The lost answer is not listed when first asked; the reconciler finds it REJECTED
    later: the strategy is freed, the trader told, and the 15:00 SELL goes out again."""
    harness, paper = on_paper(ctx, "late-refusal", paper=LosesTheRejection(
        ctx.clock, fill_market_immediately=True, starting_cash=Decimal("100000000")))
    engine = harness.engine
    try:
        harness.buy_at_930(trader, strategy)
        paper.lose_next, paper.unlisted = True, 1
        harness.advance_to(15, 0)  # the scheduled SELL: refused, answer lost, not listed
        harness.settle()
        assert [o[2] for o in _orders(ctx)] == [OrderStatus.FILLED, OrderStatus.UNKNOWN]
        assert engine.reconcile() == 1  # listed now: REJECTED
        harness.settle()
        assert _orders(ctx) == [("BUY", "BUY", OrderStatus.FILLED),
                                ("SELL", "SELL", OrderStatus.REJECTED),
                                ("SELL", "SELL", OrderStatus.FILLED)]
        with ctx.session() as s:
            titles = [n.title for n in s.exec(select(Notification))]
            positions = s.exec(select(Position)).all()
        assert any("SELL order rejected" in t for t in titles), titles
        assert [(p.status.value, p.quantity) for p in positions] == [("CLOSED", 0)]
    finally:
        engine.stop()


def test_an_exit_cancelled_after_a_partial_fill_exits_the_rest(ctx, trader, strategy):
    """The stop-loss SELL of 10 fills 4, then the rest is cancelled (a circuit, market
    protection): 6 are still held. The strategy goes back to bought and watched, the
    trader is told, and the next tick through the stop sells the 6 (before: runtime `sold`,
    the 6 unwatched, and no exit possible for the rest of the day)."""
    harness, paper = on_paper(ctx, "partial-exit")
    engine = harness.engine
    try:
        exit_order, working = resting_stoploss_exit(harness, paper, trader, strategy)
        engine.executor.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.PARTIALLY_FILLED, filled_quantity=4,
            average_price=Decimal("1400")))
        engine.executor.on_broker_update(dataclasses.replace(
            working, status=OrderStatus.CANCELLED, filled_quantity=4,
            average_price=Decimal("1400"), message="market protection"))
        assert LiveState(ctx.store).get_runtime(strategy.id).position is \
            RuntimePosition.BOUGHT
        with ctx.session() as s:
            positions = s.exec(select(Position)).all()
            titles = [n.title for n in s.exec(select(Notification))]
        assert [(p.status.value, p.quantity) for p in positions] == [("OPEN", 6)]
        assert any("cancelled by the broker (4 of 10 filled)" in t for t in titles), titles
        paper.cancel_order(working.broker_order_id)  # the exchange side agrees
        paper.fill_market_immediately = True
        harness.tick("INFY", "1390.00")  # still through the stop: the rest goes
        harness.settle()
        with ctx.session() as s:
            exits = s.exec(select(Order).where(Order.reason == "STOPLOSS")
                           .order_by(Order.created_at)).all()
            positions = s.exec(select(Position)).all()
        assert sorted(((o.quantity, o.filled_quantity) for o in exits), reverse=True) == \
            [(10, 4), (6, 6)]
        assert [(p.status.value, p.quantity) for p in positions] == [("CLOSED", 0)]
        assert LiveState(ctx.store).get_runtime(strategy.id).position is RuntimePosition.SOLD
    finally:
        engine.stop()


def test_a_lost_undo_of_a_refused_exit_is_put_right_by_the_next_exit(ctx, trader, strategy):
    """The exit was accepted (runtime `sold`), then refused; undoing the move failed (the
    live store blinked right then). The 15:00 SELL finds the position held with no exit at
    the broker, puts the runtime right and exits; a restart watches the stop from SQL
    (before: the SELL was taken for a duplicate and the position stayed open, unwatched)."""
    harness, paper = on_paper(ctx, "lost-undo")
    engine = harness.engine
    try:
        exit_order, working = resting_stoploss_exit(harness, paper, trader, strategy)
        paper.cancel_order(working.broker_order_id)
        move_runtime = engine.live.move_runtime

        def blinks(*args, **kwargs):
            raise ConnectionError("live store unreachable")

        engine.live.move_runtime = blinks
        engine.on_broker_update(dataclasses.replace(working, status=OrderStatus.REJECTED,
                                                    message="RMS: margin"))
        engine.live.move_runtime = move_runtime
        assert LiveState(ctx.store).get_runtime(strategy.id).position is RuntimePosition.SOLD
        with ctx.session() as s:
            titles = [n.title for n in s.exec(select(Notification))]
        assert "INFY morning: STOPLOSS order rejected by the broker" in titles, titles

        # A restart arms the stop from the position SQL holds, whatever the runtime says.
        again = Harness(ctx, consumer="lost-undo-2", paper_factory=lambda _u: paper)
        again.start()
        assert again.engine.router.get(strategy.id).armed
        again.engine.stop()

        paper.fill_market_immediately = True
        harness.tick("INFY", "1390.00")
        harness.advance_to(15, 0)
        harness.settle()
        _assert_closed_and_sold(ctx, strategy)
    finally:
        engine.stop()
