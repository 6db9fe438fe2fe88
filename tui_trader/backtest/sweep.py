"""Parameter sweeps and walk-forward tests: one kind over one series, many times.

A grid is written as `NAME=FROM:TO:STEP` (both ends included) or `NAME=A,B,C`, one per
parameter; the combinations are every mix of the values. A grid over `MAX_COMBINATIONS` is
refused with its count before anything runs. A combination the kind's rules refuse (a fast
EMA not faster than the slow one) is counted as skipped, not run.

The runs are spread over worker processes (`processes`, default every core). Each worker
gets the series once, when it starts (`fork` shares it without a copy), and returns only
each run's figures.

Walk-forward: the series is cut into `windows` consecutive stretches of whole IST days;
each is split into an in-sample part (the first `in_sample` fraction of its days), on
which the grid picks the best combination by `rank`, and the out-of-sample rest, on which
that combination is run untouched. The degradation says how much of the in-sample result
survived out of sample, per day traded: 1 - (out-of-sample net P&L per day) / (in-sample
net P&L per day).
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from ..domain.catalog import check_params
from ..domain.errors import ValidationError
from .bars import BarSeries
from .runner import Backtest
from .spec import RunSpec

MAX_COMBINATIONS = 100_000
RANKS = ("net_pnl", "sharpe", "profit_factor", "expectancy", "win_rate", "calmar")
_IST_NS = (5 * 3600 + 30 * 60) * 10**9
_DAY_NS = 86_400 * 10**9


def _number(text: str, name: str) -> int | float:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValidationError("grid", f"{name}: {text.strip()!r} is not a number") from None
    if not value.is_finite():
        raise ValidationError("grid", f"{name}: {text.strip()!r} is not a number")
    return int(value) if value == value.to_integral_value() else float(value)


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """`NAME=FROM:TO:STEP` or `NAME=A,B,C` items as {name: values}; the count of
    combinations is checked before anything is built."""
    axes: dict[str, tuple[str, str]] = {}
    counts: dict[str, int] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise ValidationError("grid", f"{item!r} must be NAME=FROM:TO:STEP or "
                                          "NAME=A,B,C")
        if name in axes:
            raise ValidationError("grid", f"{name} is given twice")
        if ":" in values:
            parts = values.split(":")
            if len(parts) != 3:
                raise ValidationError("grid", f"{item!r} must be NAME=FROM:TO:STEP")
            low, high, step = (_number(p, name) for p in parts)
            if step <= 0 or high < low:
                raise ValidationError("grid", f"{name}: needs FROM <= TO and a STEP above 0")
            counts[name] = int(math.floor((high - low) / step + 1e-9)) + 1
        else:
            counts[name] = len(values.split(","))
        axes[name] = (values, ":" if ":" in values else ",")
    total = math.prod(counts.values()) if counts else 0
    if total > MAX_COMBINATIONS:
        raise ValidationError("grid", f"{total:,} combinations; at most "
                                      f"{MAX_COMBINATIONS:,} are run")
    grid: dict[str, list[Any]] = {}
    for name, (values, kind) in axes.items():
        if kind == ",":
            grid[name] = [_number(v, name) for v in values.split(",")]
        else:
            low, _, step = (_number(p, name) for p in values.split(":"))
            grid[name] = [_tidy(low + step * k) for k in range(counts[name])]
    return grid


def _tidy(value: int | float) -> int | float:
    return value if isinstance(value, int) else round(value, 10)


def combinations(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(grid)
    return [dict(zip(names, values, strict=True))
            for values in itertools.product(*(grid[n] for n in names))]


@dataclass(frozen=True)
class GridRow:
    params: dict[str, Any]
    figures: dict[str, Any]  # the summary's JSON (trades, net_pnl, sharpe, ...)

    def score(self, rank: str) -> float:
        value = self.figures.get(rank)
        if value in (None, "-inf"):
            return -math.inf
        return math.inf if value == "inf" else float(value)


@dataclass(frozen=True)
class GridResult:
    rows: list[GridRow]
    skipped: dict[str, str]  # a refused combination -> the rule it broke
    combinations: int

    def ranked(self, rank: str) -> list[GridRow]:
        return sorted(self.rows, key=lambda row: row.score(rank), reverse=True)


# -- the workers --------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init(spec: RunSpec, bars: BarSeries) -> None:
    _WORKER["spec"], _WORKER["bars"] = spec, bars


def _one(params: dict[str, Any]) -> GridRow:
    spec: RunSpec = _WORKER["spec"]
    run = replace(spec, params={**spec.params, **params})
    result = Backtest(run, _WORKER["bars"]).run()
    return GridRow(params, result.summary.to_json())


def _valid(spec: RunSpec, params: dict[str, Any]) -> str | None:
    _, errors = check_params(spec.kind, {**spec.params, **params}, spec.product)
    if errors:
        name = next(iter(errors))
        return f"{name}: {errors[name]}"
    return None


def run_grid(spec: RunSpec, bars: BarSeries, grid: Mapping[str, Sequence[Any]], *,
             processes: int | None = None,
             progress: Callable[[int, int], None] | None = None) -> GridResult:
    """Every combination of `grid` over `bars`, on `processes` workers (1: in this
    process)."""
    combos = combinations(grid)
    if not combos:
        raise ValidationError("grid", "needs at least one NAME=VALUES")
    runnable, skipped = [], {}
    for params in combos:
        problem = _valid(spec, params)
        if problem is None:
            runnable.append(params)
        else:
            skipped[", ".join(f"{k}={v}" for k, v in params.items())] = problem
    Backtest(replace(spec, params={**spec.params, **(runnable or combos)[0]}), bars)  # checks
    workers = max(1, min(processes or os.cpu_count() or 1, len(runnable) or 1))
    rows: list[GridRow] = []
    if workers == 1:
        _init(spec, bars)
        for params in runnable:
            rows.append(_one(params))
            if progress is not None:
                progress(len(rows), len(runnable))
    else:
        context = multiprocessing.get_context("fork" if "fork" in
                                              multiprocessing.get_all_start_methods()
                                              else "spawn")
        with context.Pool(workers, initializer=_init, initargs=(spec, bars)) as pool:
            chunk = max(1, len(runnable) // (workers * 8))
            for row in pool.imap(_one, runnable, chunksize=chunk):
                rows.append(row)
                if progress is not None:
                    progress(len(rows), len(runnable))
    return GridResult(rows, skipped, len(combos))


# -- walk-forward -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    in_sample: tuple[int, int]  # candle indices [lo, hi)
    out_of_sample: tuple[int, int]
    best: GridRow  # the in-sample winner
    out: dict[str, Any]  # its out-of-sample summary
    in_days: int
    out_days: int

    @property
    def in_per_day(self) -> float:
        return float(self.best.figures["net_pnl"]) / max(self.in_days, 1)

    @property
    def out_per_day(self) -> float:
        return float(self.out["net_pnl"]) / max(self.out_days, 1)


@dataclass(frozen=True)
class WalkForward:
    windows: list[Window]
    rank: str

    @property
    def degradation(self) -> float | None:
        """1 - out-of-sample / in-sample net P&L per day, over every window together; None
        when the in-sample winners made nothing to degrade from."""
        in_days = sum(w.in_days for w in self.windows)
        out_days = sum(w.out_days for w in self.windows)
        made = sum(float(w.best.figures["net_pnl"]) for w in self.windows) / max(in_days, 1)
        kept = sum(float(w.out["net_pnl"]) for w in self.windows) / max(out_days, 1)
        if made <= 0:
            return None
        return 1.0 - kept / made

    def verdict(self) -> str:
        """The degradation in plain words."""
        made = sum(float(w.best.figures["net_pnl"]) for w in self.windows)
        kept = sum(float(w.out["net_pnl"]) for w in self.windows)
        degradation = self.degradation
        if degradation is None:
            return (f"the in-sample winners made ₹{made:,.2f} in all: nothing to carry out of "
                    f"sample (out of sample: ₹{kept:,.2f})")
        return (f"out of sample kept {max(0.0, 1 - degradation) * 100:.0f} % of the "
                f"in-sample P&L per day (degradation {degradation * 100:.0f} %; in sample "
                f"₹{made:,.2f}, out of sample ₹{kept:,.2f})")


def day_bounds(bars: BarSeries) -> np.ndarray:
    """The index of each IST day's first candle, and len(bars) at the end."""
    days = (bars.starts_ns + _IST_NS) // _DAY_NS
    return np.append(np.flatnonzero(np.diff(days, prepend=days[0] - 1)), len(bars))


