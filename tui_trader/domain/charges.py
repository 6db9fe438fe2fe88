"""What a trade costs beyond its price: brokerage, STT, exchange charges, SEBI fee, stamp duty
and GST, from the rates in `charges_table`. Pure, in Decimal, and the one place the backtest,
the paper broker and live P&L get their charges from.

A leg is one executed order. Its charges are computed exactly (no rounding) except where
Zerodha rounds:
- stamp duty is rounded to the nearest rupee per order (the Kite virtual contract note shows
  Rs 0 for the 0.015% stamp on a Rs 560 delivery buy);
- STT is rounded to the nearest rupee on the contract note, i.e. per IST trading day and
  segment (Zerodha support: "STT/CTT charged will be rounded off to the nearest rupee"):
  `contract_note_charges` applies it; per-order figures keep it exact, as the virtual
  contract note does;
- what a person sees is rounded to the paisa, half up, line by line, the total being the sum
  of the rounded lines (the brokerage calculator): `ChargeBreakdown.rounded()`.

The product decides the rates: a CNC buy sold the same day is charged as intraday by the
exchange and the broker, so a caller that knows the holding period passes MIS for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from .charges_table import ZERODHA_NSE, Charge, ChargesTable, Product, Segment, segment_of
from .clock import IST
from .enums import InstrumentType, Side
from .errors import ValidationError

PAISA = Decimal("0.01")
RUPEE = Decimal(1)
ZERO = Decimal(0)


@dataclass(frozen=True)
class TradeLeg:
    """One executed order: `quantity` units (shares, or lots x lot size) at `price` (the
    premium for an option), at the aware instant `at`."""

    at: datetime
    side: Side
    quantity: int
    price: Decimal
    product: Product | str = Product.MIS
    instrument_type: InstrumentType | str = InstrumentType.EQ
    exchange: str = "NSE"

    @property
    def value(self) -> Decimal:
        return self.price * self.quantity

    @property
    def trading_day(self) -> date:
        return self.at.astimezone(IST).date()


@dataclass(frozen=True)
class ChargeBreakdown:
    """Charges by kind, in rupees; `total` is what they cost together."""

    turnover: Decimal = ZERO
    brokerage: Decimal = ZERO
    stt: Decimal = ZERO
    exchange_txn: Decimal = ZERO
    ipft: Decimal = ZERO
    sebi_fee: Decimal = ZERO
    stamp_duty: Decimal = ZERO
    gst: Decimal = ZERO

    @property
    def exchange_turnover_charge(self) -> Decimal:
        """The exchange's line on a Zerodha contract note: transaction charge + IPFT."""
        return self.exchange_txn + self.ipft

    @property
    def total(self) -> Decimal:
        return (self.brokerage + self.stt + self.exchange_txn + self.ipft + self.sebi_fee
                + self.stamp_duty + self.gst)

    def __add__(self, other: ChargeBreakdown) -> ChargeBreakdown:
        return ChargeBreakdown(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                                  for f in fields(self)})

    def rounded(self) -> ChargeBreakdown:
        """Every line to the paisa, half up (the brokerage calculator's figures)."""
        return ChargeBreakdown(**{f.name: getattr(self, f.name).quantize(
            PAISA, rounding=ROUND_HALF_UP) for f in fields(self)})

    def as_dict(self) -> dict[str, Decimal]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["total"] = self.total
        return values


def _check(leg: TradeLeg, table: ChargesTable) -> Segment:
    if leg.at.tzinfo is None or leg.at.utcoffset() is None:
        raise ValidationError("time", "must carry a UTC offset")
    if isinstance(leg.quantity, bool) or not isinstance(leg.quantity, int) \
            or leg.quantity <= 0:
        raise ValidationError("quantity", "must be a whole number above 0")
    if not isinstance(leg.price, Decimal) or not leg.price.is_finite() or leg.price <= 0:
        raise ValidationError("price", "must be a Decimal above 0")
    if leg.exchange not in table.exchanges:
        known = ", ".join(sorted(table.exchanges))
        raise ValidationError("exchange", f"charges are known for {known} only ({table.name})")
    if leg.trading_day < table.starts:
        raise ValidationError("date", f"charges are known from {table.starts:%d %b %Y}; "
                                      "run without charges for earlier trades")
    try:
        return segment_of(leg.instrument_type, leg.product)
    except ValueError as exc:
        raise ValidationError("product", str(exc)) from None


def leg_charges(leg: TradeLeg, table: ChargesTable = ZERODHA_NSE) -> ChargeBreakdown:
    """The charges on one executed order."""
    segment = _check(leg, table)
    day, value = leg.trading_day, leg.value

    def rate(charge: Charge) -> Decimal:
        return table.rate(charge, segment, day).rate

    buy = Side(str(leg.side)) is Side.BUY
    brokerage = table.brokerage_rule(segment, day).per_order(value)
    stt = value * rate(Charge.STT_BUY if buy else Charge.STT_SELL)
    exchange_txn = value * rate(Charge.EXCHANGE_TXN)
    ipft = value * rate(Charge.IPFT)
    sebi_fee = value * rate(Charge.SEBI_FEE)
    stamp = (value * rate(Charge.STAMP_BUY)).quantize(RUPEE, ROUND_HALF_UP) if buy else ZERO
    gst = (brokerage + exchange_txn + sebi_fee) * rate(Charge.GST)
    return ChargeBreakdown(turnover=value, brokerage=brokerage, stt=stt,
                           exchange_txn=exchange_txn, ipft=ipft, sebi_fee=sebi_fee,
                           stamp_duty=stamp, gst=gst)


def charges(legs: Iterable[TradeLeg], table: ChargesTable = ZERODHA_NSE) -> ChargeBreakdown:
    """The charges on every leg together, order by order (no contract-note rounding)."""
    total = ChargeBreakdown()
    for leg in legs:
        total = total + leg_charges(leg, table)
    return total


def contract_note_charges(legs: Iterable[TradeLeg], table: ChargesTable = ZERODHA_NSE
                          ) -> dict[tuple[date, str], ChargeBreakdown]:
    """The charges as contract notes show them: one note per IST trading day and segment
    (equity, or F&O), its STT rounded to the nearest rupee."""
    notes: dict[tuple[date, str], ChargeBreakdown] = {}
    for leg in legs:
        segment = _check(leg, table)
        group = "F&O" if segment in (Segment.FUTURES, Segment.OPTIONS) else "equity"
        key = (leg.trading_day, group)
        notes[key] = notes.get(key, ChargeBreakdown()) + leg_charges(leg, table)
    return {key: replace(note, stt=note.stt.quantize(RUPEE, ROUND_HALF_UP))
            for key, note in notes.items()}


__all__ = ["ChargeBreakdown", "TradeLeg", "charges", "contract_note_charges", "leg_charges"]
