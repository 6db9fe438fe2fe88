"""Every key of the console in one table.

Screens take their `BINDINGS` from here, the footer shows them, the help screen lists them and
the command palette is generated from them, so nothing is reachable only one way. Every
binding has an `id`, which is what the user's keymap (`Settings.keymap`, the `[keymap]` table
of the config file) remaps through `App.set_keymap`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding

# The sections a signed-in user moves between (Textual modes), in nav-bar order.
SECTIONS: dict[str, str] = {
    "positions": "Positions",
    "strategies": "Strategies",
    "orders": "Orders",
    "brokers": "Brokers",
    "notifications": "Alerts",
    "backtests": "Backtests",
}

APP: list[Binding] = [
    Binding("1", "goto('positions')", "Positions", id="nav.positions", show=False),
    Binding("2", "goto('strategies')", "Strategies", id="nav.strategies", show=False),
    Binding("3", "goto('orders')", "Orders", id="nav.orders", show=False),
    Binding("4", "goto('brokers')", "Brokers", id="nav.brokers", show=False),
    Binding("5", "goto('notifications')", "Alerts", id="nav.notifications", show=False),
    Binding("6", "goto('backtests')", "Backtests", id="nav.backtests", show=False),
    Binding("question_mark", "help", "Help", id="app.help", key_display="?"),
    Binding("K", "kill_switch", "Kill switch", id="app.kill_switch", show=False,
            tooltip="Stop every strategy and square off every open position"),
    Binding("ctrl+t", "cycle_theme", "Theme", id="app.theme", show=False),
    Binding("L", "logout", "Log out", id="app.logout", show=False),
    Binding("p", "practice", "Practice day", id="app.practice", show=False,
            tooltip="Start a practice day (a past session on a fast clock, apart from your "
                    "real book), or leave the one running"),
    Binding("q", "quit", "Quit", id="app.quit"),
]

# Field to field, handled before the focused input sees the key: over SSH a burst like
# "abc<Tab>def" arrives at once, and the characters after Tab must land in the next field.
FOCUS: list[Binding] = [
    Binding("tab", "app.focus_next", "Next field", id="app.focus_next", show=False,
            priority=True),
    Binding("shift+tab", "app.focus_previous", "Previous field", id="app.focus_previous",
            show=False, priority=True),
]

# Table movement shared by every list screen (vi keys beside the arrows).
TABLE: list[Binding] = [
    Binding("j", "cursor_down", "Down", id="table.down", show=False),
    Binding("k", "cursor_up", "Up", id="table.up", show=False),
    Binding("g", "scroll_top", "Top", id="table.top", show=False),
    Binding("G", "scroll_bottom", "Bottom", id="table.bottom", show=False),
]

LOGIN: list[Binding] = [
    # Priority, so Enter moves to the next field before any typed-ahead keys are delivered.
    Binding("enter", "enter", "Next / submit", id="login.enter", priority=True, show=False),
    Binding("f2", "toggle_signup", "Sign up / log in", id="login.toggle"),
    Binding("f3", "demo", "Demo account", id="login.demo"),
    Binding("ctrl+q", "app.quit", "Quit", id="login.quit"),
]

POSITIONS: list[Binding] = [
    Binding("a", "toggle_closed", "Open/all", id="positions.toggle_closed"),
    Binding("c", "toggle_chart", "Chart", id="positions.toggle_chart"),
    Binding("r", "refresh", "Refresh", id="positions.refresh"),
    Binding("K", "app.kill_switch", "Kill switch", id="positions.kill_switch"),
]

STRATEGIES: list[Binding] = [
    Binding("enter", "open", "Chart", id="strategies.open"),
    Binding("n", "new", "New", id="strategies.new"),
    Binding("e", "edit", "Edit", id="strategies.edit"),
    Binding("s", "start", "Start", id="strategies.start"),
    Binding("x", "stop", "Stop", id="strategies.stop"),
    Binding("c", "duplicate", "Copy", id="strategies.duplicate"),
    Binding("d", "delete", "Delete", id="strategies.delete"),
    Binding("r", "refresh", "Refresh", id="strategies.refresh", show=False),
    Binding("K", "app.kill_switch", "Kill switch", id="strategies.kill_switch"),
]

ORDERS: list[Binding] = [
    Binding("enter", "open_order", "Details", id="orders.open"),
    Binding("f", "filter", "Filter", id="orders.filter"),
    Binding("c", "clear_filters", "Clear filters", id="orders.clear"),
    Binding("r", "refresh", "Refresh", id="orders.refresh"),
]

BROKERS: list[Binding] = [
    Binding("a", "add", "Add", id="brokers.add"),
    Binding("e", "edit", "Edit", id="brokers.edit"),
    Binding("d", "remove", "Remove", id="brokers.remove"),
    Binding("t", "test", "Test", id="brokers.test"),
    Binding("l", "kite_login", "Kite login", id="brokers.kite_login"),
    Binding("r", "refresh", "Refresh", id="brokers.refresh", show=False),
]

NOTIFICATIONS: list[Binding] = [
    Binding("enter", "mark_read", "Mark read", id="notifications.read"),
    Binding("m", "mark_all_read", "All read", id="notifications.read_all"),
    Binding("c", "channels", "Channels", id="notifications.channels",
            tooltip="Where alerts go (Telegram, e-mail, webhook) and which are sent"),
    Binding("l", "logs", "Logs", id="notifications.logs",
            tooltip="Kept warnings and errors, and your audit trail"),
    Binding("r", "refresh", "Refresh", id="notifications.refresh"),
]

LOGS: list[Binding] = [
    Binding("l", "level", "Level", id="logs.level"),
    Binding("c", "component", "Component", id="logs.component"),
    Binding("a", "audit", "Audit/logs", id="logs.audit"),
    Binding("r", "refresh", "Refresh", id="logs.refresh"),
    Binding("escape", "cancel", "Close", id="logs.close"),
]

CHANNELS: list[Binding] = [
    Binding("enter", "cycle_mode", "On/silent/off", id="channels.mode"),
    Binding("t", "test", "Test channels", id="channels.test"),
    Binding("r", "refresh", "Refresh", id="channels.refresh"),
    Binding("escape", "cancel", "Close", id="channels.close"),
]


BACKTESTS: list[Binding] = [
    Binding("n", "new", "New run", id="backtests.new"),
    Binding("enter", "open_run", "Details", id="backtests.open"),
    Binding("c", "compare", "Compare", id="backtests.compare",
            tooltip="Mark a run, then press again on another to see both side by side"),
    Binding("p", "paper_trade", "Paper-trade this", id="backtests.paper_trade",
            tooltip="Create a stopped paper strategy from the run's kind and parameters"),
    Binding("r", "refresh", "Refresh", id="backtests.refresh", show=False),
]

BACKTEST_FORM: list[Binding] = [
    Binding("ctrl+r", "run", "Run", id="backtest_form.run"),
    Binding("escape", "cancel", "Cancel", id="backtest_form.cancel",
            tooltip="Stop a running backtest (nothing is stored), else close the form"),
]

BACKTEST_DETAIL: list[Binding] = [
    Binding("p", "paper_trade", "Paper-trade this", id="backtest_detail.paper_trade"),
    Binding("escape", "cancel", "Close", id="backtest_detail.close"),
]

EDITOR: list[Binding] = [
    Binding("ctrl+s", "save", "Save", id="editor.save"),
    Binding("escape", "cancel", "Cancel", id="editor.cancel"),
]

DETAIL: list[Binding] = [
    Binding("escape", "cancel", "Close", id="detail.close"),
    Binding("r", "refresh", "Refresh", id="detail.refresh"),
]

MODAL: list[Binding] = [
    Binding("escape", "cancel", "Close", id="modal.close"),
]

HELP: list[Binding] = [
    Binding("escape,question_mark", "cancel", "Close", id="help.close"),
]

CONFIRM: list[Binding] = [
    Binding("y", "confirm", "Yes", id="confirm.yes"),
    Binding("n,escape", "cancel", "No", id="confirm.no"),
]

BACK: list[Binding] = [
    Binding("escape", "back", "Back", id="screen.back", show=False),
]

SECTION_BINDINGS: dict[str, list[Binding]] = {
    "positions": POSITIONS,
    "strategies": STRATEGIES,
    "orders": ORDERS,
    "brokers": BROKERS,
    "notifications": NOTIFICATIONS,
    "backtests": BACKTESTS,
}


# What a trader types into the palette for an action besides its title (each section
# action also answers to "<action> <thing>", e.g. "new strategy", "add broker").
PHRASES: dict[str, tuple[str, ...]] = {
    "app.kill_switch": ("kill", "panic", "square off everything", "stop everything"),
    "app.quit": ("exit", "close"),
    "app.logout": ("sign out",),
    "app.practice": ("practise a day", "practice day", "replay a day", "leave practice"),
    "app.help": ("keys", "shortcuts"),
    "app.theme": ("colours", "colors", "dark", "light"),
    "nav.notifications": ("notifications", "messages"),
    "strategies.new": ("create strategy", "add strategy"),
    "strategies.duplicate": ("duplicate strategy",),
    "strategies.delete": ("remove strategy",),
    "strategies.start": ("run strategy",),
    "strategies.open": ("strategy chart", "candles", "strategy details"),
    "brokers.add": ("new broker", "connect broker", "add kite", "add paper"),
    "brokers.remove": ("delete broker",),
    "brokers.kite_login": ("log in to kite", "zerodha login", "kite token"),
    "notifications.read_all": ("mark all read", "clear alerts"),
    "notifications.channels": ("telegram", "email alerts", "webhook", "notification settings"),
    "notifications.logs": ("system log", "errors", "warnings", "audit trail"),
    "positions.toggle_chart": ("p&l chart", "pnl chart"),
    "positions.toggle_closed": ("show closed positions", "hide closed positions"),
    "orders.filter": ("filter orders", "search orders"),
    "backtests.new": ("backtest", "run backtest", "new backtest"),
    "backtests.compare": ("compare runs", "compare backtests"),
}
# The thing each section's actions act on, for "<action> <thing>" phrases.
SECTION_THING = {"positions": "position", "strategies": "strategy", "orders": "order",
                 "brokers": "broker", "notifications": "alert", "backtests": "backtest"}


@dataclass(frozen=True)
class Command:
    """A binding as the palette and the help screen present it."""

    section: str | None  # None: app-wide; else the mode it acts in
    title: str
    help: str
    key: str
    action: str
    id: str = ""
    phrases: tuple[str, ...] = ()  # other words the palette finds it by


def commands() -> list[Command]:
    """Every action a signed-in user can take, generated from the tables above."""
    out: list[Command] = []
    for b in APP:
        out.append(Command(None, b.description, b.tooltip or b.description,
                           b.key_display or b.key, b.action, b.id or "",
                           PHRASES.get(b.id or "", ())))
    for section, bindings in SECTION_BINDINGS.items():
        title = SECTIONS[section]
        for b in bindings:
            if b.action.startswith("app."):
                continue  # already listed app-wide
            natural = f"{b.description.lower()} {SECTION_THING[section]}"
            out.append(Command(section, f"{title}: {b.description}",
                               b.tooltip or f"{b.description} ({title})",
                               b.key_display or b.key, b.action, b.id or "",
                               (natural, *PHRASES.get(b.id or "", ()))))
    return out


def binding_ids() -> set[str]:
    """Every binding id a user keymap may name."""
    return {b.id for table in (APP, FOCUS, TABLE, LOGIN, EDITOR, MODAL, HELP, CONFIRM, BACK,
                               LOGS, CHANNELS, BACKTEST_FORM, BACKTEST_DETAIL,
                               *SECTION_BINDINGS.values()) for b in table if b.id}


def user_keymap(entries: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The user's keymap (`Settings.keymap`, whose entries are already well-formed) split
    into the entries this console applies and one line for each entry naming no binding
    here. Those are left out, not refused: one config file may serve consoles of different
    versions, and a binding one of them lacks must not stop it starting."""
    known = binding_ids()
    applied = {binding: keys for binding, keys in entries.items() if binding in known}
    ignored = [f"keymap: {json.dumps(binding[:40])} is not a key binding of this console; "
               f"left out (the README lists them)" for binding in entries
               if binding not in known]
    return applied, ignored
