"""Read-side use cases for the console: orders with history, positions with totals,
notifications."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import select

from ..db.models import Notification, Order, OrderHistory, Position, Strategy
from ..db.repositories import NotificationRepository, OrderRepository, PositionRepository
from ..domain.enums import OrderStatus, PositionStatus, Side, StrategyStatus
from .context import AppContext


@dataclass(frozen=True)
class PositionTotals:
    quantity_open: int
    unrealized: Decimal
    realized: Decimal

    @property
    def total(self) -> Decimal:
        return self.unrealized + self.realized


@dataclass(frozen=True)
class Exposure:
    """What the user has at stake right now: the strategies running and the open positions
    (symbol, signed quantity). Said before anything stops them (quit, kill switch)."""

    running: tuple[str, ...]
    open_positions: tuple[tuple[str, int], ...]

    @property
    def any(self) -> bool:
        return bool(self.running or self.open_positions)

    def describe(self) -> str:
        """e.g. "2 strategies running and 1 position open (INFY 10)"."""
        strategies = _count(len(self.running), "strategy", "strategies") + " running"
        positions = _count(len(self.open_positions), "position", "positions") + " open"
        if self.open_positions:
            held = ", ".join(f"{symbol} {qty:,}" for symbol, qty in self.open_positions[:4])
            more = f", +{len(self.open_positions) - 4} more" if len(self.open_positions) > 4 \
                else ""
            positions += f" ({held}{more})"
        return f"{strategies} and {positions}"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


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

    def exposure(self) -> Exposure:
        with self.ctx.session() as s:
            running = s.exec(select(Strategy.name).where(
                Strategy.user_id == self.user_id, Strategy.status == StrategyStatus.RUNNING)
                .order_by(Strategy.name)).all()
            held = PositionRepository(s, self.user_id).list(status=PositionStatus.OPEN)
            return Exposure(tuple(running), tuple((p.symbol, p.quantity) for p in held))

    def notifications(self, limit: int = 200) -> list[Notification]:
        with self.ctx.session() as s:
            return NotificationRepository(s, self.user_id).list(limit)

    def unread_count(self) -> int:
        with self.ctx.session() as s:
            return NotificationRepository(s, self.user_id).unread_count()

    def mark_read(self, notification_id: uuid.UUID | str | None = None) -> int:
        with self.ctx.session() as s:
            return NotificationRepository(s, self.user_id).mark_read(notification_id)
