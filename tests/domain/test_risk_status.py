"""A user's risk state over days, the moves its lifecycle table allows, and the unlock."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from tui_trader.domain.calendar import NseCalendar
from tui_trader.domain.errors import StateError, ValidationError
from tui_trader.domain.lifecycle import (
    RISK_MOVES,
    RISK_STATE,
    IllegalTransition,
    RiskMove,
    RiskState,
    check_risk_move,
)
from tui_trader.domain.risk_status import RiskStatus, halt_lifts_on, state_on, unlock

MON = date(2026, 11, 23)
AT = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
CAL = NseCalendar()
S = RiskState


def test_only_a_new_day_or_an_unlock_leaves_halted():
    out_of_halted = {move for move, pairs in RISK_MOVES.items()
                     for before, _ in pairs if before is S.HALTED}
    assert out_of_halted == {RiskMove.NEW_DAY, RiskMove.UNLOCK}
    with pytest.raises(IllegalTransition, match=r"risk state \(recover\): HALTED -> ACTIVE"):
        check_risk_move(S.HALTED, S.ACTIVE, RiskMove.RECOVER)
    assert check_risk_move(S.HALTED, S.ACTIVE, RiskMove.UNLOCK) is S.ACTIVE
    assert RISK_STATE.why(S.HALTED, S.ACTIVE) == (
        "a new trading day, or the trader unlocked it with the typed confirmation")


def test_every_move_is_named_and_matches_the_table():
    named = {pair for pairs in RISK_MOVES.values() for pair in pairs}
    assert named == set(RISK_STATE.all_moves())
    for move, (before, after) in itertools.product(RiskMove, RISK_STATE.all_moves()):
        if (before, after) in RISK_MOVES[move]:
            assert check_risk_move(before, after, move) is after
        else:
            with pytest.raises(IllegalTransition):
                check_risk_move(before, after, move)
    assert RISK_STATE.initial == {S.ACTIVE}


def test_states_end_with_their_day_and_a_halt_with_the_next_trading_day():
    assert halt_lifts_on(MON, CAL) == date(2026, 11, 25)  # Tuesday 24 Nov is a holiday
    for state in (S.WARNING, S.REDUCING):
        assert state_on(RiskStatus(state, MON, AT), MON, CAL) is state
        assert state_on(RiskStatus(state, MON, AT), date(2026, 11, 24), CAL) is S.ACTIVE
    halted = RiskStatus(S.HALTED, MON, AT)
    assert state_on(halted, MON, CAL) is S.HALTED
    assert state_on(halted, date(2026, 11, 24), CAL) is S.HALTED
    assert state_on(halted, date(2026, 11, 25), CAL) is S.ACTIVE
    assert state_on(None, MON, CAL) is S.ACTIVE


def test_unlock_needs_the_typed_confirmation():
    halted = RiskStatus(S.HALTED, MON, AT)
    for typed in (None, "", "unlock", "UNLOCK!", "yes"):
        with pytest.raises(ValidationError) as info:
            unlock(halted, typed, MON, AT, CAL)
        assert str(info.value) == ("Unlock confirmation: type UNLOCK to lift the halt; "
                                   "nothing was changed")
    lifted = unlock(halted, " UNLOCK ", MON, AT, CAL)
    assert (lifted.state, lifted.trading_day, lifted.since) == (S.ACTIVE, MON, AT)
    assert lifted.reason == "unlocked by the trader with the typed confirmation"


@pytest.mark.parametrize("current", [None, RiskStatus(S.REDUCING, MON, AT),
                                     RiskStatus(S.HALTED, date(2026, 11, 20), AT)])
def test_there_is_nothing_to_unlock_unless_halted_today(current):
    with pytest.raises(StateError, match="not HALTED: there is no halt to unlock"):
        unlock(current, "UNLOCK", MON, AT, CAL)
