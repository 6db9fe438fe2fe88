"""A symbol's last known price and today's range on one line, so a trader sees the price
before setting a stop. The words come from services (`Quote.words`); shown as plain text
(a symbol is outside text)."""

from __future__ import annotations

from typing import Any

from .plain import PlainStatic


class QuotePanel(PlainStatic):
    DEFAULT_CSS = """
    QuotePanel {
        height: 1;
        color: $foreground-muted;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.quote: Any = None

    def set_quote(self, quote: Any) -> None:
        self.quote = quote
        self.update(quote.words() if quote is not None else "")
