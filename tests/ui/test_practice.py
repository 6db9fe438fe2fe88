"""A practice day in the console: offered while NSE is closed, started with p, said plainly
on the status bar, trading on its own book, and left with p back to the real one."""

from __future__ import annotations

from datetime import date

from sqlmodel import select
from textual.css.query import NoMatches

from tui_trader.db.models import Order, Strategy
from tui_trader.domain.calendar import NseCalendar
from tui_trader.domain.practice import plan_practice
from tui_trader.ui.screens.positions import EMPTY_CLOSED, EMPTY_PRACTICE, empty_text
from tui_trader.ui.widgets.status_bar import status_content

from .conftest import log_in, screen_text, settle, table_text, wait_until


async def test_closed_market_offers_a_practice_day_and_p_starts_and_leaves_it(
        make_app, ctx, user, fake_engine):
    # The frozen clock: Monday 2026-11-23 09:00 IST, before the open.
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(160, 30)) as pilot:
        await log_in(pilot)
        assert any(n.startswith("Market closed: press p to practise a day")
                   for n in app.notices_seen), app.notices_seen
        await wait_until(pilot, lambda: app.screen.query_one("#positions-empty").display,
                         what="the empty positions notice")
        assert str(app.screen.query_one("#positions-empty").content) == EMPTY_CLOSED
        real_session = app.user_session

        await pilot.press("p")
        await wait_until(pilot, lambda: app.practice_day is not None and
                         app.user_session is not None, timeout=30, what="the practice day")
        await settle(pilot)
        # The last trading day before Monday 23 Nov is Friday 20 Nov; the default speed 60.
        assert app.status.practice == "PRACTICE 2026-11-20 ×60"
        bar = status_content(app.status, 160).plain
        assert "PRACTICE 2026-11-20 ×60" in bar
        assert any("PRACTICE 2026-11-20 ×60" in line for line in screen_text(app))
        assert app.user_session is not real_session
        assert app.user_session.user.email == "asha@example.com"  # the trader, practising
        # (Its BUYs fill two seconds in: the notice an empty practice book shows is read
        # without waiting for it.)
        assert empty_text(app) == EMPTY_PRACTICE
        await pilot.press("2")
        await wait_until(pilot, lambda: len(table_text(app, "#strategies-table")) == 2,
                         what="the practice strategies")
        rows = table_text(app, "#strategies-table")
        assert all(any("INFY morning" in c for c in row) or any("TCS intraday" in c
                                                                 for c in row) for row in rows)
        assert all(row[0] == "▶" for row in rows), rows  # both running
        day = app.practice_day

        await pilot.press("p")
        await wait_until(pilot, lambda: app.practice_day is None and
                         app.user_session is real_session, timeout=15, what="leaving practice")
        await settle(pilot)
        assert app.status.practice == ""
        assert "PRACTICE" not in status_content(app.status, 160).plain
        assert day.closed and app.backend.ctx is ctx and app.clock is ctx.clock
    # Nothing of the practice reached the real book.
    with ctx.session() as s:
        assert s.exec(select(Strategy)).all() == []
        assert s.exec(select(Order)).all() == []


async def test_tui_trader_practice_opens_the_console_in_a_practice_day_that_trades(
        make_app, ctx, user, fake_engine):
    plan = plan_practice(NseCalendar(), "2026-11-20", "240", date(2026, 11, 23))
    app = make_app(ctx=ctx, engine=fake_engine, practice=plan)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_until(pilot, lambda: app.practice_day is not None and
                         app.user_session is not None, timeout=30, what="the practice day")
        assert app.status.practice == "PRACTICE 2026-11-20 ×240"

        def positions():
            try:
                return table_text(app, "#positions-table")
            except NoMatches:  # the section is still being built
                return []

        # The samples' BUYs fill and TCS is stopped out: the practice book shows both.
        await wait_until(pilot, lambda: {row[0] for row in positions()} == {"INFY", "TCS"}
                         and any("CLOSED" in row for row in positions()),
                         timeout=30, what=lambda: f"positions {positions()}")
        await wait_until(pilot, lambda: any("done:" in n for n in app.notices_seen),
                         timeout=30, what="the practice day's end")
        assert any("Press p to leave practice" in n for n in app.notices_seen)
        # Quitting a practice day opened from the command line asks nothing: none of it is
        # real, and no real session runs behind it.
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None, what="quit")
        assert app.screen.__class__.__name__ != "ConfirmScreen"
