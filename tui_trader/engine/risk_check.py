"""The user's risk rules on the engine's order path: before an entry (a BUY) goes to the
broker, the pre-trade gate (`risk.gate.PreTradeGate`, the same code the backtester runs)
judges it against the day's figures read from SQL here.

This module owns the reading (the rules, the stored risk state, today's fills, the open
positions, today's orders) and the record of a denial (a `risk_events` row with the rule,
the figures and the entry). A user without rules is never read beyond the rules: no rules,
no denial. Exits never come here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..db.models import Order, Position, PositionHistory
from ..db.repositories import RiskEventRepository, RiskRuleRepository, RiskStateRepository
from ..domain.clock import ist_datetime
from ..domain.enums import IntentState, PositionStatus, RiskRuleKind, Side
from ..domain.lifecycle import RiskState
from ..domain.risk_rules import RiskLimits
from ..domain.risk_status import TradingDays, state_on
from ..domain.stop_rule import KnownPrice
from ..domain.strategy import StrategySpec
from ..risk.account import AccountSnapshot, FillPnl, HeldPosition, snapshot_of
from ..risk.gate import Denial, Entry, PreTradeGate

ORDERS = Order.__table__
POSITIONS = Position.__table__
FILLS = PositionHistory.__table__
NO_RULES = RiskLimits()


@dataclass(frozen=True, slots=True)
class Judged:
    """A denied entry: why, and what it was (for the record and the trader)."""

    denial: Denial
    entry: Entry | None


class RiskCheck:
    def __init__(self, db: Engine, calendar: TradingDays,
                 known_price: Callable[[str, str], KnownPrice | None]) -> None:
        self.db = db
        self.calendar = calendar
        self.known_price = known_price

    def judge(self, spec: StrategySpec, quantity: int, day: date, order_id: uuid.UUID
              ) -> Judged | None:
        """None when the entry may go (always, for a user without rules); else the denial.
        `order_id` is the entry's own claimed intent, not counted among the day's orders."""
        with Session(self.db) as s:
            limits = RiskRuleRepository(s, spec.user_id).get()
            if limits == NO_RULES:
                return None
            status = RiskStateRepository(s, spec.user_id).get()
        known = self.known_price(spec.symbol, spec.exchange)
        if known is None:
            return Judged(Denial(RiskRuleKind.INVALID_ENTRY, None, None,
                                 f"no price of {spec.symbol} is known, so the risk rules "
                                 f"cannot be judged"), None)
        entry = Entry(strategy_id=spec.id, symbol=spec.symbol, side=Side.BUY, quantity=quantity,
                      price=known.price, stop=spec.stop_loss)
        account = self.account(spec.user_id, day, order_id,
                               state_on(status, day, self.calendar))
        decision = PreTradeGate(limits).check_entry(entry, account)
        return None if decision.allowed else Judged(decision.denial, entry)  # type: ignore[arg-type]

    def account(self, user_id: uuid.UUID, day: date, order_id: uuid.UUID | None,
                state: RiskState) -> AccountSnapshot:
        """The user's day so far, from SQL."""
        start = ist_datetime(day, time(0, 0))
        with self.db.connect() as conn:
            fills = [FillPnl(r.strategy_id, Decimal(r.pnl)) for r in conn.execute(
                sa.select(POSITIONS.c.strategy_id, FILLS.c.pnl)
                .join(POSITIONS, POSITIONS.c.id == FILLS.c.position_id)
                .where(FILLS.c.user_id == user_id, FILLS.c.created_at >= start))]
            held = [HeldPosition(r.strategy_id, r.symbol, r.quantity,
                                 Decimal(r.average_price),
                                 Decimal(r.ltp) if r.ltp is not None else None)
                    for r in conn.execute(
                        sa.select(POSITIONS.c.strategy_id, POSITIONS.c.symbol,
                                  POSITIONS.c.quantity, POSITIONS.c.average_price,
                                  POSITIONS.c.ltp)
                        .where(POSITIONS.c.user_id == user_id,
                               POSITIONS.c.status != PositionStatus.CLOSED,
                               POSITIONS.c.quantity != 0))]
            # Orders sent today: not an intent that never reached the broker (denied here,
            # or failed before its call), nor one re-armed and waiting, nor this one.
            never_sent = sa.and_(ORDERS.c.intent_state == IntentState.FAILED,
                                 ORDERS.c.broker_order_id.is_(None))
            sent = conn.execute(
                sa.select(sa.func.count()).select_from(ORDERS)
                .where(ORDERS.c.user_id == user_id, ORDERS.c.trading_day == day,
                       ORDERS.c.intent_state != IntentState.ARMED,
                       sa.not_(never_sent),
                       *([ORDERS.c.id != order_id] if order_id is not None else []))
            ).scalar_one()
        return snapshot_of(fills, held, sent, state)

    def record(self, spec: StrategySpec, judged: Judged, order_id: uuid.UUID,
               at: datetime) -> None:
        """The denial as a `risk_events` row: the rule, the figures, the entry."""
        entry = judged.entry
        details = {"order_id": order_id, "symbol": spec.symbol, "side": "BUY",
                   "quantity": entry.quantity if entry else spec.quantity}
        if entry is not None:
            details |= {"price": entry.price, "stop": entry.stop}
        denial = judged.denial
        with Session(self.db) as s, s.begin():
            RiskEventRepository(s, spec.user_id).record_denial(
                denial.rule, denial.observed, denial.limit, denial.message, at=at,
                strategy_id=spec.id, entry=details)
