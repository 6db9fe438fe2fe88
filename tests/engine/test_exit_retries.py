"""An exit the broker refuses (never placed) is tried again on the next trigger, a bounded
number of times a day; then the trader is told to act, and the kill switch still works."""

from __future__ import annotations

from sqlmodel import select

from tui_trader.brokers.base import OrderRejected
from tui_trader.db.models import Notification, Order, Position
from tui_trader.domain.enums import OrderStatus, PositionStatus, Severity
from tui_trader.engine.config import DEFAULT


def _bought(harness, trader, strategy):
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.tick("INFY", "1520.00")
    harness.advance_to(9, 30)
    harness.settle()
    return harness.engine.brokers.paper(trader.id)


def _exits(ctx):
    with ctx.session() as s:
        rows = s.exec(select(Order).where(Order.reason != "BUY")
                      .order_by(Order.created_at)).all()
    return [(o.intent_key.rsplit(":", 1)[1], o.status) for o in rows]


def test_a_refused_stoploss_exit_is_tried_again_on_the_next_tick(ctx, trader, strategy, harness):
    paper = _bought(harness, trader, strategy)
    paper.fail_next(1, OrderRejected)
    harness.tick("INFY", "1499.00")
    harness.settle()
    assert _exits(ctx) == [("1", OrderStatus.REJECTED)]
    harness.tick("INFY", "1498.00")  # still through the stop: the second attempt goes out
    harness.settle()
    assert _exits(ctx) == [("1", OrderStatus.REJECTED), ("2", OrderStatus.FILLED)]
    with ctx.session() as s:
        assert s.exec(select(Position)).one().status is PositionStatus.CLOSED


def test_after_the_last_attempt_the_trader_is_told_and_the_kill_switch_closes(
        ctx, trader, strategy, harness):
    paper = _bought(harness, trader, strategy)
    paper.fail_next(DEFAULT.max_exit_attempts, OrderRejected)
    for i in range(DEFAULT.max_exit_attempts + 3):
        harness.tick("INFY", f"{1499 - i}.00")
        harness.settle()
    assert _exits(ctx) == [(str(n), OrderStatus.REJECTED)
                           for n in range(1, DEFAULT.max_exit_attempts + 1)]
    assert not harness.engine.router.get(strategy.id).armed  # stops trying today
    with ctx.session() as s:
        alerts = s.exec(select(Notification).where(
            Notification.severity == Severity.CRITICAL)).all()
    assert [a.title for a in alerts] == [
        f"INFY morning: exit refused {DEFAULT.max_exit_attempts} times, position open"]
    report = harness.engine.kill_switch(trader.id)
    assert report.exit_orders == 1 and report.errors == []
    assert _exits(ctx)[-1] == (str(DEFAULT.max_exit_attempts + 1), OrderStatus.FILLED)
    with ctx.session() as s:
        assert s.exec(select(Position)).one().status is PositionStatus.CLOSED


def test_a_refused_scheduled_sell_is_tried_again_later(ctx, trader, strategy, harness):
    EXIT_RETRY_S = DEFAULT.exit_retry_s

    paper = _bought(harness, trader, strategy)
    paper.fail_next(1, OrderRejected)
    harness.tick("INFY", "1530.00")  # above the stop: only the scheduled SELL can close it
    harness.advance_to(15, 0)
    executor = harness.engine.executor
    executor.run_once(block_ms=1)
    assert _exits(ctx) == [("1", OrderStatus.REJECTED)]
    # Still pending (a crash now recovers it) and held for a later retry, not dropped.
    assert harness.engine.queue.pending_count() == 1 and executor.held_count == 1
    assert EXIT_RETRY_S >= 5
    executor.drain()  # retries held entries now instead of waiting EXIT_RETRY_S
    assert _exits(ctx) == [("1", OrderStatus.REJECTED), ("2", OrderStatus.FILLED)]
    assert harness.engine.queue.pending_count() == 0
    with ctx.session() as s:
        assert s.exec(select(Position)).one().status is PositionStatus.CLOSED
        [note] = s.exec(select(Notification).where(
            Notification.title == "INFY morning: SELL order rejected")).all()
    assert "Trying again in 20 s" in note.body


