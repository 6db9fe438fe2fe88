"""The real `tui-trader` binary in a real terminal (tmux): log in, see positions, switch to
strategies, quit cleanly. Polls the pane with a deadline; skipped without tmux unless
TUI_TRADER_REQUIRE_SERVERS=1."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from .conftest import PASSWORD
from .seed import seed_showcase

pytestmark = pytest.mark.tmux

BINARY = Path(sys.executable).with_name("tui-trader")


def _require_tmux() -> str:
    found = shutil.which("tmux")
    if found is None or not BINARY.exists():
        if os.environ.get("TUI_TRADER_REQUIRE_SERVERS") == "1":
            pytest.fail("tmux and the tui-trader binary are required")
        pytest.skip("tmux or the tui-trader binary not available")
    return found


class Pane:
    """One window on a private tmux server (its own socket: no other session is touched)."""

    def __init__(self, tmux: str, name: str) -> None:
        self.tmux, self.name = [tmux, "-L", name], name

    def run(self, *args: str, check: bool = True) -> str:
        return subprocess.run([*self.tmux, *args], capture_output=True, text=True,
                              check=check).stdout

    def text(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name, check=False)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def wait_for(self, *needles: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if all(n in screen for n in needles):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {needles!r}; the pane shows:\n{screen}")
            time.sleep(0.2)


@pytest.fixture
def seeded_env(tmp_path):
    """A database with a user and positions, and the environment that points at it."""
    from tui_trader.config import load_settings
    from tui_trader.domain.clock import FrozenClock
    from tui_trader.services.auth import AuthService
    from tui_trader.services.context import bootstrap

    from .conftest import MONDAY_0900_IST

    # The binary lives on the clock the data was seeded on (a simulated clock starting at
    # that Monday 09:00 IST), so "today's" positions are today's whatever the real date.
    env = {"TUI_TRADER_CLOCK_START": MONDAY_0900_IST.isoformat(),
           "TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_CONFIG": str(tmp_path / "config.toml"),
           "TUI_TRADER_DATABASE_URL": f"sqlite:///{tmp_path / 't.db'}",
           "TUI_TRADER_DATA_DIR": str(tmp_path / "data")}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        ctx = bootstrap(load_settings(), clock=FrozenClock(MONDAY_0900_IST))
        user = AuthService(ctx).sign_up("asha@example.com", PASSWORD, "Asha")
        seed_showcase(ctx, user.id)
        ctx.close()
    return env


def test_log_in_and_watch_positions_in_a_real_terminal(seeded_env):
    tmux = _require_tmux()
    name = f"tui-trader-{uuid.uuid4().hex[:8]}"
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in seeded_env.items())
    # No COLUMNS/LINES from the test runner: the app must size itself from the terminal.
    command = (f"env -u COLUMNS -u LINES {exports} {shlex.quote(str(BINARY))}; "
               "echo EXITED $?; sleep 60")
    pane = Pane(tmux, name)
    pane.run("-f", "/dev/null", "new-session", "-d", "-s", name, "-x", "120", "-y", "40",
             command)
    try:
        pane.wait_for("Log in", "Email", "Password")
        pane.wait_for("engine")
        # One burst, as a line typed ahead over a slow SSH link arrives: Tab must move to
        # the password before the characters after it are read.
        pane.keys("asha@example.com", "Tab", PASSWORD, "Enter")
        # 120 columns: the status bar has the seeded user's unread count, but no room for
        # the address (it gives way first, after when NSE opens).
        screen = pane.wait_for("1 Positions", "HDFCBANK", "INFY", "Total", "3 unread",
                               "SIMULATED", "opens Mon 09:15")
        # The embedded engine's simulated feed marks open positions live; the closed one's
        # realized P&L stays put, with its sign.
        assert "-212.50" in screen and "Strategy" in screen, screen
        pane.keys("2")
        pane.wait_for("INFY morning", "TCS intraday", "Next")
        # A strategy runs and positions are open: quitting (which stops the in-process
        # engine) asks first.
        pane.keys("q")
        pane.wait_for("Quit tui-trader?", "1 strategy running and 2 positions open")
        pane.keys("y")
        pane.wait_for("EXITED 0", timeout=30)
    finally:
        pane.run("kill-server", check=False)
