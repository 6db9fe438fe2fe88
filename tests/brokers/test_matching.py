"""The matching core on its own: triggers, fill prices, fill sizes, protection, the funds
check, stop sanity and candles — the rules the paper broker, the Kite sandbox and the
backtester all trade by."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_trader.brokers.matching import (
    NO_MATCH,
    Bar,
    Fill,
    FillPolicy,
    MarketProtection,
    Match,
    OrderTerms,
    SeededShare,
    StopProblem,
    TickSlippage,
    affordable,
    fill_all,
    fill_half_order,
    margin_required,
    match_bar,
    match_tick,
    reserve_price,
    stop_problem,
)
from tui_trader.domain.enums import OrderKind, Side
from tui_trader.domain.errors import ValidationError

D = Decimal
BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT, SL, SL_M = OrderKind.MARKET, OrderKind.LIMIT, OrderKind.SL, OrderKind.SL_M


def terms(side: Side, kind: OrderKind, limit: str | None = None, trigger: str | None = None,
          *, quantity: int = 10, remaining: int | None = None,
          triggered: bool = False) -> OrderTerms:
    return OrderTerms(side, kind, quantity, quantity if remaining is None else remaining,
                      None if limit is None else D(limit),
                      None if trigger is None else D(trigger), triggered)


# -- one traded price --------------------------------------------------------------------------

TICK_TABLE = [
    # side, kind, limit, trigger, triggered, price -> triggered at, fill price
    (BUY, MARKET, None, None, False, "100", None, "100"),
    (SELL, MARKET, None, None, False, "100", None, "100"),
    (BUY, LIMIT, "100", None, False, "100.05", None, None),
    (BUY, LIMIT, "100", None, False, "100", None, "100"),
    (BUY, LIMIT, "100", None, False, "99.50", None, "99.50"),
    (SELL, LIMIT, "100", None, False, "99.95", None, None),
    (SELL, LIMIT, "100", None, False, "100", None, "100"),
    (SELL, LIMIT, "100", None, False, "100.50", None, "100.50"),
    (BUY, SL, "102", "101", False, "100.95", None, None),
    (BUY, SL, "102", "101", False, "101", "101", "101"),
    (BUY, SL, "102", "101", False, "102.50", "102.50", None),  # triggered past its limit
    (BUY, SL, "102", "101", True, "102.50", None, None),
    (BUY, SL, "102", "101", True, "100", None, "100"),  # triggered: a LIMIT now
    (SELL, SL, "98", "99", False, "99.05", None, None),
    (SELL, SL, "98", "99", False, "99", "99", "99"),
    (SELL, SL, "98", "99", False, "97.50", "97.50", None),
    (BUY, SL_M, None, "101", False, "100.95", None, None),
    (BUY, SL_M, None, "101", False, "103", "103", "103"),
    (SELL, SL_M, None, "99", False, "99.05", None, None),
    (SELL, SL_M, None, "99", False, "95", "95", "95"),
    (SELL, SL_M, None, "99", True, "120", None, "120"),  # triggered: a MARKET order now
]


@pytest.mark.parametrize(
    ("side", "kind", "limit", "trigger", "triggered", "price", "triggered_at", "fill_price"),
    TICK_TABLE)
def test_a_tick_triggers_and_fills_by_the_table(side: Side, kind: OrderKind,
                                                limit: str | None, trigger: str | None,
                                                triggered: bool, price: str,
                                                triggered_at: str | None,
                                                fill_price: str | None) -> None:
    match = match_tick(terms(side, kind, limit, trigger, triggered=triggered), D(price))
    assert match.triggered_at == (None if triggered_at is None else D(triggered_at))
    assert match.fill == (None if fill_price is None else Fill(10, D(fill_price)))


def test_nothing_happening_is_the_shared_no_match() -> None:
    assert match_tick(terms(BUY, LIMIT, "100"), D("101")) is NO_MATCH
    assert match_tick(terms(BUY, SL_M, trigger="101"), D("100")) is NO_MATCH


SLIPPAGE_TABLE = [
    # two ticks of 0.05 against the order, never past a limit, a SELL never under one tick
    (BUY, MARKET, None, "100", "100.10"),
    (SELL, MARKET, None, "100", "99.90"),
    (BUY, LIMIT, "100", "99.95", "100"),
    (BUY, LIMIT, "100", "99.50", "99.60"),
    (SELL, LIMIT, "100", "100", "100"),
    (SELL, LIMIT, "100", "100.50", "100.40"),
    (SELL, MARKET, None, "0.05", "0.05"),
]


@pytest.mark.parametrize(("side", "kind", "limit", "price", "fill_price"), SLIPPAGE_TABLE)
def test_slippage_moves_fills_against_the_order_but_not_past_a_limit(
        side: Side, kind: OrderKind, limit: str | None, price: str, fill_price: str) -> None:
    policy = FillPolicy(TickSlippage(2))
    match = match_tick(terms(side, kind, limit), D(price), policy)
    assert match.fill == Fill(10, D(fill_price))


def test_negative_slippage_is_refused() -> None:
    with pytest.raises(ValidationError, match="slippage_ticks"):
        TickSlippage(-1)


# -- how much fills ----------------------------------------------------------------------------


@pytest.mark.parametrize(("quantity", "remaining", "half"), [
    (10, 10, 5), (10, 5, 5), (10, 3, 3), (10, 1, 1), (1, 1, 1), (3, 3, 1), (2, 2, 1)])
def test_half_order_sizing(quantity: int, remaining: int, half: int) -> None:
    assert fill_half_order(quantity, remaining) == half
    assert fill_all(quantity, remaining) == remaining


def test_seeded_share_repeats_with_its_seed_and_stays_in_bounds() -> None:
    first = SeededShare(random.Random(7))
    again = SeededShare(random.Random(7))
    parts = [first(100, 100) for _ in range(50)]
    assert parts == [again(100, 100) for _ in range(50)]
    assert all(20 <= p <= 50 for p in parts)
    assert len(set(parts)) > 1
    assert SeededShare(random.Random(7))(3, 3) == 1  # a share of a small order is still one
    assert SeededShare(random.Random(7))(100, 4) == 4  # never more than what is left


def test_partial_fills_take_what_the_policy_sizes() -> None:
    policy = FillPolicy(sizing=fill_half_order)
    assert match_tick(terms(BUY, MARKET, quantity=10), D("100"), policy).fill == Fill(5, D(100))
    assert match_tick(terms(BUY, MARKET, quantity=10, remaining=3), D("100"),
                      policy).fill == Fill(3, D(100))


def test_liquidity_caps_a_fill_and_none_left_means_no_fill() -> None:
    assert match_tick(terms(BUY, MARKET), D("100"), liquidity=4).fill == Fill(4, D(100))
    assert match_tick(terms(BUY, MARKET), D("100"), liquidity=40).fill == Fill(10, D(100))
    assert match_tick(terms(BUY, MARKET), D("100"), liquidity=0) is NO_MATCH
    stop = match_tick(terms(SELL, SL_M, trigger="99"), D("98"), liquidity=0)
    assert stop == Match(triggered_at=D("98"))  # it triggers even when nothing trades


# -- market protection -------------------------------------------------------------------------


def test_protection_limit_is_on_the_grid_inside_the_percent() -> None:
    two = MarketProtection(D(2))
    assert two.limit(BUY, D("1520.40"), D("0.05")) == D("1550.80")
    assert two.limit(SELL, D("1520.40"), D("0.05")) == D("1490.00")
    assert two.limit(SELL, D("0.05"), D("0.05")) == D("0.05")  # never below one tick


def test_protection_stays_inside_the_days_band() -> None:
    banded = MarketProtection(D(5), band=(D("95"), D("103")))
    assert banded.limit(BUY, D("100"), D("0.05")) == D("103")
    assert banded.limit(SELL, D("99"), D("0.05")) == D("95")


def test_automatic_protection_follows_the_price_bands() -> None:
    auto = MarketProtection(None, ((D(100), D(2)), (D(1000), D(1)), (None, D("0.5"))))
    assert [auto.percent_at(D(p)) for p in ("50", "100", "500", "5000")] == [
        D(2), D(2), D(1), D("0.5")]
    with pytest.raises(ValidationError, match="open-ended"):
        MarketProtection(None, ((D(100), D(2)),)).percent_at(D(500))


def test_a_protected_sl_m_gets_its_limit_from_the_triggering_price_then_rests() -> None:
    protection = MarketProtection(D(1))
    match = match_tick(terms(SELL, SL_M, trigger="99"), D("98"), protection=protection,
                       liquidity=0)
    assert match == Match(triggered_at=D("98"), protection_limit=D("97.05"))
    resting = terms(SELL, SL_M, "97.05", "99", triggered=True)
    assert match_tick(resting, D("97"), protection=protection) is NO_MATCH  # past its limit
    assert match_tick(resting, D("97.10")).fill == Fill(10, D("97.10"))


def test_protection_applies_only_to_an_order_without_a_limit() -> None:
    match = match_tick(terms(BUY, SL, "101.50", "101"), D("101"),
                       protection=MarketProtection(D(1)))
    assert match == Match(triggered_at=D("101"), fill=Fill(10, D("101")))


# -- placement: funds and stop sanity ----------------------------------------------------------


@pytest.mark.parametrize(("kind", "side", "policy", "reserved"), [
    (LIMIT, BUY, FillPolicy(TickSlippage(3)), "100"),
    (SL, BUY, FillPolicy(TickSlippage(3)), "100"),
    (SL_M, BUY, FillPolicy(TickSlippage(3)), "101.15"),
    (MARKET, BUY, FillPolicy(TickSlippage(3)), "99.65"),
    (SL_M, BUY, FillPolicy(), "101"),
    (MARKET, SELL, FillPolicy(), "99.50"),
])
def test_reserve_price(kind: OrderKind, side: Side, policy: FillPolicy, reserved: str) -> None:
    assert reserve_price(kind, side, limit=D(100) if kind in (LIMIT, SL) else None,
                         trigger=D(101) if kind in (SL, SL_M) else None, last=D("99.50"),
                         policy=policy) == D(reserved)


def test_margin_required_counts_only_what_grows_the_position() -> None:
    assert margin_required(10, D("100.50")) == D("1005.00")
    assert margin_required(10, D(100), rate=D("0.2")) == D(200)
    assert margin_required(10, D(100), rate=D("0.2"), reducible=4) == D(120)
    assert margin_required(10, D(100), reducible=25) == 0
    assert affordable(D(100), D(100))
    assert not affordable(D("100.01"), D(100))


@pytest.mark.parametrize(("side", "trigger", "limit", "last", "problem"), [
    (BUY, "101", "102", "100", None),
    (BUY, "103", "102", "100", StopProblem.TRIGGER_BEYOND_LIMIT),
    (BUY, "100", None, "100", StopProblem.ALREADY_REACHED),
    (BUY, "101", None, None, None),
    (SELL, "99", "98", "100", None),
    (SELL, "97", "98", "100", StopProblem.TRIGGER_BEYOND_LIMIT),
    (SELL, "100", None, "100", StopProblem.ALREADY_REACHED),
    (SELL, "103", "102", "100", StopProblem.ALREADY_REACHED),
])
def test_stop_problem(side: Side, trigger: str, limit: str | None, last: str | None,
                      problem: StopProblem | None) -> None:
    assert stop_problem(side, D(trigger), limit=None if limit is None else D(limit),
                        last=None if last is None else D(last)) is problem


# -- candles -----------------------------------------------------------------------------------


def bar(o: str, h: str, low: str, c: str) -> Bar:
    return Bar(D(o), D(h), D(low), D(c))


CANDLE_TABLE = [
    # order, bar (open high low close) -> triggered at, fill price
    ("sell stop, gap through it: the open", terms(SELL, SL_M, trigger="99"),
     bar("97", "98", "96", "97.50"), "97", "97"),
    ("sell stop inside the bar: the stop", terms(SELL, SL_M, trigger="99"),
     bar("100", "101", "98", "98.50"), "99", "99"),
    ("sell stop not reached", terms(SELL, SL_M, trigger="99"),
     bar("100", "101", "99.05", "100"), None, None),
    ("buy stop, gap through it: the open", terms(BUY, SL_M, trigger="101"),
     bar("103", "104", "102", "103"), "103", "103"),
    ("buy stop inside the bar: the stop", terms(BUY, SL_M, trigger="101"),
     bar("100", "102", "99.50", "101.50"), "101", "101"),
    ("buy limit crossed: the limit", terms(BUY, LIMIT, "100"),
     bar("101", "101.50", "99.50", "100.50"), None, "100"),
    ("buy limit touched: the limit", terms(BUY, LIMIT, "100"),
     bar("101", "101.50", "100", "100.50"), None, "100"),
    ("buy limit not touched", terms(BUY, LIMIT, "100"),
     bar("101", "101.50", "100.05", "101"), None, None),
    ("buy limit below the open: the open", terms(BUY, LIMIT, "100"),
     bar("99", "99.50", "98", "99"), None, "99"),
    ("sell limit crossed: the limit", terms(SELL, LIMIT, "100"),
     bar("99", "100.50", "98.50", "100"), None, "100"),
    ("sell limit not touched", terms(SELL, LIMIT, "100"),
     bar("99", "99.95", "98.50", "99"), None, None),
    ("market: the open", terms(BUY, MARKET),
     bar("100", "105", "95", "101"), None, "100"),
    ("stop-limit gapped past its limit, back to it later: the limit",
     terms(BUY, SL, "101.50", "101"), bar("102", "102.50", "101.20", "101.40"), "102",
     "101.50"),
    ("stop-limit gapped past its limit, never back: rests",
     terms(BUY, SL, "101.50", "101"), bar("102", "102.50", "101.80", "102"), "102", None),
    ("stop-limit triggered inside the bar: the stop",
     terms(BUY, SL, "101.50", "101"), bar("100", "102", "99.90", "101"), "101", "101"),
    ("buy stop-limit below its trigger, triggered inside the bar: rests (unseen after)",
     terms(BUY, SL, "100.50", "101"), bar("100", "102", "99", "100"), "101", None),
    ("sell stop-limit triggered inside the bar: the stop",
     terms(SELL, SL, "98.50", "99"), bar("100", "100.20", "98", "98.20"), "99", "99"),
]


@pytest.mark.parametrize(("case", "order", "candle", "triggered_at", "fill_price"),
                         CANDLE_TABLE, ids=[row[0] for row in CANDLE_TABLE])
def test_a_candle_triggers_and_fills_by_the_table(case: str, order: OrderTerms, candle: Bar,
                                                  triggered_at: str | None,
                                                  fill_price: str | None) -> None:
    match = match_bar(order, candle)
    assert match.triggered_at == (None if triggered_at is None else D(triggered_at))
    assert match.fill == (None if fill_price is None else Fill(10, D(fill_price)))


def test_a_candle_takes_the_policy_and_liquidity_as_a_tick_does() -> None:
    policy = FillPolicy(TickSlippage(1), fill_half_order)
    candle = bar("97", "98", "96", "97.50")
    assert match_bar(terms(SELL, SL_M, trigger="99"), candle, policy).fill == Fill(
        5, D("96.95"))
    assert match_bar(terms(SELL, SL_M, trigger="99"), candle, liquidity=3).fill == Fill(
        3, D("97"))


def test_a_protected_stop_in_a_candle_is_protected_from_its_trigger_price() -> None:
    match = match_bar(terms(SELL, SL_M, trigger="99"), bar("100", "101", "95", "96"),
                      protection=MarketProtection(D(1)))
    assert match == Match(D("99"), D("98.05"), Fill(10, D("99")))


@pytest.mark.parametrize("prices", [("100", "99", "98", "99"), ("100", "101", "100.50", "101"),
                                    ("100", "101", "99", "102"), ("100", "101", "99", "98")])
def test_a_bar_must_hold_its_open_and_close(prices: tuple[str, str, str, str]) -> None:
    with pytest.raises(ValidationError, match="bar"):
        bar(*prices)


# -- properties --------------------------------------------------------------------------------

ticks = st.integers(min_value=1, max_value=4000).map(lambda n: D(n) * D("0.05"))


@st.composite
def orders(draw: st.DrawFn) -> OrderTerms:
    side = draw(st.sampled_from(Side))
    kind = draw(st.sampled_from(OrderKind))
    trigger = draw(ticks) if kind in (SL, SL_M) else None
    limit = None
    if kind is LIMIT:
        limit = draw(ticks)
    elif kind is SL:
        assert trigger is not None
        gap = draw(ticks)  # a valid stop-limit: its limit is reachable from its trigger
        limit = trigger + gap if side is BUY else max(D("0.05"), trigger - gap)
    quantity = draw(st.integers(1, 500))
    return OrderTerms(side, kind, quantity, draw(st.integers(1, quantity)), limit, trigger,
                      draw(st.booleans()))


@st.composite
def bars(draw: st.DrawFn) -> Bar:
    low, high = sorted((draw(ticks), draw(ticks)))
    open_, close = (min(max(draw(ticks), low), high) for _ in range(2))
    return Bar(open_, high, low, close)


policies = st.builds(FillPolicy,
                     st.one_of(st.none(), st.integers(0, 5).map(TickSlippage)),
                     st.sampled_from((fill_all, fill_half_order)))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(order=orders(), candle=bars(), policy=policies,
       liquidity=st.one_of(st.none(), st.integers(0, 50)))
def test_no_fill_is_worse_than_the_limit_or_more_than_is_left(
        order: OrderTerms, candle: Bar, policy: FillPolicy, liquidity: int | None) -> None:
    fill = match_bar(order, candle, policy, liquidity=liquidity).fill
    if fill is None:
        return
    assert 1 <= fill.quantity <= order.remaining
    if liquidity is not None:
        assert fill.quantity <= liquidity
    if order.limit is not None:
        assert fill.price <= order.limit if order.side is BUY else fill.price >= order.limit
    if order.waits_for_trigger:  # a stop trades only once the price has reached it
        assert order.trigger is not None
        assert fill.price >= order.trigger if order.side is BUY else \
            fill.price <= order.trigger
    if policy.slippage is None:
        assert candle.low <= fill.price <= candle.high  # it traded at a price the bar had


@settings(max_examples=100, deadline=None, derandomize=True)
@given(order=orders(), price=ticks, policy=policies)
def test_a_tick_is_the_candle_of_one_price(order: OrderTerms, price: Decimal,
                                           policy: FillPolicy) -> None:
    assert match_tick(order, price, policy) == match_bar(order, Bar(price, price, price, price),
                                                         policy)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(order=orders(), candle=bars())
def test_a_stop_triggers_exactly_when_the_bar_reaches_its_trigger(order: OrderTerms,
                                                                  candle: Bar) -> None:
    match = match_bar(order, candle)
    if not order.waits_for_trigger:
        assert match.triggered_at is None
        return
    assert order.trigger is not None
    reached = candle.high >= order.trigger if order.side is BUY else candle.low <= order.trigger
    assert (match.triggered_at is not None) is reached
    if reached:
        assert match.triggered_at in (candle.open, order.trigger)
