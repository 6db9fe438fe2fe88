"""The app's stylesheet, which keeps its parsed rules while nothing they come from changed.

Textual re-parses the whole stylesheet (every widget's default CSS and every .tcss file,
about 40 ms) each time a screen is shown for the first time, to catch up with variables that
may have changed. Parsing the same sources with the same variables gives the same rules, so
that case keeps the rules it has; a theme change (new variables) or a new source re-parses.
"""

from __future__ import annotations

from textual.css.stylesheet import Stylesheet


class ReusingStylesheet(Stylesheet):
    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        self._given = dict(variables) if variables is not None else None  # variables in use
        self._parsed: tuple | None = None  # (variables, sources) of the rules we hold

    def _key(self) -> tuple:
        return tuple((self._given or {}).items()), tuple(self.source.items())

    def set_variables(self, variables: dict[str, str]) -> None:
        if variables == self._given:
            return
        super().set_variables(variables)
        self._given = dict(variables)

    def parse(self) -> None:
        super().parse()
        self._parsed = self._key()

    def reparse(self) -> None:
        key = self._key()
        if self._given is not None and key == self._parsed:
            return
        super().reparse()
        self._parsed = key
