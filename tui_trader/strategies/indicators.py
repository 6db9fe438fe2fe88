"""Indicators for the kinds, from TA-Lib's streaming objects (`talib.stream`): each new
candle costs one `update`, and the values are bit for bit those of TA-Lib's batch functions
over the whole series (tests/strategies/test_indicators.py checks it).

A stream's state lives in C and cannot be serialised, so an `IndicatorStream` keeps its recent
inputs and, restored, reopens the stream on them. For a recursive indicator (EMA, Wilder's
RSI and ATR) it keeps enough inputs that the reopened stream's start-up has decayed below
double precision (`horizon`): from there on, restored and uninterrupted streams agree
exactly. Windowed ones (MAX, MIN, SMA) need only their window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import talib
from talib import abstract, stream

# e^-60 ~ 1e-26: a start-up this far back no longer changes a double.
DECAY_NATS = 60.0
RECURSIVE = {"EMA": lambda p: 1 - 2 / (p + 1), "RSI": lambda p: 1 - 1 / p,
             "ATR": lambda p: 1 - 1 / p}


def horizon(name: str, period: int) -> int:
    """Extra inputs a reopened stream needs for its start-up to decay away."""
    factor = RECURSIVE.get(name)
    if factor is None:
        return 0
    return math.ceil(DECAY_NATS / -math.log(factor(period)))


class IndicatorStream:
    """One TA-Lib indicator over one series (`inputs` values per candle: close, or high,
    low, close), resumable from its JSON state."""

    __slots__ = ("name", "period", "need", "keep", "_inputs", "_stream", "value")

    def __init__(self, name: str, period: int, inputs: int = 1,
                 state: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.period = period
        # TA-Lib needs lookback + 1 inputs before the first value.
        self.need = abstract.Function(name, timeperiod=period).lookback + 1
        self.keep = self.need + horizon(name, period)
        self._inputs: list[list[float]] = [[] for _ in range(inputs)]
        self._stream: Any = None
        self.value: float | None = None
        if state:
            self._inputs = [[float(x) for x in column] for column in state["inputs"]]
            if len(self._inputs[0]) >= self.need:
                self._open()

    @property
    def warm(self) -> bool:
        return self.value is not None

    @property
    def seen(self) -> int:
        """Inputs held (at most `keep`): how far warming up has come."""
        return len(self._inputs[0])

    def push(self, *values: float) -> float | None:
        """Take the next candle's inputs; the indicator's value after it (None while
        warming up)."""
        for column, value in zip(self._inputs, values, strict=True):
            column.append(value)
        if len(self._inputs[0]) > 2 * self.keep:
            for column in self._inputs:
                del column[:-self.keep]
        if self._stream is not None:
            self.value = self._stream.update(*values)
        elif len(self._inputs[0]) >= self.need:
            self._open()
        return self.value

    def _open(self) -> None:
        arrays = [np.asarray(column, dtype=np.float64) for column in self._inputs]
        self._stream = getattr(stream, self.name)(*arrays, timeperiod=self.period)
        self.value = float(self._stream.value)

    def state(self) -> dict[str, Any]:
        return {"inputs": [column[-self.keep:] for column in self._inputs]}


def batch(name: str, period: int, *series: Sequence[float]) -> np.ndarray:
    """TA-Lib's batch function over whole series (tests compare the streams with it)."""
    return getattr(talib, name)(*(np.asarray(s, dtype=np.float64) for s in series),
                                timeperiod=period)
