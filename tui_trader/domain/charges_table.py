"""The charges on an Indian trade, as data: every rate with the date it took effect and where
it was confirmed. `charges.py` applies it; nothing else knows a rate.

One table, versioned by effective date: a trade is charged at the rates in force on its IST
trading day, so a backtest over 2024 pays 2024's STT and one over 2026 pays 2026's. Rates are
fractions of the leg's value (its premium for options): 0.001 is 0.1%.

It covers Zerodha on NSE (equity on NSE, equity derivatives on NFO), products MIS, CNC and
NRML, from 1 Apr 2023, the earliest day every figure below is confirmed. Not encoded:
- BSE, currency and commodity segments (no confirmed history here);
- STT on options exercised at expiry (0.125%, 0.15% from 1 Apr 2026, of intrinsic value):
  a settlement, not a traded leg;
- Zerodha's slab-priced exchange charges of 2024: before SEBI's "true to label" rule (1 Oct
  2024) Zerodha passed on the rate it paid, which had drifted to about 0.00322% (equity),
  0.00188% (futures) and 0.0495% (options) by September 2024 (Nithin Kamath, 1 Oct 2024);
  the dates of that drift were never published, so the 1 Apr 2023 rates stand until then;
- DP charges on delivery sells (a depository fee per scrip per day, not a trade charge).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from .enums import InstrumentType


class Product(StrEnum):
    """The broker's product: what a position is charged (and margined) as."""

    MIS = "MIS"    # intraday, any segment
    CNC = "CNC"    # equity delivery
    NRML = "NRML"  # F&O carried overnight


class Segment(StrEnum):
    """The rows of a broker's charges page."""

    EQUITY_DELIVERY = "equity_delivery"
    EQUITY_INTRADAY = "equity_intraday"
    FUTURES = "futures"
    OPTIONS = "options"


class Charge(StrEnum):
    """A charge levied as a rate of a leg's value."""

    STT_BUY = "stt_buy"            # securities transaction tax, on buys
    STT_SELL = "stt_sell"          # ... and on sells
    EXCHANGE_TXN = "exchange_txn"  # the exchange's transaction charge
    IPFT = "ipft"                  # NSE's Investor Protection Fund Trust levy
    SEBI_FEE = "sebi_fee"          # SEBI's turnover fee
    STAMP_BUY = "stamp_buy"        # stamp duty, buy side only
    GST = "gst"                    # on brokerage + exchange charge + SEBI fee


@dataclass(frozen=True)
class RateChange:
    """From `effective_from` (an IST trading day) the charge is `rate` of the leg's value."""

    effective_from: date
    rate: Decimal
    source: str


@dataclass(frozen=True)
class BrokerageRule:
    """The broker's fee per executed order: a flat fee, or a percentage capped per order."""

    effective_from: date
    source: str
    rate: Decimal = Decimal(0)
    cap: Decimal | None = None
    flat: Decimal | None = None

    def per_order(self, value: Decimal) -> Decimal:
        if self.flat is not None:
            return self.flat
        fee = value * self.rate
        return fee if self.cap is None else min(fee, self.cap)


@dataclass(frozen=True)
class ChargesTable:
    """A broker's charges on some exchanges, each rate a history of changes."""

    name: str
    exchanges: frozenset[str]
    starts: date
    brokerage: Mapping[Segment, tuple[BrokerageRule, ...]]
    rates: Mapping[tuple[Charge, Segment], tuple[RateChange, ...]]

    def rate(self, charge: Charge, segment: Segment, day: date) -> RateChange:
        """The change in force on `day` (a rate of zero when the charge does not apply)."""
        history = self.rates.get((charge, segment))
        if not history:
            return RateChange(self.starts, Decimal(0), "not levied")
        return _in_force(history, day)

    def brokerage_rule(self, segment: Segment, day: date) -> BrokerageRule:
        return _in_force(self.brokerage[segment], day)


def _in_force(history, day: date):
    current = None
    for change in history:  # oldest first
        if change.effective_from <= day:
            current = change
    if current is None:
        raise LookupError(f"no rate in force on {day.isoformat()}")
    return current


def segment_of(instrument_type: InstrumentType | str, product: Product | str) -> Segment:
    """The charges row a leg falls in. Raises ValueError naming what does not fit."""
    kind = InstrumentType(str(instrument_type))
    prod = Product(str(product))
    if kind is InstrumentType.EQ:
        if prod is Product.NRML:
            raise ValueError("NRML is for futures and options; equity is MIS or CNC")
        return Segment.EQUITY_DELIVERY if prod is Product.CNC else Segment.EQUITY_INTRADAY
    if prod is Product.CNC:
        raise ValueError("CNC is for equity delivery; futures and options are MIS or NRML")
    if kind is InstrumentType.FUT:
        return Segment.FUTURES
    if kind in (InstrumentType.CE, InstrumentType.PE):
        return Segment.OPTIONS
    raise ValueError(f"{kind.value} is not traded")


