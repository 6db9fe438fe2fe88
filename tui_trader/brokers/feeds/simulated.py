"""The simulated market: a seeded geometric random walk per instrument, on the tick grid.

Each symbol walks with its own random stream (seeded by the feed seed and the symbol), so a
symbol's path does not depend on which other symbols are subscribed. It starts from the
reference price in `universe`, or from where the market last stood (`resume_from`: the
engine keeps the last prices it saw, so a restart does not jump back to the reference).

The walk's size is a daily volatility (the standard deviation of a session's return; about
1% for NSE large caps between open and close) scaled to the time between two ticks: with
sigma_day over the 6h15m session, one step of dt seconds has sigma_day * sqrt(dt / 22,500 s).
The clock's time between ticks counts (a simulated clock at N times speed moves the market N
times as far per tick), never less than the tick interval (a frozen clock still moves it)
and never more than a minute (a machine that slept does not gap). The walk runs on an exact
fair value and each tick is that value on the 0.05 grid, so a cheap stock moves as much as a
dear one in proportion, and every price is on the grid and above zero.

Two ways to drive it, with identical output for the same seed, subscriptions, rate and
clock:
`start(sink)` runs a background thread that emits one batch (one tick per subscribed symbol)
every `1 / ticks_per_second_per_symbol` seconds; `next_batch()` / `generate(n)` produce the
same batches with no thread, for tests and benchmarks.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tui_trader.domain.clock import Clock, SystemClock
from tui_trader.domain.errors import ValidationError
from tui_trader.domain.universe import BY_SYMBOL, ListedInstrument

from .base import FeedThread, Tick, TickSink, require_not_running

# The standard deviation of a session's return (open to close): NSE large caps move about
# 1% a day. 2% stop-losses then are hit by a quiet day's noise about one day in twenty.
DEFAULT_DAILY_VOLATILITY = 0.01
SESSION_SECONDS = 22_500.0  # 09:15 -> 15:30 IST
MAX_STEP_SECONDS = 60.0
_FAIR = Decimal("0.000001")


@dataclass(slots=True)
class _RandomWalk:
    price: Decimal  # the last tick: `fair` on the tick grid
    fair: Decimal  # the walk's exact value
    tick_size: Decimal
    rng: random.Random


def snap_to_grid(price: Decimal, tick_size: Decimal) -> Decimal:
    """The nearest multiple of `tick_size` (at least one tick)."""
    steps = (price / tick_size).to_integral_value()
    return max(steps, Decimal(1)) * tick_size


class SimulatedFeed:
    """A deterministic, seeded market feed over the built-in universe (or `instruments`)."""

    def __init__(
        self,
        seed: int = 0,
        symbols: Iterable[str] | None = None,
        ticks_per_second_per_symbol: float = 4,
        clock: Clock | None = None,
        daily_volatility: float = DEFAULT_DAILY_VOLATILITY,
        *,
        instruments: Mapping[str, ListedInstrument] | None = None,
        max_volume: int = 1000,
    ) -> None:
        if ticks_per_second_per_symbol <= 0:
            raise ValidationError("ticks_per_second_per_symbol", "must be greater than 0")
        if not 0 <= float(daily_volatility) <= 1:
            raise ValidationError("daily_volatility", "must be a fraction in [0, 1] (0.01 "
                                                      "is 1% a day)")
        self.seed = seed
        self.interval = 1.0 / ticks_per_second_per_symbol
        self._clock: Clock = clock or SystemClock()
        self._daily_volatility = float(daily_volatility)
        self._instruments = dict(instruments) if instruments is not None else BY_SYMBOL
        self._max_volume = max_volume
        self._lock = threading.Lock()
        self._walks: dict[str, _RandomWalk] = {}
        self._subscribed: dict[str, None] = {}  # insertion-ordered set
        self._forced: dict[str, Decimal] = {}
        self._seq = 0
        self._last_tick_at: datetime | None = None
        self._thread: FeedThread | None = None
        self.subscribe(self._instruments if symbols is None else symbols)

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(self, symbols: Iterable[str]) -> None:
        wanted = [symbols] if isinstance(symbols, str) else list(symbols)
        unknown = [s for s in wanted if s not in self._instruments]
        if unknown:
            raise ValidationError("symbols", f"not in the simulated universe: {unknown}")
        with self._lock:
            for symbol in wanted:
                self._walk(symbol)
                self._subscribed[symbol] = None

    def _walk(self, symbol: str) -> _RandomWalk:
        walk = self._walks.get(symbol)
        if walk is None:
            inst = self._instruments[symbol]
            walk = self._walks[symbol] = _RandomWalk(
                price=snap_to_grid(inst.ref_price, inst.tick_size), fair=inst.ref_price,
                tick_size=inst.tick_size, rng=random.Random(f"{self.seed}:{symbol}"))
        return walk

    def resume_from(self, prices: Mapping[str, Decimal]) -> None:
        """Go on from where the market last stood (symbol -> price) instead of the
        reference prices; symbols outside the simulated universe are ignored."""
        with self._lock:
            for symbol, price in prices.items():
                if symbol in self._instruments and price is not None and price > 0:
                    walk = self._walk(symbol)
                    walk.fair = Decimal(price)
                    walk.price = snap_to_grid(walk.fair, walk.tick_size)

    def unsubscribe(self, symbols: Iterable[str]) -> None:
        wanted = [symbols] if isinstance(symbols, str) else list(symbols)
        with self._lock:
            for symbol in wanted:
                self._subscribed.pop(symbol, None)
                self._forced.pop(symbol, None)

    def subscriptions(self) -> list[str]:
        with self._lock:
            return list(self._subscribed)

    # -- scenario hooks --------------------------------------------------------------------

    def force_price(self, symbol: str, price: Decimal) -> None:
        """Make the next tick of `symbol` exactly `price`; the walk continues from there."""
        with self._lock:
            walk = self._walks.get(symbol)
            if walk is None:
                raise ValidationError("symbol", f"{symbol} is not subscribed")
            if not isinstance(price, Decimal) or price <= 0 or price % walk.tick_size:
                raise ValidationError(
                    "price", f"must be a positive Decimal on the {walk.tick_size} grid"
                )
            self._forced[symbol] = price

    def price(self, symbol: str) -> Decimal:
        """The latest simulated price of a subscribed (or once subscribed) symbol."""
        with self._lock:
            return self._walks[symbol].price

    # -- thread-free API -------------------------------------------------------------------

    def next_batch(self) -> list[Tick]:
        """One tick for every subscribed symbol, in subscription order, stamped now."""
        with self._lock:
            ts = self._clock.now()
            sigma = self._step_sigma(ts)
            batch: list[Tick] = []
            for symbol in self._subscribed:
                walk = self._walks[symbol]
                forced = self._forced.pop(symbol, None)
                if forced is not None:
                    walk.price = walk.fair = forced
                else:
                    walk.price = self._step(walk, sigma)
                self._seq += 1
                volume = walk.rng.randint(1, self._max_volume)
                batch.append(Tick(symbol, walk.price, ts, volume, self._seq))
            if batch:
                self._last_tick_at = ts
            return batch

    def generate(self, n_batches: int) -> Iterator[list[Tick]]:
        for _ in range(n_batches):
            yield self.next_batch()

    def _step_sigma(self, ts: datetime) -> float:
        """One step's standard deviation of return, for the clock time since the last."""
        elapsed = self.interval
        if self._last_tick_at is not None:
            elapsed = (ts - self._last_tick_at).total_seconds()
        elapsed = min(max(elapsed, self.interval), MAX_STEP_SECONDS)
        return self._daily_volatility * math.sqrt(elapsed / SESSION_SECONDS)

    def _step(self, walk: _RandomWalk, sigma: float) -> Decimal:
        # The shock is a dimensionless float; money stays Decimal: the fair value moves by
        # the shock's factor and the tick is it on the grid.
        shock = walk.rng.gauss(0.0, sigma)
        walk.fair = (walk.fair * Decimal(math.exp(shock))).quantize(_FAIR)
        return snap_to_grid(walk.fair, walk.tick_size)

    # -- threaded API ----------------------------------------------------------------------

    def start(self, sink: TickSink) -> None:
        require_not_running(self._thread, "the simulated feed")
        self._thread = FeedThread(
            "simulated-feed", self.next_batch, lambda: self.interval, sink
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def last_tick_at(self) -> datetime | None:
        with self._lock:
            return self._last_tick_at
