"""Strategies benchmark: candles from ticks, routing to running strategies, and evaluating
every strategy when candles close. Each figure is printed beside a floor measured in the
same run on the same machine:
- ticks aggregated into 1/5/15-minute NSE-session candles per second (500 symbols, a tick a
  second each, so about 1 tick in 60 closes a candle), beside a bare loop doing the same
  bucketing (dict lookup, compare, update; no session, roll-up or VWAP);
- ticks routed per second with 1,000 running indicator strategies over 500 symbols when no
  candle closes, beside the same bare loop;
- the time to evaluate all 1,000 strategies when the candles of all 500 symbols close at
  once (5- and 15-minute together), median of 20 closes, beside the bare TA-Lib stream
  updates those strategies make.

    python benchmarks/strategies.py [--ticks N] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from talib import stream  # noqa: E402

from tui_trader.domain.calendar import NseCalendar  # noqa: E402
from tui_trader.domain.candle import Candle  # noqa: E402
from tui_trader.domain.enums import Timeframe  # noqa: E402
from tui_trader.strategies.base import KindContext  # noqa: E402
from tui_trader.strategies.candles import CandleBuilder  # noqa: E402
from tui_trader.strategies.registry import make_kind  # noqa: E402
from tui_trader.strategies.router import StrategyRouter  # noqa: E402

SYMBOLS = [f"BNCH{i:03d}" for i in range(500)]
DAY = date(2031, 3, 3)  # a Monday past exchange-calendars' end: a plain weekday session
OPEN = datetime(2031, 3, 3, 3, 45, tzinfo=UTC)  # 09:15 IST
KINDS = [("ema_crossover", {"fast": 9, "slow": 21, "timeframe": "5minute"}),
         ("rsi_reversion", {"period": 14, "timeframe": "5minute"}),
         ("breakout", {"lookback": 20, "volume_factor": 1.5, "timeframe": "15minute"}),
         ("supertrend", {"atr_period": 10, "multiplier": 3.0, "timeframe": "15minute"})]


def make_ticks(n: int, spacing: timedelta) -> list[tuple[str, Decimal, datetime, int]]:
    prices = [Decimal("1500") + Decimal(i) / 20 for i in range(200)]
    return [(SYMBOLS[i % 500], prices[(i * 7) % 200], OPEN + spacing * i, 1 + i % 9)
            for i in range(n)]


def timed(fn) -> float:
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    finally:
        gc.enable()


def bare_bucketing(ticks) -> float:
    width = timedelta(minutes=1)
    bars: dict = {}
    closed: list = []

    def run() -> None:
        for symbol, price, at, volume in ticks:
            bar = bars.get(symbol)
            if bar is not None and at < bar[0]:
                if price > bar[2]:
                    bar[2] = price
                elif price < bar[3]:
                    bar[3] = price
                bar[4] = price
                bar[5] += volume
            else:
                if bar is not None:
                    closed.append(bar)
                end = OPEN + width * ((at - OPEN) // width + 1)
                bars[symbol] = [end, price, price, price, price, volume]

    return len(ticks) / timed(run)


def candle_rate(calendar: NseCalendar, ticks) -> tuple[float, int]:
    builder = CandleBuilder(calendar.session)
    for symbol in SYMBOLS:
        builder.track(symbol, [Timeframe.MINUTE, Timeframe.MIN5, Timeframe.MIN15])
    add = builder.add_tick
    count = [0]

    def run() -> None:
        n = 0
        for symbol, price, at, volume in ticks:
            closed = add(symbol, price, at, volume)
            if closed:
                n += len(closed)
        count[0] = n

    return len(ticks) / timed(run), count[0]


def warm_router(calendar: NseCalendar) -> StrategyRouter:
    router = StrategyRouter(CandleBuilder(calendar.session))
    for i, symbol in enumerate(SYMBOLS):
        for j in (2 * i % 4, (2 * i + 1) % 4):
            name, params = KINDS[j]
            router.add(f"{symbol}-{name}", symbol, make_kind(name, params, KindContext(symbol)))
    history = []
    for k in range(80):  # warm every strategy on candles that ended before today
        for tf, minutes in ((Timeframe.MIN5, 5), (Timeframe.MIN15, 15)):
            start = OPEN - timedelta(days=3) + timedelta(minutes=minutes * k)
            history += [_candle(symbol, tf, start, minutes, k + s) for s, symbol in
                        enumerate(SYMBOLS)]
    router.on_candles(history)
    return router


def _candle(symbol: str, timeframe: Timeframe, start: datetime, minutes: int,
            k: int) -> Candle:
    base = Decimal(1500 + (k * 37) % 23 - 11)
    return Candle(symbol, timeframe, start, start + timedelta(minutes=minutes), base,
                  base + Decimal("2.5"), base - Decimal("2.5"), base + Decimal(k % 5 - 2) / 2,
                  volume=10_000 + (k * 131) % 5_000)


def routing_rate(router: StrategyRouter, n: int) -> float:
    # Every tick inside 09:15-09:20: the 5-minute buckets do not close.
    ticks = make_ticks(n, timedelta(minutes=5) / (n + 1))
    on_tick = router.on_tick

    def run() -> None:
        for symbol, price, at, volume in ticks:
            on_tick(symbol, price, at, volume)

    return n / timed(run)


def close_eval_ms(router: StrategyRouter, rounds: int = 20) -> tuple[float, float, int]:
    samples, signals = [], 0
    for r in range(rounds):
        start = OPEN + timedelta(minutes=15 * r)
        batch = [_candle(symbol, tf, start + timedelta(minutes=15 - minutes), minutes, r + s)
                 for tf, minutes in ((Timeframe.MIN5, 5), (Timeframe.MIN15, 15))
                 for s, symbol in enumerate(SYMBOLS)]
        gc.collect()
        begin = time.perf_counter()
        out = router.on_candles(batch)
        samples.append((time.perf_counter() - begin) * 1000)
        signals += len(out.signals)
        assert not out.failures, out.failures
    return statistics.median(samples), max(samples), signals


def bare_close_ms(rounds: int = 20) -> float:
    """The TA-Lib updates alone: per symbol pair, two EMAs or one RSI, and MAX/MIN/SMA or
    one ATR, as the 1,000 strategies make them."""
    import numpy as np

    seed = np.linspace(1490.0, 1510.0, 60)
    streams = []
    for i in range(500):
        for j in (2 * i % 4, (2 * i + 1) % 4):
            if j == 0:
                streams += [(stream.EMA(seed, timeperiod=9), 1),
                            (stream.EMA(seed, timeperiod=21), 1)]
            elif j == 1:
                streams.append((stream.RSI(seed, timeperiod=14), 1))
            elif j == 2:
                streams += [(stream.MAX(seed, timeperiod=20), 1),
                            (stream.MIN(seed, timeperiod=20), 1),
                            (stream.SMA(seed, timeperiod=20), 1)]
            else:
                streams.append((stream.ATR(seed, seed, seed, timeperiod=10), 3))
    samples = []
    for r in range(rounds):
        value = 1500.0 + r
        begin = time.perf_counter()
        for s, inputs in streams:
            if inputs == 1:
                s.update(value)
            else:
                s.update(value + 1, value - 1, value)
        samples.append((time.perf_counter() - begin) * 1000)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    calendar = NseCalendar(use_exchange_calendars=False)
    assert calendar.session(DAY) is not None

    ticks = make_ticks(args.ticks, timedelta(milliseconds=2))  # a tick a second a symbol
    bare = bare_bucketing(ticks)
    candles_per_s, closed = candle_rate(calendar, ticks)
    del ticks
    router = warm_router(calendar)
    routing = routing_rate(router, args.ticks)
    median_ms, worst_ms, signals = close_eval_ms(router)
    bare_ms = bare_close_ms()
    result = {
        "candle_ticks_per_s": round(candles_per_s),
        "bare_candle_ticks_per_s": round(bare),
        "candles_closed": closed,
        "routing_ticks_per_s": round(routing),
        "strategies": len(router.running()),
        "candle_close_eval_ms": round(median_ms, 2),
        "candle_close_eval_worst_ms": round(worst_ms, 2),
        "bare_close_eval_ms": round(bare_ms, 2),
        "close_signals": signals,
    }
    print(f"candles from ticks   {candles_per_s:>12,.0f} ticks/s  (bare bucketing loop "
          f"{bare:,.0f}/s; {closed:,} candles closed; target >= 1,000,000/s)")
    print(f"routing, no close    {routing:>12,.0f} ticks/s  ({len(router.running()):,} "
          f"strategies over {len(SYMBOLS)} symbols; bare loop {bare:,.0f}/s; target "
          f">= 1,000,000/s)")
    print(f"all candles close    {median_ms:>12.2f} ms median, {worst_ms:.2f} ms worst  "
          f"(bare TA-Lib updates {bare_ms:.2f} ms; {signals} signals; target <= 20 ms)")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
