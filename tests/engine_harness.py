"""The one engine harness of the tests: an `EmbeddedEngine` on the test's frozen clock with
a manual schedule, so tests drive ticks, legs and the executor by hand and nothing depends
on timing; and `wait_until`, the one way a test waits for a thread (it fails at its
deadline, never passes by running out of time).

Every option of the engine goes through `Harness(ctx, **options)` (a paper or live broker
factory, a fault injector, a config); `on_paper` is the common case of an engine trading on
one paper broker the test holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from tui_trader.brokers.feeds.base import Tick
from tui_trader.brokers.paper import PaperBroker
from tui_trader.domain.clock import IST
from tui_trader.engine.embedded import EmbeddedEngine
from tui_trader.engine.scheduler import ManualSchedule

FORM = {"name": "INFY morning", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
        "stop_loss": "1500", "quantity": "10"}


def wait_until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll `condition` (another thread makes it true) until it holds; fail loudly, naming
    `what`, when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            pytest.fail(f"waited {timeout:.0f} s for {what}; it never happened")
        time.sleep(0.005)  # polling a condition with a deadline, not timing it


class Harness:
    def __init__(self, ctx, consumer: str = "test-engine", **options: Any) -> None:
        self.ctx = ctx
        self.runner = options.pop("runner", None) or ManualSchedule()
        self.engine = EmbeddedEngine(ctx, runner=self.runner, consumer=consumer, **options)
        self.seq = 0

    def start(self) -> Harness:
        self.engine.start(threads=False)
        return self

    def tick(self, symbol: str, price: str) -> None:
        self.seq += 1
        self.engine.on_ticks([Tick(symbol, Decimal(price), self.ctx.clock.now(), 1, self.seq)])

    def advance_to(self, hh: int, mm: int) -> None:
        """Move the frozen clock to HH:MM IST on its current day and run due jobs."""
        local = self.ctx.clock.now().astimezone(IST)
        self.ctx.clock.set(datetime(local.year, local.month, local.day, hh, mm, tzinfo=IST))
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


def on_paper(ctx, consumer: str, paper: PaperBroker | None = None, **options: Any):
    """A started engine trading on one paper broker the test holds (market orders fill at
    once unless the test says otherwise). Returns (harness, paper)."""
    paper = paper or PaperBroker(ctx.clock, fill_market_immediately=True,
                                 starting_cash=Decimal("100000000"))
    harness = Harness(ctx, consumer=consumer, paper_factory=lambda _u: paper, **options)
    harness.start()
    return harness, paper


def resting_stoploss_exit(harness: Harness, paper: PaperBroker, trader, strategy):
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
