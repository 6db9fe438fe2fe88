"""The sandbox's state in one place: market, order book, portfolio, GTTs, sessions, limits.

One re-entrant lock guards market, book, portfolio and GTTs together, because a price move
matches orders and a fill changes positions: they must change as one. Handlers on the
server loop and test-thread switches (set_price, ...) both take it, briefly, never across an
`await`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .auth import SessionStore
from .config import SandboxConfig
from .faults import Faults
from .gtt import GttBook
from .market import Market
from .matching import OrderBook
from .portfolio import Portfolio
from .ratelimit import RateLimiter


@dataclass(slots=True)
class ReceivedOrder:
    """One POST /orders/{variety} as it arrived: the body, and when (perf_counter_ns)."""

    variety: str
    params: Mapping[str, str]
    arrived_ns: int
    order_id: str | None = None  # set once the order is created (None if refused)
    http_status: int | None = None


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.lock = threading.RLock()
        self.market = Market(config, self.lock)
        self.book = OrderBook(config, self.market, self.lock)
        self.portfolio = Portfolio(config, self.market, self.book, self.lock)
        self.book.holdings_check = self.portfolio.holdings_check
        self.book.funds_check = self.portfolio.funds_check
        self.gtts = GttBook(config, self.market, self.book, self.lock)
        self.sessions = SessionStore(config)
        self.limiter = RateLimiter(config.rate_limits, config.clock)
        self.faults = Faults()
        self._received: list[ReceivedOrder] = []
        self._received_lock = threading.Lock()
        self.on_order_received: Callable[[ReceivedOrder], None] | None = None

    def record_received(self, variety: str, params: Mapping[str, str],
                        arrived_ns: int | None = None) -> ReceivedOrder:
        rec = ReceivedOrder(variety, dict(params), arrived_ns or time.perf_counter_ns())
        with self._received_lock:
            self._received.append(rec)
        callback = self.on_order_received
        if callback is not None:
            callback(rec)
        return rec

    @property
    def received_orders(self) -> list[ReceivedOrder]:
        with self._received_lock:
            return list(self._received)

    def catch_up(self) -> None:
        """Apply what the clock says has happened (AMOs released, orders expired, the open
        reached): before every request and on every feed cycle."""
        with self.lock:
            self.book.catch_up()

    def after_price_change(self, token: int | None = None) -> None:
        """Match resting orders and GTTs against the new price(s)."""
        with self.lock:
            self.book.catch_up()
            if token is None:
                self.book.match_all()
            else:
                self.book.match_token(token)
            self.gtts.check()
