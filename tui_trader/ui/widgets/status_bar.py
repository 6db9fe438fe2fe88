"""The one-line status bar: market, IST clock, engine, where prices come from, live store,
events link, unread."""

from __future__ import annotations

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from ..glyphs import STORE_LINK
from ..status import StatusInfo

_LEVEL = {"ok": "$success", "warn": "$warning", "bad": "$error"}


def status_content(info: StatusInfo, width: int) -> Content:
    """Build the line; when the terminal is narrow the least important parts go first
    (the user, then the store unless it is down, then the price source, then unread)."""
    sep = Content.styled(" │ ", "$foreground-muted")
    market_style = "$success" if info.market_open else "$foreground"
    # (importance: lower stays longer, the part)
    parts: list[tuple[int, Content]] = [
        (0, Content.styled(info.market, f"bold {market_style}")),
        (0, Content.assemble("engine ", (info.engine, f"bold {_LEVEL[info.engine_level]}"))),
    ]
    if info.feed:
        real = info.feed not in ("simulated", "replay", "none")
        parts.append((3, Content.assemble(
            "prices ", (info.feed, "bold $success" if real else "bold $foreground"))))
    if info.store:
        if info.events_ok is False:
            link = (f" {STORE_LINK[1][0]}", "bold $error")
        elif info.events_ok:
            link = (f" {STORE_LINK[0][0]}", "$success")
        else:
            link = ("", "")
        parts.append((1 if info.events_ok is False else 4,
                      Content.assemble("store ", (info.store, "bold"), link)))
    if info.unread:
        parts.append((2, Content.styled(f"{info.unread} unread", "bold $warning")))
    if info.user:
        parts.append((5, Content.styled(info.user, "$foreground-muted")))
    while len(parts) > 2 and sum(p.cell_length for _, p in parts) + 3 * (len(parts) - 1) > width:
        parts.remove(max(parts, key=lambda item: item[0]))
    line = Content(" ")
    for i, (_, part) in enumerate(parts):
        line += (sep if i else Content("")) + part
    return line


class StatusBar(Widget):
    """Follows `app.status` (a StatusInfo); re-renders only when it changes."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $foreground;
    }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "status", self._changed, init=False)

    def _changed(self, _info: StatusInfo) -> None:
        self.refresh()

    def render(self) -> RenderResult:
        info = getattr(self.app, "status", StatusInfo())
        return status_content(info, self.size.width)
