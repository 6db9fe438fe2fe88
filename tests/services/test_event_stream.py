"""The console's event stream: typed events from the user's channel, one line logged for a
message that is not an event, and the stream goes on delivering after it."""

from __future__ import annotations

import json
import logging
import queue
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from tui_trader.domain.events import OrderStatusChanged, StrategyStatusChanged
from tui_trader.live import keys
from tui_trader.live.store import db_number
from tui_trader.services.event_stream import UserEventStream


def _order(user_id: str) -> OrderStatusChanged:
    return OrderStatusChanged(user_id=user_id, order_id="o1", strategy_id=None, symbol="INFY",
                              side="BUY", reason="BUY", status="FILLED", quantity=10,
                              filled_quantity=10, average_price=Decimal("3521.20"))


@contextmanager
def listening(ctx, user_id: str) -> Iterator[tuple[UserEventStream, queue.Queue]]:
    """A running stream for `user_id`, connected; yields it and the queue of its batches."""
    batches: queue.Queue = queue.Queue()
    up: queue.Queue = queue.Queue()
    stream = UserEventStream(ctx.store, user_id, batches.put,
                             on_health=lambda ok, detail: up.put(ok), interval=0.05)
    stream.start()
    try:
        assert up.get(timeout=5) is True
        yield stream, batches
    finally:
        stream.stop()


def first_batch(batches: queue.Queue) -> list:
    got: list = []
    while not got:
        got.extend(batches.get(timeout=5))
    return got


def test_a_malformed_message_is_logged_in_one_line_and_the_stream_goes_on(ctx, caplog):
    user = str(uuid.uuid4())
    channel = keys.events(user, db_number(ctx.store))
    with listening(ctx, user) as (stream, batches), \
            caplog.at_level(logging.WARNING, logger="tui_trader.services.event_stream"):
        ctx.store.publish(channel, json.dumps({"type": "order", "user_id": user}))
        ctx.store.publish(channel, '{"type": "fill", "price": "3521.20"}')
        ctx.store.publish(channel, _order(user).to_json())
        got = first_batch(batches)
    assert got == [_order(user)]
    assert got[0].average_price == Decimal("3521.20")
    assert stream.malformed == 2
    lines = [r.getMessage() for r in caplog.records]
    assert any("malformed event: order.order_id: Field required" in line for line in lines)
    assert any("malformed event: an unknown type" in line for line in lines)
    assert all("\n" not in line for line in lines)


def test_events_reach_their_own_user_only(ctx):
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    db = db_number(ctx.store)
    with listening(ctx, ours) as (_, batches):
        ctx.store.publish(keys.events(theirs, db), StrategyStatusChanged(
            theirs, "s9", "running").to_json())
        ctx.store.publish(keys.events(ours, db), _order(ours).to_json())
        got = first_batch(batches)
    assert got == [_order(ours)]
