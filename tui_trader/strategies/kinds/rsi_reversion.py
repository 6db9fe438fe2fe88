"""RSI reversion: long when the RSI climbs back above oversold, short when it falls back
below overbought; a long exits once the RSI reaches overbought, a short once it reaches
oversold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.candle import Candle
from ...domain.enums import StrategyKind
from ...domain.kind_params import RsiReversionParams
from ..base import CandleKind, KindContext
from ..indicators import IndicatorStream
from ..signals import Action, Holding, Signal, enter


class RsiReversion(CandleKind):
    kind = StrategyKind.RSI_REVERSION

    def __init__(self, params: RsiReversionParams, context: KindContext,
                 state: Mapping[str, Any] | None = None) -> None:
        super().__init__(params, context, state)
        self.p = params
        state = state or {}
        self.rsi = IndicatorStream("RSI", params.period, state=state.get("rsi"))
        self.last: float | None = state.get("last")  # the RSI after the last candle

    @property
    def lookback(self) -> int:
        return self.rsi.need

    @property
    def warm(self) -> bool:
        return self.last is not None

    def candles_seen(self) -> int:
        return min(self.rsi.seen, self.lookback)

    def on_candle(self, candle: Candle, holding: Holding) -> list[Signal]:
        rsi = self.rsi.push(float(candle.close))
        if rsi is None:
            return []
        before, self.last = self.last, rsi
        if before is None:
            return []
        name, low, high = f"RSI {self.p.period}", self.p.oversold, self.p.overbought
        at, price = candle.end, candle.close
        if holding is Holding.LONG and rsi >= high:
            return [Signal(Action.EXIT, f"{name} reached overbought {high:g} ({rsi:.1f})",
                           at, price)]
        if holding is Holding.SHORT and rsi <= low:
            return [Signal(Action.EXIT, f"{name} reached oversold {low:g} ({rsi:.1f})",
                           at, price)]
        if before < low <= rsi:
            return enter(holding, True, f"{name} climbed back above {low:g} ({rsi:.1f})",
                         at, price)
        if before > high >= rsi:
            return enter(holding, False, f"{name} fell back below {high:g} ({rsi:.1f})",
                         at, price)
        return []

    def state(self) -> dict[str, Any]:
        return {"rsi": self.rsi.state(), "last": self.last}

    def indicators(self) -> dict[str, float]:
        return {f"RSI {self.p.period}": self.last} if self.last is not None else {}

    def status(self) -> str:
        if not self.warm:
            return self.warming_status()
        return (f"RSI {self.p.period} at {self.last:.1f}: waiting for it to leave "
                f"{self.p.oversold:g}-{self.p.overbought:g}")
