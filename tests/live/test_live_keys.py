"""Key names are the seed's, exactly, and nothing else lands in the store."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from tui_trader.domain.enums import TriggerEvent
from tui_trader.live import keys
from tui_trader.live.order_queue import OrderEvent, OrderQueue

SID = UUID("11111111-2222-3333-4444-555555555555")
UID = UUID("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")


def test_key_builders() -> None:
    assert keys.user(UID) == "user:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert keys.strategy(SID) == "strategy:11111111-2222-3333-4444-555555555555"
    assert keys.runtime(SID) == "runtime:11111111-2222-3333-4444-555555555555"
    assert keys.runtime_lock(SID) == "runtime:11111111-2222-3333-4444-555555555555:lock"
    assert keys.symbol_strategies("TCS") == "symbol:TCS:strategies"
    assert keys.price("TCS") == "price:TCS"
    assert keys.daily_stats(SID) == "stats:daily:11111111-2222-3333-4444-555555555555"
    assert keys.events(UID, 0) == "events:0:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert keys.events(UID, 7) == "events:7:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    assert keys.engine_events(7) == "events:7:engine"
    assert keys.ORDER_QUEUE == "queue:orders"
    assert keys.SENTINEL == "tui:sentinel"
    # str and UUID ids build the same key
    assert keys.runtime(str(SID)) == keys.runtime(SID)


def test_a_full_cycle_writes_exactly_the_documented_keys(client, state, spec_factory) -> None:
    spec = spec_factory("TCS", strategy_id=SID, user_id=UID)
    state.put_user(UID, "trader@example.com", broker_connected=True)
    state.activate(spec)
    assert state.locks.acquire(SID, TriggerEvent.BUY, "owner", 5_000).ok
    state.set_prices({"TCS": (Decimal("3521.20"), datetime.now(UTC))})
    state.incr_daily_stats(SID, date(2025, 1, 2), trades=1, pnl=Decimal("1.5"))
    state.mark_alive()
    OrderQueue(client, "keys-test").publish(
        OrderEvent(SID, UID, TriggerEvent.BUY, "TCS", None, datetime.now(UTC))
    )
    assert set(client.keys("*")) == {
        f"user:{UID}",
        f"strategy:{SID}",
        f"runtime:{SID}",
        f"runtime:{SID}:lock",
        "symbol:TCS:strategies",
        "strategies:running",
        "price:TCS",
        f"stats:daily:{SID}",
        "tui:sentinel",
        "queue:orders",
    }
    assert client.type(f"runtime:{SID}") == "hash"
    assert client.type("symbol:TCS:strategies") == "set"
    assert client.type("queue:orders") == "stream"
    assert client.type("price:TCS") == "hash"
