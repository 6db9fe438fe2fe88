"""Switching sections: every section's screen is built soon after sign-in (so even a first
visit is a switch to a screen that exists), a switch never holds repaints back, and a section
reads fresh data when it is shown, not while it is hidden."""

from __future__ import annotations

from textual.app import App

from tui_trader.ui import keymap

from .conftest import log_in, settle, wait_until


def section_screens(app) -> set[str]:
    return {screen.SECTION for screen in app.live_screens}


async def test_sections_are_built_ahead_and_switch_at_once(make_app, ctx, user, fake_engine,
                                                          monkeypatch):
    from tui_trader.services.strategies import StrategyService

    StrategyService(ctx, user.id).create({"name": "A one", "symbol": "INFY",
                                          "buy_time": "09:30", "sell_time": "15:00",
                                          "stop_loss": "10", "quantity": "1"})
    held = []
    original = App.delay_update

    def counting(self, delay: float = 0.05) -> None:
        held.append(delay)
        original(self, delay)

    monkeypatch.setattr(App, "delay_update", counting)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await wait_until(pilot, lambda: section_screens(app) == set(keymap.SECTIONS),
                         what="every section built")
        await settle(pilot)
        assert app.current_mode == "positions", "building ahead never shows another section"
        strategies = next(s for s in app.live_screens if s.SECTION == "strategies")
        assert strategies.query_one("#strategies-table").row_count == 0, "hidden: not read"
        held.clear()
        for key, mode in (("2", "strategies"), ("3", "orders"), ("4", "brokers"),
                          ("5", "notifications"), ("1", "positions"), ("2", "strategies")):
            await pilot.press(key)
            assert app.current_mode == mode
            await settle(pilot)
        assert held == [], "a switch to a built section paints on the next frame"
        assert app.screen is strategies
        assert strategies.query_one("#strategies-table").row_count == 1, "read when shown"


async def test_sections_are_built_again_after_logging_out_and_in(make_app, ctx, user,
                                                                fake_engine):
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await wait_until(pilot, lambda: section_screens(app) == set(keymap.SECTIONS),
                         what="every section built")
        await pilot.press("L")
        await wait_until(pilot, lambda: app.current_mode == "login", what="log out")
        await settle(pilot)
        assert section_screens(app) == set()
        await log_in(pilot)
        await wait_until(pilot, lambda: section_screens(app) == set(keymap.SECTIONS),
                         what="every section built again")
        await pilot.press("3")
        await settle(pilot)
        assert app.current_mode == "orders"


def test_stylesheet_is_parsed_again_only_when_its_variables_or_sources_change():
    from textual.color import Color

    from tui_trader.ui.stylesheet import ReusingStylesheet

    sheet = ReusingStylesheet(variables={"accent": "red"})
    sheet.add_source("Label { color: $accent; }", read_from=("test.tcss", ""))
    sheet.set_variables({"accent": "red"})
    sheet.reparse()
    rules = sheet.rules
    assert rules[0].styles.color == Color.parse("red")
    sheet.set_variables({"accent": "red"})
    sheet.reparse()
    assert sheet.rules is rules, "same variables, same sources: the same rules"
    sheet.set_variables({"accent": "blue"})
    sheet.reparse()
    assert sheet.rules[0].styles.color == Color.parse("blue")
    sheet.add_source("Button { color: $accent; }", read_from=("more.tcss", ""))
    sheet.reparse()
    assert len(sheet.rules) == 2
