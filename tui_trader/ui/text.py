"""Text from outside on screen. A name, a label, a symbol, a broker's message, a
notification: whatever did not come from our own code is shown through here, as the
characters it holds. It is never parsed as Textual or Rich markup (`[/]` would crash the
console, `[@click=app.quit]` would become a clickable action) and it never takes a control
character or an escape sequence to the terminal (see `domain.text.printable`).

`plain` is for Textual (Static, Label, toasts, status bar), `plain_rich` for the places that
take Rich text (Select options, DataTable cells), `VisibleControls` for input fields (which
show their value as text already, but would send its control characters to the terminal).
Widgets that show such text are in `widgets/plain.py` and use these.
"""

from __future__ import annotations

from rich.highlighter import Highlighter
from rich.text import Text
from textual.content import Content

from ..domain.text import printable, visible

__all__ = ["VisibleControls", "plain", "plain_rich", "printable"]


def plain(text: object, style: str = "", *, multiline: bool = False) -> Content:
    """`text` as Textual Content that reads exactly as given (no markup), styled whole."""
    safe = printable(str(text), multiline=multiline)
    return Content.styled(safe, style) if style else Content(safe)


def plain_rich(text: object, style: str = "", *, right: bool = False) -> Text:
    """`text` as Rich Text (no markup), e.g. for a Select option or a DataTable cell."""
    return Text(printable(str(text)), style=style, justify="right" if right else "left")


class VisibleControls(Highlighter):
    """For an Input: each control character in the value is drawn as a visible stand-in
    (ESC as "␛", BEL as "␇"), one for one, so the field shows what it holds (a pasted or
    loaded value the form then refuses) and the terminal never receives it."""

    def highlight(self, text: Text) -> None:
        shown = visible(text.plain)
        if shown != text.plain:
            text.plain = shown  # same length: styles and the cursor stay where they were
