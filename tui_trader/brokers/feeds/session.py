"""A whole simulated trading session as 1-minute candles, made by the simulated feed itself.

A practice day with no stored candles replays one of these through the same `ReplayFeed`
that replays stored ones: one path from candles to the engine. The prices come from
`SimulatedFeed` (the same seeded random walk and volatility the console's live simulated
market uses), driven thread-free by a frozen clock moved `TICK_SECONDS` at a time across the
session, and folded into one candle a minute. The same seed, symbols, session and opening
prices always give the same candles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal

from tui_trader.domain.calendar import Session
from tui_trader.domain.clock import FrozenClock

from .replay import Candle
from .simulated import DEFAULT_DAILY_VOLATILITY, SimulatedFeed

TICK_SECONDS = 15  # four prices a minute, as a replayed candle has
MINUTE = timedelta(minutes=1)


def simulated_session(session: Session, symbols: Iterable[str], *, seed: int,
                      opening: Mapping[str, Decimal] | None = None,
                      daily_volatility: float = DEFAULT_DAILY_VOLATILITY) -> list[Candle]:
    """One candle a minute for every symbol over the session, in time order (symbols in
    the order given within a minute). `opening`: where each symbol starts (default: its
    reference price)."""
    wanted = list(dict.fromkeys(symbols))
    if not wanted:
        return []
    start, end = session.open_at(), session.close_at()
    clock = FrozenClock(start)
    feed = SimulatedFeed(seed=seed, symbols=wanted, ticks_per_second_per_symbol=1 / TICK_SECONDS,
                         clock=clock, daily_volatility=daily_volatility)
    if opening:
        feed.resume_from(opening)
    candles: list[Candle] = []
    minute = start
    while minute < end:
        prices: dict[str, list[Decimal]] = {symbol: [] for symbol in wanted}
        volumes: dict[str, int] = dict.fromkeys(wanted, 0)
        for step in range(60 // TICK_SECONDS):
            clock.set(minute + timedelta(seconds=step * TICK_SECONDS))
            for tick in feed.next_batch():
                prices[tick.symbol].append(tick.price)
                volumes[tick.symbol] += tick.volume
        for symbol in wanted:
            path = prices[symbol]
            candles.append((symbol, minute, path[0], max(path), min(path), path[-1],
                            volumes[symbol]))
        minute += MINUTE
    return candles
