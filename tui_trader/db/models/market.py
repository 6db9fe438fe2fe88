"""Instruments and market data: ticks, candles, order-book snapshots, indicator values.

ticks/candles/order_book_snapshots carry their timestamp in the primary key so that, on
PostgreSQL with TimescaleDB, they can become hypertables.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...domain.enums import Exchange, InstrumentType, Timeframe
from ..types import UTCDateTime, enum_type
from .base import created_at, json_field, money, pk, updated_at


class Instrument(SQLModel, table=True):
    __tablename__ = "instruments"
    __table_args__ = (
        sa.UniqueConstraint("exchange", "symbol"),
        sa.CheckConstraint("lot_size > 0", name="lot_size_positive"),
        sa.CheckConstraint("CAST(tick_size AS NUMERIC) > 0", name="tick_size_positive"),
    )

    id: uuid.UUID = pk()
    instrument_token: int = Field(sa_type=sa.BigInteger, index=True)
    exchange_token: int | None = Field(default=None, sa_type=sa.BigInteger)
    symbol: str = Field(max_length=40, index=True)
    name: str = Field(default="", max_length=120)
    exchange: Exchange = Field(sa_type=enum_type(Exchange, "exchange"), nullable=False)
    segment: str = Field(default="", max_length=20)
    instrument_type: InstrumentType = Field(sa_type=enum_type(InstrumentType, "instrument_type"),
                                            nullable=False)
    tick_size: Decimal = money(nullable=False, default=Decimal("0.05"))
    lot_size: int = Field(default=1, nullable=False)
    expiry: date | None = None
    strike: Decimal | None = money()
    last_price: Decimal | None = money()
    updated_at: datetime = updated_at()


class Tick(SQLModel, table=True):
    __tablename__ = "ticks"
    __table_args__ = (
        sa.CheckConstraint("CAST(price AS NUMERIC) > 0", name="price_positive"),
        sa.Index("ix_ticks_symbol_ts", "symbol", "ts"),
    )

    id: uuid.UUID = pk()
    ts: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    symbol: str = Field(max_length=40)
    exchange: str = Field(default="NSE", max_length=10)
    price: Decimal = money(nullable=False)
    volume: int = Field(default=0, sa_type=sa.BigInteger)


class Candle(SQLModel, table=True):
    __tablename__ = "candles"
    __table_args__ = (
        sa.CheckConstraint("CAST(low AS NUMERIC) <= CAST(high AS NUMERIC)", name="low_le_high"),
    )

    symbol: str = Field(max_length=40, primary_key=True)
    exchange: str = Field(default="NSE", max_length=10, primary_key=True)
    timeframe: Timeframe = Field(sa_type=enum_type(Timeframe, "timeframe"), primary_key=True)
    ts: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    open: Decimal = money(nullable=False)
    high: Decimal = money(nullable=False)
    low: Decimal = money(nullable=False)
    close: Decimal = money(nullable=False)
    volume: int = Field(default=0, sa_type=sa.BigInteger)
    oi: int | None = Field(default=None, sa_type=sa.BigInteger)
    vwap: Decimal | None = money()  # where the feed gives traded quantities
    trades: int | None = Field(default=None)  # ticks with a traded quantity


class OrderBookSnapshot(SQLModel, table=True):
    __tablename__ = "order_book_snapshots"
    __table_args__ = (sa.Index("ix_order_book_snapshots_symbol_ts", "symbol", "ts"),)

    id: uuid.UUID = pk()
    ts: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    symbol: str = Field(max_length=40)
    exchange: str = Field(default="NSE", max_length=10)
    bids: list[Any] = json_field(default_factory=list)
    asks: list[Any] = json_field(default_factory=list)


class IndicatorValue(SQLModel, table=True):
    __tablename__ = "indicator_values"
    __table_args__ = (sa.UniqueConstraint("symbol", "timeframe", "name", "ts"),)

    id: uuid.UUID = pk()
    symbol: str = Field(max_length=40)
    timeframe: Timeframe = Field(sa_type=enum_type(Timeframe, "timeframe"), nullable=False)
    name: str = Field(max_length=40)
    ts: datetime = Field(sa_type=UTCDateTime)
    values: dict[str, Any] = json_field()
    created_at: datetime = created_at()
