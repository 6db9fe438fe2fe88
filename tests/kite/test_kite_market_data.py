"""Instruments CSV and historical candles from Kite into our tables."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest
from sqlmodel import func, select

from tui_trader.brokers.kite import KiteBroker
from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.db.models.market import Candle, Instrument
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import Exchange, InstrumentType, Timeframe
from tui_trader.domain.errors import ValidationError
from tui_trader.services.market_data import (
    download_instruments,
    parse_instruments_csv,
    store_candles,
)

HEADER = ("instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
          "tick_size,lot_size,instrument_type,segment,exchange\n")
ODD_CSV = HEADER + "\n".join([
    "408065,1594,INFY,INFOSYS,1520.5,,0.0,0.05,1,EQ,NSE,NSE",
    "256265,1001,NIFTY 50,NIFTY 50,,,,,,EQ,INDICES,NSE",            # empty numeric cells
    "13238786,51714,NIFTY26JANFUT,NIFTY,0,2026-01-27,0,0.1,65,FUT,NFO-FUT,NFO",
    "13240066,51719,NIFTY26JAN26000CE,NIFTY,12.5,2026-01-27,26000,0.05,65,CE,NFO-OPT,NFO",
    "999,3,WEIRDBOND,SOME BOND,100,,0,0.01,1,GB,NSE,NSE",             # unknown type
    "998,3,GOLDM,GOLD MINI,0,2026-02-05,0,1,1,FUT,NCO-FUT,NCO",       # unknown exchange
    "abc,3,BROKEN,BROKEN,0,,0,0.05,1,EQ,NSE,NSE",                     # bad token
    "1001,4,ZEROTICK,ZERO TICK,n/a,garbage,x,0,0,EQ,BSE,BSE",         # odd numerics
    "408065,1594,INFY,INFOSYS LTD,1521,,0.0,0.05,1,EQ,NSE,NSE",      # duplicate: last wins
]) + "\n"


def test_parse_odd_rows() -> None:
    rows, skipped = parse_instruments_csv(ODD_CSV.encode())
    by_symbol = {r.symbol: r for r in rows}
    assert set(by_symbol) == {"INFY", "NIFTY 50", "NIFTY26JANFUT", "NIFTY26JAN26000CE",
                              "ZEROTICK"}
    assert skipped == {"unknown instrument type GB": 1, "unknown exchange": 1,
                       "bad token or symbol": 1}
    nifty = by_symbol["NIFTY 50"]
    assert nifty.instrument_type is InstrumentType.INDEX and nifty.tick_size == Decimal("0.05")
    assert nifty.lot_size == 1 and nifty.last_price is None and nifty.strike is None
    fut = by_symbol["NIFTY26JANFUT"]
    assert fut.exchange is Exchange.NFO and fut.lot_size == 65
    assert fut.expiry.isoformat() == "2026-01-27" and fut.tick_size == Decimal("0.1")
    ce = by_symbol["NIFTY26JAN26000CE"]
    assert ce.instrument_type is InstrumentType.CE and ce.strike == Decimal("26000")
    odd = by_symbol["ZEROTICK"]
    assert odd.tick_size == Decimal("0.05") and odd.lot_size == 1 and odd.expiry is None
    assert by_symbol["INFY"].name == "INFOSYS LTD"


def test_download_odd_csv_into_table(ctx) -> None:
    count = download_instruments(ctx, ODD_CSV)
    assert count == 5 and count.skipped == 3
    with ctx.session() as s:
        infy = s.exec(select(Instrument).where(Instrument.symbol == "INFY",
                                               Instrument.exchange == "NSE")).one()
        assert infy.last_price == Decimal("1521") and infy.instrument_token == 408065


def test_download_from_sandbox_is_idempotent(ctx, make_sandbox: Callable[..., KiteSandbox],
                                             make_broker: Callable[..., KiteBroker]) -> None:
    sandbox = make_sandbox(clock=ctx.clock)
    broker = make_broker(sandbox, clock=ctx.clock)
    expected = len(broker.instruments_csv().strip().splitlines()) - 1
    first = download_instruments(ctx, broker)
    assert first == expected and first.skipped == 0
    with ctx.session() as s:
        total = s.exec(select(func.count()).select_from(Instrument)).one()
        index = s.exec(select(Instrument).where(Instrument.symbol == "NIFTY 50")).one()
    assert index.instrument_type is InstrumentType.INDEX
    assert download_instruments(ctx, broker.kite) == expected  # a bare KiteConnect works too
    with ctx.session() as s:
        assert s.exec(select(func.count()).select_from(Instrument)).one() == total


def test_store_candles_idempotent(ctx, make_sandbox: Callable[..., KiteSandbox],
                                  make_broker: Callable[..., KiteBroker]) -> None:
    sandbox = make_sandbox(clock=ctx.clock)
    broker = make_broker(sandbox, clock=ctx.clock)
    start = datetime(2026, 11, 16, 9, 15, tzinfo=IST)
    end = datetime(2026, 11, 20, 15, 30, tzinfo=IST)
    stored = store_candles(ctx, broker, "NSE:INFY", start, end, "day")
    assert stored == 5  # Mon-Fri
    with ctx.session() as s:
        candles = s.exec(select(Candle).where(Candle.symbol == "INFY")
                         .order_by(Candle.ts)).all()
    assert len(candles) == 5 and all(c.timeframe is Timeframe.DAY for c in candles)
    first = candles[0]
    assert first.ts.tzinfo is not None
    assert first.ts.astimezone(IST).date().isoformat() == "2026-11-16"
    assert isinstance(first.open, Decimal) and first.low <= first.open <= first.high
    assert store_candles(ctx, broker, "INFY", start, end, Timeframe.DAY) == 0  # stored: skipped
    minutes = store_candles(ctx, broker.kite, "INFY", datetime(2026, 11, 20, 9, 15, tzinfo=IST),
                            datetime(2026, 11, 20, 10, 15, tzinfo=IST), "5minute")
    assert minutes >= 12
    with ctx.session() as s:
        assert s.exec(select(func.count()).select_from(Candle).where(
            Candle.timeframe == Timeframe.DAY)).one() == 5
    with pytest.raises(ValidationError, match="interval"):
        store_candles(ctx, broker, "INFY", start, end, "7minute")
    with pytest.raises(ValidationError, match="Symbol: NSE:NOPE is not in the instruments list"):
        store_candles(ctx, broker, "NOPE", start, end, "day")
