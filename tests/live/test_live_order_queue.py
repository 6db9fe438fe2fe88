"""queue:orders: encoding, consumer-group delivery, re-delivery after a consumer dies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest

from tui_trader.domain.enums import TriggerEvent
from tui_trader.live.order_queue import MAXLEN, MalformedEvent, OrderEvent, OrderQueue


def make_event(event: TriggerEvent = TriggerEvent.BUY, price: str | None = "3521.05") -> OrderEvent:
    return OrderEvent(
        strategy_id=uuid4(),
        user_id=uuid4(),
        event=event,
        symbol="TCS",
        trigger_price=None if price is None else Decimal(price),
        created_at=datetime(2025, 1, 2, 3, 45, 0, 123456, tzinfo=UTC),
    )


def test_event_encoding_round_trips() -> None:
    for original in (make_event(), make_event(TriggerEvent.STOPLOSS, None)):
        fields = original.to_fields()
        assert all(isinstance(v, str) for v in fields.values())
        assert OrderEvent.from_fields("1-0", fields) == original


def test_event_refuses_naive_time_and_normalises_to_utc() -> None:
    with pytest.raises(ValueError):
        OrderEvent(uuid4(), uuid4(), TriggerEvent.BUY, "TCS", None, datetime(2025, 1, 2, 9, 15))
    ist = timezone(timedelta(hours=5, minutes=30))
    event = OrderEvent(
        uuid4(), uuid4(), TriggerEvent.BUY, "TCS", None, datetime(2025, 1, 2, 9, 15, tzinfo=ist)
    )
    assert event.created_at == datetime(2025, 1, 2, 3, 45, tzinfo=UTC)
    assert event.created_at.tzinfo is UTC
    assert event.event_id != make_event().event_id  # fresh idempotency key per event


def test_publish_and_read_in_order(client) -> None:
    queue = OrderQueue(client, "exec-1")
    published = [make_event(), make_event(TriggerEvent.SELL), make_event(TriggerEvent.STOPLOSS)]
    ids = [queue.publish(event) for event in published]
    got = queue.read(count=10)
    assert [q.entry_id for q in got] == ids
    assert [q.event for q in got] == published
    assert queue.pending_count() == 3
    assert queue.ack(*ids) == 3
    assert queue.pending_count() == 0
    assert queue.read(count=10, block_ms=20) == []  # nothing new: returns after the block


def test_events_published_before_any_consumer_are_delivered(client, make_client) -> None:
    event = make_event()
    # The publisher creates the group too (from id 0), so an early event is not lost.
    OrderQueue(make_client(), "publisher").publish(event)
    assert [q.event for q in OrderQueue(client, "late-executor").read()] == [event]


def test_dead_consumer_entry_is_claimed_by_another(client, make_client) -> None:
    a = OrderQueue(make_client(), "exec-a")
    b = OrderQueue(make_client(), "exec-b")
    event = make_event()
    entry_id = a.publish(event)
    assert [q.entry_id for q in a.read()] == [entry_id]
    # exec-a "dies" without acking; exec-b sees nothing new...
    assert b.read() == []
    # ...but takes the stale entry over.
    claimed = b.claim_stale(min_idle_ms=0, count=10)
    assert [(q.entry_id, q.event) for q in claimed] == [(entry_id, event)]
    assert [q.entry_id for q in b.pending_own()] == [entry_id]
    assert a.pending_own() == []
    b.ack(entry_id)
    assert b.pending_count() == 0
    assert b.claim_stale(min_idle_ms=0) == []


def test_claim_stale_respects_idle_time_and_count(client, make_client) -> None:
    a = OrderQueue(make_client(), "exec-a")
    b = OrderQueue(make_client(), "exec-b")
    for _ in range(5):
        a.publish(make_event())
    assert len(a.read(count=5)) == 5
    assert b.claim_stale(min_idle_ms=3_600_000) == []  # not idle for an hour yet
    first = b.claim_stale(min_idle_ms=0, count=2)
    assert len(first) == 2
    assert len(a.pending_own()) == 3 and len(b.pending_own()) == 2
    # Idle time is all that counts: with 0, b's own two are taken (again) with a's three.
    assert len(b.claim_stale(min_idle_ms=0, count=10)) == 5
    assert a.pending_own() == []


def test_restarted_consumer_sees_its_pending_entries(client, make_client) -> None:
    before = OrderQueue(make_client(), "exec-1")
    ids = [before.publish(make_event()) for _ in range(3)]
    assert len(before.read(count=10)) == 3
    before.ack(ids[1])
    restarted = OrderQueue(make_client(), "exec-1")  # same name, new process
    assert [q.entry_id for q in restarted.pending_own(count=1)] == [ids[0], ids[2]]
    assert restarted.read() == []  # nothing new; the pending ones are not "new"


def test_malformed_entries_raise_with_their_id(client) -> None:
    queue = OrderQueue(client, "exec-1")
    good = queue.publish(make_event())
    bad_fields = make_event().to_fields() | {"event": "HOLD"}
    bad = client.xadd("queue:orders", bad_fields)
    junk = client.xadd("queue:orders", {"garbage": "1"})
    naive = client.xadd(
        "queue:orders", make_event().to_fields() | {"created_at": "2025-01-02T09:15:00"}
    )
    got = queue.read(count=10)
    assert [q.entry_id for q in got] == [good, bad, junk, naive]
    assert not got[0].malformed
    for queued in got[1:]:
        assert queued.malformed
        with pytest.raises(MalformedEvent) as info:
            _ = queued.event
        assert info.value.entry_id == queued.entry_id
    assert "missing field" in str(pytest.raises(MalformedEvent, lambda: got[2].event).value)
    # the executor acks malformed entries so they never come back
    assert queue.ack(*(q.entry_id for q in got)) == 4
    assert queue.pending_own() == []


def test_trimmed_pending_entry_is_malformed(client) -> None:
    queue = OrderQueue(client, "exec-1")
    entry_id = queue.publish(make_event())
    queue.read()
    client.xdel("queue:orders", entry_id)  # trimmed by MAXLEN while pending
    pending = queue.pending_own()
    assert [q.entry_id for q in pending] == [entry_id]
    with pytest.raises(MalformedEvent):
        _ = pending[0].event
    queue.ack(entry_id)


def test_stream_is_bounded(client) -> None:
    queue = OrderQueue(client, "exec-1")
    queue.publish(make_event())
    # XADD carries MAXLEN ~ so the stream cannot grow without bound.
    assert MAXLEN == 100_000
    assert client.xinfo_stream("queue:orders")["length"] == 1


def test_block_arguments_are_checked(client) -> None:
    queue = OrderQueue(client, "exec-1")
    with pytest.raises(ValueError):
        queue.read(block_ms=0)  # would block forever
    with pytest.raises(ValueError):
        queue.read(count=0)


def test_publish_and_take_delivers_to_the_publisher_in_one_call(client) -> None:
    queue = OrderQueue(client, "engine-a")
    other = OrderQueue(client, "engine-b")
    event = make_event(TriggerEvent.SELL)
    taken = queue.publish_and_take(event)
    assert [q.entry_id for q in taken.entries] == [taken.entry_id]
    assert [q.event for q in taken.entries] == [event]
    assert taken.acquired is None  # no lock asked for
    # It is this consumer's now: pending (recovered after a crash), never delivered again.
    assert queue.pending_count() == 1
    assert other.read() == [] and queue.read() == []
    assert [q.entry_id for q in queue.pending_own()] == [taken.entry_id]


def test_publish_and_take_takes_the_backlog_first(client) -> None:
    queue = OrderQueue(client, "engine-a")
    earlier = [queue.publish(make_event()) for _ in range(3)]
    taken = queue.publish_and_take(make_event(TriggerEvent.STOPLOSS))
    assert [q.entry_id for q in taken.entries] == [*earlier, taken.entry_id]
    capped = queue.publish_and_take(make_event(), count=1)
    assert [q.entry_id for q in capped.entries] == [capped.entry_id]


def test_publish_and_take_also_takes_the_strategy_lock(client) -> None:
    from tui_trader.live.scripts import AcquireStatus, PositionLocks

    queue = OrderQueue(client, "engine-a")
    locks = PositionLocks(client)
    event = make_event(TriggerEvent.STOPLOSS)
    client.hset(f"runtime:{event.strategy_id}", "position", "bought")
    taken = queue.publish_and_take(event, lock_ttl_ms=30_000)
    assert taken.acquired is not None and taken.acquired.status is AcquireStatus.OK
    assert client.get(f"runtime:{event.strategy_id}:lock") == event.event_id
    # The same rule as PositionLocks.acquire: the owner may ask again, others are BUSY.
    assert locks.acquire(event.strategy_id, TriggerEvent.STOPLOSS, event.event_id, 1000).ok
    second = make_event(TriggerEvent.SELL)
    second = OrderEvent(event.strategy_id, second.user_id, second.event, second.symbol,
                        None, second.created_at)
    busy = queue.publish_and_take(second, lock_ttl_ms=30_000)
    assert busy.acquired is not None and busy.acquired.status is AcquireStatus.BUSY
    assert len(busy.entries) == 1  # published and taken all the same
    locks.release(event.strategy_id, event.event_id)
    client.hset(f"runtime:{event.strategy_id}", "position", "none")
    refused = queue.publish_and_take(second, lock_ttl_ms=30_000)
    assert refused.acquired is not None and refused.acquired.status is AcquireStatus.NOT_ALLOWED
    missing = queue.publish_and_take(make_event(TriggerEvent.EXIT), lock_ttl_ms=30_000)
    assert missing.acquired is not None and missing.acquired.status is AcquireStatus.MISSING


def test_publish_and_take_recreates_a_lost_group(client) -> None:
    queue = OrderQueue(client, "engine-a")
    client.delete(queue.stream)  # Redis restarted empty: stream and group are gone
    taken = queue.publish_and_take(make_event())
    assert [q.entry_id for q in taken.entries] == [taken.entry_id]
    assert queue.pending_count() == 1
