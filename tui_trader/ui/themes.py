"""The console's themes, read from the top-level `themes/` directory (one TOML file each).

A theme file holds Textual's theme slots (primary, background, ...) and a `[variables]`
table; `pnl-up`, `pnl-down` and `pnl-flat` colour profit and loss. Where the directory
cannot be found (an unusual install) Textual's stock dark and light themes stand in.
"""

from __future__ import annotations

import logging
import os
import sys
import tomllib
from pathlib import Path

from textual.theme import Theme

log = logging.getLogger(__name__)

DEFAULT_THEME = "trader-dark"
FALLBACK = {"trader-dark": "textual-dark", "trader-light": "textual-light",
            "trader-contrast": "textual-dark"}
_FIELDS = ("primary", "secondary", "warning", "error", "success", "accent", "foreground",
           "background", "surface", "panel", "boost", "dark", "luminosity_spread",
           "text_alpha")


def theme_dirs() -> list[Path]:
    """Where theme files may live: $TUI_TRADER_THEMES, the installed package (a wheel
    carries them as package data, see setup.py), the source tree, the install prefix."""
    dirs = []
    if os.environ.get("TUI_TRADER_THEMES"):
        dirs.append(Path(os.environ["TUI_TRADER_THEMES"]))
    dirs.append(Path(__file__).resolve().parents[1] / "themes")
    dirs.append(Path(__file__).resolve().parents[2] / "themes")
    dirs.append(Path(sys.prefix) / "share" / "tui-trader" / "themes")
    return dirs


def parse_theme(text: str, source: str = "theme") -> Theme:
    data = tomllib.loads(text)
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ValueError(f"{source}: needs string 'name' and 'primary'")
    kwargs = {k: data[k] for k in _FIELDS if k in data}
    variables = {str(k): str(v) for k, v in dict(data.get("variables", {})).items()}
    return Theme(name=data["name"], variables=variables, **kwargs)


def load_themes() -> list[Theme]:
    """Every valid theme file in the first theme directory that exists."""
    for folder in theme_dirs():
        if not folder.is_dir():
            continue
        themes = []
        for path in sorted(folder.glob("*.toml")):
            try:
                themes.append(parse_theme(path.read_text(encoding="utf-8"), path.name))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("skipping theme %s: %s", path, exc)
        if themes:
            return themes
    return []


def pnl_colors(theme: Theme) -> tuple[str, str, str]:
    """(up, down, flat) colours of a theme, falling back to its success/error slots."""
    v = theme.variables
    return (v.get("pnl-up") or theme.success or "green",
            v.get("pnl-down") or theme.error or "red",
            v.get("pnl-flat") or theme.foreground or "default")


def rich_color(variables: dict[str, str], name: str, fallback: str = "default") -> str:
    """A theme variable as a colour Rich understands (#RRGGBB), for table cells."""
    from textual.color import Color, ColorParseError

    value = variables.get(name)
    if not value:
        return fallback
    try:
        return Color.parse(value).hex6
    except ColorParseError:
        return fallback
