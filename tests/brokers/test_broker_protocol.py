"""The broker boundary: client tags, request validation, snapshots and the protocol."""

from __future__ import annotations

import dataclasses
import json
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui_trader.brokers.base import (
    Broker,
    BrokerUnavailable,
    OrderRejected,
    OrderRequest,
    OutcomeUnknown,
    TokenExpired,
    make_client_tag,
    validate_client_tag,
)
from tui_trader.brokers.paper import PaperBroker
from tui_trader.domain.enums import OrderKind, Side
from tui_trader.domain.errors import BrokerError, ValidationError

TAG = re.compile(r"[A-Za-z0-9]{1,20}")


def test_client_tag_is_deterministic_short_and_alphanumeric() -> None:
    first = make_client_tag("evt-2026-03-02-42", "entry")
    assert first == make_client_tag("evt-2026-03-02-42", "entry")
    assert TAG.fullmatch(first)
    assert len(first) == 20
    assert first != make_client_tag("evt-2026-03-02-42", "exit")
    assert first != make_client_tag("evt-2026-03-02-43", "entry")


def test_client_tag_does_not_confuse_event_and_leg_boundaries() -> None:
    assert make_client_tag("ab", "c") != make_client_tag("a", "bc")


@given(st.text(min_size=1), st.text())
def test_every_client_tag_is_a_valid_kite_tag(event_id: str, leg: str) -> None:
    tag = make_client_tag(event_id, leg)
    assert validate_client_tag(tag) == tag
    assert TAG.fullmatch(tag)


def test_client_tag_needs_an_event_id() -> None:
    with pytest.raises(ValidationError):
        make_client_tag("", "entry")


@pytest.mark.parametrize("tag", ["", "a" * 21, "has space", "dash-ed", "ünï", None])
def test_order_request_refuses_bad_client_tags(tag: object) -> None:
    with pytest.raises(ValidationError) as err:
        OrderRequest(tag, "INFY", Side.BUY, OrderKind.MARKET, 1)  # type: ignore[arg-type]
    assert err.value.field == "client_tag"


def test_order_request_coerces_enums_and_refuses_float_money() -> None:
    req = OrderRequest("abc", "INFY", "BUY", "SL-M", 1,  # type: ignore[arg-type]
                       trigger_price="1500.05")  # type: ignore[arg-type]
    assert req.side is Side.BUY and req.kind is OrderKind.SL_M
    assert req.trigger_price == Decimal("1500.05")
    with pytest.raises(ValidationError) as err:
        OrderRequest("abc", "INFY", Side.BUY, OrderKind.LIMIT, 1, price=1500.05)  # type: ignore[arg-type]
    assert err.value.field == "price"


@pytest.mark.parametrize("field,value", [("product", "BO"), ("validity", "IOC"),
                                         ("side", "HOLD"), ("kind", "ICEBERG")])
def test_order_request_refuses_unknown_choices(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as err:
        fields = {"client_tag": "abc", "symbol": "INFY", "side": Side.BUY,
                  "kind": OrderKind.MARKET, "quantity": 1, field: value}
        OrderRequest(**fields)
    assert err.value.field == field


def test_order_request_is_immutable() -> None:
    req = OrderRequest("abc", "INFY", Side.BUY, OrderKind.MARKET, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        req.quantity = 2  # type: ignore[misc]


def test_errors_are_broker_errors_carrying_what_the_engine_needs() -> None:
    rejected = OrderRejected("insufficient funds")
    assert rejected.reason == "insufficient funds" and "insufficient funds" in str(rejected)
    unknown = OutcomeUnknown("timed out", client_tag="abc")
    assert unknown.client_tag == "abc"
    for err in (rejected, unknown, BrokerUnavailable("down"), TokenExpired("expired")):
        assert isinstance(err, BrokerError)


def test_paper_broker_satisfies_the_protocol(broker: PaperBroker) -> None:
    assert isinstance(broker, Broker)
    assert broker.name == "paper"


def test_snapshots_are_frozen_utc_and_raw_is_json(broker: PaperBroker, order, tick) -> None:
    tick("1520.40")
    placed = broker.place_order(order(kind="LIMIT", price="1500.00"))
    assert placed.updated_at.utcoffset() is not None
    assert placed.updated_at.utcoffset().total_seconds() == 0
    json.dumps(placed.raw)
    assert placed.raw["order_id"] == placed.broker_order_id
    assert placed.raw["tag"] == placed.client_tag
    with pytest.raises(dataclasses.FrozenInstanceError):
        placed.status = None  # type: ignore[misc,assignment]
    placed.raw["status"] = "tampered"
    assert broker.get_order(placed.broker_order_id).raw["status"] == "OPEN"