# -- where each figure was confirmed --------------------------------------------------------

ZERODHA_CHARGES = ("Zerodha charges page https://zerodha.com/charges (copy of Oct 2024-"
                   "2025: https://tradesee.in/stock-brokers/zerodha)")
ZERODHA_FO_BROKERAGE = ("Zerodha support, 'What is the brokerage for Futures and Options?' "
                        "https://support.zerodha.com/category/account-opening/charges-at-"
                        "zerodha/trading-account-charges/articles/what-is-the-brokerage-for-"
                        "futures-and-options")
ZERODHA_STATUTORY = ("Zerodha support, 'What are the various statutory charges like stamp "
                     "duty and taxes etc.?' https://support.zerodha.com/category/account-"
                     "opening/charges-at-zerodha/articles/what-are-the-various-statutory-"
                     "charges-like-stamp-duty-and-taxes-etc")
KITE_VCN = ("Kite Connect virtual contract note, POST /charges/orders "
            "(https://kite.trade/docs/connect/v3/margins/; example response "
            "zerodha/kiteconnect-mocks virtual_contract_note.json, 13 Jul 2023)")
STAMP_ACT = ("Indian Stamp Act rates, uniform across states since 1 Jul 2020, on Zerodha's "
             "charges page; https://www.chittorgarh.com/faq_pg/how-much-does-zerodha-charges-"
             "for-stamp-duty/225/")
FINANCE_ACT_2023 = ("Finance Act 2023: STT on futures 0.01% -> 0.0125%, options 0.05% -> "
                    "0.0625% from 1 Apr 2023 (https://www.devdiscourse.com/article/headlines/"
                    "2423213-cabinet-gives-post-facto-approval-to-amendment-to-finance-bill-"
                    "2023)")
FINANCE_ACT_2024 = ("Finance (No. 2) Act 2024: STT on futures 0.0125% -> 0.02%, options "
                    "0.0625% -> 0.1% from 1 Oct 2024 (Nithin Kamath, 1 Oct 2024, https://"
                    "nithinkamath.me/blog/impact-of-revision-in-exchange-transaction-charges-"
                    "and-stt)")
FINANCE_ACT_2026 = ("Union Budget 2026-27: STT on futures 0.02% -> 0.05%, options premium "
                    "0.1% -> 0.15% from 1 Apr 2026 (https://www.business-standard.com/markets/"
                    "news/markets-fm-hikes-stt-on-fo-trades-surprise-move-126020100888_1.html);"
                    " on Zerodha's charges page as of 19 Jun 2026 (https://v2.webnotes.in/"
                    "options-exercise-charges-zerodha/)")
NSE_APR_2023 = ("NSE circular: transaction charges cut and IPFT levy set at Rs 10/crore "
                "(cash, futures) and Rs 50/crore (options premium) from 1 Apr 2023 (https://"
                "www.ndtvprofit.com/amp/markets/nse-reduces-equity-and-derivatives-"
                "transaction-charges-to-4); rates as charged in " + KITE_VCN)
NSE_OCT_2024 = ("NSE circular of 27 Sep 2024: Rs 2.97 (cash), Rs 1.73 (futures) per lakh "
                "traded, Rs 35.03 per lakh of options premium, from 1 Oct 2024 (https://"
                "www.goodreturns.in/news/new-fees-for-traders-october-1-bse-nse-transaction-"
                "charges-on-cash-market-currency-futures-options-1379169.html)")
IPFT_NO_GST = ("IPFT is outside GST (https://help.upstox.com/support/solutions/articles/"
               "260397-what-are-ipft-charges-); Zerodha's GST in " + KITE_VCN +
               " is 18% of brokerage + exchange charge + SEBI fee, without IPFT")

APR_2023 = date(2023, 4, 1)
OCT_2024 = date(2024, 10, 1)
APR_2026 = date(2026, 4, 1)

EQUITY = (Segment.EQUITY_DELIVERY, Segment.EQUITY_INTRADAY)
ALL_SEGMENTS = tuple(Segment)


def _pct(text: str) -> Decimal:
    return Decimal(text) / 100


def _same(segments, *changes: tuple[date, str, str]) -> dict[Segment, tuple[RateChange, ...]]:
    history = tuple(RateChange(day, _pct(pct), source) for day, pct, source in changes)
    return {segment: history for segment in segments}


