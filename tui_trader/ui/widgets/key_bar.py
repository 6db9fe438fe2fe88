"""The footer: the keys that work right now, on one line, drawn as one piece of text.

Textual's stock Footer mounts a widget per key and re-styles them on every screen change;
this draws the same information in a single render, which keeps screen switches cheap.
Each key is clickable. The command palette key sits at the right.
"""

from __future__ import annotations

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget


class KeyBar(Widget):
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, lambda _screen: self.refresh())

    def keys(self) -> list[tuple[str, str, bool]]:
        """(key as shown, description, enabled) for each visible binding, no repeats."""
        seen: set[str] = set()
        out = []
        for active in self.screen.active_bindings.values():
            binding = active.binding
            if not binding.show or binding.action in seen or not binding.description:
                continue
            seen.add(binding.action)
            out.append((self.app.get_key_display(binding), binding.description, active.enabled))
        return out

    def render(self) -> RenderResult:
        width = self.size.width
        palette = Content.assemble((" ^p", "bold $footer-key-foreground"),
                                   (" palette ", "$footer-description-foreground"))
        line = Content("")
        for key, description, enabled in self.keys():
            item = Content.assemble(
                (f" {key}", "bold $footer-key-foreground"),
                (f" {description} ", "$footer-description-foreground"),
            )
            if not enabled:
                item = item.stylize("dim")
            if line.cell_length + item.cell_length > width - palette.cell_length:
                break
            line += item.stylize(f"@click=app.simulate_key('{key}')")
        gap = max(width - line.cell_length - palette.cell_length, 0)
        return line + Content(" " * gap) + palette.stylize("@click=app.command_palette")
