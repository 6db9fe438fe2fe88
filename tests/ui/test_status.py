"""The status bar and the rule that nothing in the background can take the console down:
market and IST clock, engine state from events and health, a lost live store, unread
count from notifications (with toasts), and a failing worker shown as one line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tui_trader.domain.events import EngineStatus, NotificationRaised, PositionChanged
from tui_trader.domain.lifecycle import EngineState
from tui_trader.ui.messages import EngineEventsBatch
from tui_trader.ui.status import StatusInfo
from tui_trader.ui.widgets.status_bar import status_content

from .conftest import FakeEngine, log_in, settle, table_text, wait_until


@pytest.fixture
def holidays_txt(ui_settings):
    """A trader's holidays.txt in the config dir, written before the context reads it."""
    path = ui_settings.holidays_file
    path.write_text("2027-01-26  # Republic Day\n", encoding="utf-8")
    return path


def test_status_line_fits_80_columns_dropping_the_least_important_parts():
    info = StatusInfo(market="NSE OPEN 10:15:00 IST", market_open=True, engine="running",
                      entries_allowed=True, store="redis cache.internal:6379",
                      events_ok=False, unread=12, user="a.very.long.address@example.com")
    text = status_content(info, 80).plain
    assert len(text) <= 80
    assert "NSE OPEN 10:15:00 IST" in text and "engine running" in text
    assert "✗ down" in text
    wide = status_content(info, 160).plain
    assert "12 unread" in wide and "a.very.long.address@example.com" in wide


def test_the_next_open_and_the_calendar_note_give_way_before_the_market_and_engine():
    info = StatusInfo(market="NSE CLOSED 16:00:00 IST", market_open=False,
                      market_next="opens Wed 09:15",
                      calendar_note="NSE calendar ends 31 Dec 2026: weekdays minus holidays.txt",
                      engine="running", entries_allowed=True, store="embedded", events_ok=True,
                      unread=2, user="asha@example.com", feed="simulated")
    wide = status_content(info, 200).plain
    assert wide.startswith(" NSE CLOSED 16:00:00 IST · opens Wed 09:15 │ NSE calendar ends "
                           "31 Dec 2026: weekdays minus holidays.txt │ engine running")
    # 110 columns: the user, the store and the price source go, then when it opens.
    assert status_content(info, 110).plain == (
        " NSE CLOSED 16:00:00 IST │ NSE calendar ends 31 Dec 2026: weekdays minus holidays.txt"
        " │ engine running")
    narrow = status_content(info, 60).plain
    assert narrow == " NSE CLOSED 16:00:00 IST │ engine running"


async def test_past_the_calendar_the_status_bar_and_a_notice_say_so(
        make_app, holidays_txt, clock, ctx, user, fake_engine):
    """Past the exchange calendar's last session the console says trading days are now
    weekdays minus holidays.txt, and when NSE next opens by that rule."""
    from datetime import datetime

    from tui_trader.domain.clock import IST

    clock.set(datetime(2027, 1, 25, 16, 0, tzinfo=IST))  # Monday; Tuesday is in the file
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(160, 24)) as pilot:
        await log_in(pilot)
        await settle(pilot)
        assert app.status.market == "NSE CLOSED 16:00:00 IST"
        assert app.status.market_next == "opens Wed 09:15"
        assert app.status.calendar_note == \
            "NSE calendar ends 31 Dec 2026: weekdays minus holidays.txt"
        notice = ("NSE holidays after 31 Dec 2026 are not known to this install: every "
                  f"weekday counts as a trading day except those listed in {holidays_txt}")
        assert notice in app.boot.notices
        assert any(notice.startswith(n.rstrip("…")) for n in app.notices_seen), \
            app.notices_seen  # (the toast may shorten a long path)
        bar = status_content(app.status, 160).plain
        assert "opens Wed 09:15 │ NSE calendar ends 31 Dec 2026" in bar


async def test_a_month_before_the_calendar_ends_the_console_warns(
        make_app, clock, ctx, user, fake_engine):
    from datetime import datetime

    from tui_trader.domain.clock import IST

    clock.set(datetime(2026, 12, 6, 11, 0, tzinfo=IST))
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(120, 24)) as pilot:
        await log_in(pilot)
        assert app.status.calendar_note == ""  # still known: no note in the bar yet
        assert any(n.startswith("NSE holidays are known up to 31 Dec 2026; from 01 Jan 2027 "
                                "every weekday counts as a trading day")
                   for n in app.notices_seen), app.notices_seen


def test_before_start_up_the_status_bar_reads_the_clock_the_engine_will_use(ui_settings):
    """With TUI_TRADER_CLOCK_START the very first frame already shows the simulated time,
    and the engine and the bar share that one clock."""
    from datetime import datetime

    from tui_trader.domain.clock import IST, SimulatedClock
    from tui_trader.ui.app import TraderApp

    start = datetime(2026, 11, 23, 9, 0, tzinfo=IST)
    settings = ui_settings.model_copy(update={"clock_start": start})
    app = TraderApp(settings)
    assert isinstance(app.clock, SimulatedClock) and app.clock.start == start
    assert app.backend.clock is app.clock
    assert app.status.market.startswith("NSE 09:0") and \
        app.status.market.endswith(" IST SIMULATED")


