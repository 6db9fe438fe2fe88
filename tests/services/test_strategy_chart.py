"""The detail screen's data: a strategy's stored candles with its kind's indicators and its
fills marked; a symbol's quote (last price, today's range); and plain words when nothing
is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest
import talib

from tui_trader.db.models import Order, Strategy
from tui_trader.db.repositories.candles import CandleRepository
from tui_trader.domain.clock import IST, ist_date
from tui_trader.domain.enums import (
    IntentState,
    OrderReason,
    OrderStatus,
    Side,
    StrategyKind,
    Timeframe,
)
from tui_trader.services.auth import AuthService
from tui_trader.services.strategies import StrategyService
from tui_trader.services.strategy_chart import SHOWN, ChartService


@dataclass
class Bar:
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 100
    oi: int | None = None


def bars(end: datetime, n: int, start: float = 1500.0) -> list[Bar]:
    """n 15-minute candles ending at `end`, a fixed zig-zag on the 0.05 grid."""
    out = []
    for i in range(n):
        close = Decimal(str(round(start + 8 * ((i % 11) - 5) + 0.5 * i, 1)))
        at = end - timedelta(minutes=15 * (n - i))
        out.append(Bar(at, close - 1, close + 3, close - 4, close))
    return out


@pytest.fixture
def user(ctx):
    return AuthService(ctx).sign_up("chart@example.com", "correct-horse-1")


def test_no_stored_candles_is_said_plainly(ctx, user):
    spec = StrategyService(ctx, user.id).create(
        {"name": "INFY", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
         "stop_loss": "1", "quantity": "1"})
    chart = ChartService(ctx, user.id).chart(spec.id)
    assert chart.candles == [] and chart.markers == []
    assert chart.note.startswith("No candles stored for INFY: store some")


def test_an_ema_strategy_shows_its_emas_over_the_candles_and_its_fill(ctx, user):
    now = ctx.clock.now()
    series = bars(now, 90)
    with ctx.session() as s:
        CandleRepository(s).store("INFY", "NSE", Timeframe.MIN15, series)
        row = Strategy(user_id=user.id, name="EMA", kind=StrategyKind.EMA_CROSSOVER,
                       symbol="INFY", buy_time=datetime.min.time().replace(hour=9, minute=15),
                       sell_time=datetime.min.time().replace(hour=15, minute=15),
                       stop_loss=Decimal("1"), quantity=5,
                       parameters={"params": {"fast": 3, "slow": 5, "timeframe": "15minute"},
                                   "exits": {"stop_mode": "percent", "stop_loss": "1"}})
        s.add(row)
        s.flush()
        filled_at = series[-10].ts + timedelta(minutes=2)
        s.add(Order(user_id=user.id, strategy_id=row.id, intent_key="k", client_tag="t",
                    intent_state=IntentState.DONE, trading_day=ist_date(filled_at),
                    symbol="INFY", side=Side.BUY, reason=OrderReason.BUY, quantity=5,
                    filled_quantity=5, average_price=series[-10].close,
                    status=OrderStatus.FILLED, placed_at=filled_at, created_at=filled_at,
                    updated_at=filled_at))
        strategy_id = row.id
    chart = ChartService(ctx, user.id).chart(strategy_id)
    assert chart.note == "" and len(chart.candles) == SHOWN
    assert chart.title == "INFY · 15 min candles"
    assert set(chart.overlays) == {"EMA 3", "EMA 5"} and chart.lower == {}
    closes = np.array([float(b.close) for b in series])
    for name, period in (("EMA 3", 3), ("EMA 5", 5)):
        values = chart.overlays[name]
        assert len(values) == SHOWN
        assert values[-1] == pytest.approx(talib.EMA(closes, timeperiod=period)[-1])
    (marker,) = chart.markers
    assert (marker.at, marker.entry, marker.price) == (SHOWN - 10, True, series[-10].close)
    assert marker.words == f"BUY 5 @ {series[-10].close:,.2f}"


def test_an_rsi_strategy_draws_its_rsi_on_its_own_scale(ctx, user):
    with ctx.session() as s:
        CandleRepository(s).store("TCS", "NSE", Timeframe.MIN15, bars(ctx.clock.now(), 70))
        row = Strategy(user_id=user.id, name="RSI", kind=StrategyKind.RSI_REVERSION,
                       symbol="TCS", buy_time=datetime.min.time().replace(hour=9, minute=15),
                       sell_time=datetime.min.time().replace(hour=15, minute=15),
                       stop_loss=Decimal("1"), quantity=1,
                       parameters={"params": {"period": 14, "timeframe": "15minute"}})
        s.add(row)
        s.flush()
        strategy_id = row.id
    chart = ChartService(ctx, user.id).chart(strategy_id)
    assert list(chart.lower) == ["RSI 14"] and chart.overlays == {}
    assert all(0 <= v <= 100 for v in chart.lower["RSI 14"] if v is not None)


def test_a_quote_has_the_last_price_and_todays_range(ctx, user):
    ctx.clock.set(datetime(2026, 11, 23, 11, 0, tzinfo=IST))
    today = bars(ctx.clock.now(), 6)  # 09:30-10:45 today
    with ctx.session() as s:
        CandleRepository(s).store("INFY", "NSE", Timeframe.MIN15, today)
    quote = ChartService(ctx, user.id).quote("infy")
    assert quote.day_low == min(b.low for b in today)
    assert quote.day_high == max(b.high for b in today)
    assert quote.words() == (f"INFY {today[-1].close:,.2f} (last close) · day "
                             f"{quote.day_low:,.2f}-{quote.day_high:,.2f}")
    assert ChartService(ctx, user.id).quote("NOSUCH").words() == \
        "NOSUCH: no price known yet (no tick, candle or master price)"
