"""A yes/no question. `typed` asks the user to type a word (e.g. LIVE) before Yes works,
for actions that place real orders."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label

from ..keymap import CONFIRM
from ..widgets.plain import PlainStatic
from .base import TraderModal


class ConfirmScreen(TraderModal):
    BINDINGS = CONFIRM

    def __init__(self, title: str, body: str, *, confirm_label: str = "Yes",
                 danger: bool = False, typed: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm_label = confirm_label
        self.danger = danger
        self.typed = typed

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="-danger" if self.danger else ""):
            yield PlainStatic(self.title_text, id="confirm-title")
            yield PlainStatic(self.body, multiline=True, id="confirm-body")
            if self.typed:
                yield Label(f"Type {self.typed} to confirm:")
                yield Input(id="confirm-typed", compact=True, max_length=40)
                yield Label("", id="confirm-error")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.confirm_label} (y)" if not self.typed
                             else self.confirm_label, id="yes",
                             variant="error" if self.danger else "primary", compact=True)
                yield Button("Cancel (n/Esc)", id="no", compact=True)

    def on_mount(self) -> None:
        if self.typed:
            self.query_one("#confirm-typed", Input).focus()
        else:
            self.query_one("#no", Button).focus()

    def action_confirm(self) -> None:
        if self.typed:
            entered = self.query_one("#confirm-typed", Input).value.strip()
            if entered != self.typed:
                self.query_one("#confirm-error", Label).update(
                    f"type {self.typed} exactly, or press Esc")
                return
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Input.Submitted)
    def _typed(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)


def leave_form(form, edited: bool, what: str) -> None:
    """Close `form` (Escape, Cancel): at once if nothing was changed, else only after the
    user agrees to lose the changes."""
    if not edited:
        form.dismiss(None)
        return
    form.app.push_screen(
        ConfirmScreen("Discard changes?", f"Your changes to {what} are not saved.",
                      confirm_label="Discard"),
        lambda discard: discard and form.dismiss(None))
