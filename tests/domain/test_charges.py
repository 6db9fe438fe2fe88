"""Indian charges: a published Zerodha example to the paisa, the rates in force on each
date, the rounding Zerodha does, and the legs the table refuses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tui_trader.domain.charges import (
    ChargeBreakdown,
    TradeLeg,
    charges,
    contract_note_charges,
    leg_charges,
)
from tui_trader.domain.charges_table import (
    ZERODHA_NSE,
    Charge,
    Product,
    Segment,
    segment_of,
)
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import InstrumentType, Side
from tui_trader.domain.errors import ValidationError

D = Decimal


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


# Zerodha's own published charges for two orders: the example response of the Kite Connect
# virtual contract note (POST /charges/orders), https://kite.trade/docs/connect/v3/margins/,
# as committed in github.com/zerodha/kiteconnect-mocks virtual_contract_note.json on
# 13 Jul 2023 (commit 0dd520a). The NFO symbol NIFTY2371317900PE expires on 13 Jul 2023, so
# the orders are of that week; the third order of the note is on MCX, which the table does
# not cover. Its figures are per order and unrounded (the API's floats, here as decimals).
VCN_DAY = date(2023, 7, 13)
VCN = [
    (TradeLeg(at(VCN_DAY), Side.BUY, 1, D("560"), Product.CNC, InstrumentType.EQ, "NSE"),
     {"transaction_tax": D("0.56"), "exchange_turnover_charge": D("0.01876"),
      "sebi_turnover_charge": D("0.00056"), "brokerage": D("0"), "stamp_duty": D("0"),
      "gst": D("0.0033768"), "total": D("0.5826968")}),
    (TradeLeg(at(VCN_DAY), Side.BUY, 100, D("1.5"), Product.NRML, InstrumentType.PE, "NFO"),
     {"transaction_tax": D("0"), "exchange_turnover_charge": D("0.07575"),
      "sebi_turnover_charge": D("0.00015"), "brokerage": D("20"), "stamp_duty": D("0"),
      "gst": D("3.613527"), "total": D("23.689427")}),
]


@pytest.mark.parametrize("leg,published", VCN, ids=["SBIN-CNC-buy", "NIFTY-PE-NRML-buy"])
def test_reproduces_zerodhas_virtual_contract_note_exactly(leg, published):
    got = leg_charges(leg)
    assert {"transaction_tax": got.stt, "exchange_turnover_charge": got.exchange_turnover_charge,
            "sebi_turnover_charge": got.sebi_fee, "brokerage": got.brokerage,
            "stamp_duty": got.stamp_duty, "gst": got.gst, "total": got.total} == published
    # ... and therefore to the paisa.
    assert got.rounded().total == published["total"].quantize(D("0.01"))


def test_current_intraday_round_trip_to_the_paisa():
    """The brokerage calculator's default intraday trade (buy 400 at 1000, sell at 1100) on
    the rates of Nov 2026, line by line: 0.03% capped at Rs 20 per order, STT 0.025% of the
    sell, NSE 0.00297% and IPFT 0.0001% both sides, SEBI Rs 10/crore, stamp 0.003% of the buy,
    GST 18% of (brokerage + exchange charge + SEBI fee)."""
    day = date(2026, 11, 23)
    legs = [TradeLeg(at(day), Side.BUY, 400, D("1000")),
            TradeLeg(at(day, 14), Side.SELL, 400, D("1100"))]
    got = charges(legs)
    assert got.turnover == D("840000")
    assert got.brokerage == D("40")
    assert got.stt == D("110")
    assert got.exchange_txn == D("24.948")
    assert got.ipft == D("0.84") and got.sebi_fee == D("0.84")
    assert got.stamp_duty == D("12")
    assert got.gst == D("11.84184")
    assert got.total == D("200.46984")
    shown = got.rounded()
    assert (shown.exchange_txn, shown.gst, shown.total) == (D("24.95"), D("11.84"), D("200.47"))


def test_brokerage_is_a_capped_percentage_per_order_and_flat_on_options():
    day = date(2026, 11, 23)
    small = leg_charges(TradeLeg(at(day), Side.BUY, 10, D("500")))  # 0.03% of 5000 = 1.50
    assert small.brokerage == D("1.5")
    big = leg_charges(TradeLeg(at(day), Side.BUY, 100, D("2000"), Product.NRML,
                               InstrumentType.FUT, "NFO"))
    assert big.brokerage == D("20")
    option = leg_charges(TradeLeg(at(day), Side.SELL, 75, D("0.05"), Product.MIS,
                                  InstrumentType.CE, "NFO"))
    assert option.brokerage == D("20")
    delivery = leg_charges(TradeLeg(at(day), Side.SELL, 1000, D("2500"), Product.CNC))
    assert delivery.brokerage == D("0")


@pytest.mark.parametrize("day,futures_stt,options_stt", [
    (date(2023, 4, 1), "0.000125", "0.000625"),
    (date(2024, 9, 30), "0.000125", "0.000625"),
    (date(2024, 10, 1), "0.0002", "0.001"),
    (date(2026, 3, 31), "0.0002", "0.001"),
    (date(2026, 4, 1), "0.0005", "0.0015"),
])
def test_stt_on_fo_sells_follows_the_finance_acts(day, futures_stt, options_stt):
    fut = leg_charges(TradeLeg(at(day), Side.SELL, 1, D("10000"), Product.NRML,
                               InstrumentType.FUT, "NFO"))
    opt = leg_charges(TradeLeg(at(day), Side.SELL, 1, D("10000"), Product.NRML,
                               InstrumentType.CE, "NFO"))
    assert fut.stt == D("10000") * D(futures_stt)
    assert opt.stt == D("10000") * D(options_stt)
    bought = leg_charges(TradeLeg(at(day), Side.BUY, 1, D("10000"), Product.NRML,
                                  InstrumentType.FUT, "NFO"))
    assert bought.stt == 0


@pytest.mark.parametrize("segment,before,after", [
    (Segment.EQUITY_DELIVERY, "0.0000325", "0.0000297"),
    (Segment.EQUITY_INTRADAY, "0.0000325", "0.0000297"),
    (Segment.FUTURES, "0.000019", "0.0000173"),
    (Segment.OPTIONS, "0.0005", "0.0003503"),
])
def test_nse_transaction_charges_change_on_1_oct_2024(segment, before, after):
    assert ZERODHA_NSE.rate(Charge.EXCHANGE_TXN, segment, date(2024, 9, 30)).rate == D(before)
    assert ZERODHA_NSE.rate(Charge.EXCHANGE_TXN, segment, date(2024, 10, 1)).rate == D(after)


def test_the_day_is_the_ist_trading_day():
    """19:00 UTC on 30 Sep 2024 is 00:30 IST on 1 Oct: the new STT applies."""
    leg = TradeLeg(datetime(2024, 9, 30, 19, 0, tzinfo=UTC), Side.SELL, 1, D("10000"),
                   Product.NRML, InstrumentType.FUT, "NFO")
    assert leg_charges(leg).stt == D("2")
    earlier = TradeLeg(datetime(2024, 9, 30, 18, 29, tzinfo=UTC), Side.SELL, 1, D("10000"),
                       Product.NRML, InstrumentType.FUT, "NFO")
    assert leg_charges(earlier).stt == D("1.25")


def test_delivery_pays_stt_both_sides_and_stamp_to_the_rupee():
    day = date(2026, 11, 23)
    buy = leg_charges(TradeLeg(at(day), Side.BUY, 7, D("1499.50"), Product.CNC))
    assert buy.stt == D("10.4965")  # 0.1% of 10496.50
    assert buy.stamp_duty == D("2")  # 0.015% = 1.574475 -> Rs 2
    sell = leg_charges(TradeLeg(at(day), Side.SELL, 7, D("1499.50"), Product.CNC))
    assert sell.stt == D("10.4965") and sell.stamp_duty == 0


def test_intraday_pays_stt_on_the_sell_only():
    day = date(2026, 11, 23)
    assert leg_charges(TradeLeg(at(day), Side.BUY, 10, D("100"))).stt == 0
    assert leg_charges(TradeLeg(at(day), Side.SELL, 10, D("100"))).stt == D("0.25")


def test_contract_notes_round_stt_to_the_rupee_per_day_and_segment():
    day = date(2026, 11, 23)
    legs = [TradeLeg(at(day), Side.SELL, 10, D("100")),            # STT 0.25
            TradeLeg(at(day, 11), Side.SELL, 10, D("130")),        # STT 0.325
            TradeLeg(at(day), Side.SELL, 1, D("10000"), Product.NRML,
                     InstrumentType.FUT, "NFO"),                    # STT 5.00
            TradeLeg(at(day + timedelta(days=1)), Side.SELL, 10, D("100"))]
    notes = contract_note_charges(legs)
    assert set(notes) == {(day, "equity"), (day, "F&O"), (day + timedelta(days=1), "equity")}
    assert notes[(day, "equity")].stt == D("1")   # 0.575 -> 1
    assert notes[(day, "F&O")].stt == D("5")
    assert notes[(day + timedelta(days=1), "equity")].stt == D("0")  # 0.25 -> 0
    # Only STT is rounded; the rest is the order-wise sum.
    assert notes[(day, "equity")].brokerage == charges(legs[:2]).brokerage


@pytest.mark.parametrize("leg,field", [
    (TradeLeg(datetime(2026, 11, 23, 10, 0), Side.BUY, 1, D("100")), "time"),
    (TradeLeg(at(date(2026, 11, 23)), Side.BUY, 0, D("100")), "quantity"),
    (TradeLeg(at(date(2026, 11, 23)), Side.BUY, 1, D("0")), "price"),
    (TradeLeg(at(date(2026, 11, 23)), Side.BUY, 1, 100.5), "price"),
    (TradeLeg(at(date(2026, 11, 23)), Side.BUY, 1, D("100"), exchange="BSE"), "exchange"),
    (TradeLeg(at(date(2023, 3, 31)), Side.BUY, 1, D("100")), "date"),
    (TradeLeg(at(date(2026, 11, 23)), Side.BUY, 1, D("100"), Product.NRML), "product"),
    (TradeLeg(at(date(2026, 11, 23)), Side.BUY, 1, D("100"), Product.CNC,
              InstrumentType.FUT, "NFO"), "product"),
    (TradeLeg(at(date(2026, 11, 23)), Side.BUY, 1, D("100"), Product.MIS,
              InstrumentType.INDEX, "NSE"), "product"),
])
def test_legs_outside_the_table_are_refused_with_the_field(leg, field):
    with pytest.raises(ValidationError) as err:
        leg_charges(leg)
    assert err.value.field == field
    assert "\n" not in str(err.value)


def test_every_rate_has_a_source_and_dates_in_order():
    assert ZERODHA_NSE.starts == date(2023, 4, 1)
    for (charge, segment), history in ZERODHA_NSE.rates.items():
        days = [change.effective_from for change in history]
        assert days == sorted(days) and len(set(days)) == len(days), (charge, segment)
        assert days[0] == ZERODHA_NSE.starts
        for change in history:
            assert "http" in change.source, (charge, segment)
            assert D(0) <= change.rate < D(1)
    for segment, rules in ZERODHA_NSE.brokerage.items():
        assert rules[0].effective_from == ZERODHA_NSE.starts
        assert all("http" in rule.source for rule in rules), segment
    with pytest.raises(LookupError):
        ZERODHA_NSE.rate(Charge.SEBI_FEE, Segment.FUTURES, date(2023, 3, 31))


def test_segments_follow_instrument_and_product():
    assert segment_of("EQ", "CNC") is Segment.EQUITY_DELIVERY
    assert segment_of(InstrumentType.EQ, Product.MIS) is Segment.EQUITY_INTRADAY
    assert segment_of("FUT", "MIS") is Segment.FUTURES
    assert segment_of("PE", "NRML") is Segment.OPTIONS


def test_breakdowns_add_up():
    a = ChargeBreakdown(brokerage=D("1"), stt=D("2"))
    b = ChargeBreakdown(brokerage=D("0.5"), gst=D("0.09"))
    assert (a + b).total == D("3.59")
    assert charges([]) == ChargeBreakdown()
