"""`tui-trader backtest`, run as a process. The fixed contract: progress on stderr, one JSON
object as the last line of stdout, trades identical to backtrader's on the same CSV. A run
stored for a user (`--email`) lands in backtest_runs, from a CSV or from stored candles. Bad
input: one line naming the field or the line, exit code 2, nothing written."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import datetime

import numpy as np
import pytest
import sqlalchemy as sa

from tui_trader.backtest.runner import Backtest
from tui_trader.backtest.synthetic import minute_candles, to_csv
from tui_trader.cli import main
from tui_trader.config import load_settings
from tui_trader.domain.clock import IST
from tui_trader.services.auth import AuthService
from tui_trader.services.context import bootstrap

from . import backtrader_reference as reference
from .conftest import spec

CONTRACT = ["--symbol", "SYM", "--interval", "1minute", "--param", "fast=9", "--param",
            "slow=21", "--quantity", "1", "--product", "CNC", "--stop-pct", "99", "--fill",
            "next-open", "--no-charges", "--json"]


def backtest(tmp_path, *args, database_url=None):
    env = {**os.environ, "TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATA_DIR":
           str(tmp_path / "data"), "TUI_TRADER_CONFIG": str(tmp_path / "config.toml")}
    env.pop("TUI_TRADER_DATABASE_URL", None)
    env.pop("TUI_TRADER_REDIS_URL", None)
    if database_url:
        env["TUI_TRADER_DATABASE_URL"] = database_url
    return subprocess.run([sys.executable, "-m", "tui_trader.cli", "backtest", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def backtrader_on_csv(path):
    """backtrader's round trips on the CSV file itself."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    starts = np.array([int(datetime.fromisoformat(r["date"]).timestamp()) * 10**9
                       for r in rows])
    columns = [np.array([float(r[name]) for r in rows])
               for name in ("open", "high", "low", "close", "volume")]
    trips, _ = reference.run(reference.rows_of(starts, *columns))
    return [(a.isoformat(), p, b.isoformat() if b else None, q, n) for a, p, b, q, n in trips]


def test_the_contract_command_prints_backtraders_trades_as_the_last_line(tmp_path):
    path = tmp_path / "sym.csv"
    path.write_text(to_csv(minute_candles(2500, seed=41)))
    result = backtest(tmp_path, "ema_crossover", "--csv", str(path), *CONTRACT)
    assert result.returncode == 0, result.stderr
    assert "backtest: 100% (2,500 of 2,500 candles)" in result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    trades = out["trades"]
    got = [(t["entry_time"], t["entry_price"], t["exit_time"], t["exit_price"], t["quantity"])
           for t in trades]
    assert got == backtrader_on_csv(path)
    assert len(trades) > 20
    assert {t["side"] for t in trades} == {"long"}
    assert {t["exit_reason"] for t in trades if t["exit_time"]} == {"signal"}
    assert trades[0]["entry_time"].endswith("+05:30")
    summary = out["summary"]
    closed = [t for t in trades if t["exit_time"] is not None]
    assert summary["trades"] == len(closed)
    assert summary["net_pnl"] == pytest.approx(sum(t["net_pnl"] for t in closed), abs=1e-6)
    assert summary["win_rate"] == pytest.approx(
        sum(t["net_pnl"] > 0 for t in closed) / len(closed))
    assert {"max_drawdown", "sharpe", "sortino", "calmar", "cagr", "profit_factor",
            "expectancy", "exposure", "longest_losing_streak"} <= set(summary)


def test_a_position_open_at_the_end_has_no_exit_time(tmp_path):
    bars = minute_candles(400, seed=3)
    whole = Backtest(spec(params={"fast": 9, "slow": 21, "timeframe": "minute"}), bars).run()
    cut = whole.trades[-2].exit_index  # the data ends on the candle the trade exits at
    path = tmp_path / "sym.csv"
    path.write_text("\n".join(to_csv(bars).splitlines()[:cut]) + "\n")
    result = backtest(tmp_path, "ema_crossover", "--csv", str(path), *CONTRACT)
    out = json.loads(result.stdout.splitlines()[-1])
    last = out["trades"][-1]
    assert last["entry_time"] == whole.trades[-2].entry_time.astimezone(IST).isoformat()
    assert last["exit_time"] is None and last["exit_price"] is None
    assert out["summary"]["open_trades"] == 1