def _rates() -> dict[tuple[Charge, Segment], tuple[RateChange, ...]]:
    table: dict[tuple[Charge, Segment], tuple[RateChange, ...]] = {}

    def put(charge: Charge, by_segment: dict[Segment, tuple[RateChange, ...]]) -> None:
        for segment, history in by_segment.items():
            table[(charge, segment)] = history

    # STT: delivery both sides, everything else on the sell side; options on premium.
    put(Charge.STT_BUY, _same([Segment.EQUITY_DELIVERY], (APR_2023, "0.1", ZERODHA_CHARGES)))
    put(Charge.STT_SELL, _same([Segment.EQUITY_DELIVERY], (APR_2023, "0.1", ZERODHA_CHARGES)))
    put(Charge.STT_SELL, _same([Segment.EQUITY_INTRADAY],
                               (APR_2023, "0.025", ZERODHA_CHARGES)))
    put(Charge.STT_SELL, _same([Segment.FUTURES], (APR_2023, "0.0125", FINANCE_ACT_2023),
                               (OCT_2024, "0.02", FINANCE_ACT_2024),
                               (APR_2026, "0.05", FINANCE_ACT_2026)))
    put(Charge.STT_SELL, _same([Segment.OPTIONS], (APR_2023, "0.0625", FINANCE_ACT_2023),
                               (OCT_2024, "0.1", FINANCE_ACT_2024),
                               (APR_2026, "0.15", FINANCE_ACT_2026)))
    # NSE transaction charges, both sides (options on premium).
    put(Charge.EXCHANGE_TXN, _same(EQUITY, (APR_2023, "0.00325", NSE_APR_2023),
                                   (OCT_2024, "0.00297", NSE_OCT_2024)))
    put(Charge.EXCHANGE_TXN, _same([Segment.FUTURES], (APR_2023, "0.0019", ZERODHA_STATUTORY),
                                   (OCT_2024, "0.00173", NSE_OCT_2024)))
    put(Charge.EXCHANGE_TXN, _same([Segment.OPTIONS], (APR_2023, "0.05", NSE_APR_2023),
                                   (OCT_2024, "0.03503", NSE_OCT_2024)))
    # NSE IPFT: Rs 10 per crore (0.0001%), Rs 50 per crore of premium (0.0005%).
    put(Charge.IPFT, _same([*EQUITY, Segment.FUTURES], (APR_2023, "0.0001", NSE_APR_2023)))
    put(Charge.IPFT, _same([Segment.OPTIONS], (APR_2023, "0.0005", NSE_APR_2023)))
    # SEBI turnover fee: Rs 10 per crore, every segment, both sides.
    put(Charge.SEBI_FEE, _same(ALL_SEGMENTS, (APR_2023, "0.0001", ZERODHA_CHARGES)))
    # Stamp duty, buy side only.
    put(Charge.STAMP_BUY, _same([Segment.EQUITY_DELIVERY], (APR_2023, "0.015", STAMP_ACT)))
    put(Charge.STAMP_BUY, _same([Segment.EQUITY_INTRADAY], (APR_2023, "0.003", STAMP_ACT)))
    put(Charge.STAMP_BUY, _same([Segment.FUTURES], (APR_2023, "0.002", STAMP_ACT)))
    put(Charge.STAMP_BUY, _same([Segment.OPTIONS], (APR_2023, "0.003", STAMP_ACT)))
    # GST on (brokerage + exchange transaction charge + SEBI fee).
    put(Charge.GST, _same(ALL_SEGMENTS, (APR_2023, "18", ZERODHA_CHARGES + "; " + IPFT_NO_GST)))
    return table


def _brokerage() -> dict[Segment, tuple[BrokerageRule, ...]]:
    capped = BrokerageRule(APR_2023, ZERODHA_CHARGES + "; " + ZERODHA_FO_BROKERAGE,
                           rate=_pct("0.03"), cap=Decimal(20))
    return {
        Segment.EQUITY_DELIVERY: (BrokerageRule(APR_2023, ZERODHA_CHARGES, flat=Decimal(0)),),
        Segment.EQUITY_INTRADAY: (capped,),
        Segment.FUTURES: (capped,),
        Segment.OPTIONS: (BrokerageRule(APR_2023, ZERODHA_FO_BROKERAGE, flat=Decimal(20)),),
    }


ZERODHA_NSE = ChargesTable(name="Zerodha, NSE", exchanges=frozenset({"NSE", "NFO"}),
                           starts=APR_2023, brokerage=_brokerage(), rates=_rates())

__all__ = ["BrokerageRule", "Charge", "ChargesTable", "Product", "RateChange", "Segment",
           "ZERODHA_NSE", "segment_of"]
