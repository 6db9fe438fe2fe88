"""Every key (the current section's, the table keys and the app-wide ones), then what each
status glyph means."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from .. import keymap
from ..glyphs import legend
from ..widgets.table import TraderTable
from .base import TraderModal


def help_rows(section: str, remapped: dict[str, str] | None = None
              ) -> list[tuple[str, str, str]]:
    """(key, what it does, where) for the help table; `remapped` is the user's keymap."""
    remapped = remapped or {}
    rows: list[tuple[str, str, str]] = []

    def key_of(b) -> str:
        return remapped.get(b.id or "", b.key_display or b.key)

    here = keymap.SECTIONS.get(section, "Log in" if section == "login" else section)
    own = keymap.SECTION_BINDINGS.get(section, keymap.LOGIN if section == "login" else [])
    for b in own:
        rows.append((key_of(b), b.description, here))
    if section in keymap.SECTION_BINDINGS:
        for b in keymap.TABLE:
            rows.append((key_of(b), b.description, "tables"))
        rows.append(("escape", "Back to Positions", here))
    for b in keymap.APP:
        rows.append((key_of(b), b.description, "everywhere"))
    rows.append(("ctrl+p", "Command palette: every action by name", "everywhere"))
    rows.append(("tab", "Next field or panel", "everywhere"))
    rows.append(("shift+tab", "Previous field or panel", "everywhere"))
    rows.extend(legend())
    return rows


class HelpScreen(TraderModal):
    BINDINGS = keymap.HELP

    def __init__(self, section: str, remapped: dict[str, str] | None = None) -> None:
        super().__init__()
        self.section = section
        self.remapped = remapped or {}

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("Keys and glyphs", id="help-title")
            yield TraderTable(id="help-table")
            yield Static("Esc closes · ctrl+p finds any action by name", id="help-hint")

    def on_mount(self) -> None:
        table = self.query_one(TraderTable)
        table.add_columns("Key", "Action", "Where")
        for key, what, where in help_rows(self.section, self.remapped):
            table.add_row(key, what, where)
        table.focus()

    def action_cancel(self) -> None:
        self.dismiss(None)
