"""The order book: validation, Kite's status life cycle, matching against the sandbox prices.

A placed order walks Kite's states, each recorded (with its timestamp from the injected clock)
in the order's history:

    PUT ORDER REQ RECEIVED -> VALIDATION PENDING -> REJECTED
                                                 -> OPEN PENDING -> OPEN | TRIGGER PENDING
    TRIGGER PENDING -> OPEN (triggered) ; OPEN -> COMPLETE | CANCELLED (via CANCEL PENDING)
    modify: MODIFY VALIDATION PENDING -> MODIFY PENDING -> MODIFIED -> OPEN | TRIGGER PENDING
    AMO: AMO REQ RECEIVED (waits for its release) -> VALIDATION PENDING -> ... as above
    expiry: OPEN | TRIGGER PENDING -> CANCELLED (DAY at the close, TTL after its minutes)

When orders are taken, matched and expire is `TradingHours`' to say; `catch_up` applies
what the clock says happened (AMOs released, validity ended, the open reached) and runs
before every request and on every feed cycle.

Listeners (the ticker) hear only what Kite announces as an order update: completion,
cancellation, rejection, a trigger, and — with status UPDATE — a modification or a partial
fill. Placement and the interim states are never announced, so a client that waits for an
OPEN update waits for ever, as it would on Kite.

Field errors (bad tag, quantity, missing price...) and orders outside market hours answer
HTTP 400 and create no order, as Kite does; risk checks (tick size, circuit limits,
stop-loss sanity, market protection, shares for a CNC sell, funds) create the order and
REJECT it with a `status_message`.

Market protection: Kite takes MARKET (and SL-M) orders over the API only with
`market_protection` (-1 for its automatic band, or a percentage up to 100) and holds a
MARKET order as a LIMIT at the protection price — the last price plus (BUY) or minus
(SELL) that percentage — tagged `mktp`; what cannot fill within it rests at that limit. A
protected SL-M gets its protection price when it triggers.

Every matching decision is the matching core's (`tui_trader.brokers.matching`), run on the
last price: LIMIT orders fill when it crosses the limit (at the last price, never worse than
the limit); an unprotected MARKET order (only with the rejection switched off) at the last
price; SL and SL-M wait for their trigger, then act as LIMIT and (protected) MARKET. The
sandbox's own numbers: no slippage; how much trades at one price is unlimited unless a test
sets the liquidity (shares per price print); with partial fills on, each matching pass fills
at most half the order. Which orders are matched, and when, stays here.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from tui_trader.domain.clock import IST, ensure_utc
from tui_trader.domain.enums import OrderKind, Side
from tui_trader.domain.price_grid import is_tick_multiple
from tui_trader.domain.universe import ListedInstrument

from ..matching import (
    PRICED_KINDS,
    STOP_KINDS,
    FillPolicy,
    MarketProtection,
    OrderTerms,
    StopProblem,
    fill_all,
    fill_half_order,
    match_tick,
    stop_problem,
)
from .config import SandboxConfig
from .errors import InputError, RateLimitError
from .hours import AMO_OUTSIDE_WINDOW, MARKETS_CLOSED, PRE_OPEN_ONLY_DAY_ORDERS, TradingHours
from .market import Market, is_index
from .wire import ist, num

VARIETIES = ("regular", "amo", "co", "iceberg", "auction")
SUPPORTED_VARIETIES = ("regular", "amo")
PRODUCTS = ("CNC", "NRML", "MIS", "MTF")
ORDER_TYPES = ("MARKET", "LIMIT", "SL", "SL-M")
VALIDITIES = ("DAY", "IOC", "TTL")
TRANSACTION_TYPES = ("BUY", "SELL")
TAG_RE = re.compile(r"^[A-Za-z0-9]{1,20}$")

TERMINAL = frozenset({"COMPLETE", "CANCELLED", "REJECTED"})
AMO_WAITING = "AMO REQ RECEIVED"
WORKING = frozenset({"OPEN", "TRIGGER PENDING"})  # at the exchange
# The status Kite's order updates (postbacks and the ticker) give a modification or a
# partial fill of a working order.
UPDATE = "UPDATE"
MODIFIABLE = WORKING | {AMO_WAITING}
# Margin blocked per rupee of exposure: delivery pays in full, intraday gets 5x leverage.
MARGIN_RATE = {"CNC": Decimal(1), "NRML": Decimal(1), "MTF": Decimal("0.5"),
               "MIS": Decimal("0.2")}

UNPROTECTED_MARKET = ("Market orders without market protection are not allowed via API. "
                      "Please set market protection or use a Limit order.")
AUTO_PROTECTION = -1
# The sandbox's automatic protection band (market_protection=-1): percent of the last price,
# by the last price. Kite decides its own band "as per exchange rules" and does not publish
# it for the API; this is a plausible stand-in, kept as data.
AUTO_PROTECTION_BANDS = ((Decimal(100), Decimal(2)), (Decimal(1000), Decimal(1)),
                         (None, Decimal("0.5")))
PROTECTION_TAG = "mktp"
# The sandbox fills at the last price, no slippage; with partial fills on, half an order at
# a time.
AT_ONCE = FillPolicy(sizing=fill_all)
IN_HALVES = FillPolicy(sizing=fill_half_order)
STOP_REFUSALS = {
    (Side.BUY, StopProblem.TRIGGER_BEYOND_LIMIT):
        "Trigger price for stoploss buy orders cannot be above the price.",
    (Side.SELL, StopProblem.TRIGGER_BEYOND_LIMIT):
        "Trigger price for stoploss sell orders cannot be below the price.",
    (Side.BUY, StopProblem.ALREADY_REACHED):
        "Trigger price for stoploss buy orders should be higher than the last traded price.",
    (Side.SELL, StopProblem.ALREADY_REACHED):
        "Trigger price for stoploss sell orders should be lower than the last traded price.",
}

OrderListener = Callable[[str, dict[str, Any]], None]
RiskCheck = Callable[["Order"], str | None]


@dataclass(slots=True)
class Trade:
    trade_id: str
    order_id: str
    exchange_order_id: str | None
    instrument: ListedInstrument
    product: str
    transaction_type: str
    quantity: int
    price: Decimal
    at: datetime
    order_time: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "trade_id": self.trade_id,
            "order_id": self.order_id,
            "exchange": self.instrument.exchange,
            "tradingsymbol": self.instrument.symbol,
            "instrument_token": self.instrument.token,
            "product": self.product,
            "average_price": num(self.price),
            "quantity": self.quantity,
            "exchange_order_id": self.exchange_order_id,
            "transaction_type": self.transaction_type,
            "fill_timestamp": ist(self.at),
            # Kite's trade book gives the order time as a bare "HH:MM:SS".
            "order_timestamp": ensure_utc(self.order_time).astimezone(IST).strftime("%H:%M:%S"),
            "exchange_timestamp": ist(self.at),
        }


@dataclass(slots=True)
class Order:
    order_id: str
    user_id: str
    variety: str
    instrument: ListedInstrument
    transaction_type: str
    quantity: int
    product: str
    order_type: str
    price: Decimal
    trigger_price: Decimal
    validity: str
    validity_ttl: int | None
    disclosed_quantity: int
    tag: str | None
    market_protection: Decimal
    algo_id: str | None
    placed_at: datetime
    release_at: datetime | None = None  # an AMO: when it reaches the exchange
    accepted_at: datetime | None = None  # when the exchange took it
    expires_at: datetime | None = None  # the end of its validity (DAY: the close)
    status: str = "PUT ORDER REQ RECEIVED"
    status_message: str | None = None
    exchange_order_id: str | None = None
    updated_at: datetime | None = None
    exchange_timestamp: datetime | None = None
    average_price: Decimal = Decimal(0)
    filled_quantity: int = 0
    cancelled_quantity: int = 0
    modified: bool = False
    modifications: int = 0
    triggered: bool = False
    # Kite's own tags (after the trader's): "mktp" and "mktp:<percent>" on a protected order.
    system_tags: list[str] = field(default_factory=list)
    # The protection price of a protected SL-M once triggered: it fills no worse than this.
    protection_price: Decimal | None = None
    guid: str = field(default_factory=lambda: secrets.token_hex(8))
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pending_quantity(self) -> int:
        if self.status in TERMINAL:
            return 0
        return self.quantity - self.filled_quantity - self.cancelled_quantity

    @property
    def is_stop(self) -> bool:
        return self.order_type in STOP_KINDS

    @property
    def side(self) -> Side:
        return Side(self.transaction_type)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.user_id,
            "placed_by": self.user_id,
            "order_id": self.order_id,
            "exchange_order_id": self.exchange_order_id,
            "parent_order_id": None,
            "status": self.status,
            "status_message": self.status_message,
            "status_message_raw": self.status_message,
            "order_timestamp": ist(self.updated_at or self.placed_at),
            "exchange_update_timestamp": ist(self.exchange_timestamp and self.updated_at),
            "exchange_timestamp": ist(self.exchange_timestamp),
            "variety": self.variety,
            "modified": self.modified,
            "exchange": self.instrument.exchange,
            "tradingsymbol": self.instrument.symbol,
            "instrument_token": self.instrument.token,
            "order_type": self.order_type,
            "transaction_type": self.transaction_type,
            "validity": self.validity,
            "validity_ttl": self.validity_ttl or 0,
            "product": self.product,
            "quantity": self.quantity,
            "disclosed_quantity": self.disclosed_quantity,
            "price": num(self.price),
            "trigger_price": num(self.trigger_price),
            "average_price": num(self.average_price),
            "filled_quantity": self.filled_quantity,
            "pending_quantity": self.pending_quantity,
            "cancelled_quantity": self.cancelled_quantity,
            "market_protection": num(self.market_protection),
            "meta": {},
            "tag": self.tag,
            "tags": ([self.tag] if self.tag else []) + self.system_tags,
            "guid": self.guid,
            "algo_id": self.algo_id,
        }


# -- field parsing -----------------------------------------------------------------------------


def _decimal(form: Mapping[str, str], name: str) -> Decimal | None:
    """The field as a number (None if absent); InputError if it is not one."""
    raw = form.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InputError(f"Invalid `{name}`: {raw} (expected decimal).") from None
    if not value.is_finite():
        raise InputError(f"Invalid `{name}`.")
    return value


def _int(form: Mapping[str, str], name: str, default: int | None = None) -> int | None:
    value = _decimal(form, name)
    if value is None:
        return default
    if value != value.to_integral_value():
        raise InputError(f"Invalid `{name}`: must be a whole number.")
    return int(value)


def _price(form: Mapping[str, str], name: str) -> Decimal | None:
    value = _decimal(form, name)
    if value is not None and value < 0:
        raise InputError(f"Invalid `{name}`.")
    return value


def _choice(form: Mapping[str, str], name: str, allowed: tuple[str, ...],
            default: str | None = None) -> str:
    value = form.get(name) or default
    if value is None:
        raise InputError(f"Missing `{name}`.")
    if value not in allowed:
        raise InputError(f"Invalid `{name}`: {value}.")
    return value


def _market_protection(form: Mapping[str, str], default: Decimal = Decimal(0)) -> Decimal:
    """A percentage (a decimal, 0 to 100) or -1 for Kite's automatic protection."""
    value = _decimal(form, "market_protection")
    if value is None:
        return default
    if value != AUTO_PROTECTION and not 0 <= value <= 100:
        raise InputError("Invalid `market_protection`: -1 (auto) or 0 to 100.")
    return value


