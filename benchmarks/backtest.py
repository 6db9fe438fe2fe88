"""Backtest benchmark: our backtester against backtrader on the same candles.

One process, the same 94,000 seeded one-minute candles (a year of NSE sessions, 375 a day),
the EMA 9/21 crossover as the issue states it (long only, one share, market orders at the
next candle's open, no charges):
- backtrader (bt.indicators.EMA, bt.indicators.CrossOver; `cerebro.run()` timed) is the
  floor our figure stands beside, measured in the same run on the same machine;
- ours: `Backtest(spec, bars).run()` timed whole (checks, indicators, fills, the equity
  curve and every metric), best of `--repeat`;
- the two trade lists are compared entry by entry (`identical`);
- a 100-combination grid (fast 5..14 x slow 20..65) over the same year on every core:
  wall seconds per combination-year (target: under 2 s on two cores).

Target: >= 20x backtrader (>= 300,000 bars/s).

    python benchmarks/backtest.py [--bars N] [--repeat N] [--no-grid] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.backtest import backtrader_reference as reference  # noqa: E402
from tui_trader.backtest.runner import Backtest  # noqa: E402
from tui_trader.backtest.spec import RunSpec  # noqa: E402
from tui_trader.backtest.sweep import parse_grid, run_grid  # noqa: E402
from tui_trader.backtest.synthetic import minute_candles  # noqa: E402
from tui_trader.domain.calendar import NseCalendar  # noqa: E402
from tui_trader.domain.enums import Product  # noqa: E402

YEAR_BARS = 94_000
GRID = ["fast=5:14:1", "slow=20:65:5"]  # 100 combinations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=YEAR_BARS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-grid", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    bars = minute_candles(args.bars, seed=args.seed, calendar=NseCalendar())
    spec = RunSpec("ema_crossover", {"fast": 9, "slow": 21, "timeframe": "minute"},
                   {"stop_loss": Decimal(99)}, 1, Product.CNC, charges=False)

    rows = reference.rows_of(bars.starts_ns, bars.open, bars.high, bars.low, bars.close,
                             bars.volume)
    started = time.perf_counter()
    expected, _ = reference.run(rows)
    bt_s = time.perf_counter() - started

    ours_s = float("inf")
    result = None
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        result = Backtest(spec, bars).run()
        ours_s = min(ours_s, time.perf_counter() - started)
    got = [(t.entry_time, float(t.entry_price), t.exit_time,
            None if t.exit_price is None else float(t.exit_price), t.quantity)
           for t in result.trades]
    identical = got == expected

    grid_s = None
    cores = os.cpu_count() or 1
    if not args.no_grid:
        grid = parse_grid(GRID)
        started = time.perf_counter()
        found = run_grid(spec, bars, grid, processes=cores)
        wall = time.perf_counter() - started
        grid_s = wall / len(found.rows) / (len(bars) / YEAR_BARS)

    n = len(bars)
    ours_rate, bt_rate = n / ours_s, n / bt_s
    days = len(set(((bars.starts_ns + 19_800 * 10**9) // (86_400 * 10**9)).tolist()))
    print(f"candles: {n:,} one-minute, {days} NSE sessions, EMA 9/21 crossover, "
          f"{len(expected):,} round trips")
    print(f"  backtrader (floor)   {bt_rate:>12,.0f} bars/s   ({bt_s:.2f} s)")
    print(f"  tui-trader backtest  {ours_rate:>12,.0f} bars/s   ({ours_s:.3f} s)   "
          f"{ours_rate / bt_rate:.1f}x backtrader (target >= 20x, >= 300,000 bars/s)")
    print(f"  trades identical to backtrader: {'yes' if identical else 'NO'}")
    if grid_s is not None:
        print(f"  grid of 100 combinations on {cores} cores: {grid_s:.3f} s per "
              f"combination-year (target < 2 s)")
    if args.json:
        print(json.dumps({"bars": n, "bars_per_s": round(ours_rate),
                          "backtrader_bars_per_s": round(bt_rate),
                          "ratio": round(ours_rate / bt_rate, 1), "identical": identical,
                          "trades": len(expected), "cores": cores,
                          "grid_s_per_combination_year":
                              None if grid_s is None else round(grid_s, 4)}))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
