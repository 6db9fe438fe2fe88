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
    made = run_cli(tmp_path, "user", "create", "cli@example.com", input_text="longenough\n")
    assert made.returncode == 0 and "created user cli@example.com" in made.stdout
    dup = run_cli(tmp_path, "user", "create", "cli@example.com", input_text="longenough\n")
    assert dup.returncode == 2
    assert dup.stderr.strip().splitlines()[-1] == "tui-trader: Email: is already registered"
    rotated = run_cli(tmp_path, "keys", "rotate")
    assert rotated.returncode == 0 and "rotated 0 credential(s)" in rotated.stdout


@pytest.mark.parametrize("env,needle", [
    ({"TUI_TRADER_DATABASE_URL": "postgresql://u:topsecret@127.0.0.1:1/x"},
     "TUI_TRADER_DATABASE_URL: cannot connect to postgresql at 127.0.0.1:1/x"),
    ({"TUI_TRADER_REDIS_URL": "http://nope"}, "TUI_TRADER_REDIS_URL: must start with"),
    ({"TUI_TRADER_ENGINE_MODE": "cloud"}, "TUI_TRADER_ENGINE_MODE"),
    ({"TUI_TRADER_DATABASE_URL": "postgresql://u:topsecret@127.0.0.1:abc/x"},
     "TUI_TRADER_DATABASE_URL: the port must be a number"),
    ({"TUI_TRADER_REDIS_URL": "redis://127.0.0.1:6379/abc"},
     "TUI_TRADER_REDIS_URL: the database after the port must be a number"),
    ({"TUI_TRADER_REDIS_URL": "unix:///nonexistent/redis.sock"},
     "TUI_TRADER_REDIS_URL: cannot reach Redis at /nonexistent/redis.sock"),
    ({"TUI_TRADER_CONFIG": "/tmp"}, "/tmp: is a directory, not a TOML file"),
    ({"TUI_TRADER_LOCKOUT_MINUTES": "0"}, "TUI_TRADER_LOCKOUT_MINUTES: must be at least 1"),
])
def test_bad_settings_are_one_line(tmp_path, env, needle):
    result = run_cli(tmp_path, "engine", "--feed", "none", env=env)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr and "topsecret" not in result.stderr
    assert needle in result.stderr


@pytest.mark.parametrize("config,env,line", [
    ('[keymap]\n"app.help" = "ctrl+"\n', {},
     'tui-trader: TUI_TRADER_KEYMAP: "app.help" = "ctrl+": "ctrl+" is not a key'),
    ("", {"TUI_TRADER_FEED_SYMBOLS": "INFY,TCS"},
     'tui-trader: TUI_TRADER_FEED_SYMBOLS: must be JSON, e.g. ["INFY", "TCS"] for a list'),
])
def test_a_bad_keymap_or_list_setting_is_one_line_at_the_command(tmp_path, config, env, line):
    (tmp_path / "config.toml").write_text(config, encoding="utf-8")
    result = run_cli(tmp_path, "engine", "--feed", "none", env=env)
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(line), result.stderr


def test_market_commands_explain_a_missing_account(tmp_path):
    run_cli(tmp_path, "user", "create", "m@example.com", input_text="longenough\n")
    result = run_cli(tmp_path, "market", "instruments", "--email", "m@example.com")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "account: no Zerodha Kite account found" in result.stderr


def test_user_unlock_clears_a_locked_address(tmp_path, monkeypatch):
    from tui_trader.config import load_settings
    from tui_trader.domain.errors import AccountLockedError, AuthError
    from tui_trader.services.auth import AuthService
    from tui_trader.services.context import bootstrap

    assert run_cli(tmp_path, "user", "create", "u@example.com",
                   input_text="longenough\n").returncode == 0
    monkeypatch.setenv("TUI_TRADER_KEYSTORE", "file")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "config.toml"))
    ctx = bootstrap(load_settings(data_dir=tmp_path))
    try:
        auth = AuthService(ctx)
        for _ in range(ctx.settings.max_failed_logins):
            with pytest.raises(AuthError):
                auth.login("u@example.com", "wrong-password")
        with pytest.raises(AccountLockedError):
            auth.login("u@example.com", "longenough")
        unlocked = run_cli(tmp_path, "user", "unlock", "U@example.com")
        assert unlocked.returncode == 0
        assert unlocked.stdout.strip() == "u@example.com: failed logins cleared; it can log in now"
        assert auth.login("u@example.com", "longenough").user.email == "u@example.com"
        again = run_cli(tmp_path, "user", "unlock", "u@example.com")
        assert "nothing to clear" in again.stdout
    finally:
        ctx.close()


def test_no_secret_is_taken_from_the_command_line(tmp_path):
    """`ps` shows every process's arguments to every user, and shells keep them."""
    refused = run_cli(tmp_path, "user", "create", "p@example.com", "--password", "longenough")
    assert refused.returncode == 2
    line = refused.stderr.strip().splitlines()[-1]
    assert line.startswith("tui-trader: --password: a secret on the command line is visible")
    assert "TUI_TRADER_USER_PASSWORD" in line and "longenough" not in refused.stderr
    from_env = run_cli(tmp_path, "user", "create", "p@example.com",
                       env={"TUI_TRADER_USER_PASSWORD": "from-the-env-1"})
    assert from_env.returncode == 0, from_env.stderr
    sandbox = run_cli(tmp_path, "kite-sandbox", "--api-secret", "s3cret-on-argv")
    assert sandbox.returncode == 2 and "--api-secret: a secret on the command line" in \
        sandbox.stderr and "Traceback" not in sandbox.stderr


def test_kite_sandbox_secret_from_the_environment_or_stdin(monkeypatch):
    import io

    from tui_trader import cli
    from tui_trader.brokers.kite_sandbox import server

    started = []
    monkeypatch.setattr(server, "serve_forever", lambda config, port: started.append(config))
    monkeypatch.setenv("TUI_TRADER_SANDBOX_API_SECRET", "env-secret-1")
    assert cli.main(["kite-sandbox", "--port", "5999"]) == 0
    monkeypatch.delenv("TUI_TRADER_SANDBOX_API_SECRET")
    monkeypatch.setattr("sys.stdin", io.StringIO("piped-secret-2\n"))
    assert cli.main(["kite-sandbox", "--ask-secret"]) == 0
    assert cli.main(["kite-sandbox"]) == 0
    assert [c.api_secret for c in started] == ["env-secret-1", "piped-secret-2",
                                                "sandboxsecret"]


def test_the_engine_says_at_start_when_the_nse_calendar_has_run_out(tmp_path):
    """A server engine living past the exchange calendar's last session says, once at
    start, that every weekday now trades except the dates in holidays.txt."""
    import queue
    import signal
    import threading

    env = {**os.environ, "TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATA_DIR": str(tmp_path),
           "TUI_TRADER_CONFIG": str(tmp_path / "config.toml"),
           "TUI_TRADER_CLOCK_START": "2027-01-04T10:00:00+05:30"}
    env.pop("TUI_TRADER_DATABASE_URL", None)
    env.pop("TUI_TRADER_REDIS_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "tui_trader.cli", "engine"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout],
                     daemon=True).start()
    try:
        while "engine running" not in lines.get(timeout=120):
            pass
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    holidays = tmp_path / "holidays.txt"
    assert (f"note: NSE holidays after 31 Dec 2026 are not known to this install: every "
            f"weekday counts as a trading day except those listed in {holidays}") in stderr
    assert "Traceback" not in stderr


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
