"""Candles from CSV text (`date,open,high,low,close,volume`, times ISO 8601 with a UTC
offset), checked row by row: every bad row is reported with its line number, and a file with
any bad row yields no candles at all, so nothing is ever half-imported.

A row is refused when a cell is missing or not a number, a price is not above 0, the volume
is not a whole number of 0 or more, the time has no offset, high is below low, open or close
is outside low..high, or the time is not later than the row before it (a repeat, or out of
order). Blank lines are skipped; an `oi` column is allowed and kept.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from .enums import Timeframe
from .errors import TuiTraderError, ValidationError

REQUIRED = ("date", "open", "high", "low", "close", "volume")
OPTIONAL = ("oi",)
PRICES = ("open", "high", "low", "close")

# Kite's interval names, plus the "1minute"/"1day" spelling (`--interval 1minute`).
_INTERVALS = {t.value: t for t in Timeframe} | {"1minute": Timeframe.MINUTE,
                                                 "1day": Timeframe.DAY}


def parse_interval(text: str | Timeframe) -> Timeframe:
    """`1minute`, `minute`, `5minute`, ..., `day` as a Timeframe."""
    found = _INTERVALS.get(str(text).strip().lower())
    if found is None:
        names = ["1minute"] + [t.value for t in Timeframe if t is not Timeframe.MINUTE]
        raise ValidationError("interval", "must be one of " + ", ".join(names))
    return found


@dataclass(frozen=True)
class CsvCandle:
    """One checked row: `ts` is the candle's start, UTC-aware; `line` its line in the file."""

    line: int
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


class CandleCsvError(TuiTraderError):
    """The file has bad rows; `errors` lists every one, in line order."""

    def __init__(self, errors: list[RowError]) -> None:
        count = len({error.line for error in errors})
        super().__init__(f"{count} bad row{'s' if count != 1 else ''}; nothing imported "
                         f"(first: {errors[0]})")
        self.errors = errors


def _shown(cell: str) -> str:
    """A cell quoted for a message: short, and with no control characters."""
    text = "".join(ch if ch.isprintable() else "?" for ch in cell)
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _time(cell: str) -> tuple[datetime | None, str | None]:
    text = cell.strip()
    if not text:
        return None, "date is empty"
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        return None, f"date {_shown(text)} is not an ISO 8601 time"
    if stamp.tzinfo is None or stamp.utcoffset() is None:
        return None, (f"date {_shown(text)} has no UTC offset (write it like "
                      "2026-11-23T09:15:00+05:30)")
    return stamp.astimezone(UTC), None


def _number(name: str, cell: str) -> tuple[Decimal | None, str | None]:
    text = cell.strip()
    if not text:
        return None, f"{name} is empty"
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        return None, f"{name} {_shown(text)} is not a number"
    return value, None


def _price(name: str, cell: str) -> tuple[Decimal | None, str | None]:
    value, problem = _number(name, cell)
    if value is not None and value <= 0:
        return None, f"{name} {cell.strip()} must be above 0"
    return value, problem


def _count(name: str, cell: str) -> tuple[int | None, str | None]:
    value, problem = _number(name, cell)
    if value is None:
        return None, problem
    if value != value.to_integral_value() or value < 0:
        return None, f"{name} {_shown(cell.strip())} must be a whole number, 0 or more"
    return int(value), None


def _header(row: list[str]) -> tuple[dict[str, int], list[str]]:
    names = [cell.strip().lower() for cell in row]
    problems = []
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        problems.append("missing column" + ("s " if len(missing) > 1 else " ")
                        + ", ".join(missing) + " (the header must name "
                        + ",".join(REQUIRED) + ")")
    unknown = [name for name in names if name not in REQUIRED + OPTIONAL]
    if unknown:
        problems.append("unknown column" + ("s " if len(unknown) > 1 else " ")
                        + ", ".join(_shown(name) for name in unknown))
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append("repeated column " + ", ".join(repeated))
    return {name: index for index, name in enumerate(names)}, problems


def _row(line: int, cells: list[str], columns: dict[str, int], width: int
         ) -> tuple[CsvCandle | None, list[str]]:
    if len(cells) != width:
        return None, [f"has {len(cells)} cells, the header has {width}"]
    problems: list[str] = []
    ts, problem = _time(cells[columns["date"]])
    problems += [problem] if problem else []
    prices: dict[str, Decimal] = {}
    for name in PRICES:
        value, problem = _price(name, cells[columns[name]])
        if problem:
            problems.append(problem)
        else:
            prices[name] = value
    volume, problem = _count("volume", cells[columns["volume"]])
    problems += [problem] if problem else []
    oi = None
    if "oi" in columns and cells[columns["oi"]].strip():
        oi, problem = _count("oi", cells[columns["oi"]])
        problems += [problem] if problem else []
    if len(prices) == len(PRICES):
        low, high = prices["low"], prices["high"]
        if high < low:
            problems.append(f"high {high} is below low {low}")
        else:
            for name in ("open", "close"):
                if not low <= prices[name] <= high:
                    problems.append(f"{name} {prices[name]} is outside low {low} .. "
                                    f"high {high}")
    if problems:
        return None, problems
    return CsvCandle(line=line, ts=ts, volume=volume, oi=oi, **prices), []


def parse_candle_csv(text: str) -> list[CsvCandle]:
    """Every row of `text` as a candle, in file order; raises CandleCsvError listing every
    bad row (with its line number) if there is any."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    errors: list[RowError] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CandleCsvError([RowError(1, f"unreadable CSV ({exc})")]) from None
    if header is None or not any(cell.strip() for cell in header):
        raise CandleCsvError([RowError(1, "no header; the first line must be "
                                          + ",".join(REQUIRED))])
    columns, problems = _header(header)
    if problems:
        raise CandleCsvError([RowError(1, problem) for problem in problems])
    candles: list[CsvCandle] = []
    previous: CsvCandle | None = None
    line = 1
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            candle, problems = _row(line, cells, columns, len(header))
            errors += [RowError(line, problem) for problem in problems]
            if candle is None:
                continue
            if previous is not None and candle.ts <= previous.ts:
                what = "repeats the time of" if candle.ts == previous.ts else "is earlier than"
                written = _shown(cells[columns["date"]].strip())
                errors.append(RowError(line, f"date {written} {what} line {previous.line} "
                                             "(rows must be in time order, each time once)"))
            else:
                previous = candle
            candles.append(candle)
    except csv.Error as exc:
        errors.append(RowError(line + 1, f"unreadable CSV ({exc})"))
    if errors:
        raise CandleCsvError(errors)
    if not candles:
        raise CandleCsvError([RowError(1, "the file has a header but no candles")])
    return candles


__all__ = ["CandleCsvError", "CsvCandle", "RowError", "parse_candle_csv", "parse_interval"]