HEADER = "date,open,high,low,close,volume\n"
ROW = "2025-01-06T09:{:02d}:00+05:30,100,101,99,100.5,10\n"


@pytest.mark.parametrize(("text", "needle"), [
    ("date,open,high,low,close\n" + ROW.format(15)[:-4] + "\n", "missing column volume"),
    (HEADER + ROW.format(15) + "2025-01-06T09:16:00+05:30,abc,101,99,100.5,10\n",
     "line 3: open 'abc' is not a number"),
    (HEADER + ROW.format(16) + ROW.format(15), "line 3: date '2025-01-06T09:15:00+05:30' is "
                                               "earlier than line 2"),
    (HEADER + ROW.format(15) + ROW.format(15), "line 3: date '2025-01-06T09:15:00+05:30' "
                                               "repeats the time of line 2"),
    (HEADER + "2025-01-06 09:15:00,100,101,99,100.5,10\n", "line 2: date '2025-01-06 "
                                                           "09:15:00' has no UTC offset"),
])
def test_a_bad_file_is_one_line_naming_the_line(tmp_path, capsys, text, needle):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    assert main(["backtest", "ema_crossover", "--csv", str(path), *CONTRACT]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err
    assert "nothing run" in lines[0]


@pytest.mark.parametrize(("args", "needle"), [
    (["momentum", *CONTRACT], "Kind: must be one of"),
    (["ema_crossover", *CONTRACT, "--param", "window=5"], "window: is not a setting"),
    (["ema_crossover", *CONTRACT[:5], "fast=x", *CONTRACT[6:]], "must be a whole number"),
    (["ema_crossover", *CONTRACT[:5], "fast", *CONTRACT[6:]], "must be written NAME=VALUE"),
    (["ema_crossover", *CONTRACT, "--param", "slow=10"], "slow is given twice"),
    (["ema_crossover", *CONTRACT[:3], "fortnight", *CONTRACT[4:]], "interval: must be one"),
    (["ema_crossover", *CONTRACT, "--stop-pct", "150"], "below 100"),
])
def test_bad_settings_are_one_line_naming_the_field(tmp_path, capsys, args, needle):
    path = tmp_path / "sym.csv"
    path.write_text(to_csv(minute_candles(100, seed=1)))
    assert main(["backtest", args[0], "--csv", str(path), *args[1:]]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], err


def runs(url: str) -> list[dict]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text(
                "SELECT kind, symbol, interval, data_source, status, summary, trades, "
                "equity_curve, strategy_snapshot, params FROM backtest_runs"))]
    finally:
        engine.dispose()


@pytest.fixture
def trader(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("TUI_TRADER_KEYSTORE", "file")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "config.toml"))
    ctx = bootstrap(load_settings(database_url=database_url, data_dir=tmp_path / "data"))
    AuthService(ctx).sign_up("trader@example.com", "password-t")
    yield database_url
    ctx.close()


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def test_a_run_for_a_user_is_stored_with_its_snapshot_trades_and_curve(tmp_path, trader):
    path = tmp_path / "sym.csv"
    path.write_text(to_csv(minute_candles(1200, seed=8)))
    result = backtest(tmp_path, "ema_crossover", "--csv", str(path), *CONTRACT[:-2],
                      "--email", "Trader@example.com", "--json", database_url=trader)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.splitlines()[-1])
    (row,) = runs(trader)
    assert (row["kind"], row["symbol"], row["interval"], row["status"]) == \
        ("ema_crossover", "SYM", "minute", "DONE")
    assert row["data_source"] == "csv sym.csv"
    snapshot = _json(row["strategy_snapshot"])
    assert snapshot["kind"] == "ema_crossover" and snapshot["version"] == 1
    assert snapshot["params"]["fast"] == 9 and len(snapshot["code_sha256"]) == 64
    assert _json(row["trades"]) == out["trades"]
    assert _json(row["summary"])["net_pnl"] == out["summary"]["net_pnl"]
    assert _json(row["params"])["fill"] == "next-open"
    curve = _json(row["equity_curve"])
    assert curve[0][1] == 100000.0 and len(curve) > len(out["trades"])