def _check_prices(order_type: str, price: Decimal | None, trigger: Decimal | None) -> None:
    if order_type in PRICED_KINDS and (price is None or price <= 0):
        raise InputError("Invalid `price`: a LIMIT or SL order needs a price above 0.")
    if order_type in STOP_KINDS and (trigger is None or trigger <= 0):
        raise InputError("Invalid `trigger_price`: an SL or SL-M order needs a trigger price.")


class OrderBook:
    """All orders and trades of the sandbox. Every public method takes the shared lock."""

    def __init__(self, config: SandboxConfig, market: Market,
                 lock: threading.RLock | None = None) -> None:
        self._config = config
        self._market = market
        self._lock = lock or threading.RLock()
        self.orders: dict[str, Order] = {}
        self.trades: list[Trade] = []
        self.partial_fills = config.partial_fills
        self.reject_unprotected_market = config.reject_unprotected_market
        # The portfolio's checks: shares for a CNC sell, margin for the rest.
        self.holdings_check: RiskCheck | None = None
        self.funds_check: RiskCheck | None = None
        self._hours = TradingHours(config.calendar)
        self._matching_at_last_look = False
        self._listeners: list[OrderListener] = []
        self._seq = 0
        self._trade_seq = 0

    def add_listener(self, listener: OrderListener) -> None:
        self._listeners.append(listener)

    def _now(self) -> datetime:
        return ensure_utc(self._config.clock.now())

    def _next_order_id(self, now: datetime) -> str:
        self._seq += 1
        return now.astimezone(IST).strftime("%y%m%d") + f"{self._seq:09d}"

    # -- life cycle ----------------------------------------------------------------------------

    def _transition(self, order: Order, status: str, message: str | None = None, *,
                    announce_as: str | None = None) -> None:
        """Move `order` to `status` and record it; final states are announced to listeners,
        other states only when `announce_as` gives the status the update carries."""
        order.status = status
        order.status_message = message
        order.updated_at = self._now()
        snapshot = order.to_dict()
        order.history.append(snapshot)
        if status in TERMINAL:
            announce_as = status
        if announce_as is None:
            return
        payload = dict(snapshot)
        payload.update({
            "status": announce_as,
            "user_id": order.user_id,
            "unfilled_quantity": order.pending_quantity,
            "checksum": "",
            "app_id": 0,
        })
        for listener in self._listeners:
            listener(order.user_id, payload)

    def place(self, user_id: str, variety: str, form: Mapping[str, str]) -> Order:
        """Validate the fields (InputError -> no order) and record the order as received."""
        with self._lock:
            return self.record(self.build(user_id, variety, form))

    def build(self, user_id: str, variety: str, form: Mapping[str, str]) -> Order:
        """The order `form` asks for, validated (InputError if not), not yet in the book."""
        with self._lock:
            if variety not in VARIETIES:
                raise InputError(f"Invalid `variety`: {variety}.")
            if variety not in SUPPORTED_VARIETIES:
                raise InputError(f"The sandbox does not support `{variety}` orders.")
            exchange = _choice(form, "exchange", ("NSE", "BSE", "NFO", "CDS", "BFO", "MCX",
                                                  "BCD"))
            symbol = form.get("tradingsymbol") or ""
            instrument = self._market.by_symbol(exchange, symbol)
            if instrument is None:
                raise InputError(f"Invalid `tradingsymbol`: {exchange}:{symbol} not found.")
            if is_index(instrument):
                raise InputError(f"{symbol} is an index and cannot be traded.")
            side = _choice(form, "transaction_type", TRANSACTION_TYPES)
            quantity = _int(form, "quantity")
            if quantity is None or quantity <= 0:
                raise InputError("Invalid `quantity`: must be a whole number above 0.")
            if quantity % instrument.lot_size:
                raise InputError(f"Quantity should be a multiple of lot size "
                                 f"{instrument.lot_size}.")
            product = _choice(form, "product", PRODUCTS)
            order_type = _choice(form, "order_type", ORDER_TYPES)
            price = _price(form, "price")
            trigger = _price(form, "trigger_price")
            _check_prices(order_type, price, trigger)
            validity = _choice(form, "validity", VALIDITIES, "DAY")
            ttl = _int(form, "validity_ttl")
            if validity == "TTL" and (ttl is None or ttl <= 0):
                raise InputError("Invalid `validity_ttl`: TTL orders need minutes above 0.")
            disclosed = _int(form, "disclosed_quantity", 0) or 0
            if not 0 <= disclosed <= quantity:
                raise InputError("Invalid `disclosed_quantity`.")
            tag = form.get("tag") or None
            if tag is not None and not TAG_RE.match(tag):
                raise InputError("Invalid `tag`: alphanumeric, at most 20 characters.")
            protection = _market_protection(form)
            now = self._now()
            self._check_hours(variety, order_type, validity, now)
            order = Order(
                order_id=self._next_order_id(now), user_id=user_id, variety=variety,
                instrument=instrument, transaction_type=side, quantity=quantity,
                product=product, order_type=order_type,
                price=price if order_type in PRICED_KINDS and price else Decimal(0),
                trigger_price=trigger if order_type in STOP_KINDS and trigger else Decimal(0),
                validity=validity, validity_ttl=ttl if validity == "TTL" else None,
                disclosed_quantity=disclosed, tag=tag, market_protection=protection,
                algo_id=form.get("algo_id") or None, placed_at=now,
            )
            return order

    def record(self, order: Order) -> Order:
        """Put a built order in the book as received (an AMO waits for its release)."""
        with self._lock:
            now = self._now()
            self.orders[order.order_id] = order
            if order.variety == "amo":
                order.release_at = self._amo_release(order, now)
                self._transition(order, AMO_WAITING)  # waits: see catch_up
                return order
            self._transition(order, "PUT ORDER REQ RECEIVED")
            self._transition(order, "VALIDATION PENDING")
            return order

    def _check_hours(self, variety: str, order_type: str, validity: str,
                     now: datetime) -> None:
        hours = self._hours
        if variety == "amo":
            if not hours.takes_amo(now):
                raise InputError(AMO_OUTSIDE_WINDOW)
        elif not hours.takes_regular(now):
            raise InputError(MARKETS_CLOSED)
        elif hours.in_pre_open(now) and (order_type not in ("LIMIT", "MARKET")
                                         or validity != "DAY"):
            raise InputError(PRE_OPEN_ONLY_DAY_ORDERS)

    def _amo_release(self, order: Order, now: datetime) -> datetime:
        at_open = order.is_stop or order.validity == "IOC"
        return self._hours.amo_release(now, at_open)

    def accept(self, order_id: str) -> None:
        """Risk checks, then hand the order to the 'exchange' and try to match it."""
        with self._lock:
            order = self.orders.get(order_id)
            if order is None or order.status != "VALIDATION PENDING":
                return  # cancelled meanwhile
            reason = self.refusal(order)
            if reason is not None:
                order.cancelled_quantity = 0
                self._transition(order, "REJECTED", reason)
                return
            order.exchange_order_id = "1100000" + order.order_id[-9:]
            order.exchange_timestamp = order.accepted_at = self._now()
            self._set_expiry(order)
            self._transition(order, "OPEN PENDING")
            self._transition(order, "TRIGGER PENDING" if order.is_stop else "OPEN")
            self._match(order, first_pass=True)

    def _set_expiry(self, order: Order) -> None:
        start = order.accepted_at or self._now()
        order.expires_at = self._hours.close_after(start)
        if order.validity == "TTL" and order.validity_ttl:
            order.expires_at = min(order.expires_at,
                                   start + timedelta(minutes=order.validity_ttl))

    def catch_up(self) -> None:
        """Apply what the clock says has happened since the last look: AMOs due reach the
        exchange, orders whose validity ended expire, and at the open the orders taken in
        the pre-open start matching."""
        with self._lock:
            now = self._now()
            for order in list(self.orders.values()):
                if order.status == AMO_WAITING and order.release_at is not None \
                        and order.release_at <= now:
                    self._transition(order, "VALIDATION PENDING")
                    self.accept(order.order_id)
            for order in list(self.orders.values()):
                if order.status in WORKING and order.expires_at is not None \
                        and order.expires_at <= now:
                    self._expire(order)
            matching = self._hours.is_matching(now)
            if matching and not self._matching_at_last_look:
                self.match_all()
            self._matching_at_last_look = matching

    def _expire(self, order: Order) -> None:
        order.cancelled_quantity = order.quantity - order.filled_quantity
        if order.validity == "TTL":
            why = (f"Cancelled by the exchange: the order's TTL validity of "
                   f"{order.validity_ttl} minutes ended.")
        else:
            why = "Cancelled by the exchange at the close: a DAY order ends with the session."
        self._transition(order, "CANCELLED", why)

    def _check_amo_window(self, order: Order, what: str) -> None:
        if order.status == AMO_WAITING and not self._hours.takes_amo(self._now()):
            raise InputError(f"This AMO cannot be {what} now. " + AMO_OUTSIDE_WINDOW)

    def refusal(self, order: Order) -> str | None:
        """Why the exchange or the broker's risk checks refuse `order` (None: taken). A
        protected MARKET order becomes the LIMIT it is held as first."""
        with self._lock:
            reason = self._protection_refusal(order)
            if reason is None:
                self._protect_market_order(order)
                reason = self._risk_reason(order)
            return reason

    def _protection_refusal(self, order: Order) -> str | None:
        if (self.reject_unprotected_market and order.order_type in ("MARKET", "SL-M")
                and order.market_protection == 0):
            return UNPROTECTED_MARKET
        return None

    def _protect_market_order(self, order: Order) -> None:
        """Hold a protected MARKET order as a LIMIT at its protection price, as Kite does
        (the order book then shows LIMIT, the price, and Kite's `mktp` tags)."""
        if order.order_type != "MARKET" or order.market_protection == 0:
            return
        ltp = self._market.last_price(order.instrument.token)
        protection = self._protection(order)
        percent = protection.percent_at(ltp)
        order.price = protection.limit(order.side, ltp, order.instrument.tick_size)
        order.order_type = "LIMIT"
        order.market_protection = Decimal(0)
        order.system_tags += [PROTECTION_TAG, f"{PROTECTION_TAG}:{percent:.2f}"]

    def _protection(self, order: Order) -> MarketProtection:
        """The order's market protection, kept inside the day's circuit limits."""
        setting = order.market_protection
        return MarketProtection(None if setting == AUTO_PROTECTION else setting,
                                AUTO_PROTECTION_BANDS,
                                self._market.circuit_limits(order.instrument.token))

    def _risk_reason(self, order: Order) -> str | None:
        tick = order.instrument.tick_size
        ltp = self._market.last_price(order.instrument.token)
        for name, value in (("price", order.price), ("trigger price", order.trigger_price)):
            if value and not is_tick_multiple(value, tick):
                return (f"Tick size for this script is {tick}. Kindly enter {name} in the "
                        f"multiple of tick size for this script")
        lower, upper = self._market.circuit_limits(order.instrument.token)
        for name, value in (("order price", order.price),
                            ("trigger price", order.trigger_price)):
            if value and value < lower:
                return (f"Your {name} is lower than the current lower circuit limit of "
                        f"{lower}. Place an order within the daily range.")
            if value and value > upper:
                return (f"Your {name} is higher than the current upper circuit limit of "
                        f"{upper}. Place an order within the daily range.")
        if order.is_stop:
            problem = stop_problem(
                order.side, order.trigger_price,
                limit=order.price if order.order_type == OrderKind.SL else None, last=ltp)
            if problem is not None:
                return STOP_REFUSALS[order.side, problem]
        for check in (self.holdings_check, self.funds_check):
            reason = check(order) if check is not None else None
            if reason is not None:
                return reason
        return None

    def modify(self, order_id: str, form: Mapping[str, str]) -> Order:
        with self._lock:
            order = self._get(order_id)
            if order.status not in MODIFIABLE:
                raise InputError(f"Order cannot be modified as it is {order.status}.")
            self._check_amo_window(order, "modified")
            if order.modifications >= self._config.rate_limits.modifications_per_order:
                raise RateLimitError("Maximum allowed order modifications exceeded.")
            order_type = _choice(form, "order_type", ORDER_TYPES, order.order_type)
            quantity = _int(form, "quantity", order.quantity)
            assert quantity is not None
            if quantity <= order.filled_quantity or quantity % order.instrument.lot_size:
                raise InputError("Invalid `quantity`.")
            price = _price(form, "price")
            trigger = _price(form, "trigger_price")
            new_price = price if price is not None else order.price
            new_trigger = trigger if trigger is not None else order.trigger_price
            _check_prices(order_type, new_price, new_trigger)
            validity = _choice(form, "validity", VALIDITIES, order.validity)
            disclosed = _int(form, "disclosed_quantity", order.disclosed_quantity) or 0
            protection = _market_protection(form, order.market_protection)
            if order.triggered and order_type != order.order_type:
                raise InputError("A triggered stop-loss order cannot change its order type.")
            tick = order.instrument.tick_size
            for value in (new_price, new_trigger):
                if order_type != "MARKET" and value and not is_tick_multiple(value, tick):
                    raise InputError(f"Tick size for this script is {tick}.")
            if (self.reject_unprotected_market and order_type in ("MARKET", "SL-M")
                    and protection == 0):
                raise InputError(UNPROTECTED_MARKET)
            waiting_amo = order.status == AMO_WAITING
            self._transition(order, "MODIFY VALIDATION PENDING")
            self._transition(order, "MODIFY PENDING")
            order.order_type = order_type
            order.quantity = quantity
            order.price = new_price if order_type in PRICED_KINDS else Decimal(0)
            order.trigger_price = new_trigger if order_type in STOP_KINDS else Decimal(0)
            order.validity = validity
            order.disclosed_quantity = min(disclosed, quantity)
            order.market_protection = protection
            self._protect_market_order(order)
            order.modified = True
            order.modifications += 1
            self._transition(order, "MODIFIED", announce_as=UPDATE)
            if waiting_amo:
                order.release_at = self._amo_release(order, self._now())
                self._transition(order, AMO_WAITING)
                return order
            self._set_expiry(order)
            waiting = order.is_stop and not order.triggered
            self._transition(order, "TRIGGER PENDING" if waiting else "OPEN")
            self._match(order)
            return order

    def cancel(self, order_id: str) -> Order:
        with self._lock:
            order = self._get(order_id)
            if order.status in TERMINAL:
                raise InputError(f"Order cannot be cancelled as it is {order.status}.")
            self._check_amo_window(order, "cancelled")
            self._transition(order, "CANCEL PENDING")
            order.cancelled_quantity = order.quantity - order.filled_quantity
            self._transition(order, "CANCELLED")
            return order

    def _get(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise InputError("Couldn't find that `order_id`.")
        return order

    # -- matching ------------------------------------------------------------------------------

    def match_all(self) -> None:
        with self._lock:
            for order in list(self.orders.values()):
                if order.status in WORKING:
                    self._match(order)

    def match_token(self, token: int) -> None:
        with self._lock:
            for order in list(self.orders.values()):
                if order.status in WORKING and order.instrument.token == token:
                    self._match(order)

    def _match(self, order: Order, first_pass: bool = False) -> None:
        if not self._hours.is_matching(self._now()):
            return  # the exchange matches only in the session (pre-open orders wait)
        token = order.instrument.token
        limit = order.price if order.order_type in PRICED_KINDS else order.protection_price
        terms = OrderTerms(order.side, OrderKind(order.order_type), order.quantity,
                           order.pending_quantity, limit, order.trigger_price or None,
                           order.triggered, order.instrument.tick_size)
        protected_stop = (order.order_type == OrderKind.SL_M and not order.triggered
                          and order.market_protection != 0)
        policy = IN_HALVES if self.partial_fills else AT_ONCE
        match = match_tick(terms, self._market.last_price(token), policy,
                           protection=self._protection(order) if protected_stop else None,
                           liquidity=self._market.available(token))
        if match.triggered_at is not None:
            order.triggered = True
            order.protection_price = match.protection_limit
            self._transition(order, "OPEN", announce_as="OPEN")
        if match.fill is not None:
            self._market.consume(token, match.fill.quantity)
            self._fill(order, match.fill.quantity, match.fill.price)
        if order.status == "OPEN" and order.validity == "IOC" and first_pass:
            order.cancelled_quantity = order.pending_quantity
            self._transition(order, "CANCELLED", "IOC order could not be filled in full.")

    def _fill(self, order: Order, quantity: int, price: Decimal) -> None:
        now = self._now()
        self._trade_seq += 1
        trade = Trade(
            trade_id=str(10_000_000 + self._trade_seq), order_id=order.order_id,
            exchange_order_id=order.exchange_order_id, instrument=order.instrument,
            product=order.product, transaction_type=order.transaction_type,
            quantity=quantity, price=price, at=now, order_time=order.placed_at,
        )
        self.trades.append(trade)
        value = order.average_price * order.filled_quantity + price * quantity
        order.filled_quantity += quantity
        order.average_price = (value / order.filled_quantity).quantize(Decimal("0.01"))
        done = order.filled_quantity >= order.quantity
        # A partial fill leaves the order OPEN and is announced as an UPDATE, as Kite does.
        self._transition(order, "COMPLETE" if done else "OPEN",
                         announce_as=None if done else UPDATE)

    # -- queries -------------------------------------------------------------------------------

    def list_orders(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [o.to_dict() for o in self.orders.values() if o.user_id == user_id]

    def history(self, user_id: str, order_id: str) -> list[dict[str, Any]]:
        with self._lock:
            order = self._get(order_id)
            if order.user_id != user_id:
                raise InputError("Couldn't find that `order_id`.")
            return [dict(h) for h in order.history]

    def order_trades(self, user_id: str, order_id: str) -> list[dict[str, Any]]:
        with self._lock:
            order = self._get(order_id)
            if order.user_id != user_id:
                raise InputError("Couldn't find that `order_id`.")
            return [t.to_dict() for t in self.trades if t.order_id == order_id]

    def list_trades(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [t.to_dict() for t in self.trades
                    if self.orders[t.order_id].user_id == user_id]