def test_a_kill_switch_exit_with_an_unknown_outcome_is_never_sent_twice(
        ctx, trader, strategy, harness):
    from tui_trader.brokers.base import OutcomeUnknown

    paper = _bought(harness, trader, strategy)
    paper.fail_next(1, OutcomeUnknown)  # the answer is lost; the order did reach the broker
    report = harness.engine.kill_switch(trader.id)
    assert report.exit_orders == 0 and "outcome unknown" in report.errors[0]
    again = harness.engine.kill_switch(trader.id)  # the trader presses K again
    assert again.exit_orders == 0
    sells = [o for o in paper.orders() if o.side.value == "SELL"]
    assert len(sells) == 1  # one exit at the broker, whatever was pressed
    from datetime import timedelta

    ctx.clock.advance(timedelta(seconds=10))
    harness.settle()  # the reconciler asks the broker by tag and settles it
    [exit_order] = [o for o in _exits(ctx)]
    assert exit_order == ("1", OrderStatus.FILLED)
    with ctx.session() as s:
        assert s.exec(select(Position)).one().status is PositionStatus.CLOSED


def test_the_next_trading_day_buys_again(ctx, trader, strategy, harness):
    from datetime import UTC, datetime

    _bought(harness, trader, strategy)
    harness.tick("INFY", "1555.50")
    harness.advance_to(15, 0)
    harness.settle()
    # Tuesday 24 Nov 2026 is an NSE holiday: the next session is Wednesday.
    ctx.clock.set(datetime(2026, 11, 25, 3, 30, tzinfo=UTC))
    harness.tick("INFY", "1530.00")
    harness.advance_to(9, 30)
    harness.settle()
    with ctx.session() as s:
        rows = [(o.reason.value, o.trading_day.isoformat(), o.status) for o in
                s.exec(select(Order).order_by(Order.created_at))]
    assert rows == [("BUY", "2026-11-23", OrderStatus.FILLED),
                    ("SELL", "2026-11-23", OrderStatus.FILLED),
                    ("BUY", "2026-11-25", OrderStatus.FILLED)]
    assert harness.engine.router.get(strategy.id).armed


def test_an_exit_closes_what_is_held_not_what_the_strategy_would_buy(
        ctx, trader, strategy, harness):
    from decimal import Decimal

    from tui_trader.domain.enums import Side

    _bought(harness, trader, strategy)
    # 3 of the 10 were sold elsewhere (a partial exit, or only 7 filled): 7 are held.
    harness.engine.positions.apply_fill(
        user_id=trader.id, strategy_id=strategy.id, symbol="INFY", exchange="NSE",
        side=Side.SELL, quantity=3, price=Decimal("1521"), order_id=None, now=ctx.clock.now())
    harness.tick("INFY", "1499.00")
    harness.settle()
    with ctx.session() as s:
        exit_order = s.exec(select(Order).where(Order.reason == "STOPLOSS")).one()
        position = s.exec(select(Position)).one()
    assert exit_order.quantity == 7 and exit_order.side.value == "SELL"
    assert position.status is PositionStatus.CLOSED and position.quantity == 0


def test_what_an_open_position_needs_cannot_be_edited(ctx, trader, strategy, harness):
    import pytest

    from tui_trader.domain.errors import ValidationError
    from tui_trader.services.strategies import StrategyService

    from .conftest import FORM

    _bought(harness, trader, strategy)
    harness.engine.stop_strategy(trader.id, strategy.id)  # stopped, position still open
    from tui_trader.services.brokers import BrokerAccountService

    service = StrategyService(ctx, trader.id)
    kite = BrokerAccountService(ctx, trader.id).add_kite("kiteapikey1", "kitesecret9").id
    for field, change in (("symbol", {"symbol": "TCS"}), ("quantity", {"quantity": "20"}),
                          ("mode", {"mode": "LIVE", "broker_account_id": str(kite)})):
        with pytest.raises(ValidationError) as info:
            service.update(strategy.id, {**FORM, **change})
        assert info.value.field == field
        assert "open INFY position" in str(info.value)
    edited = service.update(strategy.id, {**FORM, "stop_loss": "1450", "sell_time": "15:10"})
    assert edited.stop_loss == 1450 and edited.symbol == "INFY" and edited.quantity == 10


