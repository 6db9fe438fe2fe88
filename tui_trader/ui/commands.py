"""The command palette, generated from the key table: every binding of every section is a
command, so anything reachable by a key is reachable by name too (and vice versa). A command
is found by its title or by the phrases a trader would type ("new strategy", "kill").

Titles are shown as plain text: they carry the key in brackets ("Quit  [q]"), which the
palette would otherwise read as markup (and drop), and keys and theme names a user
configured are text from outside.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Matcher, Provider
from textual.content import Content

from . import keymap
from .text import plain


def highlighted(matcher: Matcher, title: str) -> Content:
    """The title as plain text with the letters the query matched highlighted (Textual's
    `Matcher.highlight` parses the title as markup)."""
    content = plain(title)
    score, offsets = matcher.fuzzy_search.match(matcher.query, content.plain)
    if score:
        for offset in offsets:
            if not content.plain[offset].isspace():
                content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class KeymapCommands(Provider):
    """Commands from `keymap.commands()`, plus one per theme."""

    def _entries(self) -> list[tuple[str, str, object, tuple[str, ...]]]:
        app = self.app
        signed_in = getattr(app, "user_session", None) is not None
        remapped = getattr(app, "user_keys", {})
        entries: list[tuple[str, str, object, tuple[str, ...]]] = []
        for command in keymap.commands():
            if not signed_in and command.action != "quit":
                continue
            title = f"{command.title}  [{remapped.get(command.id, command.key)}]"
            entries.append((title, command.help,
                            partial(app.run_command, command.section, command.action),  # type: ignore[attr-defined]
                            command.phrases))
        for name in getattr(app, "theme_names", []):
            entries.append((f"Theme: {name}", "Switch the colour theme",
                            partial(setattr, app, "theme", name), ()))
        return entries

    async def discover(self) -> Hits:
        for title, help_text, callback, _ in self._entries():
            yield DiscoveryHit(plain(title), callback, text=title,  # type: ignore[arg-type]
                               help=plain(help_text))  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, phrases in self._entries():
            by_title = matcher.match(title)
            score = max((by_title, *(matcher.match(p) for p in phrases)))
            if score > 0:
                shown = highlighted(matcher, title) if by_title > 0 else plain(title)
                yield Hit(score, shown, callback,  # type: ignore[arg-type]
                          text=title, help=plain(help_text))  # type: ignore[arg-type]
