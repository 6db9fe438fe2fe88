"""Candles from CSV text: every bad row reported with its line number, nothing returned
when any row is bad."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tui_trader.domain.candle_csv import (
    CandleCsvError,
    parse_candle_csv,
    parse_interval,
)
from tui_trader.domain.enums import Timeframe
from tui_trader.domain.errors import ValidationError

HEADER = "date,open,high,low,close,volume\n"


def errors_of(text: str) -> list[str]:
    with pytest.raises(CandleCsvError) as err:
        parse_candle_csv(text)
    return [str(e) for e in err.value.errors]


def test_good_rows_become_utc_candles_in_file_order():
    candles = parse_candle_csv(
        HEADER
        + "2026-11-23T09:15:00+05:30,100,101.5,99.95,100.05,1200\n"
        + "2026-11-23T03:46:00Z,100.05,100.1,100,100.1,0\n")
    assert [c.line for c in candles] == [2, 3]
    assert candles[0].ts == datetime(2026, 11, 23, 3, 45, tzinfo=UTC)
    assert candles[1].ts == datetime(2026, 11, 23, 3, 46, tzinfo=UTC)
    first = candles[0]
    assert (first.open, first.high, first.low, first.close, first.volume, first.oi) == (
        Decimal("100"), Decimal("101.5"), Decimal("99.95"), Decimal("100.05"), 1200, None)


def test_bom_crlf_blank_lines_column_order_spaces_and_oi_are_fine():
    text = ("\ufeffOpen, High ,low,close,volume,date,oi\r\n"
            "100,101,99,100,5,2026-11-23T09:15:00+05:30,7\r\n"
            "\r\n"
            "100,101,99,100,5,2026-11-23T09:16:00+05:30,\r\n")
    candles = parse_candle_csv(text)
    assert [c.line for c in candles] == [2, 4]
    assert candles[0].oi == 7 and candles[1].oi is None


def test_every_bad_row_is_reported_with_its_line_number():
    text = (HEADER
            + "2026-11-23T09:15:00+05:30,100,101,99,100,10\n"       # 2 fine
            + "2026-11-23T09:16:00+05:30,100,101,99,abc,10\n"       # 3 not a number
            + "2026-11-23 09:17:00,100,101,99,100,10\n"             # 4 no offset
            + "2026-11-23T09:18:00+05:30,100,99,101,100,10\n"       # 5 high < low
            + "2026-11-23T09:19:00+05:30,100,101,99,100\n"          # 6 missing cell
            + "2026-11-23T09:20:00+05:30,100,101,99,100,-3\n"       # 7 negative volume
            + "2026-11-23T09:20:00+05:30,100,101,99,100,10\n"       # 8 fine
            + "2026-11-23T09:20:00+05:30,100,101,99,100,10\n"       # 9 repeats line 8
            + "2026-11-23T09:19:30+05:30,100,101,99,100,10\n"       # 10 earlier than 8
            + "2026-11-23T09:21:00+05:30,0,101,99,100,10\n"         # 11 price 0
            + "2026-11-23T09:22:00+05:30,100,101,99,102,1.5\n"      # 12 two problems
            + "yesterday,100,101,99,100,10\n"                       # 13 not a time
            + "2026-11-23T09:23:00+05:30,,101,99,100,10\n")         # 14 empty cell
    assert errors_of(text) == [
        "line 3: close 'abc' is not a number",
        "line 4: date '2026-11-23 09:17:00' has no UTC offset (write it like "
        "2026-11-23T09:15:00+05:30)",
        "line 5: high 99 is below low 101",
        "line 6: has 5 cells, the header has 6",
        "line 7: volume '-3' must be a whole number, 0 or more",
        "line 9: date '2026-11-23T09:20:00+05:30' repeats the time of line 8 (rows must be "
        "in time order, each time once)",
        "line 10: date '2026-11-23T09:19:30+05:30' is earlier than line 8 (rows must be in "
        "time order, each time once)",
        "line 11: open 0 must be above 0",
        "line 12: volume '1.5' must be a whole number, 0 or more",
        "line 12: close 102 is outside low 99 .. high 101",
        "line 13: date 'yesterday' is not an ISO 8601 time",
        "line 14: open is empty",
    ]


def test_the_same_instant_in_two_offsets_is_a_repeat():
    assert errors_of(HEADER + "2026-11-23T09:15:00+05:30,1,1,1,1,1\n"
                     + "2026-11-23T03:45:00+00:00,1,1,1,1,1\n") == [
        "line 3: date '2026-11-23T03:45:00+00:00' repeats the time of line 2 (rows must be "
        "in time order, each time once)"]


def test_the_error_counts_rows_not_problems():
    with pytest.raises(CandleCsvError) as err:
        parse_candle_csv(HEADER + "2026-11-23T09:22:00+05:30,100,101,99,102,1.5\n")
    assert str(err.value).startswith("1 bad row; nothing imported (first: line 2: ")


@pytest.mark.parametrize("text,expected", [
    ("", ["line 1: no header; the first line must be date,open,high,low,close,volume"]),
    ("date,open,close,volume\n", ["line 1: missing columns high, low (the header must name "
                                  "date,open,high,low,close,volume)"]),
    ("date,open,high,low,close,volume,vwap\n", ["line 1: unknown column 'vwap'"]),
    ("date,open,high,low,close,volume,open\n", ["line 1: repeated column open"]),
    (HEADER, ["line 1: the file has a header but no candles"]),
    (HEADER + "\n\n", ["line 1: the file has a header but no candles"]),
])
def test_a_bad_header_or_an_empty_file_is_one_line(text, expected):
    assert errors_of(text) == expected


def test_outside_text_in_a_cell_is_quoted_and_made_printable():
    [message] = errors_of(HEADER + "2026-11-23T09:15:00+05:30,\x1b[31mred,1,1,1,1\n")
    assert message == "line 2: open '?[31mred' is not a number"
    [long] = errors_of(HEADER + "2026-11-23T09:15:00+05:30," + "9" * 60 + "x,1,1,1,1\n")
    assert "..." in long and len(long) < 80


def test_a_quoted_cell_spanning_lines_reports_the_line_it_ends_on():
    text = HEADER + '2026-11-23T09:15:00+05:30,"10\n0",1,1,1,1\n'
    assert errors_of(text) == ["line 3: open '10?0' is not a number"]


@pytest.mark.parametrize("text,expected", [
    ("1minute", Timeframe.MINUTE), ("minute", Timeframe.MINUTE),
    ("5minute", Timeframe.MIN5), (" DAY ", Timeframe.DAY), ("60minute", Timeframe.MIN60),
])
def test_intervals(text, expected):
    assert parse_interval(text) is expected


def test_an_unknown_interval_names_the_choices():
    with pytest.raises(ValidationError) as err:
        parse_interval("2minute")
    assert str(err.value) == ("interval: must be one of 1minute, 3minute, 5minute, "
                              "10minute, 15minute, 30minute, 60minute, 75minute, "
                              "125minute, day")
