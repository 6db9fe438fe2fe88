"""Bad ticks, malformed queue entries and broker rejections: logged, counted, never fatal,
never leaving a strategy's lock held."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlmodel import select

from tui_trader.brokers.feeds.base import Tick
from tui_trader.db.models import Notification, Order
from tui_trader.domain.enums import OrderStatus, RuntimePosition
from tui_trader.engine.router import StopLossWatch, TickRouter
from tui_trader.live import keys
from tui_trader.live.state import LiveState
from tui_trader.services.strategies import StrategyService

from .conftest import FORM


def test_router_drops_and_counts_bad_ticks(ctx):
    fired = []
    router = TickRouter(lambda w, p, t: fired.append(p), known_symbols=["INFY"])
    router.watch(StopLossWatch(uuid.uuid4(), uuid.uuid4(), "INFY", Decimal("1500"), armed=True))
    now = ctx.clock.now()
    router.on_batch([
        Tick("INFY", Decimal("NaN"), now, 1, 1),
        Tick("INFY", Decimal("-5"), now, 1, 2),
        Tick("INFY", Decimal("0"), now, 1, 3),
        Tick("NOSUCH", Decimal("10"), now, 1, 4),
        Tick("INFY", Decimal("1510"), now, 1, 5),
        Tick("INFY", Decimal("1400"), now - timedelta(seconds=1), 1, 6),  # out of order
    ])
    c = router.counters
    assert (c.dropped_bad_price, c.dropped_unknown_symbol, c.dropped_out_of_order) == (3, 1, 1)
    assert fired == [] and router.last_price("INFY") == Decimal("1510")
    router.on_batch([Tick("INFY", Decimal("1499.95"), now, 1, 7)])
    assert fired == [Decimal("1499.95")]


def test_malformed_queue_entry_is_acked_and_counted(ctx, trader, harness):
    harness.start()
    ctx.store.xadd(keys.ORDER_QUEUE, {"garbage": "yes"})
    ctx.store.xadd(keys.ORDER_QUEUE, {"v": "1", "event_id": "e", "strategy_id": "not-a-uuid",
                                      "user_id": "x", "event": "BUY", "symbol": "INFY",
                                      "trigger_price": "", "created_at": "yesterday"})
    harness.settle()
    assert harness.engine.executor.counters.malformed == 2
    assert ctx.store.xpending(keys.ORDER_QUEUE, keys.ORDER_GROUP)["pending"] == 0


def test_broker_rejection_is_recorded_and_releases_the_lock(ctx, trader, harness):
    spec = StrategyService(ctx, trader.id).create({**FORM, "quantity": "900000"})
    harness.start()
    harness.engine.start_strategy(trader.id, spec.id)
    harness.tick("INFY", "1520.00")
    harness.advance_to(9, 30)
    harness.settle()  # 900,000 x 1,520 is far beyond the paper account's cash
    with ctx.session() as s:
        [order] = s.exec(select(Order)).all()
        notes = s.exec(select(Notification)).all()
    assert order.status is OrderStatus.REJECTED and "fund" in (order.error or "").lower()
    assert any("rejected" in n.title for n in notes)
    live = LiveState(ctx.store)
    assert live.get_runtime(spec.id).position is RuntimePosition.NONE
    assert not ctx.store.exists(keys.runtime_lock(spec.id))
