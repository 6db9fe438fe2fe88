"""The lifecycle tables: every state has a row, every listed move is allowed and named, and
every move not listed is refused with an error naming the lifecycle and both states."""

from __future__ import annotations

import itertools

import pytest

from tui_trader.domain.enums import IntentState, OrderStatus, RuntimePosition
from tui_trader.domain.lifecycle import (
    ENGINE,
    INTENT,
    ORDER_STATUS,
    RUNTIME,
    TABLES,
    EngineState,
    IllegalTransition,
)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_every_move_not_in_the_table_is_refused(table):
    states = list(table.states)
    for before, after in itertools.product(states, states):
        if (before, after) in set(table.all_moves()):
            assert table.check(before, after) is after
            assert table.why(before, after)  # every move says why it exists
        else:
            with pytest.raises(IllegalTransition) as info:
                table.check(before, after)
            assert table.name in str(info.value)
            assert str(before) in str(info.value) and str(after) in str(info.value)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_a_new_thing_starts_only_in_an_initial_state(table):
    for state in table.states:
        if state in table.initial:
            assert table.check(None, state) is state
        else:
            with pytest.raises(IllegalTransition, match=r"\(new\)"):
                table.check(None, state)


def test_the_intent_guard_never_goes_back_to_firing_except_through_armed():
    """Exactly once rests on this: only ARMED -> FIRING (one conditional UPDATE) or a new
    row (one INSERT) can start a broker call."""
    into_firing = {before for before, after in INTENT.all_moves()
                   if after is IntentState.FIRING}
    assert into_firing == {IntentState.ARMED}
    assert INTENT.initial == {IntentState.FIRING}
    # A sent order is never re-armed: the broker has it.
    assert IntentState.ARMED not in INTENT.allowed_from(IntentState.SENT)
    assert IntentState.ARMED not in INTENT.allowed_from(IntentState.DONE)


def test_final_order_statuses_move_only_on_evidence_of_fills():
    for final in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED):
        allowed = ORDER_STATUS.allowed_from(final)
        assert OrderStatus.OPEN not in allowed and OrderStatus.PENDING not in allowed
        assert allowed <= {OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED, final}


def test_runtime_and_engine_rows():
    assert RUNTIME.allows(RuntimePosition.NONE, RuntimePosition.BOUGHT)
    assert RUNTIME.allows(RuntimePosition.BOUGHT, RuntimePosition.SOLD)
    assert RUNTIME.allows(RuntimePosition.SOLD, RuntimePosition.BOUGHT)  # a named correction
    assert ENGINE.allowed_from(EngineState.STOPPED) == frozenset()
    with pytest.raises(IllegalTransition, match="engine: stopped -> running"):
        ENGINE.check(EngineState.STOPPED, EngineState.RUNNING)
