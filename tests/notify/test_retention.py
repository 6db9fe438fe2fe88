"""Retention on both databases: ticks past 30 days, system logs past 90, finished orders
past a year (with their history) go; working orders and anything younger stay; --dry-run
only counts; settings change the windows; the daily job prunes once a day after its hour."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from tui_trader.db.models import Order, OrderHistory, SystemLog, Tick
from tui_trader.domain.audit import AuditAction
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.enums import OrderReason, OrderStatus, Severity, Side
from tui_trader.domain.lifecycle import IntentState
from tui_trader.services.audit import audit_trail
from tui_trader.services.auth import AuthService
from tui_trader.services.maintenance import DailyPrune, prune

NOW = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)  # the ctx fixture's frozen clock


def _seed(ctx) -> dict[str, uuid.UUID]:
    user = AuthService(ctx).sign_up("trader@example.com", "correct-horse-battery").id
    ids = {}
    with ctx.db.begin() as conn:
        for days in (1, 29, 31, 400):
            conn.execute(Tick.__table__.insert().values(
                id=uuid.uuid4(), ts=NOW - timedelta(days=days), symbol="TCS",
                exchange="NSE", price=Decimal("4100.5"), volume=10))
        for days in (89, 91):
            conn.execute(SystemLog.__table__.insert().values(
                id=uuid.uuid4(), component="engine", level=Severity.WARNING, message="x",
                data={}, created_at=NOW - timedelta(days=days)))
    with ctx.session() as s:
        for name, days, status in (("new", 30, OrderStatus.FILLED),
                                   ("old", 400, OrderStatus.FILLED),
                                   ("old_rejected", 380, OrderStatus.REJECTED),
                                   ("old_working", 400, OrderStatus.OPEN)):
            made = NOW - timedelta(days=days)
            order = Order(user_id=user, intent_key=f"k-{name}", client_tag=name,
                          trading_day=made.date(), symbol="TCS", side=Side.BUY,
                          reason=OrderReason.BUY, quantity=1, status=status,
                          intent_state=IntentState.SENT, created_at=made, updated_at=made)
            s.add(order)
            s.flush()
            ids[name] = order.id
            s.add(OrderHistory(order_id=order.id, user_id=user, status=status,
                               intent_state=IntentState.SENT, created_at=made))
    return ids


def _count(ctx, table) -> int:
    with ctx.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_prune_keeps_the_windows_and_working_orders(ctx):
    ids = _seed(ctx)
    dry = prune(ctx, dry_run=True)
    assert dry.counts == {"ticks": 2, "system_logs": 1, "order_history": 2, "orders": 2}
    assert _count(ctx, Tick.__table__) == 4  # nothing deleted
    done = prune(ctx)
    assert done.counts == dry.counts and done.summary().startswith("deleted: ticks 2")
    assert _count(ctx, Tick.__table__) == 2 and _count(ctx, SystemLog.__table__) == 1
    with ctx.db.connect() as conn:
        left = set(conn.execute(sa.select(Order.__table__.c.id)).scalars())
        history = set(conn.execute(sa.select(OrderHistory.__table__.c.order_id)).scalars())
    assert left == history == {ids["new"], ids["old_working"]}
    assert prune(ctx).total == 0
    assert [e.action for e in audit_trail(ctx)].count(AuditAction.DATA_PRUNED) == 1


def test_settings_change_the_windows(ctx):
    _seed(ctx)
    ctx.settings = ctx.settings.model_copy(update={"retention_ticks_days": 2,
                                                   "retention_orders_days": 10})
    counts = prune(ctx, dry_run=True).counts
    assert counts["ticks"] == 3 and counts["orders"] == 3


def test_the_daily_job_prunes_once_after_its_hour(ctx):
    _seed(ctx)
    clock = ctx.clock = FrozenClock(datetime(2026, 11, 23, 12, 0, tzinfo=UTC))  # 17:30 IST
    job = DailyPrune(ctx)
    assert job.run_if_due() is None  # before 18:00 IST
    clock.set(datetime(2026, 11, 23, 12, 31, tzinfo=UTC))
    assert job.run_if_due().counts["ticks"] == 2
    assert job.run_if_due() is None  # once a day
    other = DailyPrune(ctx)  # another engine process: the day is claimed
    assert other.run_if_due() is None
    clock.set(datetime(2026, 11, 24, 12, 31, tzinfo=UTC))
    assert job.run_if_due() is not None
