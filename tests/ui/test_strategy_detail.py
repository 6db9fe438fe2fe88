"""The strategy detail screen (Enter on a strategy): the quote, the stored candles drawn
with the strategy's fills marked, and plain words when no candles are stored. Snapshots of
it and of the editor's generated kind form at 80x24 and 160x48 on fixed data and the frozen
clock (regenerate with --snapshot-update and review)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest

from .conftest import (
    MONDAY_0900_IST,
    FakeEngine,
    log_in,
    screen_text,
    settle,
    table_text,
    wait_until,
)
from .seed import seed_showcase
from .test_snapshots import still

FRIDAY = date(2026, 11, 20)
THURSDAY = date(2026, 11, 19)


@dataclass
class Bar:
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 1000
    oi: int | None = None


def session_bars(start_price: float = 1500.0) -> list[Bar]:
    """Thursday's and Friday's 15-minute candles (25 a session from 09:15 IST), a fixed
    wave on the 0.05 grid."""
    from tui_trader.domain.clock import ist_datetime

    out, i = [], 0
    for day in (THURSDAY, FRIDAY):
        for n in range(25):
            at = ist_datetime(day, time(9, 15)) + timedelta(minutes=15 * n)
            close = Decimal(str(round(start_price + 6 * ((i % 9) - 4) + 0.8 * i, 1)))
            out.append(Bar(at, close - Decimal("2"), close + Decimal("3.5"),
                           close - Decimal("4"), close))
            i += 1
    return out


def seed_candles_and_fills(ctx, user_id, specs) -> list[Bar]:
    """INFY's candles, and a round trip of the INFY strategy on Friday."""
    from tui_trader.db.models import Order
    from tui_trader.db.repositories.candles import CandleRepository
    from tui_trader.domain.enums import IntentState, OrderReason, OrderStatus, Side, Timeframe

    bars = session_bars()
    with ctx.session() as s:
        CandleRepository(s).store("INFY", "NSE", Timeframe.MIN15, bars)
        for n, (index, side, reason) in enumerate(((32, "BUY", "BUY"),
                                                   (44, "SELL", "SELL"))):
            at = bars[index].ts + timedelta(minutes=3)
            s.add(Order(user_id=user_id, strategy_id=specs[0].id, intent_key=f"fri-{n}",
                        client_tag=f"fri{n}", intent_state=IntentState.DONE,
                        trading_day=FRIDAY, symbol="INFY", side=Side(side),
                        reason=OrderReason(reason), quantity=10, filled_quantity=10,
                        average_price=bars[index].close, status=OrderStatus.FILLED,
                        placed_at=at, created_at=at, updated_at=at))
    return bars


async def open_detail(pilot, name: str) -> None:
    app = pilot.app
    await pilot.press("2")
    await wait_until(pilot, lambda: app.screen.query_one("#strategies-table").row_count == 3,
                     what="strategies")
    table = app.screen.query_one("#strategies-table")
    key = next(k for k, r in app.screen.rows.items() if r.name == name)
    names = [row[1] for row in table_text(app, "#strategies-table")]
    table.move_cursor(row=names.index(name))
    await wait_until(pilot, lambda: table.selected_key() == key,
                     what=f"{name} selected")
    await pilot.press("enter")
    await wait_until(pilot, lambda: type(app.screen).__name__ == "StrategyDetailScreen",
                     what="detail screen")
    await settle(pilot)


async def test_the_detail_screen_draws_stored_candles_and_marks_the_fills(make_app, ctx, user,
                                                                          fake_engine):
    seeded = seed_showcase(ctx, user.id)
    seed_candles_and_fills(ctx, user.id, seeded["strategies"])
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(120, 36)) as pilot:
        await log_in(pilot)
        await open_detail(pilot, "INFY morning")
        screen = app.screen
        chart = screen.query_one("#detail-chart").chart
        assert len(chart.candles) == 50 and chart.note == ""
        assert [m.entry for m in chart.markers] == [True, False]
        text = "\n".join(screen_text(app))
        assert "INFY morning · Scheduled · running" in text
        # The quote: the last candle's close; no candle today (Monday, before the open).
        assert "INFY 1,539.20 (last close) · no candles stored today for a day range" in text
        assert "Entries and exits: ▲ BUY 10 @ " in text and "▼ SELL 10 @ " in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "StrategiesScreen",
                         what="back to the table")


