"""Ticker packets decoded by kiteconnect's own parser (no network)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from kiteconnect import KiteTicker

from tui_trader.brokers.kite_sandbox.config import SandboxConfig
from tui_trader.brokers.kite_sandbox.market import Market
from tui_trader.brokers.kite_sandbox.ticker import HEARTBEAT, pack_message, pack_packet
from tui_trader.domain.clock import FrozenClock
from tui_trader.domain.universe import BY_SYMBOL

INFY = BY_SYMBOL["INFY"].token
BANK = BY_SYMBOL["NIFTY BANK"].token
AT = datetime(2026, 1, 12, 4, 30, tzinfo=UTC)


@pytest.fixture
def market() -> Market:
    config = SandboxConfig("k", "s", clock=FrozenClock(AT), volatility=0.0)
    m = Market(config)
    m.set_price(INFY, Decimal("1533.35"))
    m.set_price(BANK, Decimal("59100.05"))
    return m


def parse(data: bytes) -> list[dict]:
    return KiteTicker("k", "t")._parse_binary(data)


@pytest.mark.parametrize(("mode", "length"), [("ltp", 8), ("quote", 44), ("full", 184)])
def test_equity_packets(market: Market, mode: str, length: int) -> None:
    packet = pack_packet(market.quote(INFY), mode)
    assert len(packet) == length
    [tick] = parse(pack_message([packet]))
    assert tick["mode"] == mode and tick["instrument_token"] == INFY
    assert tick["last_price"] == 1533.35 and tick["tradable"] is True
    if mode != "ltp":
        assert tick["ohlc"] == {"open": 1520.4, "high": 1533.35, "low": 1520.4,
                                "close": 1520.4}
        assert tick["volume_traded"] == market.quote(INFY).volume
    if mode == "full":
        assert tick["exchange_timestamp"] == datetime.fromtimestamp(AT.timestamp())
        assert len(tick["depth"]["buy"]) == 5 and len(tick["depth"]["sell"]) == 5
        assert tick["depth"]["buy"][0]["price"] == 1533.30
        assert tick["depth"]["sell"][0]["price"] == 1533.40


@pytest.mark.parametrize(("mode", "length"), [("ltp", 8), ("quote", 28), ("full", 32)])
def test_index_packets(market: Market, mode: str, length: int) -> None:
    packet = pack_packet(market.quote(BANK), mode)
    assert len(packet) == length
    [tick] = parse(pack_message([packet]))
    assert tick["mode"] == mode and tick["tradable"] is False
    assert tick["last_price"] == 59100.05
    if mode != "ltp":
        assert tick["ohlc"] == {"high": 59200.0, "low": 59100.05, "open": 59200.0,
                                "close": 59200.0}
        assert tick["change"] == pytest.approx((59100.05 - 59200) * 100 / 59200)
        # The change field itself is signed on the wire.
        assert struct.unpack(">i", packet[24:28])[0] == -9995


def test_several_packets_in_one_message(market: Market) -> None:
    message = pack_message([pack_packet(market.quote(INFY), "full"),
                            pack_packet(market.quote(BANK), "quote"),
                            pack_packet(market.quote(INFY), "ltp")])
    assert struct.unpack(">H", message[:2])[0] == 3
    assert [t["mode"] for t in parse(message)] == ["full", "quote", "ltp"]


def test_heartbeat_is_one_byte_and_ignored() -> None:
    assert len(HEARTBEAT) == 1
    assert parse(HEARTBEAT) == []
