"""Fixtures for the console's tests: a temp SQLite database and the embedded store per test,
a frozen clock (Monday 2026-11-23, 09:00 IST, a trading day before the open), the real
embedded engine on a manual schedule, and helpers that drive the app like a person would."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tui_trader.domain.clock import FrozenClock

MONDAY_0900_IST = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
PASSWORD = "correct-horse-1"


@pytest.fixture
def config_toml() -> str | None:
    """The config file's text for a test (None: no file); override by parametrizing."""
    return None


@pytest.fixture
def ui_settings(tmp_path, monkeypatch, _sqlite_template, config_toml):
    """Settings on a fresh (already migrated) SQLite file and an emptied embedded store,
    with `config_toml` as the config file."""
    from tui_trader.config import load_settings
    from tui_trader.live.store import reset_embedded_store

    monkeypatch.setenv("TUI_TRADER_KEYSTORE", "file")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "config.toml"))
    if config_toml is not None:
        (tmp_path / "config.toml").write_text(config_toml, encoding="utf-8")
    target = tmp_path / "t.db"
    shutil.copy(_sqlite_template, target)
    reset_embedded_store()
    return load_settings(database_url=f"sqlite:///{target}", data_dir=tmp_path)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(MONDAY_0900_IST)


@pytest.fixture
def ctx(ui_settings, clock):
    from tui_trader.services.context import bootstrap

    context = bootstrap(ui_settings, clock=clock)
    yield context
    context.close()


@pytest.fixture
def user(ctx):
    from tui_trader.services.auth import AuthService

    return AuthService(ctx).sign_up("asha@example.com", PASSWORD, "Asha")


@pytest.fixture
def paper_account(ctx, user):
    from tui_trader.services.brokers import BrokerAccountService

    return BrokerAccountService(ctx, user.id).add_paper("Paper")


class FakeEngine:
    """A stand-in EngineControl for unit-level UI tests (journeys use the real engine)."""

    def __init__(self, state: str = "running") -> None:
        self.state = state
        self.started: list = []
        self.stopped: list = []
        self.killed = 0

    def start_strategy(self, user_id, strategy_id, *, confirm_live=False):
        from tui_trader.services.engine_control import StartResult

        self.started.append(strategy_id)
        return StartResult(strategy_id, "running; next buy 09:30 IST")

    def stop_strategy(self, user_id, strategy_id):
        self.stopped.append(strategy_id)

    def kill_switch(self, user_id):
        from tui_trader.services.engine_control import KillReport

        self.killed += 1
        return KillReport(0, 0)

    def health(self):
        from tui_trader.services.engine_control import EngineHealth

        return EngineHealth(self.state, self.state == "running", "", "simulated")


@pytest.fixture
def fake_engine() -> FakeEngine:
    return FakeEngine()


class EngineDriver:
    """The real EmbeddedEngine, its executor and maintenance threads running, with legs on a
    manual schedule and prices fed by the test."""

    def __init__(self, ctx) -> None:
        from dataclasses import replace

        from tui_trader.engine.config import DEFAULT
        from tui_trader.engine.embedded import EmbeddedEngine
        from tui_trader.engine.scheduler import ManualSchedule

        self.ctx = ctx
        self.runner = ManualSchedule()
        self.engine = EmbeddedEngine(ctx, runner=self.runner, consumer="ui-test",
                                     config=replace(DEFAULT, maintenance_interval_s=0.05))
        self.seq = 0

    def tick(self, symbol: str, price: str) -> None:
        from tui_trader.brokers.feeds.base import Tick

        self.seq += 1
        self.engine.on_ticks([Tick(symbol, Decimal(price), self.ctx.clock.now(), 1, self.seq)])

    def advance_to(self, hh: int, mm: int) -> None:
        from tui_trader.domain.clock import IST

        local = self.ctx.clock.now().astimezone(IST)
        self.ctx.clock.set(datetime(local.year, local.month, local.day, hh, mm, tzinfo=IST))
        self.runner.run_due(self.ctx.clock.now())


