"""Static and Label for text that may come from outside (names, labels, broker messages,
error lines that quote them): a string given to them, at construction, by `update` or by
setting `content`, is shown as the characters it holds (see `ui.text`). Rich renderables
and Content built by our own code pass through as they are.
"""

from __future__ import annotations

from typing import Any

from textual.visual import VisualType
from textual.widgets import Label, Static

from ..text import plain


class _PlainStrings:
    """Turns strings into plain Content on their way into a Static (a plain mixin, not a
    widget: Textual takes a widget's CSS type names from its first widget base)."""

    multiline = False

    def _safe(self, content: VisualType) -> VisualType:
        if isinstance(content, str) and content:  # ("" stays as Textual draws it: blank)
            return plain(content, multiline=self.multiline)
        return content

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(self._safe(content), layout=layout)  # type: ignore[misc]

    @property
    def content(self) -> VisualType:
        return Static.content.fget(self)  # type: ignore[attr-defined]

    @content.setter
    def content(self, content: VisualType) -> None:
        Static.content.fset(self, self._safe(content))  # type: ignore[attr-defined]


class PlainStatic(_PlainStrings, Static):
    """A Static whose strings are never markup. `multiline` keeps line breaks."""

    def __init__(self, content: VisualType = "", *, multiline: bool = False,
                 **options: Any) -> None:
        self.multiline = multiline
        super().__init__(self._safe(content), markup=False, **options)


class PlainLabel(_PlainStrings, Label):
    """A Label (one line, sized to its text) whose strings are never markup."""

    def __init__(self, content: VisualType = "", **options: Any) -> None:
        super().__init__(self._safe(content), markup=False, **options)
