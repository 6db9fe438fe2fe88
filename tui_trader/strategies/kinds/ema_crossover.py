"""EMA crossover: long when the fast EMA crosses above the slow one, short when it crosses
below; a position exits on the opposite cross."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.candle import Candle
from ...domain.enums import StrategyKind
from ...domain.kind_params import EmaCrossoverParams
from ..base import CandleKind, KindContext
from ..indicators import IndicatorStream
from ..signals import Holding, Signal, enter


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
        names = f"EMA {self.p.fast}", f"EMA {self.p.slow}"
        if before <= 0 < self.spread:
            return enter(holding, True, f"{names[0]} crossed above {names[1]}", candle.end,
                         candle.close)
        if before >= 0 > self.spread:
            return enter(holding, False, f"{names[0]} crossed below {names[1]}", candle.end,
                         candle.close)
        return []

    def state(self) -> dict[str, Any]:
        return {"fast": self.fast.state(), "slow": self.slow.state(), "spread": self.spread}

    def indicators(self) -> dict[str, float]:
        return {f"EMA {self.p.fast}": self.fast.value, f"EMA {self.p.slow}": self.slow.value} \
            if self.warm else {}

    def status(self) -> str:
        if not self.warm:
            return self.warming_status()
        return f"waiting for EMA {self.p.fast} to cross EMA {self.p.slow}"
