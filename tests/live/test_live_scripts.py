"""The Lua lock/position transitions: exactly one winner, owners only, position rules."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tui_trader.domain.enums import RuntimePosition, TriggerEvent
from tui_trader.domain.strategy import RuntimeSnapshot
from tui_trader.live import keys
from tui_trader.live.scripts import (
    AcquireStatus,
    CompleteStatus,
    PositionLocks,
    new_owner_token,
    next_position,
    order_field_for,
)

TTL = 30_000


def test_full_cycle_none_bought_sold(state, spec) -> None:
    state.activate(spec)
    locks = state.locks
    token = new_owner_token()
    result = locks.acquire(spec.id, TriggerEvent.BUY, token, TTL)
    assert result.ok and result.position is RuntimePosition.NONE
    assert state.get_runtime(spec.id).lock_state is True
    assert 0 < state.client.pttl(keys.runtime_lock(spec.id)) <= TTL
    assert locks.complete(
        spec.id, token, next_position(TriggerEvent.BUY), order_field_for(TriggerEvent.BUY), "B-1"
    ) is CompleteStatus.OK
    assert not state.client.exists(keys.runtime_lock(spec.id))

    token = new_owner_token()
    assert locks.acquire(spec.id, TriggerEvent.SELL, token, TTL).ok
    assert locks.complete(spec.id, token, RuntimePosition.SOLD, "last_sell_order", "S-1") is (
        CompleteStatus.OK
    )
    assert state.get_runtime(spec.id) == RuntimeSnapshot(
        position=RuntimePosition.SOLD,
        last_buy_order="B-1",
        last_sell_order="S-1",
        lock_state=False,
    )
    # sold: no BUY (needs none) and no second SELL (needs bought)
    assert locks.acquire(spec.id, TriggerEvent.BUY, "x", TTL).status is AcquireStatus.NOT_ALLOWED
    assert locks.acquire(spec.id, TriggerEvent.SELL, "x", TTL).status is (
        AcquireStatus.NOT_ALLOWED
    )


@pytest.mark.parametrize("event", [TriggerEvent.SELL, TriggerEvent.STOPLOSS, TriggerEvent.EXIT])
def test_exit_events_without_bought_are_not_allowed(state, spec, event) -> None:
    state.activate(spec)
    result = state.locks.acquire(spec.id, event, "t", TTL)
    assert result.status is AcquireStatus.NOT_ALLOWED
    assert result.position is RuntimePosition.NONE
    assert not state.client.exists(keys.runtime_lock(spec.id))  # nothing taken


def test_unknown_strategy_is_missing(state, spec) -> None:
    result = state.locks.acquire(spec.id, TriggerEvent.BUY, "t", TTL)
    assert result.status is AcquireStatus.MISSING and result.position is None
    assert state.get_runtime(spec.id) is None  # acquire never creates a runtime


def test_complete_by_wrong_owner_is_refused(state, spec) -> None:
    state.activate(spec)
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "owner", TTL).ok
    assert state.locks.complete(
        spec.id, "intruder", RuntimePosition.BOUGHT, "last_buy_order", "X"
    ) is CompleteStatus.LOST_LOCK
    assert not state.locks.release(spec.id, "intruder")
    assert not state.locks.extend(spec.id, "intruder", TTL)
    runtime = state.get_runtime(spec.id)
    assert runtime.position is RuntimePosition.NONE and runtime.last_buy_order is None
    assert state.client.get(keys.runtime_lock(spec.id)) == "owner"


def test_expired_lock_means_lost_lock(state, spec) -> None:
    state.activate(spec)
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "slow", TTL).ok
    state.client.delete(keys.runtime_lock(spec.id))  # what PX expiry does
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "next", TTL).ok
    assert state.locks.complete(
        spec.id, "slow", RuntimePosition.BOUGHT, "last_buy_order", "late"
    ) is CompleteStatus.LOST_LOCK
    assert state.get_runtime(spec.id).last_buy_order is None


def test_release_and_extend(state, spec) -> None:
    state.activate(spec)
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "owner", 1_000).ok
    assert state.locks.extend(spec.id, "owner", 60_000)
    assert state.client.pttl(keys.runtime_lock(spec.id)) > 1_000
    assert state.locks.release(spec.id, "owner")
    assert not state.locks.release(spec.id, "owner")  # already released
    runtime = state.get_runtime(spec.id)
    assert runtime.position is RuntimePosition.NONE and runtime.lock_state is False
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "again", TTL).ok


def test_acquire_is_idempotent_for_the_same_owner(state, spec) -> None:
    """A client retry after a lost reply must not turn the caller's own lock into BUSY."""
    state.activate(spec)
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "owner", TTL).ok
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "owner", TTL).ok
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "other", TTL).status is (
        AcquireStatus.BUSY
    )


