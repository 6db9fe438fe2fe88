"""Intent keys are values: one per (owner, leg, day, attempt), written once as text."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from tui_trader.domain.enums import OrderReason
from tui_trader.domain.intent_key import IntentKey, Leg

OWNER = uuid.UUID("00000000-0000-0000-0000-000000000001")
DAY = date(2026, 11, 23)


def test_every_exit_reason_shares_the_exit_leg():
    assert Leg.for_reason(OrderReason.BUY) is Leg.ENTRY
    assert {Leg.for_reason(r) for r in (OrderReason.SELL, OrderReason.STOPLOSS,
                                        OrderReason.EXIT)} == {Leg.EXIT}


def test_the_stored_text_and_the_next_attempt():
    key = IntentKey(OWNER, Leg.EXIT, DAY)
    assert str(key) == f"{OWNER}:EXIT:2026-11-23:1"
    again = key.next_attempt()
    assert str(again) == f"{OWNER}:EXIT:2026-11-23:2"
    # Every attempt is the same leg on the same day: one handling places it at a time.
    assert again.leg_key == key.leg_key == (OWNER, Leg.EXIT, DAY)
    assert again != key and IntentKey(OWNER, Leg.EXIT, DAY) == key


def test_attempts_start_at_one():
    with pytest.raises(ValueError, match="starts at 1"):
        IntentKey(OWNER, Leg.ENTRY, DAY, seq=0)
