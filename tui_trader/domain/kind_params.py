"""Each strategy kind's parameters as a typed model: type, bounds, step, default, unit, help
text and whether it may change while the strategy runs (`updatable`), plus the rules across
fields (a fast EMA must be faster than the slow one). The catalog registers them; the kinds
in `tui_trader.strategies` read them."""

from __future__ import annotations

from datetime import time

from . import validation as v
from .enums import Timeframe
from .errors import ValidationError
from .labels import label_of
from .settings_schema import SettingsModel, setting

TIMEFRAME_HELP = "Length of the candles the kind reads, anchored at 09:15 IST"


class ScheduledParams(SettingsModel):
    buy_time: time = setting(help="The BUY is placed at this time (IST) on each trading day "
                                  "whose session holds both times")
    sell_time: time = setting(help="The position is sold at this time (IST) the same day")

    def broken_rules(self) -> dict[str, str]:
        # Which session holds the times needs the calendar's special sessions: the
        # strategy form checks that (domain.strategy_rules).
        try:
            v.buy_before_sell(self.buy_time, self.sell_time)
        except ValidationError as exc:
            return {exc.field: exc.rule}
        return {}


class EmaCrossoverParams(SettingsModel):
    fast: int = setting(9, help="Candles in the fast EMA", ge=2, le=100, unit="candles")
    slow: int = setting(21, help="Candles in the slow EMA", ge=3, le=200, unit="candles")
    timeframe: Timeframe = setting(Timeframe.MIN15, help=TIMEFRAME_HELP)

    def broken_rules(self) -> dict[str, str]:
        if self.fast >= self.slow:
            return {"fast": f"must be below {label_of('slow')} ({self.slow})"}
        return {}


class RsiReversionParams(SettingsModel):
    period: int = setting(14, help="Candles in the RSI (Wilder)", ge=2, le=50, unit="candles")
    oversold: float = setting(30.0, help="Long when the RSI climbs back above this",
                              ge=5, le=45, step=1, updatable=True)
    overbought: float = setting(70.0, help="Short when the RSI falls back below this; a "
                                           "long exits above it", ge=55, le=95, step=1,
                                updatable=True)
    timeframe: Timeframe = setting(Timeframe.MIN15, help=TIMEFRAME_HELP)


class BreakoutParams(SettingsModel):
    lookback: int = setting(20, help="A close above the highest high (below the lowest low) "
                                     "of this many candles before it is a breakout",
                            ge=2, le=200, unit="candles")
    volume_factor: float | None = setting(
        None, help="Only a breakout candle whose volume is at least this many times the "
                   "average of the lookback candles counts; empty: no volume filter",
        ge=1, le=10, step=0.1, updatable=True)
    timeframe: Timeframe = setting(Timeframe.MIN15, help=TIMEFRAME_HELP)


class SupertrendParams(SettingsModel):
    atr_period: int = setting(10, help="Candles in the ATR (Wilder) the bands are built on",
                              ge=2, le=100, unit="candles")
    multiplier: float = setting(3.0, help="Band distance from the candle's mid-price, in ATRs",
                                ge=0.5, le=10, step=0.5)
    timeframe: Timeframe = setting(Timeframe.MIN15, help=TIMEFRAME_HELP)
