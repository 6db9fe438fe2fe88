"""Tables of the console.

`KeyedTable` (on `LiveTable`) holds every section's list: rows set by key, changed cells
updated in place, rows reordered without a rebuild, each row drawn once and cached, so a
screen switch repaints from cache. `TraderTable` is Textual's DataTable with vi keys, for
the small static tables inside dialogs (help, an order's history); a string cell there is
shown as the text it is (Textual's own DataTable would parse it as markup).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from ..keymap import TABLE
from ..text import plain_rich
from .live_table import Cell, LiveTable


def cell(text: str, style: str = "", *, right: bool = False) -> Text:
    """A DataTable cell (Rich Text, never markup), right-aligned for numbers."""
    return plain_rich(text, style, right=right)


class TraderTable(DataTable):
    BINDINGS = TABLE

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)

    def add_row(self, *cells: object, **options: Any) -> RowKey:
        return super().add_row(*(plain_rich(c) if isinstance(c, str) else c for c in cells),
                               **options)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: object,
                    **options: Any) -> None:
        super().update_cell(row_key, column_key,
                            plain_rich(value) if isinstance(value, str) else value, **options)

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
