"""Tables of the console.

`KeyedTable` (on `LiveTable`) holds every section's list: rows set by key, changed cells
updated in place, rows reordered without a rebuild, each row drawn once and cached, so a
screen switch repaints from cache. `TraderTable` is Textual's DataTable with vi keys, for
the small static tables inside dialogs (help, an order's history).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from ..keymap import TABLE
from .live_table import Cell, LiveTable


def cell(text: str, style: str = "", *, right: bool = False) -> Text:
    """A DataTable cell (Rich Text), right-aligned for numbers."""
    out = Text(text, justify="right" if right else "left")
    if style:
        out.stylize(style)
    return out


class TraderTable(DataTable):
    BINDINGS = TABLE

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)

    def action_scroll_top(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)


class KeyedTable(LiveTable):
    """A list set as a whole from (key, cells) rows; only what changed is touched."""

    def set_rows(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        wanted = dict(rows)
        with self.app.batch_update():
            for key in [k for k in self._cells if k not in wanted]:
                self.remove_row(key)
            for key, cells in rows:
                shown = self._cells.get(key)
                if shown is None:
                    self.add_row(key, cells)
                    continue
                for column, new, old in zip(self.columns, cells, list(shown), strict=False):
                    if new != old:
                        self.update_cell(key, column.key, new)
            order = [key for key, _ in rows]
            if order != self._order:
                self.set_order(order)
