"""Supertrend: bands `multiplier` ATRs (Wilder, from TA-Lib) either side of the candle's
mid-price; the lower band only rises and the upper only falls while the close stays beyond
them. The trend turns up when a close clears the previous upper band and down when one
breaks the previous lower band: a turn up goes long (exiting a short), a turn down short.
The bands and trend are kept as state, so a restored strategy continues exactly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.candle import Candle
from ...domain.enums import StrategyKind
from ...domain.kind_params import SupertrendParams
from ..base import CandleKind, KindContext
from ..indicators import IndicatorStream
from ..signals import Holding, Signal, enter

UP, DOWN = 1, -1


class Supertrend(CandleKind):
    kind = StrategyKind.SUPERTREND

    def __init__(self, params: SupertrendParams, context: KindContext,
                 state: Mapping[str, Any] | None = None) -> None:
        super().__init__(params, context, state)
        self.p = params
        state = state or {}
        self.atr = IndicatorStream("ATR", params.atr_period, inputs=3, state=state.get("atr"))
        self.lower: float | None = state.get("lower")
        self.upper: float | None = state.get("upper")
        self.trend: int | None = state.get("trend")
        self.close: float | None = state.get("close")  # the previous candle's close

    @property
    def lookback(self) -> int:
        return self.atr.need

    @property
    def warm(self) -> bool:
        return self.trend is not None

    def candles_seen(self) -> int:
        return min(self.atr.seen, self.lookback)

    def on_candle(self, candle: Candle, holding: Holding) -> list[Signal]:
        high, low, close = float(candle.high), float(candle.low), float(candle.close)
        atr = self.atr.push(high, low, close)
        before_close, self.close = self.close, close
        if atr is None:
            return []
        mid = (high + low) / 2
        lower, upper = mid - self.p.multiplier * atr, mid + self.p.multiplier * atr
        prev_lower, prev_upper, prev_trend = self.lower, self.upper, self.trend
        if prev_lower is not None and before_close is not None and before_close > prev_lower:
            lower = max(lower, prev_lower)
        if prev_upper is not None and before_close is not None and before_close < prev_upper:
            upper = min(upper, prev_upper)
        self.lower, self.upper = lower, upper
        if prev_trend is None:
            self.trend = UP
            return []
        trend = prev_trend
        if prev_trend == DOWN and prev_upper is not None and close > prev_upper:
            trend = UP
        elif prev_trend == UP and prev_lower is not None and close < prev_lower:
            trend = DOWN
        self.trend = trend
        if trend == prev_trend:
            return []
        name = f"Supertrend {self.p.atr_period},{self.p.multiplier:g}"
        if trend == UP:
            return enter(holding, True, f"{name} turned up (close above {prev_upper:,.2f})",
                         candle.end, candle.close)
        return enter(holding, False, f"{name} turned down (close below {prev_lower:,.2f})",
                     candle.end, candle.close)

    def state(self) -> dict[str, Any]:
        return {"atr": self.atr.state(), "lower": self.lower, "upper": self.upper,
                "trend": self.trend, "close": self.close}

    def line(self) -> float | None:
        """The Supertrend line: the lower band in an up trend, the upper in a down one."""
        if self.trend is None:
            return None
        return self.lower if self.trend == UP else self.upper

    def indicators(self) -> dict[str, float]:
        line = self.line()
        return {f"Supertrend {self.p.atr_period},{self.p.multiplier:g}": line} \
            if line is not None else {}

    def status(self) -> str:
        if not self.warm:
            return self.warming_status()
        if self.trend == UP:
            return f"trend up: waiting for a close below {self.lower:,.2f}"
        return f"trend down: waiting for a close above {self.upper:,.2f}"
