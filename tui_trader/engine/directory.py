"""What the engine knows of the strategies it runs and the brokers it sends orders to."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from ..brokers.base import Broker, BrokerOrder
from ..brokers.paper import PaperBroker
from ..domain.clock import Clock
from ..domain.enums import ExecutionMode
from ..domain.errors import BrokerError
from ..domain.strategy import StrategySpec

PAPER_STARTING_CASH = Decimal("1000000")

LiveBrokerFactory = Callable[[uuid.UUID, uuid.UUID], Broker]


class StrategyDirectory:
    """The running strategies, by id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._specs: dict[uuid.UUID, StrategySpec] = {}

    def put(self, spec: StrategySpec) -> None:
        with self._lock:
            self._specs[spec.id] = spec

    def remove(self, strategy_id: uuid.UUID) -> StrategySpec | None:
        with self._lock:
            return self._specs.pop(strategy_id, None)

    def get(self, strategy_id: uuid.UUID) -> StrategySpec | None:
        return self._specs.get(strategy_id)

    def for_user(self, user_id: uuid.UUID) -> list[StrategySpec]:
        with self._lock:
            return [s for s in self._specs.values() if s.user_id == user_id]

    def all(self) -> list[StrategySpec]:
        with self._lock:
            return list(self._specs.values())


class BrokerDirectory:
    """One paper broker per user (in this engine), and live brokers per broker account
    made by a factory (the Kite adapter plugs in there)."""

    def __init__(self, clock: Clock, on_update: Callable[[BrokerOrder], None],
                 live_factory: LiveBrokerFactory | None = None,
                 paper_factory: Callable[[uuid.UUID], PaperBroker] | None = None) -> None:
        self._clock = clock
        self._on_update = on_update
        self._live_factory = live_factory
        self._paper_factory = paper_factory or self._new_paper
        self._lock = threading.Lock()
        self._paper: dict[uuid.UUID, PaperBroker] = {}
        self._live: dict[uuid.UUID, Broker] = {}

    def paper(self, user_id: uuid.UUID) -> PaperBroker:
        with self._lock:
            broker = self._paper.get(user_id)
            if broker is None:
                broker = self._paper_factory(user_id)
                broker.subscribe_updates(self._on_update)
                self._paper[user_id] = broker
            return broker

    def _new_paper(self, user_id: uuid.UUID) -> PaperBroker:
        return PaperBroker(self._clock, seed=user_id.int % 2**32,
                           starting_cash=PAPER_STARTING_CASH, fill_market_immediately=True,
                           name="paper")

    def for_account(self, user_id: uuid.UUID, account_id: uuid.UUID | None) -> Broker:
        if account_id is None:
            return self.paper(user_id)
        with self._lock:
            broker = self._live.get(account_id)
        if broker is not None:
            return broker
        if self._live_factory is None:
            raise BrokerError("Live trading needs the Kite adapter, which is not "
                              "configured in this engine")
        broker = self._live_factory(user_id, account_id)
        broker.subscribe_updates(self._on_update)
        with self._lock:
            self._live[account_id] = broker
        return broker

    def for_spec(self, spec: StrategySpec) -> Broker:
        if spec.mode is ExecutionMode.PAPER:
            return self.paper(spec.user_id)
        if spec.broker_account_id is None:  # never real intent on paper fills
            raise BrokerError("A LIVE strategy needs its Kite account (it has none)")
        return self.for_account(spec.user_id, spec.broker_account_id)

    def paper_brokers(self) -> list[PaperBroker]:
        with self._lock:
            return list(self._paper.values())

    def push_prices(self, last_price: Callable[[str], Decimal | None], now: datetime) -> None:
        """Let paper brokers match working orders against the latest prices."""
        for broker in self.paper_brokers():
            for symbol in broker.working_symbols():
                price = last_price(symbol)
                if price is not None:
                    broker.on_tick(symbol, price, now)

    def detach(self) -> None:
        """Stop hearing from the brokers without closing them (a process that died)."""
        for broker in self.paper_brokers():
            broker.unsubscribe_updates(self._on_update)

    def close(self) -> None:
        for broker in [*self.paper_brokers(), *self._live.values()]:
            broker.close()
