"""Every action is a Binding with an id; the palette is generated from the same table and
reaches every section and action; `?` lists the keys; Escape backs out; j/k move."""

from __future__ import annotations

import pytest

from tui_trader.ui import keymap

from .conftest import log_in, settle, table_text, wait_until


def all_bindings():
    tables = [keymap.APP, keymap.TABLE, keymap.LOGIN, keymap.EDITOR, keymap.MODAL,
              keymap.CONFIRM, keymap.BACK, keymap.HELP, *keymap.SECTION_BINDINGS.values()]
    return [b for table in tables for b in table]


def test_every_binding_has_an_id_and_a_description():
    for binding in all_bindings():
        assert binding.id, binding
        assert binding.description, binding


def test_palette_commands_cover_every_section_action():
    commands = keymap.commands()
    titles = {c.title for c in commands}
    for section, bindings in keymap.SECTION_BINDINGS.items():
        for b in bindings:
            if not b.action.startswith("app."):
                assert f"{keymap.SECTIONS[section]}: {b.description}" in titles
    for mode, title in keymap.SECTIONS.items():
        assert title in titles, f"navigation to {mode}"
    assert {"Kill switch", "Help", "Theme", "Log out", "Quit"} <= titles


async def test_keyboard_only_tour(make_app, ctx, user, fake_engine):
    from tui_trader.services.strategies import StrategyService

    service = StrategyService(ctx, user.id)
    for name, symbol in (("A one", "INFY"), ("B two", "TCS"), ("C three", "SBIN")):
        service.create({"name": name, "symbol": symbol, "buy_time": "09:30",
                        "sell_time": "15:00", "stop_loss": "10", "quantity": "1"})
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        # Numbers switch sections; Escape comes back to positions.
        for key, mode in (("2", "strategies"), ("3", "orders"), ("4", "brokers"),
                          ("5", "notifications"), ("1", "positions")):
            await pilot.press(key)
            await settle(pilot)
            assert app.current_mode == mode
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("escape")
        assert app.current_mode == "positions"

        # j/k move the cursor in tables.
        await pilot.press("2")
        await settle(pilot)
        table = app.screen.query_one("#strategies-table")
        assert table.cursor_row == 0
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == 2
        await pilot.press("g")
        assert table.cursor_row == 0

        # ? shows the keys of this section and the app's; Escape closes it.
        await pilot.press("question_mark")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "HelpScreen"
        rows = table_text(app, "#help-table")
        assert ["n", "New", "Strategies"] in rows
        assert ["?", "Help", "everywhere"] in rows
        await pilot.press("escape")
        assert app.screen.__class__.__name__ == "StrategiesScreen"

        # The palette reaches an action of another section: "Brokers: Add".
        await pilot.press("ctrl+p")
        await settle(pilot)
        await pilot.press(*"brokers add")
        await wait_until(pilot, lambda: app.screen.query_one("CommandList").option_count > 0,
                         what="palette hits")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "BrokerForm",
                         what="palette command ran")
        assert app.current_mode == "brokers"
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "BrokersScreen"

        # Mouse works too but is never needed: the key bar's keys are clickable.
        await pilot.click("KeyBar", offset=(2, 0))
        await settle(pilot)
        assert app.screen.__class__.__name__ == "BrokerForm"
        await pilot.press("escape")


@pytest.mark.parametrize("config_toml", ['[keys]\n"app.help" = "h"\n"nope.nope" = "x"\n'])
async def test_keys_can_be_remapped_by_binding_id_in_the_config_file(
        make_app, ctx, user, fake_engine):
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "HelpScreen"
        assert ["h", "Help", "everywhere"] in table_text(app, "#help-table")


@pytest.mark.parametrize("config_toml", [
    '[keymap]\napp.help = "h"\n"orders.filter" = "slash, ctrl+f"\n"nope.nope" = "x"\n'])
async def test_the_keymap_setting_remaps_and_names_an_entry_it_cannot_apply(
        make_app, ctx, user, fake_engine, ui_settings):
    assert ui_settings.keymap == {"app.help": "h", "orders.filter": "slash,ctrl+f",
                                  "nope.nope": "x"}
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        assert ('keymap: "nope.nope" is not a key binding of this console; left out (the '
                'README lists them)') in app.notices_seen
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "filter-strategy"
        await pilot.press("escape", "escape")
        await settle(pilot)
        await pilot.press("h")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "HelpScreen"


def test_every_binding_a_keymap_may_name_is_listed_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    missing = sorted(i for i in keymap.binding_ids() if f"`{i}`" not in readme)
    assert missing == []


async def _palette_first_hit(pilot, phrase: str) -> str:
    app = pilot.app
    await pilot.press("ctrl+p")
    await settle(pilot)
    await pilot.press(*phrase)
    await wait_until(pilot, lambda: app.screen.query_one("CommandList").option_count > 0,
                     what=f"palette hits for {phrase!r}")
    await settle(pilot)
    first = app.screen.query_one("CommandList").get_option_at_index(0)
    return str(first.prompt).split("\n")[0]


async def test_the_palette_finds_natural_phrases(make_app, ctx, user, fake_engine):
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        for phrase, title in (("kill", "Kill switch"), ("add broker", "Brokers: Add"),
                              ("log out", "Log out")):
            assert (await _palette_first_hit(pilot, phrase)).startswith(title), phrase
            await pilot.press("escape")
            await settle(pilot)
        assert (await _palette_first_hit(pilot, "new strategy")).startswith(
            "Strategies: New")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StrategyEditor",
                         what="the editor opened from the palette")


async def test_help_explains_the_status_glyphs(make_app, ctx, user, fake_engine):
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        rows = table_text(app, "#help-table")
        for glyph, meaning in (("▶", "Running"), ("■", "Stopped"), ("○", "Never started"),
                               ("!", "Running; missed a BUY while closed"),
                               ("●", "Live store linked")):
            assert [glyph, meaning, "Strategies" if glyph not in "●" else "status bar"] \
                in rows, rows
