"""The instruments master: symbol lookup, completion, bulk replace from a broker download,
and the newest stored price of a symbol (the last candle close or the master's last price)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Session, col, select

from ...domain.enums import Exchange, InstrumentType, Timeframe
from ...domain.stop_rule import LAST_CLOSE, LAST_KNOWN, KnownPrice
from ...domain.timeframes import nominal_span
from ...domain.universe import ALL_INSTRUMENTS
from ..models import Candle, Instrument

# How long after its start a candle's close is the price (the close is its last trade).
CANDLE_SPAN = {timeframe: nominal_span(timeframe) for timeframe in Timeframe}


class InstrumentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, symbol: str, exchange: str = "NSE") -> Instrument | None:
        return self.session.exec(select(Instrument).where(
            Instrument.symbol == symbol, Instrument.exchange == exchange)).first()

    def complete(self, prefix: str, limit: int = 20) -> list[Instrument]:
        """Symbols starting with `prefix` (case-insensitive), shortest first."""
        text = prefix.strip().upper()
        if not text:
            return []
        rows = self.session.exec(select(Instrument).where(
            col(Instrument.symbol).startswith(text)).limit(limit * 4)).all()
        return sorted(rows, key=lambda r: (len(r.symbol), r.symbol))[:limit]

    def last_known_price(self, symbol: str, exchange: str = "NSE") -> KnownPrice | None:
        """The stored price of `symbol`: its last candle's close (real market data), else
        the master's last price (a download's, or the last one an engine saw: see
        `remember_prices`)."""
        candle = self.session.exec(select(Candle).where(
            Candle.symbol == symbol, Candle.exchange == exchange)
            .order_by(col(Candle.ts).desc()).limit(1)).first()
        if candle is not None:
            return KnownPrice(symbol, candle.close, LAST_CLOSE,
                              candle.ts + CANDLE_SPAN.get(candle.timeframe, timedelta(0)))
        row = self.get(symbol, exchange)
        if row is not None and row.last_price is not None and row.last_price > 0:
            return KnownPrice(symbol, row.last_price, LAST_KNOWN, row.updated_at)
        return None

    def remember_prices(self, prices: Mapping[str, tuple[Decimal, datetime]],
                        exchange: str = "NSE") -> int:
        """Keep the latest prices seen (symbol -> (price, when)) as the master's last
        price, so the next start knows them: the simulated market goes on from them and a
        stop-loss set at night is judged against them."""
        if not prices:
            return 0
        table = Instrument.__table__
        result = self.session.connection().execute(
            table.update().where(table.c.symbol == sa.bindparam("sym"),
                                 table.c.exchange == exchange)
            .values(last_price=sa.bindparam("px"), updated_at=sa.bindparam("at")),
            [{"sym": s, "px": p, "at": at} for s, (p, at) in prices.items()])
        return result.rowcount or 0

    def last_prices(self, exchange: str = "NSE") -> dict[str, Decimal]:
        """Every symbol's stored last price (what a simulated market starts from)."""
        rows = self.session.exec(select(Instrument.symbol, Instrument.last_price).where(
            Instrument.exchange == exchange, col(Instrument.last_price).is_not(None))).all()
        return {symbol: price for symbol, price in rows if price is not None and price > 0}

    def count(self) -> int:
        return len(self.session.exec(select(Instrument.id)).all())

    def upsert_many(self, rows: Iterable[Instrument]) -> int:
        existing = {(i.exchange, i.symbol): i for i in self.session.exec(select(Instrument))}
        count = 0
        for row in rows:
            current = existing.get((row.exchange, row.symbol))
            if current is None:
                self.session.add(row)
            else:
                for field in ("instrument_token", "exchange_token", "name", "segment",
                              "instrument_type", "tick_size", "lot_size", "expiry", "strike",
                              "last_price"):
                    setattr(current, field, getattr(row, field))
            count += 1
        self.session.flush()
        return count

    def seed_defaults(self) -> int:
        """Fill an empty table with the NIFTY 50 and indices a new install knows."""
        if self.session.exec(select(Instrument.id).limit(1)).first() is not None:
            return 0
        return self.upsert_many(
            Instrument(instrument_token=i.token, exchange_token=i.token >> 8, symbol=i.symbol,
                       name=i.name, exchange=Exchange(i.exchange),
                       segment="INDICES" if i.instrument_type == "INDEX" else i.exchange,
                       instrument_type=InstrumentType(i.instrument_type), tick_size=i.tick_size,
                       lot_size=i.lot_size, last_price=i.ref_price)
            for i in ALL_INSTRUMENTS)
