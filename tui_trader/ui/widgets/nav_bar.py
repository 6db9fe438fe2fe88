"""The top line: the app name and the sections, each with its key; the current one lit.
Every section stays on the line at any width (titles shorten before anything is cut)."""

from __future__ import annotations

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from ..keymap import SECTIONS

# Section titles when the full ones do not fit the terminal's width.
SHORT = {"positions": "Pos", "strategies": "Strat", "orders": "Orders",
         "brokers": "Brokers", "notifications": "Alerts", "backtests": "Tests"}


class NavBar(Widget):
    DEFAULT_CSS = """
    NavBar {
        dock: top;
        height: 1;
        background: $panel;
    }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def on_mount(self) -> None:
        self.watch(self.app, "status", lambda _s: self.refresh(), init=False)

    def render(self) -> RenderResult:
        """Every section always shows: on a narrow terminal the app name goes first, then
        the titles shorten, then only the keys are left (the current section keeps its
        title, and Alerts its unread count)."""
        unread = getattr(getattr(self.app, "status", None), "unread", 0)
        width = self.size.width
        for with_name, titles in ((True, SECTIONS), (False, SECTIONS), (False, SHORT),
                                  (False, None)):
            line = self._line(with_name, titles, unread)
            if line.cell_length <= width:
                return line
        return line

    def _line(self, with_name: bool, titles: dict[str, str] | None, unread: int) -> Content:
        parts = [Content.styled(" tui-trader ", "bold $primary")] if with_name else []
        for index, (mode, title) in enumerate(SECTIONS.items(), 1):
            if titles is not None:
                title = titles[mode]
            elif mode != self.current and mode != "notifications":
                title = ""
            label = f"{title} ({unread})" if mode == "notifications" and unread else title
            key = Content.styled(f"{index}", "bold $accent")
            text = Content.assemble(" ", key, " ", label, " ") if label else \
                Content.assemble(" ", key, " ")
            if mode == self.current:
                text = text.stylize("reverse bold")
            parts.append(text.stylize(f"@click=app.goto('{mode}')"))
        return Content("").join(parts)