def test_complete_is_idempotent_for_a_retry(state, spec) -> None:
    """A retried `complete` whose first attempt landed reports OK, not LOST_LOCK."""
    state.activate(spec)
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "owner", TTL).ok
    args = (spec.id, "owner", RuntimePosition.BOUGHT, "last_buy_order", "B-1")
    assert state.locks.complete(*args) is CompleteStatus.OK
    assert state.locks.complete(*args) is CompleteStatus.OK
    # but not for a different order id, nor once someone else holds the lock
    assert state.locks.complete(
        spec.id, "owner", RuntimePosition.BOUGHT, "last_buy_order", "B-2"
    ) is CompleteStatus.LOST_LOCK
    assert state.locks.acquire(spec.id, TriggerEvent.SELL, "next", TTL).ok
    assert state.locks.complete(*args) is CompleteStatus.LOST_LOCK


def test_remove_during_order_means_lost_lock(state, spec) -> None:
    state.activate(spec)
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "owner", TTL).ok
    state.remove_strategy(spec.id, spec.symbol)
    assert state.locks.complete(
        spec.id, "owner", RuntimePosition.BOUGHT, "last_buy_order", "B"
    ) is CompleteStatus.LOST_LOCK
    assert not state.client.exists(keys.runtime(spec.id))  # not resurrected


def test_bad_arguments(state, spec) -> None:
    with pytest.raises(ValueError):
        state.locks.complete(spec.id, "t", RuntimePosition.BOUGHT, "position", "x")
    with pytest.raises(ValueError):
        state.locks.acquire(spec.id, TriggerEvent.BUY, "t", 0)


def _race(make_client, strategy_id, events, rounds, reset):
    """Run `events[i]` on thread i (each with its own client) `rounds` times, all threads
    released together by a barrier; returns one Counter of statuses per round."""
    n = len(events)
    start = threading.Barrier(n + 1)
    done = threading.Barrier(n + 1)
    results: list[list] = [[None] * n for _ in range(rounds)]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        locks = PositionLocks(make_client())
        try:
            for r in range(rounds):
                start.wait()
                try:
                    results[r][i] = (events[i], locks.acquire(strategy_id, events[i], f"t{i}", TTL))
                finally:
                    done.wait()
        except BaseException as exc:  # surfaced below, never silently lost
            errors.append(exc)
            start.abort()
            done.abort()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(rounds):
            reset()
            start.wait(timeout=30)
            done.wait(timeout=30)
    finally:
        for thread in threads:
            thread.join(timeout=30)
    assert not errors, errors
    return results


def test_sixteen_threads_one_buy_winner_each_round(state, spec, make_client) -> None:
    def reset() -> None:
        state.client.delete(keys.runtime_lock(spec.id))
        state.activate(spec, RuntimeSnapshot())

    rounds = _race(make_client, spec.id, [TriggerEvent.BUY] * 16, 50, reset)
    for outcome in rounds:
        statuses = Counter(result.status for _event, result in outcome)
        assert statuses == {AcquireStatus.OK: 1, AcquireStatus.BUSY: 15}


def test_stoploss_racing_sell_has_one_winner(state, spec, make_client) -> None:
    def reset() -> None:
        state.client.delete(keys.runtime_lock(spec.id))
        state.activate(spec, RuntimeSnapshot(position=RuntimePosition.BOUGHT))

    events = [TriggerEvent.SELL, TriggerEvent.STOPLOSS] * 4
    rounds = _race(make_client, spec.id, events, 50, reset)
    winners: Counter[TriggerEvent] = Counter()
    for outcome in rounds:
        won = [event for event, result in outcome if result.ok]
        assert len(won) == 1
        assert all(r.status is AcquireStatus.BUSY for _e, r in outcome if not r.ok)
        winners[won[0]] += 1
    # and after the winner completes, the loser's retry is no longer allowed
    locks = state.locks
    token = "winner"
    reset()
    assert locks.acquire(spec.id, TriggerEvent.STOPLOSS, token, TTL).ok
    assert locks.complete(spec.id, token, RuntimePosition.SOLD, "last_sell_order", "SL-1") is (
        CompleteStatus.OK
    )
    assert locks.acquire(spec.id, TriggerEvent.SELL, "loser", TTL).status is (
        AcquireStatus.NOT_ALLOWED
    )
