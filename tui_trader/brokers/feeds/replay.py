"""Replay of stored candles as ticks, through the same `Feed` protocol as a live feed.

Each candle becomes four ticks on a deterministic intra-candle path: a rising candle
(close >= open) goes open -> low -> high -> close, a falling one open -> high -> low -> close,
so a stop-loss or limit inside the candle's range is visited in a plausible order. The four
ticks are stamped at 0, 1/4, 2/4 and 3/4 of `candle_interval` after the candle's time, and
the candle's volume is split across them (remainder on the close).

Candles are consumed lazily and must come in time order (as `ORDER BY ts` returns them);
pass `presorted=False` to have them sorted first. All ticks sharing a timestamp form one
batch, so every symbol's open arrives together, then every symbol's second tick, and so on.

Thread-free: `next_batch()` (an empty list once the candles are exhausted) and `generate()`.
Threaded: `start(sink)` paces batches by their market-time gaps divided by `speed`, each
wait capped at `max_wait` seconds (overnight gaps do not stall a replay); `speed=math.inf`
replays as fast as the sink takes it. The thread ends by itself when the candles run out.
With `follow_clock=True` a batch is instead handed over when `clock` (a simulated clock
running `speed` times as fast) reaches its time, never before: a practice day's ticks then
keep step with the engine's scheduler however long the sink takes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import groupby

from tui_trader.domain.clock import Clock, SystemClock, ensure_utc
from tui_trader.domain.errors import ValidationError

from .base import FeedThread, Tick, TickSink, require_not_running

Candle = tuple[str, datetime, Decimal, Decimal, Decimal, Decimal, int]
"""(symbol, ts, open, high, low, close, volume); ts UTC-aware (the candle's start)."""

_PHASES = 4


@dataclass(frozen=True, slots=True)
class _Phase:
    """One batch-to-be: every replayed symbol's k-th tick at one timestamp."""

    ts: datetime
    entries: tuple[tuple[str, Decimal, int], ...]  # (symbol, price, volume)


def _money(value: object, what: str) -> Decimal:
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    if not amount.is_finite() or amount <= 0:
        raise ValidationError("candles", f"{what} must be a positive number, got {value!r}")
    return amount


def candle_path(
    open_: Decimal, high: Decimal, low: Decimal, close: Decimal
) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """The four prices a candle is replayed as, in order."""
    if close >= open_:
        return (open_, low, high, close)
    return (open_, high, low, close)


def _normalised(candle: Candle) -> Candle:
    symbol, ts, o, h, lo, c, volume = candle
    where = f"{symbol} at {ts}"
    o, h, lo, c = (_money(v, f"{n} of {where}") for v, n in
                   ((o, "open"), (h, "high"), (lo, "low"), (c, "close")))
    if not lo <= min(o, c) or not max(o, c) <= h:
        raise ValidationError("candles", f"{where}: need low <= open, close <= high")
    if isinstance(volume, bool) or not isinstance(volume, int) or volume < 0:
        raise ValidationError("candles", f"{where}: volume must be a whole number >= 0")
    return (symbol, ensure_utc(ts), o, h, lo, c, volume)


def _phases(candles: Iterable[Candle], interval: timedelta) -> Iterator[_Phase]:
    step = interval / _PHASES
    previous: datetime | None = None
    for ts, group in groupby(map(_normalised, candles), key=lambda c: c[1]):
        if previous is not None and ts < previous:
            raise ValidationError(
                "candles", f"must be in time order: {ts} came after {previous}"
            )
        previous = ts
        rows = list(group)
        per_candle = []
        for symbol, _, o, h, lo, c, volume in rows:
            share, rest = divmod(volume, _PHASES)
            volumes = (share, share, share, share + rest)
            per_candle.append((symbol, candle_path(o, h, lo, c), volumes))
        for k in range(_PHASES):
            yield _Phase(
                ts + step * k,
                tuple((symbol, path[k], volumes[k]) for symbol, path, volumes in per_candle),
            )


class ReplayFeed:
    """Stored candles replayed as batches of ticks."""

    def __init__(
        self,
        candles: Iterable[Candle],
        speed: float = 1.0,
        *,
        clock: Clock | None = None,
        symbols: Iterable[str] | None = None,
        candle_interval: timedelta = timedelta(minutes=1),
        presorted: bool = True,
        max_wait: float = 1.0,
        follow_clock: bool = False,
    ) -> None:
        if not speed > 0:
            raise ValidationError("speed", "must be greater than 0")
        if candle_interval <= timedelta(0):
            raise ValidationError("candle_interval", "must be positive")
        if not presorted:
            candles = sorted(candles, key=lambda c: ensure_utc(c[1]))
        self.speed = speed
        self._clock: Clock = clock or SystemClock()
        self._max_wait = max_wait
        self._follow_clock = follow_clock
        self._source = _phases(candles, candle_interval)
        self._lock = threading.Lock()
        self._only: set[str] | None = None if symbols is None else set(symbols)
        self._excluded: set[str] = set()
        self._pending: _Phase | None = None
        self._exhausted = False
        self._previous_ts: datetime | None = None
        self._seq = 0
        self._last_tick_at: datetime | None = None
        self._thread: FeedThread | None = None

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(self, symbols: Iterable[str]) -> None:
        wanted = {symbols} if isinstance(symbols, str) else set(symbols)
        with self._lock:
            self._excluded -= wanted
            if self._only is not None:
                self._only |= wanted

    def unsubscribe(self, symbols: Iterable[str]) -> None:
        wanted = {symbols} if isinstance(symbols, str) else set(symbols)
        with self._lock:
            self._excluded |= wanted
            if self._only is not None:
                self._only -= wanted

    def _wanted(self, symbol: str) -> bool:
        return symbol not in self._excluded and (self._only is None or symbol in self._only)

    # -- thread-free API -------------------------------------------------------------------

    @property
    def exhausted(self) -> bool:
        with self._lock:
            return self._peek() is None

    def next_batch(self) -> list[Tick]:
        """The next non-empty batch, or [] once the candles are exhausted (following the
        clock: also while the next is not yet due)."""
        while True:
            batch = self._produce()
            if batch is None:
                return []
            if batch or self._follow_clock:
                return batch

    def generate(self, n_batches: int | None = None) -> Iterator[list[Tick]]:
        """Up to `n_batches` batches (all remaining when None)."""
        produced = 0
        while n_batches is None or produced < n_batches:
            batch = self.next_batch()
            if not batch:
                return
            produced += 1
            yield batch

    def _peek(self) -> _Phase | None:
        if self._pending is None and not self._exhausted:
            self._pending = next(self._source, None)
            self._exhausted = self._pending is None
        return self._pending

    def _produce(self) -> list[Tick] | None:
        """The next phase as ticks (possibly empty when nothing in it is subscribed, or when
        following the clock and it is not yet due), or None when exhausted."""
        with self._lock:
            phase = self._peek()
            if phase is None:
                return None
            if self._follow_clock and phase.ts > self._clock.now():
                return []
            self._pending = None
            self._previous_ts = phase.ts
            batch: list[Tick] = []
            for symbol, price, volume in phase.entries:
                if self._wanted(symbol):
                    self._seq += 1
                    batch.append(Tick(symbol, price, phase.ts, volume, self._seq))
            if batch:
                self._last_tick_at = self._clock.now()
            return batch

    def _delay_before_next(self) -> float:
        with self._lock:
            phase = self._peek()
            if phase is not None and self._follow_clock:
                ahead = (phase.ts - self._clock.now()).total_seconds() / self.speed
                return min(max(ahead, 0.0), self._max_wait)
            if phase is None or self._previous_ts is None:
                return 0.0
            gap = (phase.ts - self._previous_ts).total_seconds() / self.speed
            return min(max(gap, 0.0), self._max_wait)

    # -- threaded API ----------------------------------------------------------------------

    def start(self, sink: TickSink) -> None:
        require_not_running(self._thread, "the replay feed")
        self._thread = FeedThread("replay-feed", self._produce, self._delay_before_next, sink)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for a started replay to run out of candles; True if it has."""
        return self._thread is None or self._thread.join(timeout)

    def last_tick_at(self) -> datetime | None:
        with self._lock:
            return self._last_tick_at