async def test_events_move_the_status_bar_raise_toasts_and_update_positions(
        make_app, ctx, user, fake_engine):
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        assert app.status.market == "NSE CLOSED 09:00:00 IST"
        assert app.status.market_next == "opens Mon 09:15"
        assert app.status.engine == "running"
        uid = str(user.id)
        app.post_message(EngineEventsBatch([
            EngineStatus(user_id="*", state=EngineState.ENTRIES_BLOCKED, entries_allowed=False,
                         detail="live store unreachable"),
            NotificationRaised(user_id=uid, notification_id="n1", kind="STOPLOSS",
                               severity="WARNING", title="Stop-loss hit: INFY",
                               body="sold 10 at 1,499.95"),
            PositionChanged(user_id=uid, position_id="p1", strategy_id=None, symbol="INFY",
                            quantity=0, average_price=Decimal("1520"),
                            ltp=Decimal("1499.95"), unrealized_pnl=Decimal(0),
                            realized_pnl=Decimal("-200.50"), status="CLOSED"),
        ]))
        await settle(pilot)
        assert app.status.engine is EngineState.ENTRIES_BLOCKED and app.status.unread == 1
        assert app.status.engine_text == "entries blocked: live store unreachable"
        assert app.status.engine_level == "warn"
        assert "engine entries blocked: live store unreachable" in \
            status_content(app.status, 120).plain
        assert "sold 10 at 1,499.95" in app.notices_seen
        assert table_text(app, "#positions-table") == [
            ["INFY", "0", "1,520.00", "1,499.95", "0.00", "-200.50", "CLOSED"]]


async def test_a_lost_live_store_shows_and_the_console_keeps_running(
        make_app, ui_settings, clock, user):
    import redis

    from tui_trader.services.context import bootstrap

    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                       decode_responses=True)
    ctx = bootstrap(ui_settings, clock=clock, store=dead)
    try:
        app = make_app(ctx=ctx, engine=FakeEngine(state="unreachable"), health_interval=0.2)
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in(pilot)
            await wait_until(pilot, lambda: app.status.events_ok is False, what="store down")
            assert "✗ down" in status_content(app.status, 80).plain
            assert app.status.engine == "unreachable"
            await pilot.press("2")
            await settle(pilot)
            assert app.current_mode == "strategies", "still usable"
    finally:
        ctx.close()


async def test_when_the_live_store_comes_back_positions_are_read_again(
        make_app, ctx, user, fake_engine):
    """Events sent while the link was down are lost: a position filled meanwhile must show
    without the trader pressing r."""
    from decimal import Decimal

    from tui_trader.db.models import Position
    from tui_trader.domain.enums import PositionStatus
    from tui_trader.ui.messages import StoreHealth

    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        await settle(pilot)
        app.post_message(StoreHealth(False, "live store unreachable"))
        await settle(pilot)
        now = ctx.clock.now()
        with ctx.session() as s:  # filled while the console heard nothing
            s.add(Position(user_id=user.id, symbol="WIPRO", quantity=7,
                           average_price=Decimal("250"), status=PositionStatus.OPEN,
                           opened_at=now, updated_at=now))
        app.post_message(StoreHealth(True, "live store reachable again"))
        await wait_until(pilot, lambda: any(line.symbol == "WIPRO" for line in
                                            app.user_session.book.lines()),
                         what="positions read again")


async def test_a_failing_worker_is_one_line_and_the_app_stays_up(
        make_app, ctx, user, fake_engine, monkeypatch):
    from tui_trader.services.trading import TradingViews

    def boom(self, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(TradingViews, "orders", boom)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("3")
        await settle(pilot)
        assert "RuntimeError: disk on fire" in app.notices_seen
        assert app.is_running
        await pilot.press("1")
        await settle(pilot)
        assert app.current_mode == "positions"


async def test_a_database_that_cannot_be_reached_is_one_line_on_the_login_screen(
        make_app, tmp_path, monkeypatch, clock):
    from tui_trader.config import load_settings
    from tui_trader.ui.app import TraderApp

    monkeypatch.setenv("TUI_TRADER_KEYSTORE", "file")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "config.toml"))
    settings = load_settings(database_url="postgresql://nobody@127.0.0.1:1/none",
                             data_dir=tmp_path)
    app = TraderApp(settings, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: app.boot_error, timeout=30, what="start-up error")
        banner = str(app.screen.query_one("#login-banner").content)
        assert banner.startswith("Cannot start:") and "\n" not in banner
        assert app.status.engine == "offline"
        assert app.is_running
    app.backend.close()
