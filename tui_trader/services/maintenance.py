"""Retention: deletes what is older than the settings keep (seed 001: ticks 30 days, system
logs 90 days, order history a year), on PostgreSQL and SQLite alike.

`prune` counts (and with `dry_run` only counts) per table: market ticks by their time, system
log rows by theirs, and finished orders (filled, cancelled, rejected) by when they were made,
with their status history; an order still working is never deleted, whatever its age, and
neither is the history of one. Each table is pruned in its own transaction, in batches, so a
big first prune does not hold a lock on the order tables for long. A prune that deleted
anything is audited.

`DailyPrune` runs it once a trading-or-not day at `retention_hour_ist` from a thread of the
engine process (services.background), claiming the day in the live store so that of several
engine processes one prunes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import redis
import sqlalchemy as sa

from ..db.models import Order, OrderHistory, SystemLog, Tick
from ..domain.audit import AuditAction
from ..domain.clock import IST
from ..domain.enums import OrderStatus
from ..live import keys
from .audit import record_audit
from .context import AppContext
from .service_thread import ServiceThread

log = logging.getLogger(__name__)
BATCH = 5000
FINAL = [s for s in OrderStatus if s.is_final]


@dataclass(frozen=True)
class PruneReport:
    cutoffs: dict[str, datetime]
    counts: dict[str, int]
    dry_run: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        parts = [f"{table} {self.counts[table]} (before {cutoff:%Y-%m-%d})"
                 for table, cutoff in self.cutoffs.items()]
        return f"{verb}: " + ", ".join(parts)


def _targets(ctx: AppContext, now: datetime) -> list[tuple[str, sa.Table, sa.ColumnElement,
                                                           datetime]]:
    s = ctx.settings
    ticks, logs = Tick.__table__, SystemLog.__table__
    orders, history = Order.__table__, OrderHistory.__table__
    tick_cut = now - timedelta(days=s.retention_ticks_days)
    log_cut = now - timedelta(days=s.retention_logs_days)
    order_cut = now - timedelta(days=s.retention_orders_days)
    old_final_orders = sa.select(orders.c.id).where(orders.c.created_at < order_cut,
                                                    orders.c.status.in_(FINAL))
    return [
        ("ticks", ticks, ticks.c.ts < tick_cut, tick_cut),
        ("system_logs", logs, logs.c.created_at < log_cut, log_cut),
        # the history first: it belongs to the orders below (and cascades with them anyway)
        ("order_history", history, history.c.order_id.in_(old_final_orders), order_cut),
        ("orders", orders, sa.and_(orders.c.created_at < order_cut,
                                   orders.c.status.in_(FINAL)), order_cut),
    ]


def _key_column(table: sa.Table) -> sa.Column:
    return table.c.id


def prune(ctx: AppContext, *, dry_run: bool = False) -> PruneReport:
    now = ctx.clock.now()
    cutoffs: dict[str, datetime] = {}
    counts: dict[str, int] = {}
    for name, table, where, cutoff in _targets(ctx, now):
        cutoffs[name] = cutoff
        with ctx.db.connect() as conn:
            counts[name] = conn.execute(sa.select(sa.func.count()).select_from(table)
                                        .where(where)).scalar_one()
        if dry_run or not counts[name]:
            continue
        key = _key_column(table)
        while True:  # in batches: each a short transaction
            with ctx.db.begin() as conn:
                ids = list(conn.execute(sa.select(key).where(where).limit(BATCH)).scalars())
                if not ids:
                    break
                conn.execute(table.delete().where(key.in_(ids)))
            if len(ids) < BATCH:
                break
    report = PruneReport(cutoffs, counts, dry_run)
    if not dry_run and report.total:
        record_audit(ctx, AuditAction.DATA_PRUNED, subject="retention",
                     details={k: v for k, v in counts.items() if v})
    return report


class DailyPrune(ServiceThread):
    """Prunes once a day at the configured IST hour, from its own thread; never raises."""

    thread_name = "daily-prune"

    def __init__(self, ctx: AppContext, *, check_every: float = 60.0) -> None:
        super().__init__()
        self.ctx = ctx
        self.check_every = check_every
        self.last_day: date | None = None
        self.last_report: PruneReport | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_if_due()
            except Exception:
                log.exception("the daily prune failed; it is tried again later")
            self._stop.wait(self.check_every)

    def run_if_due(self) -> PruneReport | None:
        """Prune if today's (IST) hour has come and today was not pruned yet (by this
        process, or by another that claimed the day)."""
        local = self.ctx.clock.now().astimezone(IST)
        day = local.date()
        if local.hour < self.ctx.settings.retention_hour_ist or self.last_day == day:
            return None
        self.last_day = day
        if not self._claim(day):
            return None
        self.last_report = prune(self.ctx)
        log.info("retention: %s", self.last_report.summary())
        return self.last_report

    def _claim(self, day: date) -> bool:
        try:
            return bool(self.ctx.store.set(keys.prune_claim(day.isoformat()), "1",
                                           nx=True, ex=2 * 24 * 3600))
        except (redis.RedisError, OSError):
            return True  # pruning twice deletes nothing more