@pytest.fixture
def engine(ctx):
    driver = EngineDriver(ctx)
    driver.engine.start()
    yield driver
    driver.engine.stop()


@pytest.fixture
def make_app(ui_settings, clock):
    """Build the app: with `ctx=` and `engine=` injected, or booting by itself."""
    from tui_trader.ui.app import TraderApp

    apps = []

    def build(**kwargs):
        kwargs.setdefault("clock", clock)
        kwargs.setdefault("event_interval", 0.05)
        app = TraderApp(ui_settings, **kwargs)
        app.notices_seen = []  # every toast's text, for assertions
        notify = app.notify

        def recording_notify(message, *args, **kw):
            app.notices_seen.append(str(message))
            return notify(message, *args, **kw)

        app.notify = recording_notify
        apps.append(app)
        return app

    yield build
    for app in apps:  # what `run()` does after the UI loop: stop engines, close connections
        app.backend.close()


# -- driving the app -----------------------------------------------------------------------

async def wait_until(pilot, predicate: Callable[[], object], timeout: float = 10.0,
                     what: str | Callable[[], str] = "condition") -> None:
    """Let the app run until `predicate()` is true (bounded; fails with `what`, which may
    be a callable giving the state worth seeing when it fails)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        await pilot.pause(0.02)


async def settle(pilot) -> None:
    """Wait for every worker to finish and the resulting messages to be handled."""
    app = pilot.app
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def booted(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.boot is not None or pilot.app.boot_error,
                     what="start-up")
    await pilot.pause()


async def type_into(pilot, selector: str, text: str) -> None:
    """Focus a field, clear it and type `text` (long text arrives as one paste-like
    insert, which the field handles exactly as typing: one Changed per edit)."""
    from textual.widgets import Input

    widget = pilot.app.screen.query_one(selector, Input)
    widget.focus()
    widget.value = ""
    await pilot.pause()
    if len(text) <= 16:
        await pilot.press(*text) if text else None
    else:
        widget.insert_text_at_cursor(text)
    await pilot.pause()


async def log_in(pilot, email: str = "asha@example.com", password: str = PASSWORD) -> None:
    """Sign in through the login form (fields filled at once; typing has its own tests)."""
    from textual.widgets import Input

    await booted(pilot)
    screen = pilot.app.screen
    screen.query_one("#input-email", Input).value = email
    field = screen.query_one("#input-password", Input)
    field.value = password
    field.focus()
    await pilot.pause()
    await pilot.press("enter")
    await wait_until(pilot, lambda: pilot.app.user_session is not None, what="sign-in")
    await settle(pilot)


def field_error(app, name: str) -> str:
    from textual.widgets import Label

    return str(app.screen.query_one(f"#error-{name}", Label).content)


def table_text(app, selector: str) -> list[list[str]]:
    """The plain text of every row of a table (DataTable or LiveTable) on the screen, in
    the columns it shows at its width."""
    table = app.screen.query_one(selector)
    rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
    if hasattr(table, "shown_columns"):
        shown = set(table.shown_columns())
        keep = [i for i, column in enumerate(table.columns) if column.key in shown]
        rows = [[row[i] for i in keep] for row in rows]
    return rows


def screen_text(app) -> list[str]:
    """What the terminal shows right now (toasts and dialogs included), one string per line,
    read from the app's own SVG screenshot: the characters the app sends to the terminal."""
    import html
    import re

    lines: dict[int, list[str]] = {}
    for match in re.finditer(r'<text [^>]*clip-path="url\(#[\w-]*?-line-(\d+)\)"[^>]*>(.*?)'
                             r"</text>", app.export_screenshot(), flags=re.S):
        lines.setdefault(int(match[1]), []).append(html.unescape(match[2]))
    return ["".join(parts).replace("\xa0", " ").rstrip("\n") for _, parts in sorted(lines.items())]
