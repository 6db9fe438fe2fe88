"""Orders and positions of the acting user, read-side (the engine writes through its own
hot-path code)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from ...domain.enums import OrderStatus, PositionStatus, Side
from ..models import Order, OrderHistory, Position, PositionHistory
from .scoped import ScopedRepository


class OrderRepository(ScopedRepository):
    kind = "order"

    def list(self, *, strategy_id: uuid.UUID | None = None, status: OrderStatus | None = None,
             side: Side | None = None, limit: int = 500) -> list[Order]:
        query = self._select(Order)
        if strategy_id is not None:
            query = query.where(Order.strategy_id == strategy_id)
        if status is not None:
            query = query.where(Order.status == status)
        if side is not None:
            query = query.where(Order.side == side)
        query = query.order_by(col(Order.created_at).desc()).limit(limit)
        return list(self.session.exec(query).all())

    def get(self, order_id: uuid.UUID | str) -> Order:
        return self._owned(Order, order_id)

    def history(self, order_id: uuid.UUID | str) -> list[OrderHistory]:
        order = self.get(order_id)
        return list(self.session.exec(
            self._select(OrderHistory).where(OrderHistory.order_id == order.id)
            .order_by(col(OrderHistory.created_at), col(OrderHistory.seq))).all())


class PositionRepository(ScopedRepository):
    kind = "position"

    def list(self, *, status: PositionStatus | None = None,
             closed_since: datetime | None = None) -> list[Position]:
        """Positions, newest first; with `closed_since`, the open ones and those closed at or
        after it (the day's book)."""
        query = self._select(Position)
        if status is not None:
            query = query.where(Position.status == status)
        if closed_since is not None:
            query = query.where(sa.or_(Position.status == PositionStatus.OPEN,
                                       col(Position.closed_at) >= closed_since))
        return list(self.session.exec(query.order_by(col(Position.opened_at).desc())).all())

    def get(self, position_id: uuid.UUID | str) -> Position:
        return self._owned(Position, position_id)

    def history(self, position_id: uuid.UUID | str) -> list[PositionHistory]:
        pos = self.get(position_id)
        return list(self.session.exec(
            self._select(PositionHistory).where(PositionHistory.position_id == pos.id)
            .order_by(col(PositionHistory.created_at), col(PositionHistory.seq))).all())