async def test_without_stored_candles_the_screen_says_so(make_app, ctx, user, fake_engine):
    seed_showcase(ctx, user.id)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        await open_detail(pilot, "TCS intraday")
        text = "\n".join(screen_text(app))
        assert "TCS 3,367.75 (last known) · no candles stored today" in text
        assert str(app.screen.query_one("#detail-note").content) == (
            "No candles stored for TCS: store some (tui-trader market candles or market "
            "import-csv) to see the chart")
        assert "No candles stored for TCS" in text
        assert not app.screen.query_one("#detail-chart").display


SIZES = [(80, 24), (160, 48)]


@pytest.fixture(scope="module")
def detail_showcase(tmp_path_factory, _sqlite_template):
    import shutil

    from tui_trader.config import load_settings
    from tui_trader.domain.clock import FrozenClock
    from tui_trader.live.store import reset_embedded_store
    from tui_trader.services.auth import AuthService
    from tui_trader.services.context import bootstrap

    folder = tmp_path_factory.mktemp("detail")
    reset_embedded_store()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUI_TRADER_KEYSTORE", "file")
        mp.setenv("TUI_TRADER_CONFIG", str(folder / "config.toml"))
        shutil.copy(_sqlite_template, folder / "t.db")
        settings = load_settings(database_url=f"sqlite:///{folder / 't.db'}", data_dir=folder)
        ctx = bootstrap(settings, clock=FrozenClock(MONDAY_0900_IST))
        ctx.notices.clear()
        user = AuthService(ctx).sign_up("asha@example.com", "correct-horse-1", "Asha")
        seeded = seed_showcase(ctx, user.id)
        seed_candles_and_fills(ctx, user.id, seeded["strategies"])
        login = AuthService(ctx).login("asha@example.com", "correct-horse-1")
        yield settings, ctx, login
        ctx.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_detail_snapshot(snap_compare, detail_showcase, size):
    from tui_trader.ui.app import TraderApp
    from tui_trader.ui.session_flow import start_session

    settings, ctx, login = detail_showcase
    app = TraderApp(settings, clock=ctx.clock, ctx=ctx, engine=FakeEngine(),
                    event_interval=0.05)
    app.notify = lambda *args, **kwargs: None

    async def run_before(pilot):
        await wait_until(pilot, lambda: app.boot is not None, what="start-up")
        start_session(app, login)
        await settle(pilot)
        app.theme = "trader-dark"
        await open_detail(pilot, "INFY morning")
        still(app)

    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        app.backend.close()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_kind_form_snapshot(snap_compare, detail_showcase, size):
    """The editor on an EMA crossover: the picker, the generated form with its defaults,
    a bad Fast EMA named at its field and INFY's quote under the symbol."""
    from textual.widgets import Input, OptionList

    from tui_trader.ui.app import TraderApp
    from tui_trader.ui.session_flow import start_session

    settings, ctx, login = detail_showcase
    app = TraderApp(settings, clock=ctx.clock, ctx=ctx, engine=FakeEngine(),
                    event_interval=0.05)
    app.notify = lambda *args, **kwargs: None

    async def run_before(pilot):
        await wait_until(pilot, lambda: app.boot is not None, what="start-up")
        start_session(app, login)
        await settle(pilot)
        app.theme = "trader-dark"
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("down")
        await wait_until(pilot, lambda: app.screen.kind == "ema_crossover", what="EMA form")
        await settle(pilot)
        app.screen.query_one("#kind-picker", OptionList).focus()
        for name, value in (("name", "INFY EMA"), ("symbol", "INFY"), ("fast", "1")):
            field = app.screen.query_one(f"#input-{name}", Input)
            field.focus()
            field.value = value
            await settle(pilot)
        await wait_until(pilot, lambda: "INFY 1,539.20" in str(
            app.screen.query_one("#editor-quote").content), what="quote")
        app.screen.query_one("#input-fast", Input).focus()
        await settle(pilot)
        still(app)

    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        app.backend.close()


async def test_a_name_full_of_markup_is_shown_as_text_on_the_detail_screen(
        make_app, ctx, user, fake_engine):
    from tests.hostile_text import MARKUP, raw_in
    from tui_trader.services.strategies import StrategyService

    StrategyService(ctx, user.id).create(
        {"name": MARKUP, "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
         "stop_loss": "1", "quantity": "1"})
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(160, 30)) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        await wait_until(pilot, lambda: app.screen.query_one("#strategies-table").row_count,
                         what="strategies")
        await pilot.press("enter")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "StrategyDetailScreen",
                         what="detail screen")
        await settle(pilot)
        lines = screen_text(app)
        shown = MARKUP[:59] + "…"  # cut at 60 characters, as text
        assert any(f"{shown} · Scheduled · created" in line for line in lines), lines[:3]
        assert type(app.screen).__name__ == "StrategyDetailScreen", "no [@click] ran"
        assert raw_in("\n".join(lines)) == []
