"""The one matching core: when a working order trades, at what price, and how much.

Shared by the paper broker, the local Kite sandbox and the backtester. Pure: no I/O, no
threads, no clock and no order records of its own. A venue describes one working order
(`OrderTerms`) and what the market did — one traded price (`match_tick`) or one candle
(`match_bar`) — and applies the `Match` it gets back to its own book; statuses, trades,
listeners, market hours, validity and AMOs stay the venue's. Each venue keeps its own
numbers in a `FillPolicy` (slippage, partial-fill sizing) and, for Kite's protected market
orders, a `MarketProtection`.

The rules, for a BUY (a SELL mirrors them):
- A stop (SL, SL-M) triggers when the price reaches its trigger (>= it). From then on an SL
  works as a LIMIT at its price and an SL-M as a MARKET order — a protected SL-M as a LIMIT
  at the protection price of the price that triggered it. A triggering price can also fill.
- A LIMIT order (or a triggered SL) trades at a price at or below its limit; a MARKET order
  (or a triggered SL-M) at any price. A protected MARKET order is the venue's LIMIT at its
  protection price (`MarketProtection.limit`); what cannot trade there rests.
- It fills at the traded price moved against it by the policy's slippage, never worse
  than its limit.
- Of what is still open, the policy's sizing says how much fills at once, and never more
  than the liquidity at that price when the venue knows it.

A candle is read as its open first, then the rest of the bar in an order nobody knows, so
the core assumes nothing it cannot see: a stop the bar opens through (a gap) triggers at the
open, one the bar reaches later triggers at its trigger price; an order marketable at the
open (or at its trigger) fills there; a limit the rest of the bar reaches fills at the limit.
A tick is the candle whose open, high, low and close are that one price.

For placement it owns the funds check (`reserve_price`, `margin_required`, `affordable`)
and Kite's stop-loss sanity (`stop_problem`); the venues word the rejections.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import NamedTuple, Protocol

from tui_trader.domain.enums import OrderKind, Side
from tui_trader.domain.errors import ValidationError
from tui_trader.domain.price_grid import ceil_to_tick, floor_to_tick

# The kinds that take a price (the limit) and the kinds that take a trigger price.
PRICED_KINDS = frozenset({OrderKind.LIMIT, OrderKind.SL})
STOP_KINDS = frozenset({OrderKind.SL, OrderKind.SL_M})

_DEFAULT_TICK = Decimal("0.05")
# Enum members looked up once: a class attribute lookup on an enum is slow, and the brokers
# call the core for every working order on every tick.
_BUY = Side.BUY
_SL_M = OrderKind.SL_M


class OrderTerms(NamedTuple):
    """What the core needs to know of one working order (a tuple: cheap to build per tick)."""

    side: Side
    kind: OrderKind
    quantity: int  # the whole order
    remaining: int  # what is still to fill
    limit: Decimal | None = None  # the worst price it accepts: its price, or protection price
    trigger: Decimal | None = None
    triggered: bool = False  # a stop that has triggered (MARKET and LIMIT need none)
    tick: Decimal = _DEFAULT_TICK

    @property
    def waits_for_trigger(self) -> bool:
        return not self.triggered and self.kind in STOP_KINDS


@dataclass(frozen=True, slots=True)
class Bar:
    """One candle: what a backtester replays."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal

    def __post_init__(self) -> None:
        if not (self.low <= self.open <= self.high and self.low <= self.close <= self.high):
            raise ValidationError(
                "bar", f"low <= open, close <= high, got open {self.open} high {self.high} "
                       f"low {self.low} close {self.close}")


class Fill(NamedTuple):
    quantity: int
    price: Decimal


class Match(NamedTuple):
    """What one market move did to one order. `triggered_at`: the stop triggered, at this
    price; `protection_limit`: the limit a protected SL-M works at from its trigger on;
    `fill`: what traded (None: nothing)."""

    triggered_at: Decimal | None = None
    protection_limit: Decimal | None = None
    fill: Fill | None = None


NO_MATCH = Match()


