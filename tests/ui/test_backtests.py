"""The Backtests section (6): a run from the form on seeded stored candles shows progress
and opens its detail; a bad parameter is refused at its field and nothing runs; cancel stops
a run and stores nothing; two runs compared; "paper-trade this" says what the strategies
service says."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import ProgressBar

from .backtest_seed import store_minutes
from .conftest import field_error, log_in, screen_text, settle, table_text, type_into, wait_until


def runs(ctx, user):
    from tui_trader.services.backtest_runs import BacktestRunService

    return BacktestRunService(ctx, user.id).runs()


async def open_form(pilot):
    await log_in(pilot)
    await pilot.press("6")
    await settle(pilot)
    assert type(pilot.app.screen).__name__ == "BacktestsScreen"
    await pilot.press("n")
    await settle(pilot)
    assert type(pilot.app.screen).__name__ == "BacktestForm"


async def test_a_run_from_the_form_shows_progress_then_its_detail(make_app, ctx, user):
    store_minutes(ctx)
    app = make_app()
    seen: list[float] = []
    async with app.run_test(size=(100, 40)) as pilot:
        await open_form(pilot)
        await type_into(pilot, "#input-symbol", "INFY")
        await type_into(pilot, "#input-fast", "5")
        await type_into(pilot, "#input-stop_pct", "1")
        bar = app.screen.query_one("#bt-progress", ProgressBar)
        bar.watch_progress = lambda value: seen.append(value)  # type: ignore[method-assign]
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "BacktestDetail",
                         what="the detail")
        await settle(pilot)
        assert seen and seen[-1] == 375 * 3, "the bar followed the run to its end"
        [run] = runs(ctx, user)
        assert app.screen.run_id == str(run.id)
        assert run.summary["trades"] > 0
        summary = dict((r[0], r[1]) for r in table_text(app, "#bt-summary"))
        assert summary["Trades"] == str(run.summary["trades"])
        from tui_trader.services.backtest_runs import BacktestRunService

        stored = BacktestRunService(ctx, user.id).get(run.id).trades  # an open one included
        assert len(table_text(app, "#bt-trades")) == len(stored)
        assert table_text(app, "#bt-days"), "a per-day breakdown"
        text = "\n".join(screen_text(app))
        assert "ema_crossover on INFY minute" in text and "Equity" in text
        app.screen.query_one("#bt-tabs").active = "tab-candles"
        await settle(pilot)
        assert "Close with entries (^) and exits (v)" in "\n".join(screen_text(app))
        await pilot.press("escape")
        await settle(pilot)
        rows = table_text(app, "#backtests-table")
        assert len(rows) == 1 and "INFY" in rows[0] and "ema_crossover" in rows[0]


async def test_a_bad_parameter_is_refused_at_its_field(make_app, ctx, user):
    store_minutes(ctx)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_form(pilot)
        await type_into(pilot, "#input-symbol", "INFY")
        await type_into(pilot, "#input-slow", "500")
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert field_error(app, "slow") == "Slow EMA: must be between 3 and 200 candles"
        assert field_error(app, "fast") == ""
        assert type(app.screen).__name__ == "BacktestForm"
        assert not app.screen.query_one("#bt-progress").display, "nothing ran"
        assert runs(ctx, user) == []


async def test_cancel_stops_the_run_and_stores_nothing(make_app, ctx, user, monkeypatch):
    from tui_trader.services import backtests

    store_minutes(ctx)
    real = backtests.run
    reported: list[int] = []
    hold = threading.Event()

    def held_run(spec, bars, progress):
        def report(done, total):
            reported.append(done)
            if len(reported) == 1:  # the run waits at its first report until Esc is pressed
                assert hold.wait(10), "the test never let the run go on"
            progress(done, total)
        return real(spec, bars, progress=report)

    monkeypatch.setattr(backtests, "run", held_run)
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await open_form(pilot)
        await type_into(pilot, "#input-symbol", "INFY")
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: reported, what="the run's first report")
        assert app.screen.query_one("#bt-progress").display
        await pilot.press("escape")
        hold.set()
        await wait_until(pilot, lambda: "Cancelled" in str(
            app.screen.query_one("#bt-form-banner").content), what="cancelled")
        assert reported == [reported[0]] and reported[0] < 375 * 3, "stopped mid-run"
        assert type(app.screen).__name__ == "BacktestForm"
        assert runs(ctx, user) == []


async def test_compare_and_paper_trade_this(make_app, ctx, user):
    from tui_trader.services.backtest_runs import BacktestRunService, check_form

    store_minutes(ctx)
    service = BacktestRunService(ctx, user.id)
    form = {"kind": "ema_crossover", "params": {"fast": "5", "slow": "20"}, "symbol": "INFY",
            "interval": "minute", "date_from": "2026-11-01", "date_to": "2026-11-23",
            "quantity": "1"}
    service.run(check_form(form)[0])
    service.run(check_form({**form, "params": {"fast": "9", "slow": "21"}})[0])
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await pilot.press("6")
        await settle(pilot)
        await wait_until(pilot, lambda: app.screen.query_one("#backtests-table").row_count == 2,
                         what="two runs")
        await pilot.press("c", "j", "c")
        await settle(pilot)
        assert type(app.screen).__name__ == "CompareRuns"
        rows = {r[0]: r[1:] for r in table_text(app, "#compare-table")}
        assert set(rows["Parameters"]) == {"fast=5, slow=20, timeframe=minute",
                                           "fast=9, slow=21, timeframe=minute"}
        assert "Net P&L" in rows and "Sharpe" in rows
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        await wait_until(pilot, lambda: any("Paper-trade this" in n for n in app.notices_seen),
                         what="the answer")
        [said] = [n for n in app.notices_seen if "Paper-trade this" in n]
        assert "ema_crossover strategies are in the catalog" in said
        assert app.user_session.strategies.list() == [], "nothing created"


async def test_paper_trade_this_from_a_runs_detail_creates_a_stopped_strategy(make_app, ctx,
                                                                             user):
    from decimal import Decimal

    from tui_trader.db.models import Instrument
    from tui_trader.db.repositories.instruments import InstrumentRepository
    from tui_trader.domain.enums import Exchange, InstrumentType, StrategyStatus
    from tui_trader.services.backtest_runs import BacktestRunService, check_form

    store_minutes(ctx)
    with ctx.session() as s:
        InstrumentRepository(s).upsert_many([Instrument(
            instrument_token=1, symbol="INFY", exchange=Exchange.NSE,
            instrument_type=InstrumentType.EQ, tick_size=Decimal("0.05"), lot_size=1)])
    BacktestRunService(ctx, user.id).run(check_form({
        "kind": "scheduled", "params": {"buy_time": "09:30", "sell_time": "15:00"},
        "symbol": "INFY", "interval": "minute", "date_from": "2026-11-01",
        "date_to": "2026-11-23", "quantity": "5", "stop_pct": "1"})[0])
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await pilot.press("6")
        await settle(pilot)
        await wait_until(pilot, lambda: app.screen.query_one("#backtests-table").row_count == 1,
                         what="the run")
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "BacktestDetail"
        await pilot.press("p")
        await wait_until(pilot, lambda: any("Created paper strategy" in n
                                            for n in app.notices_seen), what="created")
        [strategy] = app.user_session.strategies.list()
        assert (strategy.kind.value, strategy.symbol, strategy.quantity, strategy.status) == \
            ("scheduled", "INFY", 5, StrategyStatus.CREATED)


# -- snapshots (frozen clock, fixed size, both themes; see test_snapshots.py) ---------------

async def _show_backtests(pilot, login, detail: bool) -> None:
    from tui_trader.ui.session_flow import start_session

    from .test_snapshots import still

    app = pilot.app
    await wait_until(pilot, lambda: app.boot is not None, what="start-up")
    start_session(app, login)
    await settle(pilot)
    await pilot.press("6")
    await settle(pilot)
    await wait_until(pilot, lambda: app.screen.query_one("#backtests-table").row_count == 1,
                     what="the run")
    if detail:
        await pilot.press("enter")
        await settle(pilot)
        await wait_until(pilot, lambda: getattr(app.screen, "detail", None) is not None,
                         what="the detail")
        await settle(pilot)
    still(app)


@pytest.mark.parametrize("theme", ["trader-dark", "trader-light"])
@pytest.mark.parametrize("screen", ["list", "detail"])
def test_snapshot(snap_compare, ui_settings, clock, screen, theme):
    from tui_trader.services.auth import AuthService
    from tui_trader.services.backtest_runs import BacktestRunService, check_form
    from tui_trader.services.context import bootstrap
    from tui_trader.ui.app import TraderApp

    from .conftest import FakeEngine

    ctx = bootstrap(ui_settings, clock=clock)
    ctx.notices.clear()
    try:
        user = AuthService(ctx).sign_up("asha@example.com", "correct-horse-1", "Asha")
        store_minutes(ctx)
        BacktestRunService(ctx, user.id).run(check_form({
            "kind": "ema_crossover", "params": {"fast": "5", "slow": "20"},
            "symbol": "INFY", "interval": "minute", "date_from": "2026-11-01",
            "date_to": "2026-11-23", "quantity": "10", "stop_pct": "1"})[0])
        login = AuthService(ctx).login("asha@example.com", "correct-horse-1")
        app = TraderApp(ui_settings, clock=ctx.clock, ctx=ctx, engine=FakeEngine(),
                        event_interval=0.05)
        app.notify = lambda *args, **kwargs: None

        async def before(pilot):
            app.theme = theme
            await _show_backtests(pilot, login, screen == "detail")

        try:
            assert snap_compare(app, terminal_size=(120, 40), run_before=before)
        finally:
            app.backend.close()
    finally:
        ctx.close()
