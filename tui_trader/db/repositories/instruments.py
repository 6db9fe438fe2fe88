"""The instruments master: symbol lookup, completion, bulk replace from a broker download."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from ...domain.enums import Exchange, InstrumentType
from ...domain.universe import ALL_INSTRUMENTS
from ..models import Instrument


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
