"""A closed candle: one bucket of one symbol's trades, as the candle builder emits it and
strategy kinds read it. Prices are exact Decimals; times are UTC-aware."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .enums import Timeframe


@dataclass(frozen=True, slots=True)
class Candle:
    symbol: str
    timeframe: Timeframe
    start: datetime  # the bucket's first instant: what Kite and the `candles` table stamp
    end: datetime  # the bucket's close: when the candle is complete and emitted
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 0
    vwap: Decimal | None = None  # None when the feed gave no traded quantities
    trades: int = 0  # ticks that carried a traded quantity
    filled: bool = False  # a gap candle (fill_gaps): no trade in the bucket, flat at the
    # previous close

    def describe(self) -> str:
        """'INFY 15minute 09:15 O 1,520.00 H ... C ...' for logs and notes."""
        return (f"{self.symbol} {self.timeframe.value} {self.start:%Y-%m-%d %H:%M}Z "
                f"O {self.open:,.2f} H {self.high:,.2f} L {self.low:,.2f} C {self.close:,.2f}")
