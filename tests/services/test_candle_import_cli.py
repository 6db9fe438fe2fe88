"""`tui-trader market import-csv`, run as a process: a summary line for a good file, one
`line N: ...` line per bad row and nothing written for a bad one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

HEADER = "date,open,high,low,close,volume\n"
GOOD = (HEADER + "2026-11-23T09:15:00+05:30,100,101,99,100.5,1200\n"
        "2026-11-23T09:16:00+05:30,100.5,102,100,101,800\n"
        "2026-11-23T09:17:00+05:30,101,101.5,100.5,101.25,650\n")


def run(tmp_path, *args, database_url=None):
    env = {**os.environ, "TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATA_DIR":
           str(tmp_path / "data"), "TUI_TRADER_CONFIG": str(tmp_path / "config.toml")}
    env.pop("TUI_TRADER_DATABASE_URL", None)
    env.pop("TUI_TRADER_REDIS_URL", None)
    if database_url:
        env["TUI_TRADER_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "tui_trader.cli", "market", "import-csv",
                           *args], env=env, capture_output=True, text=True, timeout=120)


def candle_count(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM candles")).scalar_one()
    finally:
        engine.dispose()


def test_import_then_import_again(tmp_path, database_url):
    path = tmp_path / "infy.csv"
    path.write_text(GOOD)
    first = run(tmp_path, str(path), "--symbol", "INFY", "--interval", "1minute",
                database_url=database_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == (
        "NSE:INFY 1minute: 3 candles, 2026-11-23 09:15 to 2026-11-23 09:17 IST: 3 new, "
        "0 changed, 0 already stored")
    assert candle_count(database_url) == 3
    again = run(tmp_path, str(path), "--symbol", "INFY", "--interval", "1minute",
                "--exchange", "NSE", database_url=database_url)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("0 new, 0 changed, 3 already stored")
    assert candle_count(database_url) == 3


def test_a_bad_file_prints_each_bad_line_and_writes_nothing(tmp_path, database_url):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "2026-11-23T09:15:00+05:30,100,101,99,100.5,1200\n"
                    "2026-11-23 09:16:00,100.5,102,100,101,800\n"
                    "2026-11-23T09:17:00+05:30,101,99,100.5,101.25,650\n"
                    "2026-11-23T09:15:00+05:30,100,101,99,100.5,1200\n")
    result = run(tmp_path, str(path), "--symbol", "INFY", "--interval", "1minute",
                 database_url=database_url)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "line 3: date '2026-11-23 09:16:00' has no UTC offset (write it like "
        "2026-11-23T09:15:00+05:30)",
        "line 4: high 99 is below low 100.5",
        "line 5: date '2026-11-23T09:15:00+05:30' repeats the time of line 2 (rows must be "
        "in time order, each time once)",
        f"tui-trader: {path}: 3 bad rows; nothing imported",
    ]
    assert candle_count(database_url) == 0


def test_a_bad_file_does_not_even_create_the_default_database(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("date,open,high,low,close\n")
    result = run(tmp_path, str(path), "--symbol", "INFY", "--interval", "1minute")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "line 1: missing column volume (the header must name date,open,high,low,close,"
        "volume)", f"tui-trader: {path}: 1 bad row; nothing imported"]
    assert not (tmp_path / "data").exists()


def test_a_wholly_wrong_file_shows_the_first_hundred_and_a_count(tmp_path):
    path = tmp_path / "naive.csv"
    path.write_text(HEADER + "".join(f"2026-11-23 10:{m:02d}:00,1,1,1,1,1\n"
                                     for m in range(0, 60)) +
                    "".join(f"2026-11-23 11:{m:02d}:00,1,1,1,1,1\n" for m in range(0, 60)))
    result = run(tmp_path, str(path), "--symbol", "INFY", "--interval", "1minute")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 102
    assert lines[0].startswith("line 2: date '2026-11-23 10:00:00' has no UTC offset")
    assert lines[99].startswith("line 101: ")
    assert lines[100] == "... and 20 more"
    assert lines[101] == f"tui-trader: {path}: 120 bad rows; nothing imported"


@pytest.mark.parametrize("args,line", [
    (["--symbol", "INFY", "--interval", "2minute"],
     "tui-trader: interval: must be one of 1minute, 3minute, 5minute, 10minute, 15minute, "
     "30minute, 60minute, 75minute, 125minute, day"),
    (["--symbol", "IN FY", "--interval", "1minute"],
     "tui-trader: Symbol: must be an NSE trading symbol such as INFY"),
    (["--symbol", "INFY", "--interval", "day", "--exchange", "XX"],
     "tui-trader: exchange: must be one of NSE, BSE, NFO, BFO, MCX, CDS"),
])
def test_bad_arguments_are_one_line(tmp_path, args, line):
    path = tmp_path / "ok.csv"
    path.write_text(GOOD)
    result = run(tmp_path, str(path), *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [line]
    assert not (tmp_path / "data").exists()


def test_a_missing_file_is_one_line(tmp_path):
    result = run(tmp_path, str(tmp_path / "nope.csv"), "--symbol", "INFY", "--interval",
                 "1minute")
    assert result.returncode == 2
    assert result.stderr.strip() == f"tui-trader: file: {tmp_path / 'nope.csv'}: no such file"
