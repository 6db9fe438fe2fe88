"""Rebuilding an empty store from SQL's running strategies."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from tui_trader.domain.enums import RuntimePosition, TriggerEvent
from tui_trader.domain.strategy import RuntimeSnapshot
from tui_trader.live.rebuild import rebuild_from
from tui_trader.live.state import LiveUser


def _fixture(spec_factory):
    owner = uuid4()
    a = spec_factory("TCS", user_id=owner, stop_loss=Decimal("3500.05"))
    b = spec_factory("TCS", user_id=owner)
    c = spec_factory("INFY")
    running = [
        (a, RuntimeSnapshot(RuntimePosition.BOUGHT, Decimal("3520.75"), "B-1", None, False)),
        (b, RuntimeSnapshot()),
        (c, RuntimeSnapshot(RuntimePosition.SOLD, None, "B-2", "S-2", False)),
    ]
    users = [
        LiveUser(owner, "owner@example.com", broker_connected=True),
        LiveUser(c.user_id, "other@example.com", broker_connected=False),
    ]
    return running, users


def test_rebuild_restores_everything_and_marks_alive(state, spec_factory) -> None:
    running, users = _fixture(spec_factory)
    assert state.is_fresh()
    assert rebuild_from(state, iter(running), users) == 3
    assert not state.is_fresh()
    for spec, snapshot in running:
        assert state.get_strategy(spec.id) == spec
        assert state.get_runtime(spec.id) == snapshot
    a, b, c = (spec for spec, _ in running)
    assert state.strategies_for_symbol("TCS") == {str(a.id), str(b.id)}
    assert state.strategies_for_symbol("INFY") == {str(c.id)}
    assert state.running_strategy_ids() == {str(a.id), str(b.id), str(c.id)}
    assert [state.get_user(u.user_id) for u in users] == users
    # and the restored state is usable: a's SELL may go, b's may not
    assert state.locks.acquire(a.id, TriggerEvent.SELL, "t", 5_000).ok
    assert not state.locks.acquire(b.id, TriggerEvent.SELL, "t", 5_000).ok


def test_rebuild_is_idempotent_and_never_rolls_back_live_runtime(state, spec_factory) -> None:
    running, users = _fixture(spec_factory)
    rebuild_from(state, running, users)
    first = {key: state.client.dump(key) for key in state.client.keys("*") if key != "tui:sentinel"}
    assert rebuild_from(state, running, users) == 3
    again = {key: state.client.dump(key) for key in state.client.keys("*") if key != "tui:sentinel"}
    assert again == first
    # an engine that rebuilt first has already bought b; a late rebuild keeps that
    b = running[1][0]
    assert state.locks.acquire(b.id, TriggerEvent.BUY, "t", 5_000).ok
    done = state.locks.complete(b.id, "t", RuntimePosition.BOUGHT, "last_buy_order", "B-9")
    assert done.value == "OK"
    rebuild_from(state, running, users)
    assert state.get_runtime(b.id).position is RuntimePosition.BOUGHT
    assert state.get_runtime(b.id).last_buy_order == "B-9"


def test_rebuild_of_nothing_still_marks_alive(state) -> None:
    assert rebuild_from(state, []) == 0
    assert not state.is_fresh()
    assert state.running_strategy_ids() == set()


def test_rebuild_in_batches(state, spec_factory) -> None:
    running = [(spec_factory(f"S{i % 50}"), RuntimeSnapshot()) for i in range(1_500)]
    assert rebuild_from(state, running) == 1_500
    assert len(state.running_strategy_ids()) == 1_500
    assert len(state.strategies_for_symbol("S7")) == 30
    spec, snapshot = running[-1]
    assert state.get_runtime(spec.id) == snapshot
