"""The `tui-trader` command: one clear line on every user error, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory

from tui_trader.db.migrate import SCHEMA_DIR


def run_cli(tmp_path, *args, env=None, input_text=None):
    base = {**os.environ, "TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATA_DIR": str(tmp_path),
            "TUI_TRADER_CONFIG": str(tmp_path / "config.toml")}
    base.pop("TUI_TRADER_DATABASE_URL", None)
    base.pop("TUI_TRADER_REDIS_URL", None)
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "tui_trader.cli", *args], env=base,
                          capture_output=True, text=True, timeout=120, input=input_text)


def test_db_upgrade_user_create_and_rotate(tmp_path):
    head = ScriptDirectory(str(SCHEMA_DIR)).get_current_head()
    first = run_cli(tmp_path, "db", "upgrade")
    assert first.returncode == 0 and f"migrated empty -> {head}" in first.stdout
    again = run_cli(tmp_path, "db", "upgrade")
    assert f"already at revision {head}" in again.stdout
    made = run_cli(tmp_path, "user", "create", "cli@example.com", "--password", "longenough")
    assert made.returncode == 0 and "created user cli@example.com" in made.stdout
    dup = run_cli(tmp_path, "user", "create", "cli@example.com", "--password", "longenough")
    assert dup.returncode == 2
    assert dup.stderr.strip().splitlines()[-1] == "tui-trader: Email: is already registered"
    rotated = run_cli(tmp_path, "keys", "rotate")
    assert rotated.returncode == 0 and "rotated 0 credential(s)" in rotated.stdout


@pytest.mark.parametrize("env,needle", [
    ({"TUI_TRADER_DATABASE_URL": "postgresql://u:topsecret@127.0.0.1:1/x"},
     "TUI_TRADER_DATABASE_URL: cannot connect to postgresql at 127.0.0.1:1/x"),
    ({"TUI_TRADER_REDIS_URL": "http://nope"}, "TUI_TRADER_REDIS_URL: must start with"),
    ({"TUI_TRADER_ENGINE_MODE": "cloud"}, "TUI_TRADER_ENGINE_MODE"),
])
def test_bad_settings_are_one_line(tmp_path, env, needle):
    result = run_cli(tmp_path, "db", "upgrade", env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "topsecret" not in result.stderr
    assert needle in result.stderr


def test_market_commands_explain_a_missing_account(tmp_path):
    run_cli(tmp_path, "user", "create", "m@example.com", "--password", "longenough")
    result = run_cli(tmp_path, "market", "instruments", "--email", "m@example.com")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "account: no Zerodha Kite account found" in result.stderr


@pytest.mark.parametrize("group,subcommand", [("db", "upgrade"), ("user", "create"),
                                              ("keys", "rotate"), ("market", "candles")])
def test_a_command_group_alone_prints_its_usage(tmp_path, group, subcommand):
    """Before: `tui-trader db` fell through to the console."""
    done = run_cli(tmp_path, group)
    assert done.returncode == 2
    assert f"usage: tui-trader {group}" in done.stderr and subcommand in done.stderr
    assert "Traceback" not in done.stderr


def test_version(tmp_path):
    from tui_trader import __version__

    done = run_cli(tmp_path, "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"tui-trader {__version__}"
