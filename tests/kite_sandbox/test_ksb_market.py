"""Instruments CSV, quotes and historical candles through kiteconnect."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException

from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.domain.clock import IST, FrozenClock
from tui_trader.domain.universe import ALL_INSTRUMENTS, BY_SYMBOL

from .conftest import API_KEY, login

INFY = BY_SYMBOL["INFY"].token
NIFTY = BY_SYMBOL["NIFTY 50"].token
HEADER = ("instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
          "tick_size,lot_size,instrument_type,segment,exchange")


def test_instruments_csv_parsed_by_client(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    rows = kite.instruments()
    assert len(rows) == len(ALL_INSTRUMENTS)
    infy = next(r for r in rows if r["tradingsymbol"] == "INFY")
    assert infy["instrument_token"] == INFY
    assert infy["exchange_token"] == str(INFY >> 8)
    assert infy["tick_size"] == 0.05 and infy["lot_size"] == 1
    assert infy["segment"] == "NSE" and infy["exchange"] == "NSE"
    assert infy["instrument_type"] == "EQ" and infy["expiry"] == ""
    nifty = next(r for r in rows if r["instrument_token"] == NIFTY)
    assert nifty["segment"] == "INDICES"
    assert len(kite.instruments("NSE")) == len(ALL_INSTRUMENTS)
    assert kite.instruments("NFO") == []
    with pytest.raises(InputException):
        kite.instruments("XYZ")
    raw = requests.get(f"{sandbox.url}/instruments", timeout=5, headers={
        "X-Kite-Version": "3", "Authorization": f"token {API_KEY}:{kite.access_token}"})
    assert raw.headers["Content-Type"].startswith("text/csv")
    lines = raw.text.splitlines()
    assert lines[0] == HEADER
    for line in lines[1:]:
        cells = line.split(",") if '"' not in line else None
        if cells:  # numeric cells are never empty
            assert all(cells[i] != "" for i in (0, 1, 4, 6, 7, 8))


def test_quote_ohlc_ltp(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.set_price("INFY", "1533.35")
    quote = kite.quote("NSE:INFY", "NSE:NIFTY 50", "NSE:NOSUCH")
    assert set(quote) == {"NSE:INFY", "NSE:NIFTY 50"}  # unknown ones are left out
    infy = quote["NSE:INFY"]
    assert infy["instrument_token"] == INFY and infy["last_price"] == 1533.35
    assert infy["ohlc"]["close"] == 1520.40 and infy["ohlc"]["high"] == 1533.35
    assert infy["net_change"] == pytest.approx(12.95)
    assert len(infy["depth"]["buy"]) == 5 and len(infy["depth"]["sell"]) == 5
    assert infy["depth"]["buy"][0]["price"] < 1533.35 < infy["depth"]["sell"][0]["price"]
    assert isinstance(infy["timestamp"], datetime)  # 19-char string parsed by the client
    assert kite.ltp(["NSE:INFY"]) == {"NSE:INFY": {"instrument_token": INFY,
                                                   "last_price": 1533.35}}
    ohlc = kite.ohlc("NSE:INFY")["NSE:INFY"]
    assert ohlc["last_price"] == 1533.35 and set(ohlc["ohlc"]) == {"open", "high", "low",
                                                                   "close"}


def test_minute_candles_cover_the_session(kite: KiteConnect) -> None:
    candles = kite.historical_data(INFY, "2026-01-09 00:00:00", "2026-01-09 23:59:59", "minute")
    assert len(candles) == 375
    first, last = candles[0], candles[-1]
    assert first["date"] == datetime(2026, 1, 9, 9, 15, tzinfo=IST)
    assert last["date"] == datetime(2026, 1, 9, 15, 29, tzinfo=IST)
    for c in candles:
        assert c["low"] <= min(c["open"], c["close"]) <= max(c["open"], c["close"]) <= c["high"]
        assert c["volume"] > 0
        assert round(c["close"] / 0.05, 6) == round(c["close"] / 0.05)  # on the tick grid
    assert all(time(9, 15) <= c["date"].time() < time(15, 30) for c in candles)


def test_candles_are_deterministic_and_range_independent(
        make_sandbox: Callable[..., KiteSandbox], kite: KiteConnect) -> None:
    wide = kite.historical_data(INFY, "2026-01-05 09:00:00", "2026-01-09 16:00:00", "15minute")
    narrow = kite.historical_data(INFY, "2026-01-07 11:00:00", "2026-01-07 12:00:00",
                                  "15minute")
    assert narrow == [c for c in wide if c["date"] in {n["date"] for n in narrow}]
    assert len(narrow) == 5
    same_seed = login(make_sandbox())
    assert same_seed.historical_data(INFY, "2026-01-07 11:00:00", "2026-01-07 12:00:00",
                                     "15minute") == narrow
    other_seed = login(make_sandbox(seed=8))
    assert other_seed.historical_data(INFY, "2026-01-07 11:00:00", "2026-01-07 12:00:00",
                                      "15minute") != narrow


def test_day_candles_skip_weekends_and_carry_oi(kite: KiteConnect) -> None:
    candles = kite.historical_data(INFY, datetime(2025, 12, 1), datetime(2025, 12, 31, 23, 59),
                                   "day", oi=True)
    assert len(candles) == 23  # weekdays of December 2025
    assert all(c["date"].weekday() < 5 and c["date"].time() == time(0, 0) for c in candles)
    assert all(c["oi"] == 0 for c in candles)


def test_candles_stop_at_the_clock(kite: KiteConnect, clock: FrozenClock) -> None:
    candles = kite.historical_data(INFY, "2026-01-12 09:00:00", "2026-01-12 15:30:00", "5minute")
    assert candles[-1]["date"] == datetime(2026, 1, 12, 10, 0, tzinfo=IST)
    clock.advance(timedelta(hours=1))
    later = kite.historical_data(INFY, "2026-01-12 09:00:00", "2026-01-12 15:30:00", "5minute")
    assert len(later) == len(candles) + 12


def test_index_candles_have_no_volume(kite: KiteConnect) -> None:
    candles = kite.historical_data(NIFTY, "2026-01-09 09:00:00", "2026-01-09 16:00:00",
                                   "60minute")
    assert len(candles) == 7
    assert all(c["volume"] == 0 for c in candles)
    assert 20_000 < candles[0]["open"] < 32_000


@pytest.mark.parametrize(
    ("interval", "start", "end"),
    [
        ("2minute", "2026-01-09 09:00:00", "2026-01-09 16:00:00"),
        ("minute", "2025-10-01 09:00:00", "2026-01-09 16:00:00"),  # over the 60-day limit
        ("day", "2026-01-09 09:00:00", "2026-01-08 16:00:00"),  # from after to
        ("day", "yesterday", "2026-01-08 16:00:00"),
    ],
)
def test_bad_historical_requests(kite: KiteConnect, interval: str, start: str,
                                 end: str) -> None:
    with pytest.raises(InputException):
        kite.historical_data(INFY, start, end, interval)


def test_new_day_rolls_the_close(sandbox: KiteSandbox, clock: FrozenClock) -> None:
    sandbox.set_price("INFY", "1540")
    clock.advance(timedelta(days=1))
    sandbox.set_price("INFY", "1545")
    ohlc = login(sandbox).ohlc("NSE:INFY")["NSE:INFY"]["ohlc"]  # yesterday's token lapsed
    assert ohlc == {"open": 1540.0, "high": 1545.0, "low": 1540.0, "close": 1540.0}


def test_price_walk_is_seeded_and_on_the_tick_grid() -> None:
    from decimal import Decimal

    from tui_trader.brokers.kite_sandbox import SandboxConfig
    from tui_trader.brokers.kite_sandbox.market import Market

    def walk(seed: int) -> list[Decimal]:
        market = Market(SandboxConfig("k", "s", seed=seed, clock=FrozenClock(datetime(
            2026, 1, 12, 10, tzinfo=IST)), volatility=0.01))
        for _ in range(40):
            market.step()
        return [market.last_price(i.token) for i in ALL_INSTRUMENTS]

    first = walk(3)
    assert first == walk(3)
    assert first != walk(4)
    assert all(p % Decimal("0.05") == 0 and p > 0 for p in first)
    assert first != [i.ref_price for i in ALL_INSTRUMENTS]


def test_a_step_changes_only_what_traded() -> None:
    from tui_trader.brokers.kite_sandbox import SandboxConfig
    from tui_trader.brokers.kite_sandbox.market import Market, is_index

    market = Market(SandboxConfig("k", "s", seed=5, clock=FrozenClock(datetime(
        2026, 1, 12, 10, tzinfo=IST)), volatility=0.01))
    market.take_changed()
    market.step()
    changed = market.take_changed()
    stocks = {i.token for i in ALL_INSTRUMENTS if not is_index(i)}
    # Some stocks traded in that step, not all: a quiet one sends no tick.
    assert changed & stocks and stocks - changed
    assert market.take_changed() == set()  # taken once
    frozen = Market(SandboxConfig("k", "s", seed=5, clock=FrozenClock(datetime(
        2026, 1, 12, 10, tzinfo=IST)), volatility=0.0))
    frozen.take_changed()
    frozen.step()
    assert frozen.take_changed() == set()