def walk_forward(spec: RunSpec, bars: BarSeries, grid: Mapping[str, Sequence[Any]], *,
                 windows: int, in_sample: float = 0.7, rank: str = "net_pnl",
                 processes: int | None = None) -> WalkForward:
    if rank not in RANKS:
        raise ValidationError("rank", "must be one of " + ", ".join(RANKS))
    if not 0 < in_sample < 1:
        raise ValidationError("in_sample", "must be a fraction between 0 and 1")
    starts = day_bounds(bars)
    days = len(starts) - 1
    if windows < 1 or days < windows * 2:
        raise ValidationError("walk_forward", f"{windows} windows need at least "
                                              f"{windows * 2} trading days; the data has "
                                              f"{days}")
    out: list[Window] = []
    for w in range(windows):
        first, last = days * w // windows, days * (w + 1) // windows
        split = first + max(1, min(last - first - 1, round((last - first) * in_sample)))
        lo, mid, hi = int(starts[first]), int(starts[split]), int(starts[last])
        found = run_grid(spec, bars.window(lo, mid), grid, processes=processes)
        if not found.rows:
            raise ValidationError("grid", "every combination breaks a rule of the kind")
        best = found.ranked(rank)[0]
        tested = Backtest(replace(spec, params={**spec.params, **best.params}),
                          bars.window(mid, hi)).run()
        out.append(Window((lo, mid), (mid, hi), best, tested.summary.to_json(),
                          split - first, last - split))
    return WalkForward(out, rank)


__all__ = ["GridResult", "GridRow", "MAX_COMBINATIONS", "RANKS", "WalkForward", "Window",
           "combinations", "parse_grid", "run_grid", "walk_forward"]
