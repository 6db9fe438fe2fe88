"""Read-side use cases for the console: orders with history, positions with totals,
notifications."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from ..db.models import Notification, Order, OrderHistory, Position
from ..db.repositories import NotificationRepository, OrderRepository, PositionRepository
from ..domain.enums import OrderStatus, PositionStatus, Side
from .context import AppContext


@dataclass(frozen=True)
class PositionTotals:
    quantity_open: int
    unrealized: Decimal
    realized: Decimal

    @property
    def total(self) -> Decimal:
        return self.unrealized + self.realized


class TradingViews:
    def __init__(self, ctx: AppContext, user_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.user_id = user_id

    def orders(self, *, strategy_id: uuid.UUID | None = None, status: OrderStatus | None = None,
               side: Side | None = None, limit: int = 500) -> list[Order]:
        with self.ctx.session() as s:
            return OrderRepository(s, self.user_id).list(strategy_id=strategy_id, status=status,
                                                         side=side, limit=limit)

    def order(self, order_id: uuid.UUID | str) -> tuple[Order, list[OrderHistory]]:
        with self.ctx.session() as s:
            repo = OrderRepository(s, self.user_id)
            return repo.get(order_id), repo.history(order_id)

    def positions(self, status: PositionStatus | None = None) -> list[Position]:
        with self.ctx.session() as s:
            return PositionRepository(s, self.user_id).list(status=status)

    def todays_positions(self) -> list[Position]:
        """The day's book: every open position and those closed since 00:00 IST today, so
        the totals and the day's P&L are the day's, not a lifetime's."""
        from datetime import datetime as dt

        from ..domain.clock import IST

        today = self.ctx.clock.now().astimezone(IST).date()
        start = dt(today.year, today.month, today.day, tzinfo=IST)
        with self.ctx.session() as s:
            return PositionRepository(s, self.user_id).list(closed_since=start)

    @staticmethod
    def totals(positions: list[Position]) -> PositionTotals:
        return PositionTotals(
            quantity_open=sum(p.quantity for p in positions if p.status == PositionStatus.OPEN),
            unrealized=sum((p.unrealized_pnl for p in positions), Decimal(0)),
            realized=sum((p.realized_pnl for p in positions), Decimal(0)))

    def notifications(self, limit: int = 200) -> list[Notification]:
        with self.ctx.session() as s:
            return NotificationRepository(s, self.user_id).list(limit)

    def unread_count(self) -> int:
        with self.ctx.session() as s:
            return NotificationRepository(s, self.user_id).unread_count()

    def mark_read(self, notification_id: uuid.UUID | str | None = None) -> int:
        with self.ctx.session() as s:
            return NotificationRepository(s, self.user_id).mark_read(notification_id)