def test_stored_candles_replace_the_csv_and_an_empty_range_writes_nothing(tmp_path, trader):
    path = tmp_path / "sym.csv"
    path.write_text(to_csv(minute_candles(800, seed=8)))
    env_url = trader
    imported = subprocess.run(
        [sys.executable, "-m", "tui_trader.cli", "market", "import-csv", str(path),
         "--symbol", "SYM", "--interval", "1minute"],
        env={**os.environ, "TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATABASE_URL": env_url,
             "TUI_TRADER_DATA_DIR": str(tmp_path / "data"),
             "TUI_TRADER_CONFIG": str(tmp_path / "config.toml")},
        capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    from_csv = backtest(tmp_path, "ema_crossover", "--csv", str(path), *CONTRACT)
    stored = backtest(tmp_path, "ema_crossover", "--from", "2025-01-01", "--to", "2025-01-31",
                      *CONTRACT, "--email", "trader@example.com", database_url=trader)
    assert stored.returncode == 0, stored.stderr
    got = json.loads(stored.stdout.splitlines()[-1])
    assert got["trades"] == json.loads(from_csv.stdout.splitlines()[-1])["trades"]
    assert runs(trader)[0]["data_source"] == "database"
    empty = backtest(tmp_path, "ema_crossover", "--from", "2024-01-01", "--to", "2024-01-31",
                     *CONTRACT[:-2], "--email", "trader@example.com", database_url=trader)
    assert empty.returncode == 2
    assert empty.stderr.strip().splitlines()[-1].startswith("tui-trader: range: no minute "
                                                            "candles of SYM stored")
    assert len(runs(trader)) == 1


def test_a_grid_prints_every_combination_ranked_and_refuses_a_million(tmp_path, capsys):
    path = tmp_path / "sym.csv"
    path.write_text(to_csv(minute_candles(750, seed=12)))
    base = ["backtest", "ema_crossover", "--csv", str(path), "--symbol", "SYM", "--interval",
            "1minute", "--stop-pct", "99", "--no-charges", "--processes", "1"]
    assert main([*base, "--grid", "fast=1:1000:1", "--grid", "slow=1:1000:1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip() == ("tui-trader: grid: 1,000,000 combinations; at most "
                                         "100,000 are run")
    assert main([*base, "--grid", "fast=3:9:3", "--grid", "slow=8,21", "--json"]) == 0
    out, _ = capsys.readouterr()
    found = json.loads(out.strip().splitlines()[-1])
    assert found["combinations"] == 6 and found["run"] == 5
    assert list(found["skipped"]) == ["fast=9, slow=8"]
    nets = [row["summary"]["net_pnl"] for row in found["rows"]]
    assert nets == sorted(nets, reverse=True)
    assert main([*base, "--grid", "fast=3:9:3", "--grid", "slow=8,21"]) == 0
    out, _ = capsys.readouterr()
    assert "6 combinations, 5 run, 1 skipped by the kind's rules; best 5 by net_pnl:" in out
    assert "net_pnl by fast (across) and slow (down)" in out


def test_walk_forward_states_the_degradation(tmp_path, capsys):
    path = tmp_path / "sym.csv"
    path.write_text(to_csv(minute_candles(375 * 6, seed=12)))
    assert main(["backtest", "ema_crossover", "--csv", str(path), "--symbol", "SYM",
                 "--interval", "1minute", "--stop-pct", "99", "--processes", "1",
                 "--grid", "fast=3,5", "--grid", "slow=21", "--walk-forward", "2",
                 "--json"]) == 0
    out, _ = capsys.readouterr()
    result = json.loads(out.strip().splitlines()[-1])
    assert len(result["windows"]) == 2
    assert result["windows"][0]["params"]["fast"] in (3, 5)
    assert ("of the in-sample P&L per day" in result["verdict"]) or \
        ("nothing to carry" in result["verdict"])
