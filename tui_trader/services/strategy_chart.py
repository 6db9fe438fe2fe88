"""What the strategy detail screen and the quote panel show, read from what is stored: a
symbol's quote (last known price and today's range), and a strategy's recent candles with
its kind's indicators (computed by the kind's own code, fed the same candles) and its
entries and exits (its filled orders). When no candles are stored the chart says so in
words; nothing here fetches from a broker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from sqlmodel import col, select

from ..db.models import Candle as CandleRow
from ..db.models import Order
from ..db.repositories import StrategyRepository
from ..domain.candle import Candle
from ..domain.clock import IST, ist_datetime
from ..domain.enums import OrderStatus, StrategyKind, Timeframe
from ..domain.stop_rule import KnownPrice
from ..domain.timeframes import describe, nominal_span
from ..strategies.base import KindContext
from ..strategies.registry import make_kind
from ..strategies.signals import Holding
from .context import AppContext
from .strategies import StrategyService, kind_settings

SHOWN = 60  # candles drawn
WARM_UP = 200  # candles read before them so the indicators are warm where the chart starts
# A kind without a timeframe (scheduled) is drawn on the first of these that is stored.
PREFERRED = (Timeframe.MIN15, Timeframe.MIN5, Timeframe.MIN30, Timeframe.MIN60,
             Timeframe.MINUTE, Timeframe.DAY)


@dataclass(frozen=True)
class Quote:
    """A symbol's last known price (and where it comes from) and today's range."""

    symbol: str
    price: KnownPrice | None
    day_low: Decimal | None = None
    day_high: Decimal | None = None

    def words(self) -> str:
        """'INFY 1,534.50 (last close) · day 1,512.00-1,540.00'; says plainly what is
        not known."""
        if self.price is None:
            return f"{self.symbol}: no price known yet (no tick, candle or master price)"
        source = "live" if self.price.source == "live" else self.price.source
        text = f"{self.symbol} {self.price.price:,.2f} ({source})"
        if self.day_low is not None and self.day_high is not None:
            return f"{text} · day {self.day_low:,.2f}-{self.day_high:,.2f}"
        return f"{text} · no candles stored today for a day range"


@dataclass(frozen=True)
class Marker:
    at: int  # the candle index it falls in
    price: Decimal
    entry: bool  # an entry (True) or an exit
    words: str  # "BUY 10 @ 1,520.00"


@dataclass(frozen=True)
class ChartData:
    symbol: str
    timeframe: Timeframe | None
    candles: list[Candle] = field(default_factory=list)
    # name -> one value per candle (None while warming up); `lower` ones (RSI) on their
    # own scale below the price.
    overlays: dict[str, list[float | None]] = field(default_factory=dict)
    lower: dict[str, list[float | None]] = field(default_factory=dict)
    markers: list[Marker] = field(default_factory=list)
    note: str = ""  # why there is nothing to draw, in words

    @property
    def title(self) -> str:
        frame = describe(self.timeframe) if self.timeframe is not None else "no"
        return f"{self.symbol} · {frame} candles"


class ChartService:
    def __init__(self, ctx: AppContext, user_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.user_id = user_id

    # -- quote -------------------------------------------------------------------------
    def quote(self, symbol: str, exchange: str = "NSE") -> Quote:
        symbol = symbol.strip().upper()
        price = StrategyService(self.ctx, self.user_id).last_known_price(symbol, exchange)
        local = self.ctx.clock.now().astimezone(IST)
        start = ist_datetime(local.date(), time(0, 0))
        with self.ctx.session() as s:
            rows = s.exec(select(CandleRow.low, CandleRow.high).where(
                CandleRow.symbol == symbol, CandleRow.exchange == exchange,
                CandleRow.timeframe != Timeframe.DAY, col(CandleRow.ts) >= start)).all()
        if not rows:
            return Quote(symbol, price)
        return Quote(symbol, price, min(r[0] for r in rows), max(r[1] for r in rows))

    # -- chart -------------------------------------------------------------------------
    def chart(self, strategy_id: uuid.UUID | str) -> ChartData:
        with self.ctx.session() as s:
            row = StrategyRepository(s, self.user_id).get(strategy_id)
            params, _, product = kind_settings(row)
            kind, symbol, exchange = row.kind, row.symbol, row.exchange
            if kind is StrategyKind.SCHEDULED:
                params = {"buy_time": row.buy_time, "sell_time": row.sell_time}
            frame = self._timeframe(s, kind, params, symbol, exchange)
            if frame is None:
                wanted = params.get("timeframe")
                what = (f"{describe(Timeframe(wanted))} candles" if wanted
                        else "candles")
                return ChartData(symbol, Timeframe(wanted) if wanted else None,
                                 note=f"No {what} stored for {symbol}: store some "
                                      f"(tui-trader market candles or market import-csv) "
                                      f"to see the chart")
            stored = list(s.exec(select(CandleRow).where(
                CandleRow.symbol == symbol, CandleRow.exchange == exchange,
                CandleRow.timeframe == frame,
                col(CandleRow.ts) <= self.ctx.clock.now())
                .order_by(col(CandleRow.ts).desc()).limit(SHOWN + WARM_UP)))
            stored.reverse()
            orders = list(s.exec(select(Order).where(
                Order.strategy_id == row.id, Order.status == OrderStatus.FILLED)
                .order_by(col(Order.created_at))))
        span = nominal_span(frame)
        candles = [Candle(symbol, frame, c.ts, c.ts + span, c.open, c.high, c.low, c.close,
                          c.volume) for c in stored]
        overlays, lower = self._indicators(kind, params, product, symbol, candles)
        shown = candles[-SHOWN:]
        cut = len(candles) - len(shown)
        overlays = {k: v[cut:] for k, v in overlays.items()}
        lower = {k: v[cut:] for k, v in lower.items()}
        return ChartData(symbol, frame, shown, overlays, lower, _markers(shown, orders))

    def _timeframe(self, s, kind: StrategyKind, params: dict, symbol: str,
                   exchange: str) -> Timeframe | None:
        """The kind's timeframe when its candles are stored; a kind without one is drawn
        on the first preferred timeframe stored."""
        wanted = [Timeframe(params["timeframe"])] if params.get("timeframe") else \
            list(PREFERRED)
        for frame in wanted:
            if s.exec(select(CandleRow.ts).where(
                    CandleRow.symbol == symbol, CandleRow.exchange == exchange,
                    CandleRow.timeframe == frame).limit(1)).first() is not None:
                return frame
        return None

    def _indicators(self, kind: StrategyKind, params: dict, product: str, symbol: str,
                    candles: list[Candle]
                    ) -> tuple[dict[str, list[float | None]], dict[str, list[float | None]]]:
        """Each indicator the kind shows a trader, after each candle: the kind's own code
        fed the candles (one implementation of every indicator)."""
        if kind is StrategyKind.SCHEDULED or not candles:
            return {}, {}
        from ..domain.enums import Product

        try:
            runner = make_kind(kind, params, KindContext(symbol, self.ctx.calendar),
                               product=Product(product))
        except Exception:  # settings that no longer validate: draw the candles alone
            return {}, {}
        series: dict[str, list[float | None]] = {}
        for n, candle in enumerate(candles):
            runner.on_candle(candle, Holding.FLAT)
            for name, value in runner.indicators().items():
                series.setdefault(name, [None] * n).append(
                    None if value is None else float(value))
            for values in series.values():
                if len(values) < n + 1:
                    values.append(None)
        low = min(float(c.low) for c in candles)
        high = max(float(c.high) for c in candles)
        overlays, lower = {}, {}
        for name, values in series.items():
            known = [v for v in values if v is not None]
            # An indicator on the price's scale is drawn over the candles; one on its own
            # scale (the RSI's 0-100) below them.
            on_price = bool(known) and low * 0.5 <= sorted(known)[len(known) // 2] <= high * 1.5
            (overlays if on_price else lower)[name] = values
        return overlays, lower


def _markers(candles: list[Candle], orders: list[Order]) -> list[Marker]:
    """The strategy's fills that fall within the drawn candles."""
    if not candles:
        return []
    out = []
    for order in orders:
        at: datetime | None = order.placed_at or order.created_at
        price = order.average_price or order.price
        if at is None or price is None:
            continue
        index = next((i for i, c in enumerate(candles) if c.start <= at < c.end), None)
        if index is None and candles[-1].end <= at < candles[-1].end + timedelta(minutes=1):
            index = len(candles) - 1
        if index is None:
            continue
        entry = order.reason.value == "BUY"
        out.append(Marker(index, price, entry,
                          f"{order.side.value} {order.filled_quantity} @ {price:,.2f}"))
    return out
