"""The status glyphs the console draws, with what each means: the tables use the glyph and
its role, the help screen (`?`) lists the meanings. Shapes, so they read without colour."""

from __future__ import annotations

# A strategy's status: (glyph, role, meaning).
STRATEGY_STATUS: dict[str, tuple[str, str, str]] = {
    "running": ("▶", "bold success", "running"),
    "stopped": ("■", "warning", "stopped"),
    "created": ("○", "", "never started"),
}
# A running strategy whose last BUY came while the console was closed.
MISSED_BUY = ("!", "bold warning", "running; missed a BUY while closed")
# The status bar's link to the live store.
STORE_LINK = (("●", "live store linked"), ("✗ down", "live store unreachable"))


def legend() -> list[tuple[str, str, str]]:
    """(glyph, meaning, where it shows) for every glyph, as the help screen lists them."""
    rows = [(glyph, _sentence(meaning), "Strategies")
            for glyph, _, meaning in STRATEGY_STATUS.values()]
    rows.append((MISSED_BUY[0], _sentence(MISSED_BUY[2]), "Strategies"))
    rows.extend((glyph, _sentence(meaning), "status bar") for glyph, meaning in STORE_LINK)
    return rows


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
