"""`tui-trader risk show` and `risk set`, run as processes on SQLite and PostgreSQL: one JSON
object for a server, one flag per rule, one line naming the field when a value is bad (and
nothing changed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tui_trader.config import load_settings
from tui_trader.db.repositories import RiskStateRepository
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.enums import RiskRuleKind
from tui_trader.domain.lifecycle import RiskMove, RiskState
from tui_trader.domain.risk_status import RiskStatus
from tui_trader.services.auth import AuthService
from tui_trader.services.context import bootstrap

CLOCK = "2026-11-23T11:00:00+05:30"  # Monday; Tuesday 24 Nov is an NSE holiday


@pytest.fixture
def setup(tmp_path, database_url, monkeypatch):
    """A user on the test database, and a runner for the real command on it."""
    monkeypatch.setenv("TUI_TRADER_KEYSTORE", "file")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "config.toml"))
    ctx = bootstrap(load_settings(database_url=database_url, data_dir=tmp_path / "data"),
                    clock=FrozenClock(datetime.fromisoformat(CLOCK)))
    user = AuthService(ctx).sign_up("trader@example.com", "password-t").id

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TUI_TRADER_KEYSTORE": "file",
               "TUI_TRADER_DATA_DIR": str(tmp_path / "data"),
               "TUI_TRADER_CONFIG": str(tmp_path / "config.toml"),
               "TUI_TRADER_DATABASE_URL": database_url, "TUI_TRADER_CLOCK_START": CLOCK}
        env.pop("TUI_TRADER_REDIS_URL", None)
        return subprocess.run([sys.executable, "-m", "tui_trader.cli", "risk", *args],
                              env=env, capture_output=True, text=True, timeout=120)

    yield ctx, user, run
    ctx.close()


def shown(run) -> dict:
    result = run("show", "--email", "Trader@example.com", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_set_then_show_as_json(setup):
    _, _, run = setup
    result = run("set", "--email", "trader@example.com", "--trading-capital", "500000",
                 "--daily-loss-limit", "5000", "--max-risk-per-trade-pct", "0.5",
                 "--max-orders-per-day", "400")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "risk rules of trader@example.com saved: Trading capital 500,000; Daily loss limit "
        "5,000; Risk per trade % 0.5%; Max orders per day 400")
    assert shown(run) == {
        "email": "trader@example.com",
        "limits": {"trading_capital": "500000", "daily_loss_limit": "5000",
                   "daily_loss_pct": None, "max_position_value": None,
                   "max_open_positions": None, "max_drawdown_pct": None,
                   "max_risk_per_trade_pct": "0.5", "max_orders_per_day": 400,
                   "strategy_daily_loss_limit": None},
        "today": {"date": "2026-11-23", "state": "ACTIVE", "since": None, "rule": None,
                  "observed": None, "limit": None, "reason": "", "halted_until": None,
                  "denials": 0, "events": []},
    }
    off = run("set", "--email", "trader@example.com", "--max-orders-per-day", "off")
    assert off.returncode == 0 and off.stdout.strip().endswith("Max orders per day off")
    assert shown(run)["limits"]["max_orders_per_day"] is None


BAD = [
    (["--daily-loss-limit", "0"], "tui-trader: Daily loss limit: must be greater than 0 "
                                  "(leave it empty, or 'off', for no limit)"),
    (["--daily-loss-limit", "-500"], "tui-trader: Daily loss limit: must be greater than 0 "
                                     "(leave it empty, or 'off', for no limit)"),
    (["--max-open-positions", "five"], "tui-trader: Max open positions: must be a whole "
                                       "number like 5"),
    (["--max-open-positions", "3", "--max-position-value", "600000"],
     "tui-trader: Max position value: 600,000 is above Trading capital 500,000"),
    (["--daily-loss-limit", "4000", "--max-risk-per-trade-pct", "1"],
     "tui-trader: Risk per trade %: 1% of Trading capital is 5,000, above the daily loss "
     "limit 4,000: one trade could lose more than a day may"),
    ([], "tui-trader: rules: give at least one rule to change, e.g. --daily-loss-limit 5000 "
         "(or 'off' to remove one)"),
]


def test_a_bad_rule_is_one_line_and_nothing_changes(setup):
    _, _, run = setup
    assert run("set", "--email", "trader@example.com", "--trading-capital", "500000",
               "--daily-loss-limit", "8000").returncode == 0
    before = shown(run)
    for flags, line in BAD:
        result = run("set", "--email", "trader@example.com", *flags)
        assert result.returncode == 2 and result.stdout == "", flags
        assert result.stderr.strip().splitlines() == [line]
    assert shown(run) == before


def test_an_unknown_user_is_one_line(setup):
    _, _, run = setup
    result = run("show", "--email", "nobody@example.com")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "tui-trader: user nobody@example.com " \
                                                     "not found"


def test_show_says_a_halt_and_when_it_lifts(setup):
    ctx, user, run = setup
    run("set", "--email", "trader@example.com", "--daily-loss-limit", "10000")
    at = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 10:30 IST
    with ctx.session() as s:
        RiskStateRepository(s, user).apply(None, RiskMove.ESCALATE, RiskStatus(
            RiskState.HALTED, date(2026, 11, 23), at, RiskRuleKind.DAILY_LOSS_LIMIT,
            Decimal("10400"), Decimal("10000"),
            "loss 10,400 / 10,000"))
    today = shown(run)["today"]
    assert {k: today[k] for k in ("state", "rule", "observed", "limit", "halted_until")} == {
        "state": "HALTED", "rule": "DAILY_LOSS_LIMIT", "observed": "10400",
        "limit": "10000", "halted_until": "2026-11-25"}
    assert [e["message"] for e in today["events"]] == [
        "ACTIVE -> HALTED (escalate): loss 10,400 / 10,000"]
    text = run("show", "--email", "trader@example.com")
    assert text.returncode == 0
    assert text.stdout.splitlines()[-2:] == [
        "today Mon 23 Nov 2026: HALTED since 10:30 IST (loss 10,400 / 10,000); lifts on "
        "Wed 25 Nov",
        "entries denied today: 0"]
    assert "  Daily loss limit: 10,000" in text.stdout.splitlines()
