"""A small terminal (60x20) keeps what a trader must see: the PAPER/LIVE mode of every
strategy and every section in the tab bar; columns re-fit when the terminal is resized."""

from __future__ import annotations

from .conftest import log_in, settle, wait_until
from .seed import seed_showcase


def shown_line(widget, y: int) -> str:
    """Line `y` of a widget as drawn on screen."""
    return "".join(segment.text for segment in widget.render_line(y))


def nav_text(app) -> tuple[str, int]:
    from tui_trader.ui.widgets.nav_bar import NavBar

    bar = app.screen.query_one(NavBar)
    return bar.render().plain, bar.size.width


async def _strategies_at(pilot) -> list[str]:
    app = pilot.app
    await pilot.press("2")
    await wait_until(pilot, lambda: app.screen.query_one("#strategies-table").row_count == 3,
                     what="strategies")
    await settle(pilot)
    table = app.screen.query_one("#strategies-table")
    return [shown_line(table, y) for y in range(4)]


async def test_at_60x20_every_strategy_shows_its_mode_and_every_tab_shows(make_app, ctx, user,
                                                                          fake_engine):
    seed_showcase(ctx, user.id)  # INFY and TCS on PAPER, HDFCBANK LIVE; 3 unread alerts
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(60, 20)) as pilot:
        await log_in(pilot)
        text, width = nav_text(app)
        assert len(text) <= width
        for key, title in (("1", "Pos"), ("2", "Strat"), ("3", "Orders"), ("4", "Brokers"),
                           ("5", "Alerts (3)")):
            assert f" {key} {title} " in text, text
        header, *rows = await _strategies_at(pilot)
        assert "Mode" in header and "Stop-loss" in header, header
        modes = [row.split()[-1] for row in rows]
        assert sorted(modes) == ["LIVE", "PAPER", "PAPER"], rows
        text, _ = nav_text(app)
        assert " 5 Alerts (3) " in text


async def test_columns_refit_when_the_terminal_is_resized(make_app, ctx, user, fake_engine):
    seed_showcase(ctx, user.id)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        header, *_ = await _strategies_at(pilot)
        assert "P&L today" in header and "Next" in header
        name_wide = header.index("Symbol")
        await pilot.resize_terminal(60, 20)
        await settle(pilot)
        table = app.screen.query_one("#strategies-table")
        header = shown_line(table, 0)
        assert "Mode" in header and "P&L today" not in header
        # The hidden columns gave the name their room.
        assert table.shown_columns() == ["status", "name", "symbol", "sl", "mode"]
        await pilot.resize_terminal(160, 40)
        await settle(pilot)
        header = shown_line(table, 0)
        assert "P&L today" in header and header.index("Symbol") > name_wide
        text, _ = nav_text(app)
        assert text.startswith(" tui-trader ") and " 2 Strategies " in text
