"""EMA crossover: long when the fast EMA crosses above the slow one, short when it crosses
below; a position exits on the opposite cross.

The rule (`crossing`) is written once for a float and for numpy arrays alike: `on_candle`
applies it to each candle's spread as the streams give it, `batch_events` to TA-Lib's batch
EMAs over a whole series, whose values are bit for bit the streams' (both use TA-Lib's EMA,
seeded with the SMA of the first `period` closes).

A cross is read against the last spread that was not zero, as backtrader's CrossOver reads
it: EMAs that touch and part again on the side they came from have not crossed. Until the
spreads differ from zero the first spread stands. A spread within float noise of zero
(`NOISE` of the price) is zero: over a flat stretch both EMAs settle on the price, a few
units in the last place apart, and that difference is arithmetic, not a trend. (backtrader,
whose EMA rounds differently, can read a cross in that noise; on data without such
stretches the two agree trade for trade.)"""

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

NOISE = 1e-12  # of the price: far above a double's rounding, far below any real spread


def spread_of(fast: Any, slow: Any) -> Any:
    """fast - slow, zero within float noise; floats or arrays (NaN stays NaN)."""
    spread = fast - slow
    return spread * (abs(spread) > NOISE * abs(slow))


def crossing(before: Any, spread: Any) -> Any:
    """+1 where the spread (fast - slow) crosses above 0, -1 where it crosses below, else 0,
    `before` being the last spread that was not zero: for floats, or element-wise for
    arrays (a NaN, still warming up, is never a cross)."""
    up = (before < 0) & (spread > 0)
    down = (before > 0) & (spread < 0)
    return up * 1 - down * 1


def last_nonzero(spread: np.ndarray) -> np.ndarray:
    """Per candle, the last spread up to it that was not zero (the first spread while every
    one has been zero; NaN while warming up)."""
    n = len(spread)
    index = np.where(spread != 0, np.arange(n), -1)  # NaN != 0: warming up counts as set
    valid = np.flatnonzero(~np.isnan(spread))
    if len(valid):
        index[valid[0]] = valid[0]  # the first spread stands, zero or not
    index = np.maximum.accumulate(index)
    return np.where(index >= 0, spread[np.maximum(index, 0)], np.nan)


class EmaCrossover(CandleKind):
    kind = StrategyKind.EMA_CROSSOVER

    def __init__(self, params: EmaCrossoverParams, context: KindContext,
                 state: Mapping[str, Any] | None = None) -> None:
        super().__init__(params, context, state)
        self.p = params
        state = state or {}
        self.fast = IndicatorStream("EMA", params.fast, state=state.get("fast"))
        self.slow = IndicatorStream("EMA", params.slow, state=state.get("slow"))
        # fast - slow: the last one that was not zero (the first while all were)
        self.spread: float | None = state.get("spread")

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
        before, spread = self.spread, float(spread_of(fast, slow))
        if before is None or spread != 0:
            self.spread = spread
        if before is None:
            return []
        event = crossing(before, spread)
        return self.signals_for(event, holding, candle.end, candle.close) if event else []

    def batch_events(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        close = columns["close"]
        spread = spread_of(batch("EMA", self.p.fast, close), batch("EMA", self.p.slow, close))
        events = np.zeros(len(close), dtype=np.int8)
        if len(close) > 1:
            events[1:] = crossing(last_nonzero(spread)[:-1], spread[1:])
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
