"""A table built for prices that tick: rows by key, each row drawn once into a cached strip.

Textual's DataTable re-renders every visible cell through Rich whenever any cell changes;
at 10 updates a second over a screen of positions that costs most of a core. Here a changed
row is redrawn as plain segments (one per cell), only if it is on screen, and every other
row comes from the cache. The keyed API is the DataTable one: `add_row`, `update_cell`,
`remove_row` by row key, plus `set_order` to sort without rebuilding.

Cells carry a *role* instead of a colour: words naming theme colours ("success", "warning",
"error", "primary", "accent"), "bold", "dim", or roles the owner defines in `roles` (the
positions table's "up"/"down"/"flat"), combined with spaces ("bold error"). A theme change
recolours by clearing the cache, without touching a single cell.

Cell text is drawn as the characters it holds, never parsed as markup, and made printable
as it is drawn (`domain.text.printable`): rows carry names, symbols and messages from
outside, and an escape sequence in one must not reach the terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ...domain.text import printable
from ..keymap import TABLE

Cell = tuple[str, str]  # (text, role)


@dataclass(frozen=True)
class Column:
    """A column. `width` None takes the rest of the row (between `min_width` and
    `max_width`). When the row does not fit, columns with a `drop` rank are hidden, highest
    rank first, until it does; rank 0 (the default) is never hidden. Hiding only changes
    what is drawn: every row keeps all its cells."""

    key: str
    label: str
    width: int | None  # None: the rest of the row
    right: bool = False
    drop: int = 0
    min_width: int = 0
    max_width: int | None = None


THEME_ROLES = ("success", "warning", "error", "primary", "accent", "secondary")


class LiveTable(ScrollView, can_focus=True):
    BINDINGS = TABLE + [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "scroll_top", "Top", show=False),
        Binding("end", "scroll_bottom", "Bottom", show=False),
        Binding("enter", "select", "Select", show=False),
    ]
    COMPONENT_CLASSES = {"live-table--header", "live-table--cursor", "live-table--odd",
                         "live-table--even"}
    DEFAULT_CSS = """
    LiveTable {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        scrollbar-size-vertical: 1;
    }
    LiveTable > .live-table--header {
        background: $panel;
        color: $foreground;
        text-style: bold;
    }
    LiveTable > .live-table--odd {
        background: $surface;
    }
    LiveTable > .live-table--even {
        background: $surface-lighten-1;
    }
    LiveTable > .live-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    LiveTable:focus > .live-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    """

    cursor_row: reactive[int] = reactive(0)

    class RowSelected(Message):
        def __init__(self, table: LiveTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> LiveTable:
            return self.table

    def __init__(self, columns: Sequence[Column] = (), *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = list(columns)
        self._column_index = {c.key: i for i, c in enumerate(self.columns)}
        self._role_styles: dict[str, Style] = {}
        self._width_cache: tuple[int, int, list[int | None]] | None = None
        self._order: list[str] = []
        self._position: dict[str, int] = {}
        self._cells: dict[str, list[Cell]] = {}
        self._version: dict[str, int] = {}
        self._strips: dict[tuple, Strip] = {}
        self._styles: dict[str, Style] | None = None
        self._pending: set[str] = set()  # rows changed since the last repaint request
        self.roles: dict[str, Style] = {}  # role -> style, set by the owner (theme colours)
        self.lines_rendered = 0  # rows drawn (not served from cache), for tests and benchmarks

    # -- keyed data API -------------------------------------------------------------------
    def add_column(self, label: str, *, key: str, width: int | None = None,
                   right: bool = False, drop: int = 0, min_width: int = 0,
                   max_width: int | None = None) -> None:
        self.columns.append(Column(key, label, width, right, drop, min_width, max_width))
        self._column_index[key] = len(self.columns) - 1
        self._strips.clear()

    @property
    def row_count(self) -> int:
        return len(self._order)

    def add_row(self, key: str, cells: Sequence[Cell]) -> None:
        if key in self._cells:
            raise KeyError(f"row {key!r} exists")
        self._cells[key] = list(cells)
        self._version[key] = 0
        self._position[key] = len(self._order)
        self._order.append(key)
        self._resized()
        self.refresh_line(len(self._order))

    def update_cell(self, key: str, column: str, cell: Cell) -> None:
        row = self._cells[key]
        row[self._column_index[column]] = cell
        self._version[key] += 1
        if not self._pending:
            self.call_later(self._repaint_pending)
        self._pending.add(key)

    def _repaint_pending(self) -> None:
        """Ask for a repaint of the changed rows that are on screen, once per batch."""
        top, height = self.scroll_offset.y, self.size.height
        rows = [i for i in (self._position.get(k) for k in self._pending)
                if i is not None and top <= i < top + height]
        self._pending.clear()
        if len(rows) > height // 2:
            self.refresh()
        else:
            for index in rows:
                self.refresh_line(index + 1)

    def remove_row(self, key: str) -> None:
        index = self._position.pop(key)
        del self._cells[key], self._version[key]
        self._order.pop(index)
        for i in range(index, len(self._order)):
            self._position[self._order[i]] = i
        self._resized()
        if self.cursor_row >= len(self._order):
            self.cursor_row = max(len(self._order) - 1, 0)
        self.refresh()

    def set_order(self, keys: Iterable[str]) -> None:
        """Reorder the rows (every key exactly once); the cursor stays on its row."""
        selected = self.selected_key()
        order = list(keys)
        if sorted(order) != sorted(self._order):
            raise ValueError("set_order needs every row key exactly once")
        self._order = order
        self._position = {k: i for i, k in enumerate(order)}
        if selected is not None:
            self.cursor_row = self._position[selected]
        self.refresh()

    def clear(self) -> None:
        self._order.clear()
        self._position.clear()
        self._cells.clear()
        self._version.clear()
        self._strips.clear()
        self.cursor_row = 0
        self._resized()
        self.refresh()

    def get_row(self, key: str) -> list[str]:
        return [text for text, _ in self._cells[key]]

    def get_row_at(self, index: int) -> list[str]:
        return self.get_row(self._order[index])

    def shown_columns(self) -> list[str]:
        """The keys of the columns drawn at the table's current width."""
        widths = self._widths(self.size.width)
        return [c.key for c, w in zip(self.columns, widths, strict=True) if w is not None]

    def get_cell(self, key: str, column: str) -> Cell:
        return self._cells[key][self._column_index[column]]

    def selected_key(self) -> str | None:
        if not self._order:
            return None
        return self._order[min(self.cursor_row, len(self._order) - 1)]

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        self.cursor_row = row

    # -- styles ---------------------------------------------------------------------------
    def restyle(self) -> None:
        """Colours changed (theme or roles): drop every cached row and redraw."""
        self._styles = None
        self._role_styles.clear()
        self._strips.clear()
        self.refresh()

    def _role_style(self, role: str) -> Style:
        style = self._role_styles.get(role)
        if style is None:
            from textual.color import Color, ColorParseError

            variables = self.app.theme_variables
            style = Style()
            for word in role.split():
                if word in self.roles:
                    style += self.roles[word]
                elif word == "bold":
                    style += Style(bold=True)
                elif word == "dim":
                    style += Style(dim=True)
                elif word in THEME_ROLES and variables.get(word):
                    try:
                        style += Style(color=Color.parse(variables[word]).hex6)
                    except ColorParseError:
                        pass
            self._role_styles[role] = style
        return style

    def _table_styles(self) -> dict[str, Style]:
        if self._styles is None:
            self._styles = {name.removeprefix("live-table--"): self.get_component_rich_style(
                name, partial=False) for name in self.COMPONENT_CLASSES}
        return self._styles

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.restyle())
        self._resized()

    def on_focus(self) -> None:
        self._strips.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._strips.clear()
        self.refresh()

    # -- drawing --------------------------------------------------------------------------
    def _resized(self) -> None:
        self.virtual_size = Size(self.size.width, len(self._order) + 1)

    def on_resize(self) -> None:
        self._strips.clear()
        self._resized()

    def _widths(self, width: int) -> list[int | None]:
        """Each column's width at this table width; None for a column hidden to make the
        row fit (re-fitted on every resize)."""
        cached = self._width_cache
        if cached is not None and cached[0] == width and cached[1] == len(self.columns):
            return cached[2]
        columns = self.columns
        shown = [True] * len(columns)

        def least(c: Column) -> int:
            return c.width if c.width is not None else max(c.min_width, cell_len(c.label))

        def needed() -> int:
            return sum(least(c) + 2 for c, on in zip(columns, shown, strict=True) if on)

        for index in sorted((i for i, c in enumerate(columns) if c.drop),
                            key=lambda i: (-columns[i].drop, -i)):
            if needed() <= width:
                break
            shown[index] = False
        fixed = sum((c.width or 0) + 2 for c, on in zip(columns, shown, strict=True) if on)
        rest = max(width - fixed - 2, 0)
        widths: list[int | None] = []
        for c, on in zip(columns, shown, strict=True):
            if not on:
                widths.append(None)
            elif c.width is not None:
                widths.append(c.width)
            else:
                fill = max(rest, least(c))
                widths.append(min(fill, c.max_width) if c.max_width else fill)
        self._width_cache = (width, len(columns), widths)
        return widths

    def _row_segments(self, cells: Sequence[Cell], base: Style,
                      widths: Sequence[int | None], *, cursor: bool, header: bool = False
                      ) -> list[Segment]:
        segments = []
        for column, width, (text, role) in zip(self.columns, widths, cells, strict=False):
            if width is None:
                continue  # hidden: the row is too narrow for it
            text = printable(text)
            size = cell_len(text)
            if size > width:
                text = set_cell_size(text, max(width - 1, 0)) + "…" if width else ""
            elif column.right:
                text = " " * (width - size) + text
            else:
                text = text + " " * (width - size)
            style = base
            if role and not header:
                accent = self._role_style(role)
                style = base + accent if not cursor else accent + base
            segments.append(Segment(f" {text} ", style))
        return segments

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        styles = self._table_styles()
        if y == 0:
            key = ("__header__", width)
            strip = self._strips.get(key)
            if strip is None:
                header = [(c.label, "") for c in self.columns]
                base = styles["header"]
                strip = Strip(self._row_segments(header, base, self._widths(width),
                                                 cursor=False, header=True)
                              ).extend_cell_length(width, base).crop(0, width)
                self._strips[key] = strip
            return strip
        index = self.scroll_offset.y + y - 1
        if index >= len(self._order):
            return Strip.blank(width, self.rich_style)
        row_key = self._order[index]
        state = "cursor" if index == self.cursor_row else ("even" if index % 2 else "odd")
        key = (row_key, self._version[row_key], state, width)
        strip = self._strips.get(key)
        if strip is None:
            base = styles[state]
            strip = Strip(self._row_segments(self._cells[row_key], base, self._widths(width),
                                             cursor=state == "cursor")
                          ).extend_cell_length(width, base).crop(0, width)
            if len(self._strips) > 4 * (len(self._order) + 8):
                self._strips.clear()  # old versions of rows: drop them all at once
            self._strips[key] = strip
            self.lines_rendered += 1
        return strip

    # -- cursor and keys ------------------------------------------------------------------
    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self._order) - 1)) if self._order else 0

    def watch_cursor_row(self, old: int, new: int) -> None:
        self.refresh_line(old + 1)
        self.refresh_line(new + 1)
        visible = max(self.size.height - 1, 1)
        top = self.scroll_offset.y
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new >= top + visible:
            self.scroll_to(y=new - visible + 1, animate=False)

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_page_down(self) -> None:
        self.cursor_row += max(self.size.height - 2, 1)

    def action_page_up(self) -> None:
        self.cursor_row -= max(self.size.height - 2, 1)

    def action_scroll_top(self) -> None:
        self.cursor_row = 0

    def action_scroll_bottom(self) -> None:
        self.cursor_row = len(self._order) - 1

    def action_select(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        """Click moves the cursor; a click on the row under the cursor selects it."""
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < len(self._order):
            if index == self.cursor_row:
                self.action_select()
            self.cursor_row = index
