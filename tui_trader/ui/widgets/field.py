"""A labelled form field: label and input on one line, its error message on the next.

The error line is always there (blank when fine) so the form does not jump as you type; a
long message wraps onto more lines instead of being cut off.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.suggester import Suggester
from textual.widgets import Input, Label

from ..text import VisibleControls
from .plain import PlainLabel


class Field(Vertical):
    DEFAULT_CSS = """
    Field {
        height: auto;
    }
    Field > Horizontal {
        height: 1;
    }
    Field .field-label {
        width: 14;
        color: $foreground-muted;
    }
    Field Input {
        width: 1fr;
        background: $panel;
    }
    Field Input:focus {
        background: $primary 20%;
    }
    Field .field-error {
        width: 100%;
        height: auto;
        min-height: 1;
        padding-left: 14;
        color: $error;
    }
    Field.-invalid .field-label {
        color: $error;
    }
    """

    def __init__(self, name: str, label: str, *, value: str = "", password: bool = False,
                 placeholder: str = "", suggester: Suggester | None = None,
                 max_length: int = 500) -> None:
        super().__init__(id=f"field-{name}")
        self.field_name = name
        self._label = label
        self._input = Input(value=value, password=password, placeholder=placeholder,
                            suggester=suggester, max_length=max_length, compact=True,
                            id=f"input-{name}", select_on_focus=False,
                            highlighter=VisibleControls())

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self._label, classes="field-label")
            yield self._input
        # Messages may quote what was typed or what a broker said: never markup.
        yield PlainLabel("", classes="field-error", id=f"error-{self.field_name}")

    @property
    def input(self) -> Input:
        return self._input

    @property
    def value(self) -> str:
        return self._input.value

    def set_error(self, message: str | None) -> None:
        self.query_one(".field-error", Label).update(message or "")
        self.set_class(bool(message), "-invalid")

    @property
    def error(self) -> str:
        return str(self.query_one(".field-error", Label).content)
