"""The hot path: every tick batch -> price cache + stop-loss checks of the strategies on
that symbol.

A tick that triggers nothing costs a dict lookup and a compare: no Redis round trip and no
SQL. Prices are coalesced and flushed to `price:{symbol}` by the maintenance loop once per
PRICE_FLUSH_INTERVAL (the engine itself reads prices from memory; Redis copies are for
other processes).
Bad ticks (non-positive or NaN price, unknown symbol, time going backwards) are dropped and
counted, never raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from uuid import UUID

from ..brokers.feeds.base import Tick

log = logging.getLogger(__name__)
PRICE_FLUSH_INTERVAL = 1.0  # seconds


@dataclass(slots=True)
class StopLossWatch:
    """One running strategy as the router sees it."""

    strategy_id: UUID
    user_id: UUID
    symbol: str
    stop_loss: Decimal
    armed: bool = False  # True while the strategy holds a bought position


@dataclass
class RouterCounters:
    ticks: int = 0
    dropped_bad_price: int = 0
    dropped_unknown_symbol: int = 0
    dropped_out_of_order: int = 0
    stoploss_triggers: int = 0


TriggerSink = Callable[[StopLossWatch, Decimal, datetime], None]


class TickRouter:
    def __init__(self, on_stoploss: TriggerSink,
                 known_symbols: Iterable[str] | None = None) -> None:
        self._on_stoploss = on_stoploss
        # symbol -> its watches; every known symbol has an entry (maybe empty), so one dict
        # lookup per tick both validates the symbol and finds its strategies.
        self._routes: dict[str, tuple[StopLossWatch, ...]] = {
            s: () for s in (known_symbols or ())}
        self._by_id: dict[UUID, StopLossWatch] = {}
        self._last: dict[str, Tick] = {}
        self._flushed: dict[str, Tick] = {}
        self._lock = threading.Lock()
        self.counters = RouterCounters()

    # -- strategies ------------------------------------------------------------------------
    def watch(self, watch: StopLossWatch) -> None:
        with self._lock:
            self.unwatch(watch.strategy_id, _locked=True)
            self._by_id[watch.strategy_id] = watch
            # Copy-on-write so the hot path can iterate without holding the lock.
            self._routes[watch.symbol] = (*self._routes.get(watch.symbol, ()), watch)

    def unwatch(self, strategy_id: UUID, *, _locked: bool = False) -> None:
        if not _locked:
            with self._lock:
                return self.unwatch(strategy_id, _locked=True)
        old = self._by_id.pop(strategy_id, None)
        if old is not None:
            self._routes[old.symbol] = tuple(
                w for w in self._routes.get(old.symbol, ()) if w.strategy_id != strategy_id)

    def set_armed(self, strategy_id: UUID, armed: bool) -> None:
        watch = self._by_id.get(strategy_id)
        if watch is not None:
            watch.armed = armed

    def arm(self, strategy_id: UUID) -> bool:
        """Start watching a freshly bought position. A price that crossed the stop while the
        BUY was being recorded (the router was not armed yet) fires at once, on the last
        price, instead of waiting for the next tick to cross it again. True if it fired."""
        watch = self._by_id.get(strategy_id)
        if watch is None:
            return False
        tick = self._last.get(watch.symbol)
        if tick is not None and tick.price <= watch.stop_loss:
            return self._trigger(watch, tick.price, tick.ts)
        watch.armed = True
        return False

    def get(self, strategy_id: UUID) -> StopLossWatch | None:
        return self._by_id.get(strategy_id)

    def watched_ids(self) -> list[UUID]:
        return list(self._by_id)

    def symbols(self) -> set[str]:
        """Symbols some running strategy watches (what the feed must be subscribed to)."""
        return {s for s, group in self._routes.items() if group}

    def add_known_symbols(self, symbols: Iterable[str]) -> None:
        for symbol in symbols:
            self._routes.setdefault(symbol, ())

    # -- ticks -----------------------------------------------------------------------------
    def on_batch(self, batch: list[Tick]) -> None:
        routes = self._routes
        last = self._last
        zero = _ZERO
        counters = self.counters
        for tick in batch:
            symbol = tick.symbol
            group = routes.get(symbol)  # one lookup: known symbol and its strategies
            if group is None:
                counters.dropped_unknown_symbol += 1
                continue
            price = tick.price
            try:
                if not price > zero:
                    counters.dropped_bad_price += 1
                    continue
            except (InvalidOperation, TypeError):  # NaN, or not a Decimal at all
                counters.dropped_bad_price += 1
                continue
            prev = last.get(symbol)
            if prev is not None and tick.ts < prev.ts:
                counters.dropped_out_of_order += 1
                continue
            last[symbol] = tick
            for w in group:
                if w.armed and price <= w.stop_loss:
                    self._trigger(w, price, tick.ts)
        counters.ticks += len(batch)

    def _trigger(self, w: StopLossWatch, price: Decimal, ts: datetime) -> bool:
        w.armed = False  # one trigger; re-armed only if the exit fails
        self.counters.stoploss_triggers += 1
        try:
            self._on_stoploss(w, price, ts)
        except Exception:
            w.armed = True
            log.exception("stop-loss trigger for %s failed", w.strategy_id)
            return False
        return True

    def take_dirty_prices(self) -> dict[str, tuple[Decimal, datetime]]:
        """The newest price per symbol since the last call (for one pipelined flush)."""
        # Compared by identity at flush time, so the hot path keeps no dirty set per tick.
        flushed = self._flushed
        changed = {s: t for s, t in list(self._last.items()) if flushed.get(s) is not t}
        flushed.update(changed)
        return {symbol: (t.price, t.ts) for symbol, t in changed.items()}

    def forget_prices(self) -> None:
        """Drop every price seen so far (the feed changed: old prices and their timestamps
        say nothing about the new source, and must not make its ticks look out of order)."""
        self._last = {}
        self._flushed = {}

    def last_ticks(self) -> dict[str, Tick]:
        """The latest tick of every symbol seen (a copy; for keeping prices across
        restarts)."""
        return dict(self._last)

    def last_price(self, symbol: str) -> Decimal | None:
        tick = self._last.get(symbol)
        return tick.price if tick is not None else None


_ZERO = Decimal(0)
