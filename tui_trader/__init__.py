"""tui-trader: a keyboard-driven terminal trading console for Indian equity markets."""

__version__ = "0.1.0"
