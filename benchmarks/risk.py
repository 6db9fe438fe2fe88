"""Risk benchmark: the pre-trade gate's cost per entry, and the governed burst.

Each figure is printed beside a floor measured in the same run on the same machine:
- `gate_us`: one `PreTradeGate.check_entry` with every rule in force and 20 open
  positions, for an entry every rule allows (the whole path), beside a bare Python call
  that takes the same two arguments, does one dict lookup and one Decimal compare;
  also a denial by the first rule that can refuse (the user HALTED) and by the last (the
  risk per trade). Target: <= 20 us.
- the governed burst: one tick crossing 200 stop-losses on a Kite account (10/s, 400/min,
  5,000/day), released by the order-rate governor on a simulated clock: the order they go
  in, how long the last one waits, and the governor's own cost per released order.

    python benchmarks/risk.py [--quick] [--json]

The engine benchmark (`benchmarks/engine.py`) prints `gate_us` beside the stop-loss p50,
with the gate on the engine's order path (and `gate_read_ms`, the engine reading the day's
figures from SQL before it); the figure here is the gate alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tui_trader.domain.enums import Side  # noqa: E402
from tui_trader.domain.lifecycle import RiskState  # noqa: E402
from tui_trader.domain.risk_rules import RiskLimits  # noqa: E402
from tui_trader.risk.account import AccountSnapshot, OpenPosition  # noqa: E402
from tui_trader.risk.gate import Entry, PreTradeGate  # noqa: E402
from tui_trader.risk.governor import OrderGovernor, OrderRequest, RateLimits  # noqa: E402

LIMITS = RiskLimits(
    trading_capital=Decimal("1000000"), daily_loss_limit=Decimal("20000"),
    daily_loss_pct=Decimal("2.5"), max_position_value=Decimal("300000"),
    max_open_positions=25, max_drawdown_pct=Decimal("3"),
    max_risk_per_trade_pct=Decimal("1"), max_orders_per_day=400,
    strategy_daily_loss_limit=Decimal("15000"))
ACCOUNT = AccountSnapshot(
    realized_pnl=Decimal("-3150.50"), unrealized_pnl=Decimal("1210.25"),
    peak_pnl=Decimal("2400"), orders_today=61,
    positions=tuple(OpenPosition(f"s{i}", f"SYM{i:02d}", Decimal(15000 + 250 * i))
                    for i in range(20)),
    strategy_pnl={f"s{i}": Decimal(-150 * i) for i in range(20)})
ALLOWED = Entry("s3", "SYM03", Side.BUY, 50, Decimal("1520.40"), Decimal("1498.00"))
TOO_RISKY = Entry("s3", "SYM03", Side.BUY, 185, Decimal("1520.40"), Decimal("1466.00"))


def per_call_us(fn, n: int, rounds: int = 5) -> float:
    """The fastest of `rounds` timings of `n` calls, in microseconds per call (the fastest
    is the one least disturbed by the rest of the machine)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / n * 1e6


def gate_figures(n: int) -> dict:
    gate = PreTradeGate(LIMITS)
    halted = AccountSnapshot(state=RiskState.HALTED)
    assert gate.check_entry(ALLOWED, ACCOUNT).allowed
    assert gate.check_entry(TOO_RISKY, ACCOUNT).denial.rule.value == "MAX_RISK_PER_TRADE"
    values, limit = dict(ACCOUNT.symbol_values), Decimal("300000")

    def floor(entry, account):
        return values.get(entry.symbol, limit) <= limit

    return {
        "gate_us": round(per_call_us(lambda: gate.check_entry(ALLOWED, ACCOUNT), n), 3),
        "gate_denied_first_us": round(per_call_us(lambda: gate.check_entry(ALLOWED, halted),
                                                  n), 3),
        "gate_denied_last_us": round(per_call_us(lambda: gate.check_entry(TOO_RISKY, ACCOUNT),
                                                 n), 3),
        "gate_floor_us": round(per_call_us(lambda: floor(ALLOWED, ACCOUNT), n), 3),
    }


def burst_figures(stops: int = 200) -> dict:
    """One tick crosses `stops` stop-losses: the governor releases them on a simulated
    clock (it is told the time; it never sleeps)."""
    governor = OrderGovernor(RateLimits(10, 400, 5000))
    for i in range(stops):
        governor.submit(OrderRequest(i, is_exit=True, pnl=Decimal(-((i * 7919) % stops))),
                        0.0)
    now, released, calls = 0.0, [], 0
    start = time.perf_counter()
    while True:
        release = governor.release(now, date(2026, 11, 23))
        calls += 1
        released.extend((now, r) for r in release.send)
        if release.next_at is None:
            break
        now = release.next_at
    cost = time.perf_counter() - start
    losses = [r.pnl for _, r in released]
    return {
        "burst_stop_losses": stops,
        "burst_largest_loss_first": losses == sorted(losses),
        "burst_last_sent_s": now,
        "burst_per_second_max": max(sum(1 for t, _ in released if t == s)
                                    for s in {t for t, _ in released}),
        "burst_release_calls": calls,
        "governor_us_per_order": round(cost / stops * 1e6, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per timing")
    parser.add_argument("--json", action="store_true", help="also print one JSON object")
    args = parser.parse_args()
    n = 2_000 if args.quick else 20_000
    out = {**gate_figures(n), **burst_figures()}
    print(f"risk benchmark: {n:,} calls per timing, best of 5")
    print(f"  gate, allowed (every rule judged)  {out['gate_us']:8.3f} us/entry   "
          f"floor (a bare call, one lookup + compare) {out['gate_floor_us']:.3f} us   "
          f"target <= 20 us")
    print(f"  gate, denied by the state          {out['gate_denied_first_us']:8.3f} us/entry")
    print(f"  gate, denied by risk per trade     {out['gate_denied_last_us']:8.3f} us/entry")
    print(f"  burst: {out['burst_stop_losses']} stop-losses from one tick, Kite 10/s: last "
          f"sent at +{out['burst_last_sent_s']:.0f} s, at most {out['burst_per_second_max']} "
          f"a second, largest loss first: {out['burst_largest_loss_first']}; governor "
          f"{out['governor_us_per_order']:.3f} us/order")
    if args.json:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
