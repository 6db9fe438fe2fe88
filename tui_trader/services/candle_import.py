"""Importing candles from a CSV file into the `candles` table.

Two steps, so that bad input changes nothing: `load_candle_file` reads and checks everything
(the symbol, exchange and interval, then every row) without touching the database; only a
file with no bad row reaches `store_candle_file`, which writes it in one transaction.
Importing the same file again changes nothing; a file that corrects some candles overwrites
just those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..db.repositories.candles import CandleRepository
from ..domain import validation
from ..domain.candle_csv import CsvCandle, parse_candle_csv, parse_interval
from ..domain.clock import IST
from ..domain.enums import Exchange, Timeframe
from ..domain.errors import ValidationError

if TYPE_CHECKING:
    from .context import AppContext


@dataclass(frozen=True)
class CandleFile:
    """A checked CSV file, ready to store."""

    path: Path
    symbol: str
    exchange: str
    timeframe: Timeframe
    candles: list[CsvCandle]


@dataclass(frozen=True)
class CandleImport:
    symbol: str
    exchange: str
    timeframe: Timeframe
    candles: int
    inserted: int
    updated: int
    unchanged: int
    first: datetime
    last: datetime

    def summary(self) -> str:
        """One line: what was stored, and what was there already."""
        fmt = "%Y-%m-%d %H:%M"
        interval = "1minute" if self.timeframe is Timeframe.MINUTE else self.timeframe.value
        return (f"{self.exchange}:{self.symbol} {interval}: {self.candles} "
                f"candles, {self.first.astimezone(IST):{fmt}} to "
                f"{self.last.astimezone(IST):{fmt}} IST: {self.inserted} new, "
                f"{self.updated} changed, {self.unchanged} already stored")


def _exchange(text: str) -> str:
    value = (text or "").strip().upper()
    if value not in {e.value for e in Exchange}:
        raise ValidationError("exchange", "must be one of " + ", ".join(e.value
                                                                         for e in Exchange))
    return value


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ValidationError("file", f"{path}: no such file") from None
    except IsADirectoryError:
        raise ValidationError("file", f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise ValidationError("file", f"{path}: cannot be read "
                                      f"({exc.strerror or type(exc).__name__})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError("file", f"{path}: is not UTF-8 text (byte {exc.start + 1})"
                              ) from None


def load_candle_file(path: str | Path, symbol: str, interval: str,
                     exchange: str = "NSE") -> CandleFile:
    """Check the arguments and every row of the file; raises ValidationError for a bad
    argument and CandleCsvError (every bad row) for a bad file."""
    name = validation.symbol(symbol)
    where = _exchange(exchange)
    timeframe = parse_interval(interval)
    path = Path(path)
    return CandleFile(path, name, where, timeframe, parse_candle_csv(_read(path)))


def store_candle_file(ctx: AppContext, checked: CandleFile) -> CandleImport:
    """Store a checked file's candles, all or none."""
    with ctx.session() as s:
        count = CandleRepository(s).store(checked.symbol, checked.exchange,
                                          checked.timeframe, checked.candles)
    return CandleImport(checked.symbol, checked.exchange, checked.timeframe,
                        len(checked.candles), count.inserted, count.updated, count.unchanged,
                        checked.candles[0].ts, checked.candles[-1].ts)


__all__ = ["CandleFile", "CandleImport", "load_candle_file", "store_candle_file"]
