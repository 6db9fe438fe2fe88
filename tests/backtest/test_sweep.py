"""Parameter grids and walk-forward: the grid's syntax and its limit (refused with the
count), the same rows on one worker or several, refused combinations skipped, and
walk-forward windows that choose in sample and test out of sample."""

from __future__ import annotations

import pytest

from tui_trader.backtest.runner import Backtest
from tui_trader.backtest.sweep import parse_grid, run_grid, walk_forward
from tui_trader.backtest.synthetic import minute_candles
from tui_trader.domain.errors import ValidationError

from .conftest import spec


def test_ranges_include_both_ends_and_lists_are_taken_as_written():
    assert parse_grid(["fast=5:20:5", "slow=21,34"]) == {"fast": [5, 10, 15, 20],
                                                        "slow": [21, 34]}
    assert parse_grid(["multiplier=1:2:0.5"]) == {"multiplier": [1, 1.5, 2]}


@pytest.mark.parametrize(("items", "needle"), [
    (["fast=1:1000:1", "slow=1:1000:1"], "1,000,000 combinations; at most 100,000"),
    (["fast=5:20"], "NAME=FROM:TO:STEP"),
    (["fast"], "NAME=FROM:TO:STEP or NAME=A,B,C"),
    (["fast=20:5:1"], "FROM <= TO"),
    (["fast=5:x:1"], "'x' is not a number"),
    (["fast=5,6", "fast=7"], "fast is given twice"),
])
def test_bad_grids_are_refused_before_anything_runs(items, needle):
    with pytest.raises(ValidationError, match=needle) as caught:
        parse_grid(items)
    assert caught.value.field == "grid"


def test_a_grid_gives_the_same_rows_on_one_worker_or_two_and_skips_refused_mixes():
    bars = minute_candles(1500, seed=4)
    run = spec(params={"fast": 9, "slow": 21, "timeframe": "minute"})
    grid = parse_grid(["fast=5,9,30", "slow=13,21"])
    one = run_grid(run, bars, grid, processes=1)
    two = run_grid(run, bars, grid, processes=2)
    assert one.rows == two.rows
    assert one.combinations == 6 and len(one.rows) == 4
    assert one.skipped == {"fast=30, slow=13": "fast: must be below Slow EMA (13)",
                           "fast=30, slow=21": "fast: must be below Slow EMA (21)"}
    single = Backtest(spec(params={"fast": 5, "slow": 21, "timeframe": "minute"}), bars).run()
    row = next(r for r in one.rows if r.params == {"fast": 5, "slow": 21})
    assert row.figures == single.summary.to_json()
    best = one.ranked("net_pnl")[0]
    assert best.figures["net_pnl"] == max(r.figures["net_pnl"] for r in one.rows)


def test_walk_forward_picks_in_sample_and_tests_the_pick_out_of_sample():
    bars = minute_candles(375 * 8, seed=6)  # eight sessions
    run = spec(params={"fast": 9, "slow": 21, "timeframe": "minute"})
    grid = parse_grid(["fast=3,5,9", "slow=21"])
    result = walk_forward(run, bars, grid, windows=2, in_sample=0.75, processes=1)
    assert [(w.in_days, w.out_days) for w in result.windows] == [(3, 1), (3, 1)]
    first = result.windows[0]
    assert first.in_sample == (0, 375 * 3) and first.out_of_sample == (375 * 3, 375 * 4)
    inside = run_grid(run, bars.window(*first.in_sample), grid, processes=1)
    assert first.best == inside.ranked("net_pnl")[0]
    outside = Backtest(spec(params={**run.params, **first.best.params}),
                       bars.window(*first.out_of_sample)).run()
    assert first.out == outside.summary.to_json()
    made = sum(w.best.figures["net_pnl"] for w in result.windows) / 6
    kept = sum(w.out["net_pnl"] for w in result.windows) / 2
    if made > 0:
        assert result.degradation == pytest.approx(1 - kept / made)
        assert "of the in-sample P&L per day" in result.verdict()
    else:
        assert result.degradation is None and "nothing to carry" in result.verdict()
    with pytest.raises(ValidationError, match="5 windows need at least 10 trading days"):
        walk_forward(run, bars, grid, windows=5)
