"""Themes from the top-level themes/ directory: dark, light and a high-contrast colour-blind
safe one; the choice persists for the user."""

from __future__ import annotations

from textual.color import Color

from tui_trader.ui.themes import load_themes, pnl_colors

from .conftest import PASSWORD, log_in, settle, wait_until


def test_three_themes_with_distinct_pnl_colours():
    themes = {t.name: t for t in load_themes()}
    assert {"trader-dark", "trader-light", "trader-contrast"} <= set(themes)
    assert not themes["trader-light"].dark
    for theme in themes.values():
        up, down, _flat = pnl_colors(theme)
        assert Color.parse(up) != Color.parse(down)
    # Colour-blind safe: blue vs orange, not green vs red.
    up, down, _ = pnl_colors(themes["trader-contrast"])
    assert Color.parse(up).rgb == (0x56, 0xB4, 0xE9) and Color.parse(down).rgb == (0xE6, 0x9F, 0)


async def test_theme_choice_persists_for_the_user(make_app, ctx, user, fake_engine):
    from tui_trader.services.auth import AuthService

    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.theme == "trader-dark"
        await log_in(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert app.theme == "trader-light"
        assert any(n.startswith("Theme: trader-light (") for n in app.notices_seen)
        await wait_until(pilot, lambda: AuthService(ctx).login(user.email, PASSWORD)
                         .user.theme == "trader-light", what="saved theme")
    app2 = make_app(ctx=ctx, engine=fake_engine)
    async with app2.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        assert app2.theme == "trader-light"
