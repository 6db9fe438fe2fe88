"""The engine's events on the wire: one typed codec (domain.events) both sides use. Every
kind survives a round trip, the JSON is what consoles and server engines exchange (Decimals
as strings), and anything else is refused in one line, never half-read."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tui_trader.domain.events import (
    EVENT_TYPES,
    EngineStatus,
    MalformedEvent,
    NotificationRaised,
    OrderStatusChanged,
    PositionChanged,
    StrategyStatusChanged,
    decode_event,
    encode_event,
)
from tui_trader.domain.lifecycle import EngineState

EXAMPLES = [
    (PositionChanged(user_id="u1", position_id="p1", strategy_id="s1", symbol="INFY",
                     quantity=10, average_price=Decimal("1520.50"), ltp=Decimal("1534.5"),
                     unrealized_pnl=Decimal("140.00"), realized_pnl=Decimal("-1E+2"),
                     status="OPEN"),
     {"type": "position", "user_id": "u1", "position_id": "p1", "strategy_id": "s1",
      "symbol": "INFY", "quantity": 10, "average_price": "1520.50", "ltp": "1534.5",
      "unrealized_pnl": "140.00", "realized_pnl": "-1E+2", "status": "OPEN"}),
    (PositionChanged(user_id="u1", position_id="p2", strategy_id=None, symbol="TCS",
                     quantity=0, average_price=Decimal("3410.25"), ltp=None,
                     unrealized_pnl=Decimal("0"), realized_pnl=Decimal("-212.50"),
                     status="CLOSED"),
     {"type": "position", "user_id": "u1", "position_id": "p2", "strategy_id": None,
      "symbol": "TCS", "quantity": 0, "average_price": "3410.25", "ltp": None,
      "unrealized_pnl": "0", "realized_pnl": "-212.50", "status": "CLOSED"}),
    (OrderStatusChanged(user_id="u1", order_id="o1", strategy_id="s1", symbol="INFY",
                        side="SELL", reason="STOPLOSS", status="FILLED", quantity=10,
                        filled_quantity=10, average_price=Decimal("1490.05"),
                        message="stop ₹1,490 crossed"),
     {"type": "order", "user_id": "u1", "order_id": "o1", "strategy_id": "s1",
      "symbol": "INFY", "side": "SELL", "reason": "STOPLOSS", "status": "FILLED",
      "quantity": 10, "filled_quantity": 10, "average_price": "1490.05",
      "message": "stop ₹1,490 crossed"}),
    (OrderStatusChanged(user_id="u1", order_id="o2", strategy_id=None, symbol="INFY",
                        side="BUY", reason="BUY", status="REJECTED", quantity=5,
                        filled_quantity=0, average_price=None),
     {"type": "order", "user_id": "u1", "order_id": "o2", "strategy_id": None,
      "symbol": "INFY", "side": "BUY", "reason": "BUY", "status": "REJECTED", "quantity": 5,
      "filled_quantity": 0, "average_price": None, "message": None}),
    (StrategyStatusChanged("u1", "s1", "running", "next buy 09:30 IST"),
     {"type": "strategy", "user_id": "u1", "strategy_id": "s1", "status": "running",
      "reason": "next buy 09:30 IST", "position": None}),
    (NotificationRaised(user_id="u1", notification_id="n1", kind="STOPLOSS",
                        severity="WARNING", title="Stop-loss hit", body="INFY sold"),
     {"type": "notification", "user_id": "u1", "notification_id": "n1", "kind": "STOPLOSS",
      "severity": "WARNING", "title": "Stop-loss hit", "body": "INFY sold"}),
    (EngineStatus(user_id="*", state=EngineState.ENTRIES_BLOCKED, entries_allowed=False,
                  detail="live store unreachable", counters={"orders": 3, "fills": 2}),
     {"type": "engine", "user_id": "*", "state": "entries blocked", "entries_allowed": False,
      "detail": "live store unreachable", "counters": {"orders": 3, "fills": 2}}),
]


def test_every_kind_of_event_is_in_the_examples():
    assert {type(event) for event, _ in EXAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event,wire", EXAMPLES,
                         ids=[f"{type(e).__name__}-{i}" for i, (e, _) in enumerate(EXAMPLES)])
def test_an_event_round_trips_as_the_json_both_sides_read(event, wire):
    encoded = encode_event(event)
    assert json.loads(encoded) == wire
    assert list(json.loads(encoded))[0] == "type"
    assert event.to_json() == encoded.decode()
    decoded = decode_event(encoded)
    assert decoded == event and type(decoded) is type(event)
    assert decoded.key == event.key
    # What a console receives may be text or bytes, and key order is not part of the format.
    assert decode_event(json.dumps(dict(reversed(list(wire.items()))))) == event


def test_decimals_keep_their_exact_value_and_scale():
    (event, _), = [e for e in EXAMPLES if e[0].key == ("position", "p1")]
    decoded = decode_event(encode_event(event))
    assert isinstance(decoded, PositionChanged)
    assert str(decoded.average_price) == "1520.50" and str(decoded.realized_pnl) == "-1E+2"


def test_the_engine_state_is_its_enum_and_an_older_engines_degraded_blocks_entries():
    decoded = decode_event(encode_event(EngineStatus("*", EngineState.STOPPING, False)))
    assert isinstance(decoded, EngineStatus) and decoded.state is EngineState.STOPPING
    # what an engine process from before the enum publishes
    older = decode_event(json.dumps({"type": "engine", "user_id": "*", "state": "degraded",
                                     "entries_allowed": False, "detail": "live store down"}))
    assert isinstance(older, EngineStatus) and older.state is EngineState.ENTRIES_BLOCKED
    assert older.detail == "live store down"
    # built in code from its text, it is the enum too
    assert EngineStatus("*", "running", True).state is EngineState.RUNNING


def test_a_field_a_newer_engine_adds_is_ignored():
    body = {**EXAMPLES[-1][1], "uptime_s": 12}
    assert decode_event(json.dumps(body)) == EXAMPLES[-1][0]


@pytest.mark.parametrize("message,reason", [
    (b"{not json", "malformed event: not JSON"),
    (b"\xff\xfe", "malformed event: not JSON"),
    ("[1, 2]", "malformed event: "),
    ('{"user_id": "u1"}', "malformed event: no type"),
    ('{"type": "fill", "user_id": "u1"}', "malformed event: an unknown type"),
    ('{"type": "order", "user_id": "u1", "order_id": "o1"}', "malformed event: order."),
    (json.dumps({**EXAMPLES[0][1], "average_price": "lots"}),
     "malformed event: position.average_price: "),
    (json.dumps({**EXAMPLES[0][1], "quantity": "ten"}), "malformed event: position.quantity: "),
    (json.dumps({**EXAMPLES[-1][1], "entries_allowed": "perhaps"}),
     "malformed event: engine.entries_allowed: "),
    (json.dumps({**EXAMPLES[-1][1], "state": "napping"}),
     "malformed event: engine.state: Value error, not an engine state (one of starting, "),
])
def test_anything_else_is_refused_in_one_line(message, reason):
    with pytest.raises(MalformedEvent) as err:
        decode_event(message)
    text = str(err.value)
    assert text.startswith(reason) and "\n" not in text
    assert "lots" not in text and "ten" not in text and "perhaps" not in text


def test_only_engine_events_are_encoded():
    with pytest.raises(TypeError):
        encode_event({"type": "position"})  # type: ignore[arg-type]


def test_an_event_says_what_it_is_and_a_caller_cannot_say_otherwise():
    with pytest.raises(TypeError):
        StrategyStatusChanged("u1", "s1", "running", type="order")  # type: ignore[call-arg]
    assert StrategyStatusChanged("u1", "s1", "running").type == "strategy"
