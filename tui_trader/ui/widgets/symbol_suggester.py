"""Completes instrument symbols from the list loaded once per session (no I/O per key)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable

from textual.suggester import Suggester


def complete(symbols: list[str], prefix: str) -> str | None:
    """The shortest symbol starting with `prefix` in a sorted list (case-insensitive)."""
    text = prefix.strip().upper()
    if not text:
        return None
    start = bisect_left(symbols, text)
    best = None
    for symbol in symbols[start:start + 200]:
        if not symbol.startswith(text):
            break
        if best is None or len(symbol) < len(best):
            best = symbol
    return best


class SymbolSuggester(Suggester):
    def __init__(self, symbols: Callable[[], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=False)
        self._symbols = symbols

    async def get_suggestion(self, value: str) -> str | None:
        found = complete(self._symbols(), value)
        return found