@dataclass(frozen=True, slots=True)
class TickSlippage:
    """Every fill `ticks` ticks worse than the traded price: a BUY pays more, a SELL gets
    less, but never less than one tick."""

    ticks: int

    def __post_init__(self) -> None:
        if self.ticks < 0:
            raise ValidationError("slippage_ticks", "must be >= 0")

    def adverse(self, side: Side, price: Decimal, tick: Decimal) -> Decimal:
        slip = tick * self.ticks
        if side is _BUY:
            return price + slip
        return max(price - slip, tick)


class FillSizing(Protocol):
    """How much of an order fills at one matching price."""

    def __call__(self, quantity: int, remaining: int) -> int: ...


def fill_all(quantity: int, remaining: int) -> int:
    """Everything still open fills at once."""
    return remaining


def fill_half_order(quantity: int, remaining: int) -> int:
    """At most half the order at a time (the Kite sandbox's partial fills)."""
    if remaining <= 1:
        return remaining
    return min(remaining, max(1, quantity // 2))


@dataclass(frozen=True, slots=True)
class SeededShare:
    """A seeded `low`-`high` % of the order at a time, at least one (the paper broker's
    partial fills). The venue owns the generator, so its fills repeat with its seed."""

    rng: random.Random
    low: int = 20
    high: int = 50

    def __call__(self, quantity: int, remaining: int) -> int:
        part = quantity * self.rng.randint(self.low, self.high) // 100
        return min(remaining, max(part, 1))


@dataclass(frozen=True, slots=True)
class FillPolicy:
    """A venue's numbers: slippage (None: fills at the traded price) and fill sizing."""

    slippage: TickSlippage | None = None
    sizing: FillSizing = fill_all

    def adverse(self, side: Side, price: Decimal, tick: Decimal) -> Decimal:
        return price if self.slippage is None else self.slippage.adverse(side, price, tick)


AT_THE_PRICE = FillPolicy()

# (up to this price, or None for any higher, percent): Kite-style automatic protection bands.
ProtectionBands = tuple[tuple[Decimal | None, Decimal], ...]


@dataclass(frozen=True, slots=True)
class MarketProtection:
    """A protected market order (Kite's `market_protection`): it trades no worse than a
    percentage away from the price it meets and rests at that price when it cannot.

    `percent` is fixed, or None for the automatic percentage `auto_bands` gives by price;
    `band` is the day's (lower, upper) circuit limits the protection price stays inside.
    """

    percent: Decimal | None
    auto_bands: ProtectionBands = ()
    band: tuple[Decimal, Decimal] | None = None

    def percent_at(self, price: Decimal) -> Decimal:
        if self.percent is not None:
            return self.percent
        for up_to, percent in self.auto_bands:
            if up_to is None or price <= up_to:
                return percent
        raise ValidationError("auto_bands", "the last band must be open-ended (None)")

    def limit(self, side: Side, price: Decimal, tick: Decimal) -> Decimal:
        """The protection price for an order meeting `price`: on the tick grid, inside the
        percentage and the day's band, never below one tick."""
        percent = self.percent_at(price)
        if side is _BUY:
            limit = floor_to_tick(price * (1 + percent / 100), tick)
        else:
            limit = max(tick, ceil_to_tick(price * (1 - percent / 100), tick))
        if self.band is not None:
            lower, upper = self.band
            limit = min(max(limit, lower), upper)
        return limit


# -- matching ----------------------------------------------------------------------------------


def reached(side: Side, trigger: Decimal, price: Decimal) -> bool:
    """A stop triggers at `price`: a BUY stop at or above its trigger, a SELL at or below."""
    return price >= trigger if side is _BUY else price <= trigger


def marketable(side: Side, limit: Decimal, price: Decimal) -> bool:
    """A limit trades at `price`: a BUY at or below its limit, a SELL at or above."""
    return price <= limit if side is _BUY else price >= limit


def match_tick(order: OrderTerms, price: Decimal, policy: FillPolicy = AT_THE_PRICE, *,
               protection: MarketProtection | None = None,
               liquidity: int | None = None) -> Match:
    """Match one working order against one traded price. `protection` applies to an SL-M
    when it triggers; `liquidity`: how many shares trade at this price (None: any amount)."""
    return _match(order, price, price, price, policy, protection, liquidity)


def match_bar(order: OrderTerms, bar: Bar, policy: FillPolicy = AT_THE_PRICE, *,
              protection: MarketProtection | None = None,
              liquidity: int | None = None) -> Match:
    """Match one working order against one candle (see the module's rules);
    `liquidity` caps what fills in the bar."""
    return _match(order, bar.open, bar.high, bar.low, policy, protection, liquidity)


def _match(order: OrderTerms, open_: Decimal, high: Decimal, low: Decimal,
           policy: FillPolicy, protection: MarketProtection | None,
           liquidity: int | None) -> Match:
    # The comparisons are written out (not `reached`/`marketable`): this runs per order
    # per tick, and a resting order that does not trade must cost next to nothing.
    side = order.side
    buy = side is _BUY
    limit = order.limit
    start = open_  # the first price the order works at in this move
    from_open = True  # everything the move did after `start` is still to come
    triggered_at = protection_limit = None
    if not order.triggered and order.kind in STOP_KINDS:
        trigger = order.trigger
        assert trigger is not None, "a stop needs a trigger price"
        if not (open_ >= trigger if buy else open_ <= trigger):
            if not (high >= trigger if buy else low <= trigger):
                return NO_MATCH
            start, from_open = trigger, False
        triggered_at = start
        if limit is None and protection is not None:
            limit = protection_limit = protection.limit(side, start, order.tick)
    if limit is None or (start <= limit if buy else start >= limit):
        base = start
    elif from_open and (low <= limit if buy else high >= limit):
        base = limit
    elif triggered_at is None:
        return NO_MATCH
    else:
        return Match(triggered_at, protection_limit)
    slippage = policy.slippage
    price = base if slippage is None else slippage.adverse(side, base, order.tick)
    if limit is not None:
        price = min(price, limit) if buy else max(price, limit)
    quantity = policy.sizing(order.quantity, order.remaining)
    if liquidity is not None:
        quantity = min(quantity, liquidity)
    if quantity > 0:
        return Match(triggered_at, protection_limit, Fill(quantity, price))
    return NO_MATCH if triggered_at is None else Match(triggered_at, protection_limit)


# -- placement ---------------------------------------------------------------------------------


def reserve_price(kind: OrderKind, side: Side, *, limit: Decimal | None,
                  trigger: Decimal | None, last: Decimal | None,
                  policy: FillPolicy = AT_THE_PRICE,
                  tick: Decimal = _DEFAULT_TICK) -> Decimal:
    """The price per unit a working order is reckoned to trade at, for the funds it
    blocks: its limit (LIMIT, SL), else its trigger (SL-M) or the last price (MARKET),
    moved against it by the policy's slippage."""
    if kind in PRICED_KINDS:
        assert limit is not None, f"a {kind} order needs a price"
        return limit
    base = trigger if kind is _SL_M else last
    assert base is not None, f"a {kind} order needs a trigger or a last price"
    return policy.adverse(side, base, tick)


def margin_required(quantity: int, price: Decimal, *, rate: Decimal = Decimal(1),
                    reducible: int = 0) -> Decimal:
    """Funds `quantity` at `price` blocks, at `rate` of its value; the `reducible` part
    closes a position already held and needs none."""
    return max(0, quantity - reducible) * price * rate


def affordable(required: Decimal, available: Decimal) -> bool:
    return required <= available


class StopProblem(Enum):
    """Why a stop-loss order is refused (the venue words it)."""

    TRIGGER_BEYOND_LIMIT = "a BUY's trigger above its price, a SELL's below"
    ALREADY_REACHED = "the last price has already reached the trigger"


def stop_problem(side: Side, trigger: Decimal, *, limit: Decimal | None = None,
                 last: Decimal | None = None) -> StopProblem | None:
    """Kite's rules for a stop: its limit must be reachable once it triggers, and it must
    not have triggered already at the last price."""
    if limit is not None and (trigger > limit if side is _BUY else trigger < limit):
        return StopProblem.TRIGGER_BEYOND_LIMIT
    if last is not None and reached(side, trigger, last):
        return StopProblem.ALREADY_REACHED
    return None
