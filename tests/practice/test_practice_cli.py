"""`tui-trader practice` from the command line: a headless demo practice day on a fresh data
dir, and bad input refused in one line with nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest

# A Friday the installed NSE calendar knows; explicit, so nothing depends on today's date.
DAY = "2026-11-20"


def run_cli(data_dir, *args):
    env = {**os.environ, "TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATA_DIR": str(data_dir),
           "TUI_TRADER_CONFIG": str(data_dir / "config.toml")}
    for name in ("TUI_TRADER_DATABASE_URL", "TUI_TRADER_REDIS_URL", "TUI_TRADER_CLOCK_START",
                 "TUI_TRADER_CLOCK_SPEED"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "tui_trader.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_headless_demo_practice_day_places_and_fills_real_orders(tmp_path):
    data = tmp_path / "data"
    done = run_cli(data, "practice", "--demo", "--headless", "--date", DAY, "--speed", "300",
                   "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["date"] == DAY and result["speed"] == 300
    orders = result["orders"]
    # The demo's pair: both BUYs fill, TCS falls through its stop on the default practice
    # market, INFY is sold at its SELL time.
    assert sorted((o["symbol"], o["side"], o["reason"]) for o in orders) == [
        ("INFY", "BUY", "BUY"), ("INFY", "SELL", "SELL"),
        ("TCS", "BUY", "BUY"), ("TCS", "SELL", "STOPLOSS")]
    for order in orders:
        assert order["status"] == "FILLED" and order["filled_quantity"] == order["quantity"]
        assert Decimal(order["average_price"]) > 0
        assert order["placed_at"].startswith(DAY)
    assert {o["symbol"]: o["quantity"] for o in orders} == {"INFY": 10, "TCS": 5}
    # Everything was closed: the net P&L is what the fills say, to the paisa.
    cash = sum((Decimal(o["average_price"]) * o["quantity"]
                * (1 if o["side"] == "SELL" else -1) for o in orders), Decimal(0))
    assert Decimal(result["net_pnl"]) == cash
    assert result["open_positions"] == 0
    stop = next(o for o in orders if o["reason"] == "STOPLOSS")
    buy = next(o for o in orders if o["symbol"] == "TCS" and o["side"] == "BUY")
    assert Decimal(stop["average_price"]) < Decimal(buy["average_price"])
    # Progress went to stderr; the real install got nothing, the practice its own dir.
    assert "TCS SELL 5 (STOPLOSS)" in done.stderr
    assert sorted(p.name for p in data.iterdir()) == ["practice", "practice.lock"]


def test_the_engine_runs_a_trading_day_on_any_calendar_day(tmp_path):
    """`tui-trader engine --date D --speed N`: the engine process on a simulated clock from
    09:14 IST of a trading day (the practice day's checks), for tests of the real binary."""
    data = tmp_path / "data"
    refused = run_cli(data, "engine", "--date", "2026-12-05")
    assert refused.returncode == 2 and not data.exists()
    assert refused.stderr.strip() == ("tui-trader: --date 2026-12-05 is not a trading day "
                                      "(Saturday); try 2026-12-04")
    env = {**os.environ, "TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATA_DIR": str(data),
           "TUI_TRADER_CONFIG": str(data / "config.toml")}
    env.pop("TUI_TRADER_DATABASE_URL", None)
    env.pop("TUI_TRADER_REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "tui_trader.cli", "engine", "--date", DAY,
                             "--speed", "600"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()  # blocks until the engine says it runs (or exits)
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert "engine running" in first, first
    assert f"simulated clock from {DAY} 09:14 IST ×600" in first


@pytest.mark.parametrize("args,line", [
    (["--date", "2026-12-05"],
     "tui-trader: --date 2026-12-05 is not a trading day (Saturday); try 2026-12-04"),
    (["--date", "2040-01-02"],
     "tui-trader: --date 2040-01-02 is beyond the NSE calendar"),
    (["--date", DAY, "--speed", "0"],
     "tui-trader: --speed must be a number from 1 to 1000 (times real time), got 0"),
])
def test_bad_practice_input_is_one_line_and_writes_nothing(tmp_path, args, line):
    data = tmp_path / "data"
    refused = run_cli(data, "practice", "--demo", "--headless", "--json", *args)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), refused.stderr
    assert refused.stdout == ""
    assert not data.exists()
