"""Snapshots of every screen at 80x24 and 160x48, dark and light, on fixed data and a frozen
clock. Regenerate with `pytest tests/ui/test_snapshots.py --snapshot-update` and review."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from .conftest import MONDAY_0900_IST, FakeEngine, settle, wait_until
from .seed import pnl_curve, seed_showcase

SIZES = [(80, 24), (160, 48)]
THEMES = ["trader-dark", "trader-light"]
SCREENS = ["login", "signup", "positions", "strategies", "editor", "orders", "order_detail",
           "brokers", "broker_form", "kite_login", "notifications", "help", "confirm_live"]


@pytest.fixture(scope="module")
def showcase(tmp_path_factory, _sqlite_template):
    """One seeded database for every snapshot (they only read what they show)."""
    import shutil

    from tui_trader.config import load_settings
    from tui_trader.domain.clock import FrozenClock
    from tui_trader.live.store import reset_embedded_store
    from tui_trader.services.auth import AuthService
    from tui_trader.services.context import bootstrap

    folder = tmp_path_factory.mktemp("snapshots")
    reset_embedded_store()  # prices an earlier test's engine left there would be "live"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUI_TRADER_KEYSTORE", "file")
        mp.setenv("TUI_TRADER_CONFIG", str(folder / "config.toml"))
        shutil.copy(_sqlite_template, folder / "t.db")
        settings = load_settings(database_url=f"sqlite:///{folder / 't.db'}", data_dir=folder)
        clock = FrozenClock(MONDAY_0900_IST)
        ctx = bootstrap(settings, clock=clock)
        ctx.notices.clear()  # the key-store note names a temp path: not for a snapshot
        user = AuthService(ctx).sign_up("asha@example.com", "correct-horse-1", "Asha")
        seeded = seed_showcase(ctx, user.id)
        login = AuthService(ctx).login("asha@example.com", "correct-horse-1")
        yield settings, ctx, login, seeded
        ctx.close()


def still(app) -> None:
    """No blinking cursor, no toasts: the picture must be the same every run."""
    for widget in app.screen.query(Input):
        widget.cursor_blink = False
    app.clear_notifications()


SECTION_TABLES = {"PositionsScreen": "#positions-table", "StrategiesScreen": "#strategies-table",
                  "OrdersScreen": "#orders-table", "BrokersScreen": "#brokers-table",
                  "NotificationsScreen": "#notifications-table"}


def rows_shown(app) -> bool:
    """A section has loaded its (seeded, never empty) rows; other screens are ready."""
    table = SECTION_TABLES.get(type(app.screen).__name__)
    return table is None or app.screen.query_one(table).row_count > 0


async def show(pilot, screen: str, theme: str, login) -> None:
    from tui_trader.ui.session_flow import start_session

    app = pilot.app
    await wait_until(pilot, lambda: app.boot is not None, what="start-up")
    if screen in ("login", "signup"):
        app.theme = theme
        if screen == "signup":
            await pilot.press("f2")
        app.screen.query_one("#input-email", Input).value = "asha@example.com"
        await pilot.pause()
        still(app)
        return
    start_session(app, login)
    await settle(pilot)
    await wait_until(pilot, lambda: rows_shown(app), what="positions")
    app.theme = theme
    app.user_session.book.series = pnl_curve(app.clock.now())
    app.screen.data_changed("chart")
    keys = {
        "positions": [], "strategies": ["2"], "editor": ["2", "n"], "orders": ["3"],
        "order_detail": ["3", "j", "enter"], "brokers": ["4"], "broker_form": ["4", "a"],
        "kite_login": ["4", "j", "l"], "notifications": ["5"], "help": ["2", "question_mark"],
        "confirm_live": ["2", "s"],
    }[screen]
    for key in keys:
        await pilot.press(key)
        await settle(pilot)
        await wait_until(pilot, lambda: rows_shown(app), what=f"{screen} data")
    if screen == "positions":
        app.screen._chart_points = -1
        app.screen.data_changed("chart")
    await settle(pilot)
    still(app)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(snap_compare, showcase, screen, size, theme):
    from tui_trader.ui.app import TraderApp

    settings, ctx, login, _ = showcase
    app = TraderApp(settings, clock=ctx.clock, ctx=ctx, engine=FakeEngine(),
                    event_interval=0.05)
    app.notify = lambda *args, **kwargs: None  # toasts come and go: not part of a screen
    try:
        assert snap_compare(app, terminal_size=size,
                            run_before=lambda pilot: show(pilot, screen, theme, login))
    finally:
        app.backend.close()
