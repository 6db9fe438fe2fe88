"""EMA crossover: long when the fast EMA crosses above the slow one, short when it crosses
below; a position exits on the opposite cross.

The rule (`crossing`) is written once for a float and for numpy arrays alike: `on_candle`
applies it to each candle's spread as the streams give it, `batch_events` to TA-Lib's batch
EMAs over a whole series, whose values are bit for bit the streams' (both use TA-Lib's EMA,
seeded with the SMA of the first `period` closes)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from ...domain.candle import Candle
from ...domain.enums import StrategyKind
from ...domain.kind_params import EmaCrossoverParams
from ..base import CandleKind, KindContext
from ..indicators import IndicatorStream, batch
from ..signals import Holding, Signal, enter


def crossing(before: Any, spread: Any) -> Any:
    """+1 where the spread (fast - slow) crosses above 0, -1 where it crosses below, else 0:
    for floats, or element-wise for arrays (a NaN, still warming up, is never a cross)."""
    up = (before <= 0) & (spread > 0)
    down = (before >= 0) & (spread < 0)
    return up * 1 - down * 1


class EmaCrossover(CandleKind):
    kind = StrategyKind.EMA_CROSSOVER

    def __init__(self, params: EmaCrossoverParams, context: KindContext,
                 state: Mapping[str, Any] | None = None) -> None:
        super().__init__(params, context, state)
        self.p = params
        state = state or {}
        self.fast = IndicatorStream("EMA", params.fast, state=state.get("fast"))
        self.slow = IndicatorStream("EMA", params.slow, state=state.get("slow"))
        self.spread: float | None = state.get("spread")  # fast - slow after the last candle

    @property
    def lookback(self) -> int:
        return self.slow.need  # then a candle can cross the spread they made

    @property
    def warm(self) -> bool:
        return self.spread is not None

    def candles_seen(self) -> int:
        return min(self.slow.seen, self.lookback)

    def on_candle(self, candle: Candle, holding: Holding) -> list[Signal]:
        close = float(candle.close)
        fast, slow = self.fast.push(close), self.slow.push(close)
        if fast is None or slow is None:
            return []
        before, self.spread = self.spread, fast - slow
        if before is None:
            return []
        event = crossing(before, self.spread)
        return self.signals_for(event, holding, candle.end, candle.close) if event else []

    def batch_events(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        close = columns["close"]
        spread = batch("EMA", self.p.fast, close) - batch("EMA", self.p.slow, close)
        events = np.zeros(len(close), dtype=np.int8)
        if len(close) > 1:
            events[1:] = crossing(spread[:-1], spread[1:])
        return events

    def signals_for(self, event: int, holding: Holding, at: datetime,
                    price: Decimal) -> list[Signal]:
        names = f"EMA {self.p.fast}", f"EMA {self.p.slow}"
        where = "above" if event > 0 else "below"
        return enter(holding, event > 0, f"{names[0]} crossed {where} {names[1]}", at, price)

    def state(self) -> dict[str, Any]:
        return {"fast": self.fast.state(), "slow": self.slow.state(), "spread": self.spread}

    def indicators(self) -> dict[str, float]:
        return {f"EMA {self.p.fast}": self.fast.value, f"EMA {self.p.slow}": self.slow.value} \
            if self.warm else {}

    def status(self) -> str:
        if not self.warm:
            return self.warming_status()
        return f"waiting for EMA {self.p.fast} to cross EMA {self.p.slow}"
