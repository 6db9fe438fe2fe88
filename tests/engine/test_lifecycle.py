"""A scheduled strategy end to end: start, BUY at buy_time, stop-loss, SELL, stop."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tui_trader.db.models import Order, OrderHistory, Position, PositionHistory, Strategy
from tui_trader.domain.enums import OrderStatus, PositionStatus, RuntimePosition
from tui_trader.live.state import LiveState
from tui_trader.services.strategies import StrategyService


def _orders(ctx):
    with ctx.session() as s:
        return list(s.exec(select(Order).order_by(Order.created_at)).all())


def test_start_registers_live_state_and_jobs(ctx, trader, strategy, harness):
    harness.start()
    result = harness.engine.start_strategy(trader.id, strategy.id)
    assert "next buy" in result.message
    live = LiveState(ctx.store)
    assert live.get_strategy(strategy.id).stop_loss == Decimal("1500")
    assert live.get_runtime(strategy.id).position is RuntimePosition.NONE
    assert str(strategy.id) in live.strategies_for_symbol("INFY")
    assert set(harness.runner.jobs()) == {f"{strategy.id}:BUY", f"{strategy.id}:SELL"}
    assert live.get_user(trader.id).email == "t@example.com"
    with ctx.session() as s:
        assert s.get(Strategy, strategy.id).status == "running"


def test_buy_then_stoploss_fills_once(ctx, trader, strategy, harness):
    harness.start()
    harness.buy_at_930(trader, strategy)
    [buy] = _orders(ctx)
    assert buy.status is OrderStatus.FILLED and buy.average_price == Decimal("1520.00")
    assert LiveState(ctx.store).get_runtime(strategy.id).position is RuntimePosition.BOUGHT
    with ctx.session() as s:
        pos = s.exec(select(Position)).one()
        assert pos.quantity == 10 and pos.status is PositionStatus.OPEN

    harness.tick("INFY", "1510.00")
    harness.tick("INFY", "1499.95")  # crosses the stop-loss
    harness.tick("INFY", "1490.00")  # and keeps falling: still one trigger
    harness.settle()
    orders = _orders(ctx)
    assert [o.reason.value for o in orders] == ["BUY", "STOPLOSS"]
    exit_order = orders[1]
    assert exit_order.status is OrderStatus.FILLED and exit_order.side.value == "SELL"
    with ctx.session() as s:
        pos = s.exec(select(Position)).one()
        assert pos.status is PositionStatus.CLOSED and pos.quantity == 0
        assert pos.realized_pnl == (Decimal("1490.00") - Decimal("1520.00")) * 10
        actions = [h.action.value for h in s.exec(
            select(PositionHistory).order_by(PositionHistory.created_at, PositionHistory.seq))]
        assert actions == ["OPEN", "CLOSE"]
        statuses = [h.status.value for h in s.exec(
            select(OrderHistory).where(OrderHistory.order_id == exit_order.id)
            .order_by(OrderHistory.created_at, OrderHistory.seq))]
        assert statuses[0] == "PENDING" and statuses[-1] == "FILLED"
    assert LiveState(ctx.store).get_runtime(strategy.id).position is RuntimePosition.SOLD

    # The scheduled SELL at 15:00 finds nothing bought: no second exit.
    harness.advance_to(15, 0)
    harness.settle()
    assert len(_orders(ctx)) == 2
    stats = LiveState(ctx.store).get_daily_stats(strategy.id,
                                                  orders[0].trading_day)
    assert stats.trades == 1 and stats.losses == 1 and stats.pnl == Decimal("-300.00")
    assert [r.pnl_today for r in StrategyService(ctx, trader.id).rows()] == [Decimal("-300")]


def test_scheduled_sell_closes_with_profit(ctx, trader, strategy, harness):
    harness.start()
    harness.buy_at_930(trader, strategy)
    harness.tick("INFY", "1555.50")
    harness.advance_to(15, 0)
    harness.settle()
    orders = _orders(ctx)
    assert [o.reason.value for o in orders] == ["BUY", "SELL"]
    with ctx.session() as s:
        pos = s.exec(select(Position)).one()
        assert pos.realized_pnl == Decimal("355.00")
    # The next trading day's pair is planned.
    assert f"{strategy.id}:BUY" in harness.runner.jobs()


def test_started_after_buy_time_waits_for_next_day(ctx, trader, strategy, harness):
    harness.start()
    harness.advance_to(10, 0)
    result = harness.engine.start_strategy(trader.id, strategy.id)
    # Tue 24 Nov 2026 is an NSE holiday (Guru Nanak Jayanti): the first buy is Wednesday.
    assert "started after today's Buy at" in result.message and "Wed 25 Nov" in result.message
    harness.tick("INFY", "1520")
    harness.advance_to(15, 0)  # today's SELL is not due: nothing was bought
    harness.settle()
    assert _orders(ctx) == []


def test_stop_removes_jobs_and_keys(ctx, trader, strategy, harness):
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.engine.stop_strategy(trader.id, strategy.id)
    live = LiveState(ctx.store)
    assert live.get_strategy(strategy.id) is None and live.get_runtime(strategy.id) is None
    assert live.strategies_for_symbol("INFY") == set()
    assert harness.runner.jobs() == {}
    with ctx.session() as s:
        assert s.get(Strategy, strategy.id).status == "stopped"


def test_kill_switch_squares_off_and_stops(ctx, trader, strategy, harness):
    harness.start()
    harness.buy_at_930(trader, strategy)
    ctx.store.connection_pool.disconnect()
    report = harness.engine.kill_switch(trader.id)
    assert report.strategies_stopped == 1 and report.exit_orders == 1 and not report.errors
    orders = _orders(ctx)
    assert [o.reason.value for o in orders] == ["BUY", "EXIT"]
    assert orders[1].status is OrderStatus.FILLED
    with ctx.db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM positions WHERE status = 'OPEN'")
                            ).scalar() == 0
    # A second press does nothing more.
    assert harness.engine.kill_switch(trader.id).exit_orders == 0


@pytest.mark.parametrize("made_up, match", [
    ("feed", "LIVE strategies need live market data"),
    ("clock", "simulated one"),
])
def test_live_strategy_refused_on_made_up_prices_or_time(ctx, trader, made_up, match):
    """A stop-loss on a real account is never judged on simulated prices, and a console on
    TUI_TRADER_CLOCK_START places paper orders only (a real account would be traded at
    made-up times)."""
    from tui_trader.brokers.feeds.simulated import SimulatedFeed
    from tui_trader.domain.errors import StateError
    from tui_trader.engine.embedded import EmbeddedEngine
    from tui_trader.engine.scheduler import ManualSchedule
    from tui_trader.services.brokers import BrokerAccountService

    account = BrokerAccountService(ctx, trader.id).add_kite("kitekey1234", "kitesecret")
    spec = StrategyService(ctx, trader.id).create({
        "name": "live one", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
        "stop_loss": "1500", "quantity": "1", "mode": "LIVE",
        "broker_account_id": str(account.id)})
    feed = None
    if made_up == "feed":
        feed = SimulatedFeed(seed=1, clock=ctx.clock)
    else:
        ctx.settings = ctx.settings.model_copy(update={"clock_start": ctx.clock.now()})
    engine = EmbeddedEngine(ctx, feed=feed, runner=ManualSchedule())
    engine.start(threads=False)
    try:
        with pytest.raises(StateError, match=match):
            engine.start_strategy(trader.id, spec.id)
        with ctx.session() as s:
            assert s.get(Strategy, spec.id).status == "created"
    finally:
        engine.stop()


def test_a_buy_at_the_broker_when_the_kill_switch_goes_is_squared_off(ctx, trader, strategy,
                                                                     harness):
    """K pressed while the 09:30 BUY is inside the broker call: the kill switch finds no
    position yet; when the BUY fills, what it bought is sold at once, and the stopped
    strategy is not brought back to life (before: 10 shares held with no stop watching)."""
    harness.start()
    engine = harness.engine
    engine.start_strategy(trader.id, strategy.id)
    harness.tick("INFY", "1520.00")
    reports = []

    def kill_now(request):
        if not reports:  # the trader presses K while the BUY is on its way
            reports.append(engine.kill_switch(trader.id))

    engine.placement.on_broker_call = kill_now
    harness.advance_to(9, 30)
    harness.settle()
    (report,) = reports
    assert report.strategies_stopped == 1 and report.exit_orders == 0
    assert [(o.reason.value, o.side.value, o.status) for o in _orders(ctx)] == [
        ("BUY", "BUY", OrderStatus.FILLED), ("EXIT", "SELL", OrderStatus.FILLED)]
    with ctx.db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM positions WHERE status = 'OPEN'")
                            ).scalar() == 0
    assert LiveState(ctx.store).get_runtime(strategy.id) is None
    assert engine.router.get(strategy.id) is None
    with ctx.session() as s:
        assert s.get(Strategy, strategy.id).status == "stopped"


def test_a_buy_at_the_broker_when_the_strategy_is_stopped_is_announced(ctx, trader, strategy,
                                                                      harness):
    """A plain stop leaves positions to the trader; one bought after the stop by an order
    already at the broker is announced loudly, since no stop-loss watches it."""
    from tui_trader.db.models import Notification

    harness.start()
    engine = harness.engine
    engine.start_strategy(trader.id, strategy.id)
    harness.tick("INFY", "1520.00")
    engine.placement.on_broker_call = lambda request: engine.stop_strategy(trader.id,
                                                                           strategy.id)
    harness.advance_to(9, 30)
    harness.settle()
    with ctx.session() as s:
        notes = [(n.severity.value, n.title) for n in s.exec(select(Notification))]
    assert ("CRITICAL", "INFY morning: stopped while its BUY was at the broker") in notes, notes
    assert LiveState(ctx.store).get_runtime(strategy.id) is None
