"""The top line: the app name and the sections, each with its key; the current one lit."""

from __future__ import annotations

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from ..keymap import SECTIONS


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
        unread = getattr(getattr(self.app, "status", None), "unread", 0)
        parts = [Content.styled(" tui-trader ", "bold $primary")]
        for index, (mode, title) in enumerate(SECTIONS.items(), 1):
            label = f"{title} ({unread})" if mode == "notifications" and unread else title
            key = Content.styled(f"{index}", "bold $accent")
            text = Content.assemble(" ", key, " ", label, " ")
            if mode == self.current:
                text = text.stylize("reverse bold")
            parts.append(text.stylize(f"@click=app.goto('{mode}')"))
        return Content("").join(parts)
