"""What a stored run keeps so that it can be understood (and repeated) later: the strategy as
it ran — kind, the kind's version, its parameters and exits, and a SHA-256 of the code that
decided its signals and fills (the kind's module, the exits, the entry gate, the matching
core, the charges and this backtester) — and the equity curve thinned to the points a chart
needs (each IST day's close and each exit)."""

from __future__ import annotations

import hashlib
import inspect
import sys
from typing import Any

import numpy as np

from ..brokers import matching
from ..domain import charges
from ..domain.clock import IST
from ..strategies import entry_gate, exits
from . import runner
from .runner import Backtest, BacktestResult

_SHARED_CODE = (exits, entry_gate, matching, charges, runner)


def code_hash(kind_class: type) -> str:
    digest = hashlib.sha256()
    for module in (sys.modules[kind_class.__module__], *_SHARED_CODE):
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()


def strategy_snapshot(backtest: Backtest) -> dict[str, Any]:
    kind = backtest.kind
    params = kind.params.model_dump(mode="json")
    return {"kind": kind.kind.value, "version": kind.version, "params": params,
            "exits": backtest.rules.model_dump(mode="json"),
            "code_sha256": code_hash(type(kind))}


def curve_points(result: BacktestResult) -> list[list[Any]]:
    """[[time ISO with offset, rupees], ...]: the capital, each IST day's last point and
    the point of each exit."""
    series = result.curve
    days = (series.times_ns[1:] + (5 * 3600 + 30 * 60) * 10**9) // (86_400 * 10**9)
    closes = np.flatnonzero(np.append(np.diff(days) != 0, True)) + 1
    exits_at = [t.exit_index + 1 for t in result.trades if t.exit_index is not None]
    keep = np.unique(np.concatenate(([0], closes, np.array(exits_at, dtype=np.int64))))
    return [[series.time(int(i)).astimezone(IST).isoformat(), round(float(series.equity[i]), 2)]
            for i in keep]