def test_an_exit_still_on_its_way_is_not_rearmed_nor_sent_again(ctx, trader, strategy,
                                                                harness):
    from datetime import timedelta

    paper = _bought(harness, trader, strategy)
    engine = harness.engine
    real_place = paper.place_order
    during = {}

    def slow_place(request):
        # A slow broker call (Kite's timeout is 7 s): meanwhile the maintenance pass runs
        # and the trader presses the kill switch.
        ctx.clock.advance(timedelta(seconds=10))
        engine.maintain()
        during["kill"] = engine.kill_switch(trader.id)
        return real_place(request)

    paper.place_order = slow_place
    harness.tick("INFY", "1499.00")
    harness.settle()
    paper.place_order = real_place
    assert during["kill"].exit_orders == 0  # the exit in flight is the exit
    sells = [o for o in paper.orders() if o.side.value == "SELL"]
    assert len(sells) == 1
    assert _exits(ctx) == [("1", OrderStatus.FILLED)]


def test_a_stop_loss_above_the_price_is_refused_at_start(ctx, trader, harness):
    import pytest

    from tui_trader.domain.errors import ValidationError
    from tui_trader.services.strategies import StrategyService

    from .conftest import FORM

    typo = StrategyService(ctx, trader.id).create({**FORM, "stop_loss": "1500"})
    harness.start()
    harness.tick("INFY", "1480.00")  # the price fell through the stop since it was saved
    with pytest.raises(ValidationError, match="below INFY's live price 1,480.00") as err:
        harness.engine.start_strategy(trader.id, typo.id)
    assert err.value.field == "stop_loss"
    with ctx.session() as s:
        from tui_trader.db.models import Strategy

        assert s.get(Strategy, typo.id).status != "running"
    assert harness.engine.router.get(typo.id) is None


def test_a_scheduled_sell_that_cannot_be_queued_is_tried_again(ctx, trader, strategy,
                                                               harness):
    """At 15:00 the live store is down and the SELL cannot be queued: the trader is told,
    and the SELL is tried again every 20 s until it goes (before: dropped until the next
    day, the position carried overnight)."""
    from datetime import timedelta

    _bought(harness, trader, strategy)
    queue = harness.engine.executor.queue
    publish = queue.publish_and_take
    down = {"calls": 0}

    def store_down(*args, **kwargs):
        down["calls"] += 1
        raise ConnectionError("live store unreachable")

    queue.publish_and_take = store_down
    harness.advance_to(15, 0)
    harness.settle()
    assert down["calls"] == 1 and _exits(ctx) == []
    jobs = harness.runner.jobs()
    assert jobs[f"{strategy.id}:SELL-RETRY"] == ctx.clock.now() + timedelta(seconds=20)
    with ctx.session() as s:
        titles = [n.title for n in s.exec(select(Notification))]
    assert "INFY morning: SELL at INFY delayed" in titles
    ctx.clock.advance(timedelta(seconds=20))
    harness.runner.run_due(ctx.clock.now())  # still down: another try is planned
    assert down["calls"] == 2 and f"{strategy.id}:SELL-RETRY" in harness.runner.jobs()
    queue.publish_and_take = publish  # the store is back
    ctx.clock.advance(timedelta(seconds=20))
    harness.runner.run_due(ctx.clock.now())
    harness.settle()
    assert _exits(ctx) == [("1", OrderStatus.FILLED)]
    with ctx.session() as s:
        assert s.exec(select(Position)).one().status is PositionStatus.CLOSED


def test_a_scheduled_sell_declared_not_placed_is_sent_again(ctx, trader, strategy, harness):
    """The 15:00 SELL's answer is lost and the broker never lists it: after the grace
    period it is declared not placed and, being still wanted, sent again."""
    from datetime import timedelta

    from tui_trader.brokers.base import OutcomeUnknown

    paper = _bought(harness, trader, strategy)
    real_place = paper.place_order

    def lost_on_the_way(request):  # the request never reached the broker
        paper.place_order = real_place
        raise OutcomeUnknown("connection reset")

    paper.place_order = lost_on_the_way
    harness.advance_to(15, 0)
    harness.settle()
    assert _exits(ctx) == [("1", OrderStatus.UNKNOWN)]
    ctx.clock.advance(timedelta(seconds=61))
    harness.settle()  # the reconciler: not listed after the grace period
    harness.settle()
    assert _exits(ctx) == [("1", OrderStatus.CANCELLED), ("2", OrderStatus.FILLED)]
    with ctx.session() as s:
        assert s.exec(select(Position)).one().status is PositionStatus.CLOSED
