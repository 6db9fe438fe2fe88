"""Strategies of the acting user, and the engine's unscoped view of running ones."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from ...domain.enums import StrategyStatus
from ...domain.strategy import StrategySpec
from ..models import Strategy
from .scoped import ScopedRepository


def to_spec(row: Strategy) -> StrategySpec:
    return StrategySpec(
        id=row.id, user_id=row.user_id, name=row.name, kind=row.kind, symbol=row.symbol,
        exchange=row.exchange, buy_time=row.buy_time, sell_time=row.sell_time,
        stop_loss=row.stop_loss, quantity=row.quantity, mode=row.execution_mode,
        status=row.status, broker_account_id=row.broker_account_id,
    )


class StrategyRepository(ScopedRepository):
    kind = "strategy"

    def list(self) -> list[Strategy]:
        return list(self.session.exec(self._select(Strategy).order_by(Strategy.name)).all())

    def get(self, strategy_id: uuid.UUID | str) -> Strategy:
        return self._owned(Strategy, strategy_id)

    def by_name(self, name: str) -> Strategy | None:
        return self.session.exec(self._select(Strategy).where(Strategy.name == name)).first()

    def add(self, row: Strategy) -> Strategy:
        row.user_id = self.user_id
        self.session.add(row)
        self.session.flush()
        return row

    def delete(self, strategy_id: uuid.UUID | str) -> None:
        self.session.delete(self.get(strategy_id))
        self.session.flush()


def running_strategies(session: Session) -> list[StrategySpec]:
    """Every running strategy of every user: what the engine must restore and watch."""
    rows = session.exec(select(Strategy).where(Strategy.status == StrategyStatus.RUNNING)).all()
    return [to_spec(r) for r in rows]
