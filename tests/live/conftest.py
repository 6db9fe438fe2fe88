"""Fixtures for the live store tests: a fresh store on each backend, and extra clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import time
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
import redis

from tui_trader.domain.enums import ExecutionMode, StrategyKind, StrategyStatus
from tui_trader.domain.strategy import StrategySpec
from tui_trader.live.state import LiveState
from tui_trader.live.store import connect_store, reset_embedded_store


@pytest.fixture
def make_client(store_url: str | None) -> Iterator[Callable[[], redis.Redis]]:
    """A factory of independent clients to the test's store (all closed at teardown)."""
    if store_url is None:
        reset_embedded_store()
    made: list[redis.Redis] = []

    def make() -> redis.Redis:
        client = connect_store(store_url)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[[], redis.Redis]) -> redis.Redis:
    return make_client()


@pytest.fixture
def state(client: redis.Redis) -> LiveState:
    return LiveState(client)


def make_spec(
    symbol: str = "TCS",
    *,
    strategy_id: UUID | None = None,
    user_id: UUID | None = None,
    stop_loss: Decimal = Decimal("3500.05"),
    broker_account_id: UUID | None = None,
) -> StrategySpec:
    return StrategySpec(
        id=strategy_id or uuid4(),
        user_id=user_id or uuid4(),
        name=f"{symbol} morning",
        kind=StrategyKind.SCHEDULED,
        symbol=symbol,
        exchange="NSE",
        buy_time=time(9, 30),
        sell_time=time(15, 20, 30),
        stop_loss=stop_loss,
        quantity=10,
        mode=ExecutionMode.PAPER,
        status=StrategyStatus.RUNNING,
        broker_account_id=broker_account_id,
    )


@pytest.fixture
def spec_factory() -> Callable[..., StrategySpec]:
    return make_spec


@pytest.fixture
def spec() -> StrategySpec:
    return make_spec()
