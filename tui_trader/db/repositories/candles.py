"""Stored candles: write a batch idempotently (a candle is keyed by symbol, exchange,
timeframe and start time; storing the same one again changes nothing), and read a range."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlmodel import Session, col, func, select

from ...domain.clock import ensure_utc
from ...domain.enums import Timeframe
from ..models import Candle

_FIELDS = ("open", "high", "low", "close", "volume", "oi")
_CHUNK = 5000  # rows per INSERT statement


class CandleValues(Protocol):
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int | None


@dataclass(frozen=True)
class StoreCount:
    inserted: int
    updated: int
    unchanged: int


class CandleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def store(self, symbol: str, exchange: str, timeframe: Timeframe,
              rows: Sequence[CandleValues]) -> StoreCount:
        """Insert new candles, overwrite stored ones that differ, leave equal ones alone.
        Candles already stored at other times are kept. All in the caller's transaction."""
        if not rows:
            return StoreCount(0, 0, 0)
        times = [ensure_utc(row.ts) for row in rows]
        stored = {ensure_utc(c.ts): c for c in self.session.exec(select(Candle).where(
            Candle.symbol == symbol, Candle.exchange == exchange,
            Candle.timeframe == timeframe, col(Candle.ts) >= min(times),
            col(Candle.ts) <= max(times)))}
        new: list[dict] = []
        updated = unchanged = 0
        for ts, row in zip(times, rows, strict=True):
            current = stored.get(ts)
            if current is None:
                new.append({"symbol": symbol, "exchange": exchange, "timeframe": timeframe,
                            "ts": ts, **{name: getattr(row, name) for name in _FIELDS}})
            elif all(getattr(current, name) == getattr(row, name) for name in _FIELDS):
                unchanged += 1
            else:
                for name in _FIELDS:
                    setattr(current, name, getattr(row, name))
                updated += 1
        table = Candle.__table__
        for start in range(0, len(new), _CHUNK):
            self.session.connection().execute(table.insert(), new[start:start + _CHUNK])
        self.session.flush()
        return StoreCount(len(new), updated, unchanged)

    def between(self, symbol: str, exchange: str, timeframe: Timeframe,
                start: datetime, end: datetime) -> list[Candle]:
        """The stored candles starting in [start, end], oldest first."""
        return list(self.session.exec(select(Candle).where(
            Candle.symbol == symbol, Candle.exchange == exchange,
            Candle.timeframe == timeframe, col(Candle.ts) >= ensure_utc(start),
            col(Candle.ts) <= ensure_utc(end)).order_by(col(Candle.ts))))

    def count(self, symbol: str, exchange: str, timeframe: Timeframe) -> int:
        return int(self.session.exec(select(func.count()).select_from(Candle).where(
            Candle.symbol == symbol, Candle.exchange == exchange,
            Candle.timeframe == timeframe)).one())
