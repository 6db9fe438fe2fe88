"""An engine on a frozen clock with a manual schedule: tests drive ticks, legs and the
executor by hand, so nothing depends on timing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tui_trader.brokers.feeds.base import Tick
from tui_trader.engine.config import DEFAULT
from tui_trader.engine.embedded import EmbeddedEngine
from tui_trader.engine.faults import NO_FAULTS
from tui_trader.engine.scheduler import ManualSchedule
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.strategies import StrategyService

FORM = {"name": "INFY morning", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
        "stop_loss": "1500", "quantity": "10"}


class Harness:
    def __init__(self, ctx, faults=NO_FAULTS, consumer="test-engine", config=DEFAULT):
        self.ctx = ctx
        self.runner = ManualSchedule()
        self.engine = EmbeddedEngine(ctx, runner=self.runner, consumer=consumer, faults=faults,
                                     config=config)
        self.seq = 0

    def start(self):
        self.engine.start(threads=False)
        return self

    def tick(self, symbol: str, price: str) -> None:
        self.seq += 1
        self.engine.on_ticks([Tick(symbol, Decimal(price), self.ctx.clock.now(), 1, self.seq)])

    def advance_to(self, hh: int, mm: int) -> None:
        """Move the frozen clock to HH:MM IST on its current day and run due jobs."""
        from datetime import datetime

        from tui_trader.domain.clock import IST

        local = self.ctx.clock.now().astimezone(IST)
        target = datetime(local.year, local.month, local.day, hh, mm, tzinfo=IST)
        self.ctx.clock.set(target)
        self.runner.run_due(self.ctx.clock.now())

    def settle(self) -> None:
        self.engine.executor.drain()
        self.engine.maintain()

    def buy_at_930(self, trader, strategy) -> None:
        """Start the strategy, price INFY at 1520 and let its 09:30 BUY fill."""
        self.engine.start_strategy(trader.id, strategy.id)
        self.tick("INFY", "1520.00")
        self.advance_to(9, 30)
        self.settle()


def resting_stoploss_exit(harness: Harness, paper, trader, strategy):
    """Buy at 09:30, then a tick through the stop sends the stop-loss exit, which rests at
    the exchange (the test answers for it). Returns (the exit's order row, its snapshot at
    the broker)."""
    from sqlmodel import select

    from tui_trader.db.models import Order

    harness.buy_at_930(trader, strategy)
    paper.fill_market_immediately = False
    harness.engine.router.forget_prices()
    harness.tick("INFY", "1400.00")
    harness.engine.executor.drain()
    with harness.ctx.session() as s:
        exit_order = s.exec(select(Order).where(Order.reason == "STOPLOSS")).one()
    (working,) = paper.orders_by_tag(exit_order.client_tag)
    return exit_order, working


def on_paper(ctx, consumer: str, faults=NO_FAULTS, paper=None):
    """A started engine trading on one paper broker the test holds (market orders fill at
    once unless the test says otherwise). Returns (harness, paper)."""
    from tui_trader.brokers.paper import PaperBroker

    paper = paper or PaperBroker(ctx.clock, fill_market_immediately=True,
                                 starting_cash=Decimal("100000000"))
    harness = Harness(ctx, faults=faults, consumer=consumer)
    harness.engine = EmbeddedEngine(ctx, runner=harness.runner, consumer=consumer,
                                    faults=faults, paper_factory=lambda _u: paper)
    harness.start()
    return harness, paper


@pytest.fixture
def trader(ctx):
    user = AuthService(ctx).sign_up("t@example.com", "password-t")
    BrokerAccountService(ctx, user.id).add_paper()
    return user


@pytest.fixture
def strategy(ctx, trader):
    return StrategyService(ctx, trader.id).create(FORM)


@pytest.fixture
def harness(ctx):
    h = Harness(ctx)
    yield h
    h.engine.stop()


__all__ = ["Harness", "FORM", "on_paper", "resting_stoploss_exit", "timedelta"]
