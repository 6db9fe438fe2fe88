"""Importing candles from CSV into the database (SQLite and PostgreSQL): all or nothing,
and the same file twice changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tui_trader.db.repositories.candles import CandleRepository
from tui_trader.domain.candle_csv import CandleCsvError
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import Timeframe
from tui_trader.domain.errors import ValidationError
from tui_trader.services.candle_import import load_candle_file, store_candle_file

HEADER = "date,open,high,low,close,volume\n"
OPEN = datetime(2026, 11, 23, 3, 45, tzinfo=UTC)  # 09:15 IST


def minute_rows(count: int, start: datetime = OPEN, base: float = 100.0) -> str:
    lines = []
    for i in range(count):
        ts = (start + timedelta(minutes=i)).astimezone(IST)
        o = Decimal(str(base + i)).quantize(Decimal("0.05"))
        lines.append(f"{ts.isoformat()},{o},{o + 1},{o - 1},{o + Decimal('0.5')},{10 * i}")
    return HEADER + "\n".join(lines) + "\n"


def stored(ctx, symbol="INFY", exchange="NSE", timeframe=Timeframe.MINUTE):
    with ctx.session() as s:
        return [(c.ts, c.open, c.high, c.low, c.close, c.volume)
                for c in CandleRepository(s).between(symbol, exchange, timeframe,
                                                     OPEN - timedelta(days=1),
                                                     OPEN + timedelta(days=1))]


def test_a_file_is_stored_and_storing_it_again_changes_nothing(ctx, tmp_path):
    path = tmp_path / "infy.csv"
    path.write_text(minute_rows(30))
    first = store_candle_file(ctx, load_candle_file(path, "infy", "1minute"))
    assert (first.candles, first.inserted, first.updated, first.unchanged) == (30, 30, 0, 0)
    assert first.summary() == ("NSE:INFY 1minute: 30 candles, 2026-11-23 09:15 to "
                               "2026-11-23 09:44 IST: 30 new, 0 changed, 0 already stored")
    rows = stored(ctx)
    assert len(rows) == 30 and rows[0] == (OPEN, Decimal("100"), Decimal("101"),
                                           Decimal("99"), Decimal("100.5"), 0)
    again = store_candle_file(ctx, load_candle_file(path, "INFY", "minute"))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 30)
    assert stored(ctx) == rows
    with ctx.session() as s:
        assert CandleRepository(s).count("INFY", "NSE", Timeframe.MINUTE) == 30


def test_a_corrected_file_overwrites_only_the_candles_that_differ(ctx, tmp_path):
    path = tmp_path / "infy.csv"
    path.write_text(minute_rows(5))
    store_candle_file(ctx, load_candle_file(path, "INFY", "1minute"))
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",999"      # a corrected volume
    lines.append(minute_rows(6).splitlines()[-1])        # and one more minute
    path.write_text("\n".join(lines) + "\n")
    report = store_candle_file(ctx, load_candle_file(path, "INFY", "1minute"))
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 4)
    assert [r[5] for r in stored(ctx)] == [0, 10, 999, 30, 40, 50]


def test_symbols_exchanges_and_intervals_are_kept_apart(ctx, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(minute_rows(3))
    store_candle_file(ctx, load_candle_file(path, "INFY", "1minute"))
    store_candle_file(ctx, load_candle_file(path, "INFY", "5minute"))
    store_candle_file(ctx, load_candle_file(path, "INFY", "1minute", exchange="bse"))
    store_candle_file(ctx, load_candle_file(path, "TCS", "1minute"))
    assert len(stored(ctx)) == 3
    assert len(stored(ctx, timeframe=Timeframe.MIN5)) == 3
    assert len(stored(ctx, exchange="BSE")) == 3 and len(stored(ctx, symbol="TCS")) == 3


def test_a_bad_file_raises_before_anything_is_written(ctx, tmp_path):
    path = tmp_path / "bad.csv"
    good = minute_rows(4).splitlines()
    good[2] = good[2].replace("+05:30", "")
    path.write_text("\n".join(good) + "\n")
    with pytest.raises(CandleCsvError) as err:
        load_candle_file(path, "INFY", "1minute")
    assert [e.line for e in err.value.errors] == [3]
    assert stored(ctx) == []


def test_a_store_that_fails_part_way_leaves_the_table_as_it_was(ctx, tmp_path):
    """All or nothing in the database too: an update and new rows are undone when one row
    is refused (here by the table's low <= high check, which the parser never lets by)."""
    path = tmp_path / "infy.csv"
    path.write_text(minute_rows(3))
    store_candle_file(ctx, load_candle_file(path, "INFY", "1minute"))
    before = stored(ctx)
    path.write_text(minute_rows(3, base=200.0) + minute_rows(3, OPEN + timedelta(minutes=3))
                    .split("\n", 1)[1])
    checked = load_candle_file(path, "INFY", "1minute")
    broken = replace(checked.candles[-1], low=Decimal("1000"))
    checked = replace(checked, candles=[*checked.candles[:-1], broken])
    with pytest.raises(sa.exc.IntegrityError):
        store_candle_file(ctx, checked)
    assert stored(ctx) == before


@pytest.mark.parametrize("kwargs,field", [
    ({"symbol": "bad symbol!"}, "symbol"),
    ({"symbol": ""}, "symbol"),
    ({"interval": "2minute"}, "interval"),
    ({"exchange": "NYSE"}, "exchange"),
    ({"path": "missing.csv"}, "file"),
    ({"path": "."}, "file"),
])
def test_bad_arguments_are_one_clear_line(tmp_path, kwargs, field):
    path = tmp_path / "ok.csv"
    path.write_text(minute_rows(2))
    args = {"path": path, "symbol": "INFY", "interval": "1minute", "exchange": "NSE"} | kwargs
    if args["path"] in ("missing.csv", "."):
        args["path"] = tmp_path / args["path"]
    with pytest.raises(ValidationError) as err:
        load_candle_file(**args)
    assert err.value.field == field and "\n" not in str(err.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + "2026-11-23T09:15:00+05:30,1,1,1,1,1 \xe9\n"
                     .encode("latin-1"))
    with pytest.raises(ValidationError) as err:
        load_candle_file(path, "INFY", "1minute")
    assert "is not UTF-8 text" in str(err.value)
