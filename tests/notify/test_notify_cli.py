"""`tui-trader notify`: a webhook added with its URL on stdin (test-delivered
to a local server), listed as JSON without its secret, tested, modes set; secrets refused on
the command line; bad input one line naming the field, nothing saved."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass

import pytest
from alert_sinks import WebhookSink, refused_port

from tui_trader.cli import main
from tui_trader.config import load_settings
from tui_trader.services.auth import AuthService
from tui_trader.services.context import bootstrap

TOKEN = "cli-token-77c1e0a9"


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """The real command, in this process (each run is a fresh `main`): SQLite here, the
    services under it are tested on both databases."""
    env = {"TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATA_DIR": str(tmp_path / "data"),
           "TUI_TRADER_CONFIG": str(tmp_path / "config.toml"),
           "TUI_TRADER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TUI_TRADER_REDIS_URL", raising=False)
    monkeypatch.delenv("TUI_TRADER_NOTIFY_SECRET", raising=False)
    ctx = bootstrap(load_settings())
    AuthService(ctx).sign_up("trader@example.com", "password-t")
    ctx.close()

    def run(*args: str, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(["notify", *args])
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def test_add_list_test_and_set_modes(run):
    with WebhookSink() as hook:
        added = run("add", "--email", "trader@example.com", "--kind", "webhook", "--label",
                    "desk", "--url-stdin", stdin=hook.url(f"/in?token={TOKEN}") + "\n")
        assert added.returncode == 0, added.stderr
        assert "channel 'desk' saved" in added.stdout and TOKEN not in added.stdout
        assert hook.received.wait_for(1)[0][0] == f"/in?token={TOKEN}"
        tested = run("test", "--email", "trader@example.com")
        assert tested.returncode == 0 and "desk: delivered" in tested.stdout
        assert hook.received.wait_for(2)[1][2]["title"] == "tui-trader: test"
    modes = run("set", "--email", "trader@example.com", "--fill", "silent", "--risk-halt",
                "on")
    assert modes.returncode == 0, modes.stderr
    listed = run("list", "--email", "trader@example.com", "--json")
    shown = json.loads(listed.stdout.strip().splitlines()[-1])
    assert [(c["label"], c["kind"], c["state"]) for c in shown["channels"]] == \
        [("desk", "webhook", "ok")]
    assert shown["preferences"]["fill"] == "silent" and TOKEN not in listed.stdout
    with WebhookSink():
        pass  # the server is gone: the next test fails and says so
    failed = run("test", "--email", "trader@example.com")
    assert failed.returncode == 1 and "desk: failed (" in failed.stdout
    assert TOKEN not in failed.stdout + failed.stderr


def test_secrets_and_bad_input_are_refused_and_nothing_is_saved(run):
    on_argv = run("add", "--email", "trader@example.com", "--kind", "webhook", "--url",
                  f"http://127.0.0.1/h?token={TOKEN}")
    assert on_argv.returncode == 2
    assert on_argv.stderr.startswith("tui-trader: --url: a secret on the command line")
    cases = [
        (("--kind", "webhook"), "ftp://example.com/h\n", "Webhook URL: must be an http://"),
        (("--kind", "webhook"), f"http://127.0.0.1:{refused_port()}/h?token={TOKEN}\n",
         "Webhook URL: a test message could not be delivered"),
        (("--kind", "telegram", "--chat-id", "12345"), "\n", "Bot token: is required"),
        (("--kind", "email", "--to", "me@example.com", "--smtp-host", "smtp.example.com",
          "--smtp-user", "me"), "\n", "SMTP password: is required"),
        (("--kind", "pigeon"), "x\n", "Channel: must be telegram, email or webhook"),
    ]
    for args, stdin, said in cases:
        result = run("add", "--email", "trader@example.com", *args, stdin=stdin)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert lines[-1].startswith(f"tui-trader: {said}"), lines
        assert TOKEN not in result.stderr
    bad_mode = run("set", "--email", "trader@example.com", "--fill", "loud")
    assert bad_mode.stderr.strip().endswith("fill: must be on, silent or off")
    listed = json.loads(run("list", "--email", "trader@example.com", "--json")
                        .stdout.strip().splitlines()[-1])
    assert listed["channels"] == [] and listed["preferences"]["fill"] == "on"


def test_maintenance_prune_and_logs_commands(run, capsys):
    assert main(["maintenance", "prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("would delete: ticks 0 (before ") and "orders 0" in out
    assert main(["logs", "--audit"]) == 0  # the sign-up left no audit row; nothing to show
    assert main(["logs", "--level", "loud"]) == 2
    assert capsys.readouterr().err.strip() == "tui-trader: level: must be warning, error or " \
                                              "critical"
