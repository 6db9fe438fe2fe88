"""`tui-trader catalog`: the real command, in a subprocess. --json prints the catalog as one
JSON list on the last line of stdout; without it a table a person reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tui_trader.domain.catalog import check_params
from tui_trader.domain.enums import Product, StrategyKind
from tui_trader.services.catalog import check_settings


def run_cli(tmp_path, *args):
    env = {**os.environ, "TUI_TRADER_DATA_DIR": str(tmp_path / "data"),
           "TUI_TRADER_CONFIG": str(tmp_path / "config.toml")}
    return subprocess.run([sys.executable, "-m", "tui_trader.cli", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def test_catalog_json_is_one_list_on_the_last_line(tmp_path):
    done = run_cli(tmp_path, "catalog", "--json")
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout.strip().splitlines()[-1])
    assert [e["kind"] for e in entries] == [k.value for k in StrategyKind]
    for entry in entries:
        assert entry["description"]
        schema = entry["parameters"]
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        defaults = {name: prop["default"] for name, prop in schema["properties"].items()
                    if "default" in prop}
        if entry["kind"] != "scheduled":  # its times have no default
            assert check_params(entry["kind"], defaults, Product.CNC)[1] == {}
    ema = next(e for e in entries if e["kind"] == "ema_crossover")
    fast = ema["parameters"]["properties"]["fast"]
    assert (fast["title"], fast["minimum"], fast["maximum"], fast["default"], fast["unit"],
            fast["updatable"]) == ("Fast EMA", 2, 100, 9, "candles", False)
    assert not (tmp_path / "data").exists()  # reading the catalog needs no database


def test_catalog_table_is_readable(tmp_path):
    done = run_cli(tmp_path, "catalog")
    assert done.returncode == 0, done.stderr
    assert "ema_crossover  EMA crossover" in done.stdout
    assert "parameters: Fast EMA=9 2-100, Slow EMA=21 3-200" in done.stdout
    assert "Volume filter (optional) 1-10" in done.stdout


def test_settings_are_checked_as_a_whole():
    assert check_settings("ema_crossover", {"fast": 30}, {"stop_loss": "0"}) == {
        "fast": "must be below Slow EMA (21)", "stop_loss": "must be above 0"}
    assert check_settings("ema_crossover", {}, {}, "BTST") == {
        "product": "must be one of MIS, CNC, NRML"}
    assert check_settings("breakout", {"timeframe": "day"}, {}, "cnc") == {}
