"""Fixtures for the broker and feed tests: a frozen clock, a paper broker, an order factory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest

from tui_trader.brokers.base import OrderRequest
from tui_trader.brokers.paper import PaperBroker
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.enums import OrderKind, Side

T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 09:30 IST


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def broker(clock: FrozenClock) -> PaperBroker:
    return PaperBroker(clock)


OrderFactory = Callable[..., OrderRequest]


@pytest.fixture
def order() -> OrderFactory:
    """Build an OrderRequest with a fresh tag; prices may be given as strings."""
    tags = count(1)

    def build(side: str = "BUY", kind: str = "MARKET", quantity: int = 10,
              symbol: str = "INFY", price: str | None = None, trigger: str | None = None,
              tag: str | None = None, product: str = "MIS") -> OrderRequest:
        return OrderRequest(
            client_tag=tag or f"t{next(tags)}",
            symbol=symbol,
            side=Side(side),
            kind=OrderKind(kind),
            quantity=quantity,
            price=None if price is None else Decimal(price),
            trigger_price=None if trigger is None else Decimal(trigger),
            product=product,
        )

    return build


class Ticker:
    """Feeds a paper broker ticks one second apart, so each tick has its own timestamp."""

    def __init__(self, broker: PaperBroker) -> None:
        self.broker = broker
        self.n = 0

    def __call__(self, price: str | Decimal, symbol: str = "INFY") -> datetime:
        self.n += 1
        ts = T0 + timedelta(seconds=self.n)
        self.broker.on_tick(symbol, Decimal(price), ts)
        return ts


@pytest.fixture
def tick(broker: PaperBroker) -> Ticker:
    return Ticker(broker)
