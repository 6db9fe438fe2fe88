"""Breakout (the "momentum" kind): long when a candle closes above the highest high of the
`lookback` candles before it, short when it closes below their lowest low; with a volume
filter only a candle whose volume is at least `volume_factor` times their average counts.
A position exits when the price breaks out the other way (a Donchian channel)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.candle import Candle
from ...domain.enums import StrategyKind
from ...domain.kind_params import BreakoutParams
from ..base import CandleKind, KindContext
from ..indicators import IndicatorStream
from ..signals import Action, Holding, Signal, enter


class Breakout(CandleKind):
    kind = StrategyKind.BREAKOUT

    def __init__(self, params: BreakoutParams, context: KindContext,
                 state: Mapping[str, Any] | None = None) -> None:
        super().__init__(params, context, state)
        self.p = params
        state = state or {}
        n = params.lookback
        self.highest = IndicatorStream("MAX", n, state=state.get("highest"))
        self.lowest = IndicatorStream("MIN", n, state=state.get("lowest"))
        self.volume = IndicatorStream("SMA", n, state=state.get("volume"))

    @property
    def lookback(self) -> int:
        return self.p.lookback  # the channel; the next candle may break it

    @property
    def warm(self) -> bool:
        return self.highest.warm

    def candles_seen(self) -> int:
        return min(self.highest.seen, self.lookback)

    def on_candle(self, candle: Candle, holding: Holding) -> list[Signal]:
        # The channel is the N candles before this one: read it, then take this candle in.
        high, low, average = self.highest.value, self.lowest.value, self.volume.value
        self.highest.push(float(candle.high))
        self.lowest.push(float(candle.low))
        self.volume.push(float(candle.volume))
        if high is None or low is None or average is None:
            return []
        close = float(candle.close)
        n, at, price = self.p.lookback, candle.end, candle.close
        if holding is Holding.LONG and close < low:
            return [Signal(Action.EXIT, f"closed below the {n}-candle low {low:,.2f}", at,
                           price)]
        if holding is Holding.SHORT and close > high:
            return [Signal(Action.EXIT, f"closed above the {n}-candle high {high:,.2f}", at,
                           price)]
        if close <= high and close >= low:
            return []
        factor = self.p.volume_factor
        heavy = ""
        if factor is not None:
            if candle.volume < factor * average:
                return []
            heavy = f" on {candle.volume / average:.1f}x average volume" if average else ""
        if close > high:
            return enter(holding, True, f"closed above the {n}-candle high {high:,.2f}{heavy}",
                         at, price)
        return enter(holding, False, f"closed below the {n}-candle low {low:,.2f}{heavy}",
                     at, price)

    def state(self) -> dict[str, Any]:
        return {"highest": self.highest.state(), "lowest": self.lowest.state(),
                "volume": self.volume.state()}

    def indicators(self) -> dict[str, float]:
        if not self.warm:
            return {}
        n = self.p.lookback
        return {f"{n}-candle high": self.highest.value, f"{n}-candle low": self.lowest.value}

    def status(self) -> str:
        if not self.warm:
            return self.warming_status()
        return (f"waiting for a close above {self.highest.value:,.2f} or below "
                f"{self.lowest.value:,.2f}")
