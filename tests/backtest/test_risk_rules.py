"""The backtester judges every entry with the live engine's pre-trade gate
(`risk.gate.PreTradeGate`): a denied entry never fills, and the run counts it by rule."""

from __future__ import annotations

from tui_trader.backtest.runner import Backtest
from tui_trader.domain.risk_rules import RiskLimits

from .conftest import D, flat_then_jump, hand_bars, spec

# up, down, up, down, up: three long entries on one day (at 110, 120, 130, each with its
# stop 99 % below), the first two closed at a loss (20, then 50); CNC refuses the shorts
CLOSES = [100, 99, 98, 97, 96, 110, 90, 80, 120, 70, 60, 130, 131, 132]


def run(**changes):
    return Backtest(spec(**changes), hand_bars(flat_then_jump(CLOSES))).run()


def test_no_rules_change_nothing():
    free = run()
    assert len(free.trades) == 3
    assert not any(rule.startswith("risk rule") for rule in free.refusals)
    assert run(risk=RiskLimits()).trades == free.trades


def test_a_daily_loss_limit_denies_the_entry_whose_stop_would_pass_it():
    free = run()
    assert [t.round_trip().net_pnl for t in free.trades[:2]] == [D(-20), D(-50)]
    # third entry: lost 70, and 1 x (130 - 1.30) at its stop would make 198.70 > 190
    limited = run(risk=RiskLimits(daily_loss_limit=D(190)))
    assert limited.trades == free.trades[:2]
    assert limited.refusals["risk rule DAILY_LOSS_LIMIT"] == 1


def test_orders_per_day_count_entries_and_exits():
    limited = run(risk=RiskLimits(max_orders_per_day=2))  # one round trip: 2 orders
    assert limited.trades == run().trades[:1]
    assert limited.refusals["risk rule MAX_ORDERS_PER_DAY"] == 2
    assert limited.spec.as_json()["risk"] == {"max_orders_per_day": "2"}
