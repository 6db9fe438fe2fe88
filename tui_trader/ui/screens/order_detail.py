"""One order: its fields, every status it went through, and the broker's raw response."""

from __future__ import annotations

import json

from rich.json import JSON
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from ..formatting import ist_datetime, ist_time, money, one_line, quantity
from ..keymap import MODAL
from ..messages import OrderLoaded
from ..widgets.key_bar import KeyBar
from ..widgets.plain import PlainStatic
from ..widgets.table import TraderTable, cell
from .base import TraderModal


def pretty_json(value) -> str:
    if value is None:
        return "null"
    return json.dumps(value, indent=2, sort_keys=True, default=str)


class OrderDetailScreen(TraderModal):
    BINDINGS = MODAL

    def __init__(self, order_id: str) -> None:
        super().__init__()
        self.order_id = order_id

    def compose(self) -> ComposeResult:
        with Vertical(id="order-box"):
            yield PlainStatic("Order", id="order-title")
            with VerticalScroll(id="order-scroll"):
                yield PlainStatic("Loading…", multiline=True, id="order-fields")
                yield Static("Status history", classes="order-heading")
                yield TraderTable(id="order-history")
                yield Static("Broker response", classes="order-heading")
                yield Static("", id="order-raw")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#order-history", TraderTable)
        table.add_column("Time", width=8)
        table.add_column("Status", width=16)
        table.add_column("Intent", width=7)
        table.add_column(cell("Filled", right=True), width=6)
        table.add_column(cell("Avg", right=True), width=9)
        table.add_column("Message")
        table.focus()
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, name="load order")
    def _load(self) -> None:
        order, history = self.session.views.order(self.order_id)
        self.post_message(OrderLoaded(order, history))

    @on(OrderLoaded)
    def _loaded(self, event: OrderLoaded) -> None:
        order, history = event.order, event.history
        self.query_one("#order-title", PlainStatic).update(
            f"{order.side.value} {order.quantity} {order.symbol} · {order.status.value}")
        fields = [
            ("Reason", order.reason.value), ("Kind", order.order_kind.value),
            ("Quantity", f"{quantity(order.filled_quantity)} of {quantity(order.quantity)} "
                         "filled"),
            ("Avg price", money(order.average_price)), ("Price", money(order.price)),
            ("Trigger", money(order.trigger_price)),
            ("Broker id", order.broker_order_id or "-"), ("Client tag", order.client_tag),
            ("Placed", ist_datetime(order.placed_at)), ("Created", ist_datetime(order.created_at)),
        ]
        if order.error:
            fields.append(("Error", one_line(order.error)))
        width = max(len(k) for k, _ in fields)
        self.query_one("#order-fields", PlainStatic).update(
            "\n".join(f"{k:<{width}}  {v}" for k, v in fields))
        table = self.query_one("#order-history", TraderTable)
        table.clear()
        for h in history:
            table.add_row(ist_time(h.created_at), h.status.value, h.intent_state.value,
                          cell(quantity(h.filled_quantity), right=True),
                          cell(money(h.average_price), right=True), one_line(h.message or ""))
        raw = order.raw_response
        self.query_one("#order-raw", Static).update(
            JSON(pretty_json(raw)) if raw is not None else "(no response recorded)")

    def action_cancel(self) -> None:
        self.dismiss(None)
