"""The positions table, updated in place: a keyed diff against what is on screen.

Each sync compares the wanted cells with the ones shown, row by row key, and touches only
what changed (`update_cell`, `add_row`, `remove_row`); rows are reordered (`set_order`) only
when rows came, went or changed status. Nothing is ever cleared and rebuilt, so the cursor
and scroll position stay put while prices tick, and only changed rows are redrawn.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style

from ..formatting import money, quantity, sign_of, signed_money
from ..live_book import PositionLine
from .live_table import Cell, Column, LiveTable

# Narrow terminals hide the strategy name first, then the average price, then the
# realized P&L (the totals line still sums it); what is open and its P&L always show.
COLUMNS: tuple[Column, ...] = (
    Column("symbol", "Symbol", 10),
    Column("qty", "Qty", 6, right=True),
    Column("avg", "Avg", 10, right=True, drop=2),
    Column("ltp", "LTP", 10, right=True),
    Column("unrealized", "Unrealized", 12, right=True),
    Column("realized", "Realized", 12, right=True, drop=1),
    Column("status", "Status", 6),
    Column("strategy", "Strategy", 20, drop=3),
)
_PNL_ROLE = {1: "up", -1: "down", 0: "flat"}

Palette = tuple[str, str, str]  # (up, down, flat) colours


def pnl_role(sign: int) -> str:
    return _PNL_ROLE[sign]


def pnl_style(value_sign: int, palette: Palette) -> str:
    """The colour for a P&L of this sign (for text outside the table)."""
    up, down, flat = palette
    return {1: up, -1: down}.get(value_sign, flat)


def pnl_roles(palette: Palette) -> dict[str, Style]:
    """The "up", "down" and "flat" roles of a table, in a theme's P&L colours."""
    up, down, flat = palette
    return {"up": Style.parse(f"bold {up}"), "down": Style.parse(f"bold {down}"),
            "flat": Style.parse(flat) if flat != "default" else Style()}


def row_cells(line: PositionLine) -> list[Cell]:
    """Each cell of a row: its text and role, in column order."""
    dim = "" if line.is_open else "dim"
    return [
        (line.symbol, dim),
        (quantity(line.quantity), ""),
        (money(line.average_price), ""),
        (money(line.ltp), ""),
        (signed_money(line.unrealized), pnl_role(sign_of(line.unrealized))),
        (signed_money(line.realized), pnl_role(sign_of(line.realized))),
        ("OPEN" if line.is_open else "CLOSED", dim),
        (line.strategy, dim),
    ]


def sort_key(line: PositionLine) -> tuple:
    return (not line.is_open, line.symbol, line.strategy, line.id)


class PositionsTable(LiveTable):
    def __init__(self, *, id: str | None = None, show_strategy: bool = True) -> None:
        super().__init__(COLUMNS if show_strategy else COLUMNS[:-1], id=id)
        self.show_strategy = show_strategy
        self._lines: dict[str, PositionLine] = {}
        self.palette: Palette = ("green", "red", "default")
        self.set_palette(self.palette)
        self.frames = 0  # syncs that changed something (for benchmarks and tests)

    def set_palette(self, palette: Palette) -> None:
        """Theme colours for profit and loss; recolours without touching any cell."""
        self.palette = palette
        self.roles = pnl_roles(palette)
        self.restyle()

    def sync(self, lines: Iterable[PositionLine]) -> bool:
        """Make the table show `lines`; returns whether anything changed."""
        wanted = {line.id: line for line in lines}
        width = len(self.columns)
        removed = [key for key in self._lines if key not in wanted]
        resort = bool(removed)
        changed = bool(removed)
        with self.app.batch_update():
            for key in removed:
                self.remove_row(key)
                del self._lines[key]
            for key, line in wanted.items():
                before = self._lines.get(key)
                if before == line:
                    continue
                cells = row_cells(line)[:width]
                if before is None:
                    self.add_row(key, cells)
                    resort = True
                else:
                    shown = self._cells[key]
                    for column, new_cell, old_cell in zip(self.columns, cells, list(shown),
                                                          strict=True):
                        if new_cell != old_cell:
                            self.update_cell(key, column.key, new_cell)
                    resort = resort or before.is_open != line.is_open
                self._lines[key] = line
                changed = True
            if resort and self.row_count:
                self.set_order(sorted(self._lines, key=lambda k: sort_key(self._lines[k])))
        if changed:
            self.frames += 1
        return changed
