"""What a running strategy's status line says and when the trader hears about its plan:
the next BUY, a BUY missed while no engine ran (said once, in an alert and the line), a leg
that could not be queued, nothing more planned. Also when its BUY was last taken in hand
(`last_run`), which is how a missed BUY is found at the next start.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from ..db.models import Order, Strategy
from ..domain.clock import Clock
from ..domain.enums import OrderReason, TriggerEvent
from ..domain.schedule import MISSED_NOTE, NoSessionAhead, missed_buys, plan_legs, upcoming_note
from ..domain.strategy import StrategySpec
from .alerts import Alerts
from .control import EngineResources
from .events import StrategyStatusChanged
from .positions import PositionKeeper
from .publisher import EventPublisher
from .scheduler import LegPlan

log = logging.getLogger(__name__)

NOTHING_PLANNED = "nothing planned: no session ahead holds its buy and sell times"
STRATEGIES = Strategy.__table__
ORDERS = Order.__table__


class StatusNotes:
    def __init__(self, *, ctx: EngineResources, positions: PositionKeeper,
                 publisher: EventPublisher, alerts: Alerts, clock: Clock,
                 plan_for: Callable[[uuid.UUID], LegPlan | None]) -> None:
        self.ctx = ctx
        self.positions = positions
        self.publisher = publisher
        self.alerts = alerts
        self.clock = clock
        self.plan_for = plan_for

    def update(self, specs: list[StrategySpec]) -> None:
        """Bring each restored strategy's status line up to date: when it buys next, or,
        for one whose BUY time came while no engine ran (the console was closed), that it
        was missed: said once, in an alert and in the status line, instead of moving the
        strategy on to its next day without a word. A missed-BUY line stays until the
        strategy's next BUY."""
        if not specs:
            return
        now = self.clock.now()
        with self.ctx.db.connect() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(
                STRATEGIES.c.id, STRATEGIES.c.last_run, STRATEGIES.c.status_reason).where(
                STRATEGIES.c.id.in_([spec.id for spec in specs]))).all()}
        for spec in specs:
            row = rows.get(spec.id)
            if row is None:
                continue
            days = self._missed_buys(spec, row.last_run, now)
            if days:
                self._tell_missed_buy(spec, days, now)
            elif not (row.status_reason or "").startswith(MISSED_NOTE):
                plan = self.plan_for(spec.id)
                note = upcoming_note(plan.day, spec.buy_time, spec.sell_time) if plan else ""
                if note and note != row.status_reason:
                    self.set_line(spec.id, note)

    def set_line(self, strategy_id: uuid.UUID, note: str, **values) -> None:
        with self.ctx.db.begin() as conn:
            conn.execute(STRATEGIES.update().where(STRATEGIES.c.id == strategy_id).values(
                status_reason=note[:200], **values))

    def _missed_buys(self, spec: StrategySpec, since: datetime | None, now: datetime) -> list:
        if since is None or self.positions.open_for_strategy(spec.id) is not None:
            return []  # holding a position, its BUY would not have been placed anyway
        days = missed_buys(self.ctx.calendar, since, now, spec.buy_time)
        if days:  # a day whose BUY was placed was not missed (whatever last_run says)
            days = [d for d in days if d not in self._days_bought(spec.id, days[0])]
        return days

    def _tell_missed_buy(self, spec: StrategySpec, days: list, now: datetime) -> None:
        what = self.alerts.missed_what(days, spec.buy_time)
        plan = self.plan_for(spec.id)
        upcoming = (f"next buy {plan.day:%a %d %b} {spec.buy_time:%H:%M} IST" if plan
                    else "no next buy planned")
        note = f"{MISSED_NOTE}{what} (console closed); {upcoming}"
        self.set_line(spec.id, note, last_run=now)  # told once: handled now
        self.alerts.missed_buy(spec, what, upcoming, now)
        self.publisher.publish(StrategyStatusChanged(str(spec.user_id), str(spec.id),
                                                     "running", note))

    def _days_bought(self, strategy_id: uuid.UUID, since) -> set:
        """The trading days since `since` on which the strategy's BUY has an order."""
        with self.ctx.db.connect() as conn:
            return set(conn.execute(sa.select(ORDERS.c.trading_day).where(
                ORDERS.c.strategy_id == strategy_id, ORDERS.c.reason == OrderReason.BUY,
                ORDERS.c.trading_day >= since)).scalars())

    def buy_handled(self, spec: StrategySpec, at: datetime) -> None:
        """The strategy's `last_run` is when its BUY was last taken in hand (or it was
        started): a BUY time after it, found at the next start, was missed. Its status line
        moves on to the next day's BUY."""
        try:
            plan = plan_legs(self.ctx.calendar, at, spec.buy_time, spec.sell_time)
            self.set_line(spec.id, upcoming_note(plan.day, spec.buy_time,
                                                         spec.sell_time, special=plan.special),
                                  last_run=at)
        except NoSessionAhead:  # the scheduler tells the trader nothing more is planned
            self.set_line(spec.id, NOTHING_PLANNED, last_run=at)
        except Exception:  # the database blinked: at worst a later start reports a miss
            log.warning("last run of %s not recorded", spec.name, exc_info=True)

    def no_session_ahead(self, spec: StrategySpec, why: str) -> None:
        """Nothing more can be planned (its special session has passed, say): the strategy
        stays running, so a position it holds is still watched, and the trader is told."""
        reason = NOTHING_PLANNED
        try:
            with self.ctx.session() as s:
                row = s.get(Strategy, spec.id)
                if row is not None:
                    row.status_reason = reason
        except Exception:  # the notice below still reaches the trader
            log.warning("status of %s not updated", spec.id, exc_info=True)
        self.alerts.nothing_planned(spec, why)
        self.publisher.publish(StrategyStatusChanged(str(spec.user_id), str(spec.id),
                                                     "running", reason))

    def leg_not_queued(self, spec: StrategySpec, leg: TriggerEvent, why: str) -> None:
        self.alerts.leg_delayed(spec, leg, why)
