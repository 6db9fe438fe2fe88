"""The order log, newest first, filtered by strategy, status and side; Enter opens an order's
full status history and the broker's raw response."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Select, Static

from ...domain.enums import OrderStatus, Side
from ...domain.events import OrderStatusChanged
from ..formatting import ist_when, money, one_line, quantity
from ..keymap import BACK, ORDERS
from ..messages import OrdersLoaded
from ..text import plain_rich
from ..widgets.table import KeyedTable
from .base import SectionScreen

STATUS_ROLE = {"FILLED": "success", "REJECTED": "bold error", "CANCELLED": "warning",
               "UNKNOWN": "bold error", "PARTIALLY_FILLED": "accent"}


class OrdersScreen(SectionScreen):
    SECTION: ClassVar[str] = "orders"
    BINDINGS = BACK + ORDERS
    AUTO_FOCUS = "#orders-table"

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, Any] = {}
        self.strategy_names: dict[str, str] = {}
        self._stale = False

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="orders-filters"):
            yield Label("Filter", classes="filter-label")
            yield Select([], prompt="all strategies", compact=True, id="filter-strategy")
            yield Select([(s.value, s.value) for s in OrderStatus], prompt="any status",
                         compact=True, id="filter-status")
            yield Select([(s.value, s.value) for s in Side], prompt="both sides",
                         compact=True, id="filter-side")
        yield KeyedTable(id="orders-table")
        yield Static("No orders match.", id="orders-empty")

    def build_body(self) -> None:
        table = self.query_one(KeyedTable)
        table.add_column("Time", key="time", width=8)
        table.add_column("Symbol", key="symbol", width=9)
        table.add_column("Side", key="side", width=4)
        table.add_column("Reason", key="reason", width=8)
        table.add_column("Qty", key="qty", width=5, right=True)
        table.add_column("Filled", key="filled", width=6, right=True)
        table.add_column("Avg", key="avg", width=9, right=True)
        table.add_column("Status", key="status", width=9)
        table.add_column("Strategy", key="strategy")
        self.query_one("#orders-empty").display = False
        self.set_interval(1.0, self._reload_if_stale)

    def on_screen_resume(self) -> None:
        # Shown (first time, or again): paint what we have, then read fresh data. A screen
        # built ahead of its first visit (see TraderApp.prebuild_sections) is not shown yet.
        if self.is_current:
            self._stale = False
            self.call_after_refresh(self.reload)

    # -- filters ----------------------------------------------------------------------------
    def filters(self) -> dict[str, Any]:
        def value(selector: str):
            v = self.query_one(selector, Select).value
            return None if v is Select.NULL else v

        return {"strategy_id": value("#filter-strategy"), "status": value("#filter-status"),
                "side": value("#filter-side")}

    @on(Select.Changed)
    def _filter_changed(self) -> None:
        self.reload()

    def action_filter(self) -> None:
        self.query_one("#filter-strategy", Select).focus()

    def action_clear_filters(self) -> None:
        with self.prevent(Select.Changed):
            for selector in ("#filter-strategy", "#filter-status", "#filter-side"):
                self.query_one(selector, Select).clear()
        self.reload()
        self.query_one(KeyedTable).focus()

    # -- data -------------------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, name="load orders")
    def reload(self) -> None:
        import uuid

        f = self.filters()
        orders = self.session.views.orders(
            strategy_id=uuid.UUID(f["strategy_id"]) if f["strategy_id"] else None,
            status=OrderStatus(f["status"]) if f["status"] else None,
            side=Side(f["side"]) if f["side"] else None)
        names = {str(s.id): s.name for s in self.session.strategies.list()}
        self.post_message(OrdersLoaded(orders, names))

    def _reload_if_stale(self) -> None:
        if self._stale and self.is_current:  # hidden: reloaded when shown again
            self._stale = False
            self.reload()

    def apply_events(self, events) -> None:
        if any(isinstance(e, OrderStatusChanged) for e in events):
            self._stale = True

    @on(OrdersLoaded)
    def _loaded(self, event: OrdersLoaded) -> None:
        orders, names = event.orders, event.strategy_names
        if names != self.strategy_names:
            self.strategy_names = names
            strategy = self.query_one("#filter-strategy", Select)
            with self.prevent(Select.Changed):
                current = strategy.value
                strategy.set_options([(plain_rich(one_line(n, 80)), k) for n, k in
                                      sorted((n, k) for k, n in names.items())])
                if current is not Select.NULL and current in names:
                    strategy.value = current
        self.orders = {str(o.id): o for o in orders}
        rows = []
        now = self.app.backend.ctx.clock.now()  # type: ignore[attr-defined]
        for key, o in self.orders.items():
            status = o.status.value
            rows.append((key, (
                (ist_when(o.created_at, now), ""), (o.symbol, ""), (o.side.value, ""),
                (o.reason.value, ""), (quantity(o.quantity), ""),
                (quantity(o.filled_quantity), ""), (money(o.average_price), ""),
                (status, STATUS_ROLE.get(status, "")),
                (names.get(str(o.strategy_id), ""), ""))))
        self.query_one(KeyedTable).set_rows(rows)
        self.query_one("#orders-empty").display = not rows

    # -- details ----------------------------------------------------------------------------
    def action_open_order(self) -> None:
        from .order_detail import OrderDetailScreen

        key = self.query_one(KeyedTable).selected_key()
        if key is None:
            self.notify("No order selected", severity="warning", timeout=2)
            return
        self.app.push_screen(OrderDetailScreen(key))

    @on(KeyedTable.RowSelected, "#orders-table")
    def _row_selected(self) -> None:
        self.action_open_order()

    def action_refresh(self) -> None:
        self.reload()
