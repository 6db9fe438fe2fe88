"""A stop-loss must sit below the price it buys at: judged at start against the last known
price (live, else the last stored close or the instruments master), and again at the BUY."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from tui_trader.db.models import Candle, Instrument, Notification, Order, Strategy
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import Severity, StrategyStatus, Timeframe
from tui_trader.domain.errors import ValidationError
from tui_trader.services.strategies import StrategyService

from .conftest import FORM  # stop-loss 1500 on INFY


def _master_price(ctx, symbol: str, price: str, at: datetime) -> None:
    """The instruments master's last price of `symbol`, as of `at` (e.g. a download)."""
    with ctx.session() as s:
        row = s.exec(select(Instrument).where(Instrument.symbol == symbol)).one()
        row.last_price, row.updated_at = Decimal(price), at


def _status(ctx, strategy_id) -> StrategyStatus:
    with ctx.session() as s:
        return s.get(Strategy, strategy_id).status


def test_at_night_the_stop_is_judged_against_the_instruments_last_price(ctx, trader,
                                                                         strategy, harness):
    """No tick at all (a Sunday evening): before, any stop was accepted."""
    harness.start()
    _master_price(ctx, "INFY", "1495.00", ctx.clock.now())
    with pytest.raises(ValidationError) as err:
        harness.engine.start_strategy(trader.id, strategy.id)
    assert err.value.field == "stop_loss"
    assert "below INFY's last known price 1,495.00" in str(err.value)
    assert _status(ctx, strategy.id) is not StrategyStatus.RUNNING
    assert harness.engine.router.get(strategy.id) is None


def test_a_stored_close_judges_the_stop_before_the_master(ctx, trader, strategy, harness):
    friday = datetime(2026, 11, 20, 9, 15, tzinfo=IST)
    with ctx.session() as s:
        for minutes, close in ((0, "1530.00"), (375, "1480.00")):  # the later one counts
            s.add(Candle(symbol="INFY", exchange="NSE", timeframe=Timeframe.MINUTE,
                         ts=friday + timedelta(minutes=minutes), open=Decimal(close),
                         high=Decimal(close), low=Decimal(close), close=Decimal(close)))
    harness.start()
    with pytest.raises(ValidationError, match="below INFY's last close 1,480.00"):
        harness.engine.start_strategy(trader.id, strategy.id)


def test_a_live_price_wins_over_the_stored_one(ctx, trader, strategy, harness):
    _master_price(ctx, "INFY", "1400.00", ctx.clock.now())
    harness.start()
    harness.tick("INFY", "1520.00")
    harness.engine.start_strategy(trader.id, strategy.id)
    assert _status(ctx, strategy.id) is StrategyStatus.RUNNING


def test_a_buy_whose_price_fell_to_the_stop_is_not_placed_and_the_trader_is_told(
        ctx, trader, strategy, harness):
    """Before: the BUY filled under its stop and the stop-loss sold it the same second."""
    harness.start()
    harness.tick("INFY", "1520.00")
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.tick("INFY", "1499.00")
    harness.advance_to(9, 30)
    harness.settle()
    with ctx.session() as s:
        assert s.exec(select(Order)).all() == []
        (alert,) = s.exec(select(Notification).where(
            Notification.user_id == trader.id)).all()
    assert alert.severity is Severity.WARNING
    assert alert.title == "INFY morning: BUY not placed, price at the stop-loss"
    assert "below INFY's live price 1,499.00" in alert.body
    assert _status(ctx, strategy.id) is StrategyStatus.RUNNING  # tries again tomorrow


def test_a_buy_above_its_stop_goes_through(ctx, trader, strategy, harness):
    harness.start()
    harness.buy_at_930(trader, strategy)
    with ctx.session() as s:
        (order,) = s.exec(select(Order)).all()
    assert order.reason == "BUY" and order.filled_quantity == 10


def test_the_service_refuses_a_stop_above_the_last_known_price(ctx, trader):
    service = StrategyService(ctx, trader.id)
    with pytest.raises(ValidationError) as err:
        service.create({**FORM, "stop_loss": "1530"})  # INFY's reference price: 1520.40
    assert err.value.field == "stop_loss"
    assert "below INFY's last known price 1,520.40" in err.value.rule
    assert service.check({**FORM, "stop_loss": "1530"}) == {
        "stop_loss": "must be below INFY's last known price 1,520.40; 1,530.00 would sell "
                     "straight after buying"}
    assert service.check(FORM) == {}


def test_the_service_uses_the_engines_latest_price(ctx, trader, harness):
    """A price the engine flushed to the live store counts as live while it is fresh."""
    harness.start()
    harness.tick("INFY", "1490.00")
    harness.engine.maintain()  # flushes price:INFY
    service = StrategyService(ctx, trader.id)
    assert service.check(FORM)["stop_loss"].startswith("must be below INFY's live price "
                                                       "1,490.00")
    ctx.clock.advance(timedelta(hours=2))
    assert "INFY's last known price 1,490.00" in service.check(FORM)["stop_loss"]


def test_a_stop_loss_hit_is_a_warning(ctx, trader, strategy, harness):
    harness.start()
    harness.buy_at_930(trader, strategy)
    harness.tick("INFY", "1499.00")
    harness.settle()
    with ctx.session() as s:
        alerts = {n.title: n.severity for n in s.exec(select(Notification))}
    assert alerts["INFY morning: stop-loss hit, sold 10 INFY"] is Severity.WARNING
    assert alerts["INFY morning: buy 10 INFY filled"] is Severity.INFO
