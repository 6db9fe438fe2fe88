"""The feed boundary: a `Tick`, the `Feed` protocol, and `FeedThread`, the background loop
the built-in feeds share to hand batches of ticks to a sink at a cadence.

Feeds deliver *batches* because the engine coalesces per batch: one batch of ticks becomes one
pass of the tick router and one snapshot for the UI, however many symbols moved.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from tui_trader.domain.errors import StateError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Tick:
    """One traded price. `seq` increases by one per tick within a feed."""

    symbol: str
    price: Decimal
    ts: datetime  # UTC-aware
    volume: int
    seq: int


TickSink = Callable[[list[Tick]], None]


@runtime_checkable
class Feed(Protocol):
    """A source of market ticks, delivered in batches from a background thread."""

    def subscribe(self, symbols: Iterable[str]) -> None: ...

    def unsubscribe(self, symbols: Iterable[str]) -> None: ...

    def start(self, sink: TickSink) -> None:
        """Begin delivering batches to `sink` from a background thread."""
        ...

    def stop(self) -> None:
        """Stop promptly; no batch is delivered after this returns."""
        ...

    def is_alive(self) -> bool: ...

    def last_tick_at(self) -> datetime | None:
        """When the newest batch was produced (by the feed's clock), None before any."""
        ...


class FeedThread:
    """A daemon thread that waits `delay()` seconds, asks `produce()` for a batch and hands a
    non-empty one to `sink`, until stopped or `produce()` returns None (source exhausted).

    Waits use `threading.Event.wait`, so `stop()` is prompt. The schedule is deadline based
    (a steady cadence, not interval + work time); if the sink falls more than `max_lag`
    seconds behind, the schedule resets rather than bursting to catch up. An exception from
    the sink is logged and the feed goes on: one bad consumer must not stop market data.
    """

    def __init__(
        self,
        name: str,
        produce: Callable[[], list[Tick] | None],
        delay: Callable[[], float],
        sink: TickSink,
        *,
        max_lag: float = 1.0,
    ) -> None:
        self._produce = produce
        self._delay = delay
        self._sink = sink
        self._max_lag = max_lag
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive() and not self._stopping.is_set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        deadline = time.monotonic()
        while not self._stopping.is_set():
            deadline += max(self._delay(), 0.0)
            now = time.monotonic()
            if deadline < now - self._max_lag:
                deadline = now
            if self._stopping.wait(max(deadline - now, 0.0)):
                break
            try:
                batch = self._produce()
            except Exception:
                log.exception("feed %s: producing a batch failed; feed stopped",
                              self._thread.name)
                break
            if batch is None:
                break
            if batch and not self._stopping.is_set():
                try:
                    self._sink(batch)
                except Exception:
                    log.exception("feed %s: the tick sink raised; feed continues",
                                  self._thread.name)


def require_not_running(thread: FeedThread | None, feed_name: str) -> None:
    if thread is not None and thread.is_alive():
        raise StateError(f"{feed_name} is already running; stop it before starting again")
