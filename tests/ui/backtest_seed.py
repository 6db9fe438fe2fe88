"""Seeded one-minute candles stored in the database for backtest tests: the trading days of
the week before the context's (frozen) clock, so a form's default range holds them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


@dataclass
class Row:
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int | None = None


def store_minutes(ctx, symbol: str = "INFY", count: int = 375 * 3, seed: int = 7) -> int:
    """`count` seeded minute candles of `symbol` from a week before the clock's day; the
    number stored."""
    from tui_trader.backtest.synthetic import minute_candles
    from tui_trader.db.repositories.candles import CandleRepository
    from tui_trader.domain.clock import IST
    from tui_trader.domain.enums import Timeframe

    first = (ctx.clock.now().astimezone(IST) - timedelta(days=7)).date()
    bars = minute_candles(count, seed=seed, symbol=symbol, first=first,
                          calendar=ctx.calendar)
    rows = [Row(bars.start(i), Decimal(repr(float(bars.open[i]))),
                Decimal(repr(float(bars.high[i]))), Decimal(repr(float(bars.low[i]))),
                Decimal(repr(float(bars.close[i]))), int(bars.volume[i]))
            for i in range(len(bars))]
    with ctx.session() as s:
        CandleRepository(s).store(symbol, "NSE", Timeframe.MINUTE, rows)
    return len(rows)
