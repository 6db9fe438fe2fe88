"""The one-line status bar: market, IST clock and next open, PRACTICE while a practice day
runs, a note when the NSE calendar has run out, engine, where prices come from, live store,
events link, unread."""

from __future__ import annotations

from dataclasses import replace

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from ..formatting import one_line
from ..glyphs import STORE_LINK
from ..status import StatusInfo

_LEVEL = {"ok": "$success", "warn": "$warning", "bad": "$error"}


def status_content(info: StatusInfo, width: int) -> Content:
    """Build the line; when the terminal is narrow the least important parts go first
    (the user, then the store unless it is down, then the price source, then when the
    market next opens, then unread, then the calendar note); the market and the engine
    always stay. Its words may come from outside (a remote engine's state, the user's
    email, a store URL): each is shown as plain text, cut to a sensible length."""
    info = replace(info, market=one_line(info.market, 40),
                   feed=one_line(info.feed, 20), store=one_line(info.store, 40),
                   user=one_line(info.user, 60))
    sep = Content.styled(" │ ", "$foreground-muted")
    joiner = Content.styled(" · ", "$foreground-muted")
    market_style = "$success" if info.market_open else "$foreground"
    # (importance: lower stays longer, the part, joined: follows the one before with " · ")
    parts: list[tuple[float, Content, bool]] = [
        (0, Content.styled(info.market, f"bold {market_style}"), False)]
    if info.practice:  # never dropped: nothing on screen is the real day's
        parts.append((0, Content.styled(one_line(info.practice, 40), "bold reverse $warning"),
                      False))
    if info.market_next:
        parts.append((2.5, Content.styled(info.market_next, market_style), True))
    if info.calendar_note:
        # Right after the market: the trading days it implies are only a guess.
        parts.append((1.5, Content.styled(info.calendar_note, "bold $warning"), False))
    parts.append((0, Content.assemble(
        "engine ", (one_line(info.engine_text, 50), f"bold {_LEVEL[info.engine_level]}")),
        False))
    if info.feed:
        real = info.feed not in ("simulated", "replay", "none")
        parts.append((3, Content.assemble(
            "prices ", (info.feed, "bold $success" if real else "bold $foreground")), False))
    if info.store:
        if info.events_ok is False:
            link = (f" {STORE_LINK[1][0]}", "bold $error")
        elif info.events_ok:
            link = (f" {STORE_LINK[0][0]}", "$success")
        else:
            link = ("", "")
        parts.append((1 if info.events_ok is False else 4,
                      Content.assemble("store ", (info.store, "bold"), link), False))
    if info.unread:
        parts.append((2, Content.styled(f"{info.unread} unread", "bold $warning"), False))
    if info.user:
        parts.append((5, Content.styled(info.user, "$foreground-muted"), False))
    while any(importance for importance, _, _ in parts) and \
            sum(p.cell_length for _, p, _ in parts) + 3 * (len(parts) - 1) > width:
        parts.remove(max(parts, key=lambda item: item[0]))
    line = Content(" ")
    for i, (_, part, joined) in enumerate(parts):
        line += (joiner if joined else sep if i else Content("")) + part
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
