"""Rows every install starts with: the strategy catalog."""

from __future__ import annotations

from sqlmodel import Session, select

from ..domain.enums import StrategyKind
from .models import StrategyCatalog

CATALOG = (
    (StrategyKind.SCHEDULED, "Scheduled buy/sell",
     "Buy at one time, sell at a later one, exit early if the price falls to the stop-loss."),
    (StrategyKind.EMA_CROSSOVER, "EMA crossover",
     "Enter when the fast EMA crosses above the slow one; exit on the reverse cross."),
    (StrategyKind.RSI, "RSI reversal", "Enter when RSI leaves oversold; exit when overbought."),
)


def seed_catalog(session: Session) -> int:
    known = set(session.exec(select(StrategyCatalog.kind)).all())
    added = 0
    for kind, name, description in CATALOG:
        if kind not in known:
            session.add(StrategyCatalog(kind=kind, name=name, description=description,
                                        is_active=kind == StrategyKind.SCHEDULED))
            added += 1
    return added
