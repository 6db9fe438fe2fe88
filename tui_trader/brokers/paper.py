"""The paper broker: a deterministic in-memory exchange and account behind the `Broker`
protocol, always available, used for PAPER strategies, the demo and the engine's tests.

It owns order matching against ticks it is fed (`on_tick` / `on_ticks`), the cash account
(with funds blocked for working BUY orders), per-symbol day positions, the trade list and
every order's history. It does not know about market hours: the engine decides when to send.

Matching, per tick of the order's symbol, in placement order, decided by the matching core
(`tui_trader.brokers.matching`) with this broker's numbers (slippage, partial fills):
- MARKET fills at the first tick *after* placement (default). A price the trader has
  already seen is not a price they could still get, and filling asynchronously makes the
  engine take the same path it takes with Kite (place -> OPEN, fill arrives as an update).
  At the simulated feed's 4 ticks/s that is a fill within ~250 ms, which is quick enough.
  `fill_market_immediately=True` fills at the last known price inside `place_order`
  instead (when one is known), for callers that want the fill in the return value.
- LIMIT BUY fills when the tick is <= the limit, SELL when >= it, at the tick price (with
  slippage) but never worse than the limit.
- SL / SL-M BUY triggers when the tick is >= the trigger, SELL when <= it; from that tick on
  SL is a LIMIT and SL-M a MARKET order (a triggering tick can also fill).
- `slippage_ticks` moves every MARKET-style fill that many ticks against the order.
- `partial_fills=True` fills a seeded 20-50 % of the order's quantity per matching tick
  (status PARTIALLY_FILLED in between) until done.

Money: an instant full-cash model without charges. A BUY blocks price x quantity (limit,
trigger, or last price for MARKET) from `funds()` while it works and is rejected if that
exceeds `funds()`; a fill moves exactly price x quantity between cash and the position.
MIS/NRML sells may go short; CNC sells are limited to the long position held.

Order updates: every fill and every stop trigger is announced to the update listeners,
outside the lock, in the thread that caused it (`on_tick`, or `place_order` for an immediate
fill). Placement, modify and cancel acknowledgements are the calls' return values.
Synchronous rejections raise `OrderRejected`, and the rejected order stays in the book with
its reason, as Kite keeps RMS rejections.

Fault injection for the engine's tests: `fail_next(n, exc_type)` and `placed_count()`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tui_trader.domain.clock import Clock, ensure_utc
from tui_trader.domain.enums import OrderKind, OrderStatus, Side
from tui_trader.domain.errors import BrokerError, ValidationError
from tui_trader.domain.price_grid import is_tick_multiple
from tui_trader.domain.universe import BY_SYMBOL, ListedInstrument

from .base import (
    BrokerOrder,
    BrokerUnavailable,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    OrderUpdateListener,
    OutcomeUnknown,
)
from .feeds.base import Tick
from .matching import (
    NO_MATCH,
    PRICED_KINDS,
    STOP_KINDS,
    FillPolicy,
    OrderTerms,
    SeededShare,
    StopProblem,
    TickSlippage,
    affordable,
    fill_all,
    margin_required,
    match_tick,
    reserve_price,
    stop_problem,
)

log = logging.getLogger(__name__)

_AVERAGE_PLACES = Decimal("0.0001")

# Kite's status strings, kept in `raw` so the paper book reads like Kite's.
_RECEIVED = "PUT ORDER REQ RECEIVED"
_TRIGGER_PENDING = "TRIGGER PENDING"
_OPEN = "OPEN"
_COMPLETE = "COMPLETE"
_CANCELLED = "CANCELLED"
_REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class PaperTrade:
    """One execution: a whole or partial fill of an order."""

    trade_id: str
    broker_order_id: str
    client_tag: str
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    ts: datetime


@dataclass(frozen=True, slots=True)
class PaperPosition:
    """A day position, kept as Kite keeps it: exact buy/sell totals, net signed quantity."""

    symbol: str
    quantity: int
    buy_quantity: int
    buy_value: Decimal
    sell_quantity: int
    sell_value: Decimal

    def pnl(self, last_price: Decimal) -> Decimal:
        """Realised plus unrealised P&L marked at `last_price` (exact)."""
        return self.sell_value - self.buy_value + self.quantity * last_price


@dataclass(slots=True)
class _WorkingOrder:
    """The broker's mutable record of one order (never leaves the lock)."""

    order_id: str
    request: OrderRequest
    instrument: ListedInstrument | None
    quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    status: OrderStatus
    kite_status: str
    triggered: bool
    block_per_unit: Decimal  # cash blocked per pending unit (BUY only)
    placed_at: datetime
    updated_at: datetime
    message: str | None = None
    filled_quantity: int = 0
    filled_value: Decimal = Decimal(0)
    cancelled_quantity: int = 0
    # The matching core's view of a working order, rebuilt by every recorded change
    # (`_remember`) rather than on every tick; None once the order is final.
    terms: OrderTerms | None = None

    @property
    def pending(self) -> int:
        return 0 if self.status.is_final else self.quantity - self.filled_quantity

    @property
    def blocked(self) -> Decimal:
        return self.block_per_unit * self.pending


def _average(value: Decimal, quantity: int) -> Decimal | None:
    """Exact when it terminates within 4 places (always, for single-price fills)."""
    if quantity == 0:
        return None
    average = value / quantity
    if -average.as_tuple().exponent > 4:  # type: ignore[operator]
        average = average.quantize(_AVERAGE_PLACES)
    return average


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class PaperBroker:
    """An in-memory, thread-safe, deterministic broker and exchange."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 0,
        starting_cash: Decimal = Decimal("1000000"),
        partial_fills: bool = False,
        slippage_ticks: int = 0,
        latency: float | tuple[float, float] | None = None,
        fill_market_immediately: bool = False,
        instruments: Mapping[str, ListedInstrument] | None = None,
        name: str = "paper",
    ) -> None:
        if not isinstance(starting_cash, Decimal) or starting_cash < 0:
            raise ValidationError("starting_cash", "must be a Decimal >= 0")
        self.name = name
        self._clock = clock
        self._latency = latency
        # A MARKET order fills inside its own call at the last price seen (when there is
        # one), instead of at the next tick. Tests switch it to let an order rest.
        self.fill_market_immediately = fill_market_immediately
        self._instruments = dict(instruments) if instruments is not None else BY_SYMBOL
        # Every matching decision is the core's; these are the paper broker's numbers.
        self._fill_policy = FillPolicy(
            TickSlippage(slippage_ticks),
            SeededShare(random.Random(seed)) if partial_fills else fill_all)
        self._latency_rng = random.Random(f"latency:{seed}")
        self._lock = threading.Lock()
        self._cash = starting_cash
        self._orders: dict[str, _WorkingOrder] = {}
        self._history: dict[str, list[BrokerOrder]] = {}
        self._by_tag: dict[str, list[str]] = {}
        self._working_by_symbol: dict[str, list[str]] = {}
        self._positions: dict[str, PaperPosition] = {}
        self._trades: list[PaperTrade] = []
        self._last_price: dict[str, Decimal] = {}
        self._listeners: list[OrderUpdateListener] = []
        self._faults: deque[type[BrokerError]] = deque()
        self._closed = False

    # -- the Broker protocol ---------------------------------------------------------------

    def place_order(self, req: OrderRequest) -> BrokerOrder:
        announce: list[BrokerOrder] = []
        with self._lock:
            self._require_open()
            fault = self._faults.popleft() if self._faults else None
            ambiguous = fault is not None and issubclass(fault, OutcomeUnknown)
            injected_rejection = fault is not None and issubclass(fault, OrderRejected)
            if fault is not None and not (ambiguous or injected_rejection):
                raise fault(f"{self.name}: injected {fault.__name__} (order not sent)")
            order = self._record(req, injected_rejection=injected_rejection)
            if (order.status is OrderStatus.OPEN and self.fill_market_immediately
                    and req.kind is OrderKind.MARKET):
                last = self._last_price.get(req.symbol)
                if last is not None:
                    announce.extend(self._match(order, last, self._clock.now()))
            result = self._snapshot(order)
        self._announce(announce)
        self._simulate_latency()
        if ambiguous:
            assert fault is not None
            raise fault(  # type: ignore[call-arg]
                f"{self.name}: injected {fault.__name__}: the response was lost, the order "
                f"may exist", client_tag=req.client_tag)
        if result.status is OrderStatus.REJECTED:
            raise OrderRejected(result.message or "rejected", order=result)
        return result

    def modify_order(
        self,
        broker_order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> BrokerOrder:
        with self._lock:
            self._require_open()
            order = self._find(broker_order_id)
            reason = self._modify_problem(order, quantity, price, trigger_price)
            if reason is not None:
                raise OrderRejected(reason, order=self._snapshot(order))
            if quantity is None and price is None and trigger_price is None:
                return self._snapshot(order)
            if quantity is not None:
                order.quantity = quantity
            if price is not None:
                order.price = price
            if trigger_price is not None:
                order.trigger_price = trigger_price
            if order.request.side is Side.BUY and (price is not None or trigger_price is not None):
                order.block_per_unit = self._reserve_price(order)
            order.message = "modified"
            order.updated_at = self._clock.now()
            return self._remember(order)

    def cancel_order(self, broker_order_id: str) -> BrokerOrder:
        with self._lock:
            self._require_open()
            order = self._find(broker_order_id)
            if order.status.is_final:
                raise OrderRejected(
                    f"order is {order.status.value} and can no longer be cancelled",
                    order=self._snapshot(order),
                )
            order.cancelled_quantity = order.quantity - order.filled_quantity
            self._finish(order, OrderStatus.CANCELLED, _CANCELLED, "cancelled by the user")
            order.updated_at = self._clock.now()
            return self._remember(order)

    def get_order(self, broker_order_id: str) -> BrokerOrder:
        with self._lock:
            return self._snapshot(self._find(broker_order_id))

    def order_history(self, broker_order_id: str) -> list[BrokerOrder]:
        with self._lock:
            self._find(broker_order_id)
            return list(self._history[broker_order_id])

    def orders(self) -> list[BrokerOrder]:
        with self._lock:
            return [self._snapshot(o) for o in self._orders.values()]

    def working_symbols(self) -> set[str]:
        """Symbols with orders still working (cheap: no snapshots are built)."""
        with self._lock:
            return {symbol for symbol, ids in self._working_by_symbol.items() if ids}

    def orders_by_tag(self, client_tag: str) -> list[BrokerOrder]:
        with self._lock:
            return [self._snapshot(self._orders[i]) for i in self._by_tag.get(client_tag, ())]

    def funds(self) -> Decimal:
        """Cash minus what working BUY orders have blocked."""
        with self._lock:
            return self._available()

    def subscribe_updates(self, listener: OrderUpdateListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._listeners.clear()

    # -- beyond the protocol ---------------------------------------------------------------

    def unsubscribe_updates(self, listener: OrderUpdateListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def on_tick(self, symbol: str, price: Decimal, ts: datetime) -> None:
        """Feed one traded price; matches that symbol's working orders."""
        self.on_ticks([Tick(symbol, price, ts, 0, 0)])

    def on_ticks(self, ticks: Iterable[Tick]) -> None:
        """Feed a batch of ticks (usable directly as a feed's sink)."""
        announce: list[BrokerOrder] = []
        try:
            with self._lock:
                if self._closed:
                    return
                for tick in ticks:
                    self._apply_tick(tick, announce)
        finally:  # a bad tick must not swallow the fills the good ones before it made
            self._announce(announce)

    def cash(self) -> Decimal:
        """The account's cash, including what working orders have blocked."""
        with self._lock:
            return self._cash

    def positions(self) -> dict[str, PaperPosition]:
        with self._lock:
            return dict(self._positions)

    def position(self, symbol: str) -> PaperPosition | None:
        with self._lock:
            return self._positions.get(symbol)

    def trades(self, broker_order_id: str | None = None) -> list[PaperTrade]:
        with self._lock:
            return [t for t in self._trades
                    if broker_order_id is None or t.broker_order_id == broker_order_id]

    def last_price(self, symbol: str) -> Decimal | None:
        with self._lock:
            return self._last_price.get(symbol)

    def freeze_working_orders(self) -> None:
        """Orders working now are never matched by this exchange again: whoever drives it
        (a test) answers for them with updates of its own."""
        with self._lock:
            self._working_by_symbol.clear()

    def fail_next(self, n: int, exc_type: type[BrokerError] = OutcomeUnknown) -> None:
        """Make the next `n` place_order calls fail with `exc_type`.

        OutcomeUnknown (and subclasses) is raised *after* the order was recorded and is live:
        the ambiguous case. OrderRejected records the order as REJECTED, then raises. Any
        other type (BrokerUnavailable, TokenExpired, ...) is raised before anything is
        recorded: the order definitely does not exist.
        """
        with self._lock:
            self._faults.extend([exc_type] * n)

    def placed_count(self) -> int:
        """How many orders the broker has recorded, rejected ones included."""
        with self._lock:
            return len(self._orders)

    # -- internals (caller holds the lock) -------------------------------------------------

    def _require_open(self) -> None:
        if self._closed:
            raise BrokerUnavailable(f"{self.name} broker is closed")

    def _apply_tick(self, tick: Tick, announce: list[BrokerOrder]) -> None:
        price = tick.price
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            raise ValidationError(
                "price", f"tick for {tick.symbol} must be a positive Decimal, got {price!r}")
        ts = ensure_utc(tick.ts)
        self._last_price[tick.symbol] = price
        for order_id in list(self._working_by_symbol.get(tick.symbol, ())):
            announce.extend(self._match(self._orders[order_id], price, ts))

    def _find(self, broker_order_id: str) -> _WorkingOrder:
        order = self._orders.get(broker_order_id)
        if order is None:
            raise OrderNotFound(broker_order_id)
        return order

    def _available(self) -> Decimal:
        return self._cash - sum((o.blocked for o in self._working()), Decimal(0))

    def _working(self) -> Iterable[_WorkingOrder]:
        for ids in self._working_by_symbol.values():
            for order_id in ids:
                yield self._orders[order_id]

    def _record(self, req: OrderRequest, *, injected_rejection: bool) -> _WorkingOrder:
        now = self._clock.now()
        order_id = f"P{len(self._orders) + 1:06d}"
        instrument = self._instruments.get(req.symbol)
        kind = req.kind
        order = _WorkingOrder(
            order_id=order_id,
            request=req,
            instrument=instrument,
            quantity=req.quantity,
            price=req.price,
            trigger_price=req.trigger_price,
            status=OrderStatus.PENDING,
            kite_status=_RECEIVED,
            triggered=kind in (OrderKind.MARKET, OrderKind.LIMIT),
            block_per_unit=Decimal(0),
            placed_at=now,
            updated_at=now,
        )
        self._orders[order_id] = order
        self._history[order_id] = []
        self._by_tag.setdefault(req.client_tag, []).append(order_id)
        self._remember(order)

        reason = "injected rejection" if injected_rejection else self._placement_problem(req)
        if reason is None and req.side is Side.BUY:
            order.block_per_unit = self._reserve_price(order)
            need = margin_required(req.quantity, order.block_per_unit)
            available = self._available()
            if not affordable(need, available):
                reason = f"insufficient funds: the order needs {need}, {available} is available"
        if reason is not None:
            order.block_per_unit = Decimal(0)
            order.status, order.kite_status, order.message = (
                OrderStatus.REJECTED, _REJECTED, reason)
        else:
            order.status = OrderStatus.OPEN
            order.kite_status = _OPEN if order.triggered else _TRIGGER_PENDING
            self._working_by_symbol.setdefault(req.symbol, []).append(order_id)
        self._remember(order)
        return order

    def _placement_problem(self, req: OrderRequest) -> str | None:
        """Why the broker refuses `req`, or None. Checks run in a fixed order."""
        instrument = self._instruments.get(req.symbol)
        if instrument is None or instrument.exchange != req.exchange:
            return f"unknown instrument {req.exchange}:{req.symbol}"
        if instrument.instrument_type == "INDEX":
            return f"{req.symbol} is an index and cannot be traded"
        problem = self._quantity_problem(req.quantity, instrument)
        if problem:
            return problem
        kind = req.kind
        needs_price = kind in PRICED_KINDS
        needs_trigger = kind in STOP_KINDS
        if needs_price and req.price is None:
            return f"a {kind.value} order needs a price"
        if not needs_price and req.price is not None:
            return f"a {kind.value} order takes no price"
        if needs_trigger and req.trigger_price is None:
            return f"a {kind.value} order needs a trigger price"
        if not needs_trigger and req.trigger_price is not None:
            return f"a {kind.value} order takes no trigger price"
        for label, value in (("price", req.price), ("trigger price", req.trigger_price)):
            problem = self._price_problem(label, value, instrument)
            if problem:
                return problem
        if needs_trigger:
            assert req.trigger_price is not None
            problem = self._trigger_problem(req.side, req.trigger_price, req.price,
                                            self._last_price.get(req.symbol))
            if problem:
                return problem
        if req.product == "CNC" and req.side is Side.SELL:
            held = self._positions.get(req.symbol)
            if held is None or held.quantity < req.quantity:
                return f"insufficient holdings: CNC sell of {req.quantity} {req.symbol}"
        return None

    @staticmethod
    def _quantity_problem(quantity: object, instrument: ListedInstrument) -> str | None:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            return f"quantity must be a whole number, got {quantity!r}"
        if quantity <= 0:
            return "quantity must be greater than 0"
        if quantity % instrument.lot_size:
            return f"quantity must be a multiple of the lot size {instrument.lot_size}"
        return None

    @staticmethod
    def _price_problem(label: str, value: Decimal | None,
                       instrument: ListedInstrument) -> str | None:
        if value is None:
            return None
        if not value.is_finite() or value <= 0:
            return f"{label} must be greater than 0"
        if not is_tick_multiple(value, instrument.tick_size):
            return f"{label} {value} is not a multiple of the tick size {instrument.tick_size}"
        return None

    @staticmethod
    def _trigger_problem(side: Side, trigger: Decimal, limit: Decimal | None,
                         last: Decimal | None) -> str | None:
        problem = stop_problem(side, trigger, limit=limit, last=last)
        if problem is None:
            return None
        beyond = "above" if side is Side.BUY else "below"
        if problem is StopProblem.TRIGGER_BEYOND_LIMIT:
            return f"trigger price of a stop-loss {side} must not be {beyond} its price"
        return f"trigger price of a stop-loss {side} must be {beyond} the last price {last}"

    def _modify_problem(self, order: _WorkingOrder, quantity: int | None,
                        price: Decimal | None, trigger_price: Decimal | None) -> str | None:
        if order.status.is_final:
            return f"order is {order.status.value} and can no longer be modified"
        instrument = order.instrument
        assert instrument is not None  # only accepted orders are working
        kind = order.request.kind
        if quantity is not None:
            problem = self._quantity_problem(quantity, instrument)
            if problem:
                return problem
            if quantity <= order.filled_quantity:
                return f"quantity must exceed the {order.filled_quantity} already filled"
        if price is not None:
            if kind not in PRICED_KINDS:
                return f"a {kind.value} order takes no price"
            problem = self._price_problem("price", price, instrument)
            if problem:
                return problem
        if trigger_price is not None:
            if kind not in STOP_KINDS:
                return f"a {kind.value} order takes no trigger price"
            if order.triggered:
                return "the order has already triggered"
            problem = self._price_problem("trigger price", trigger_price, instrument)
            if problem:
                return problem
        if kind in STOP_KINDS and not order.triggered and (
                price is not None or trigger_price is not None):
            trigger = trigger_price if trigger_price is not None else order.trigger_price
            assert trigger is not None
            problem = self._trigger_problem(
                order.request.side, trigger, price if price is not None else order.price,
                self._last_price.get(order.request.symbol))
            if problem:
                return problem
        if order.request.side is Side.BUY:
            per_unit = order.block_per_unit
            if price is not None or trigger_price is not None:
                per_unit = self._reserve_price(order, price, trigger_price)
            new_pending = (quantity if quantity is not None else order.quantity) \
                - order.filled_quantity
            extra = margin_required(new_pending, per_unit) - order.blocked
            available = self._available()
            if not affordable(extra, available):
                return f"insufficient funds: the change needs {extra} more, {available} " \
                       f"is available"
        return None

    def _reserve_price(self, order: _WorkingOrder, price: Decimal | None = None,
                       trigger_price: Decimal | None = None) -> Decimal:
        """What a BUY blocks per pending unit, with a modification's new prices if given."""
        req, instrument = order.request, order.instrument
        assert instrument is not None  # only orders that passed validation block funds
        return reserve_price(
            req.kind, req.side,
            limit=price if price is not None else order.price,
            trigger=trigger_price if trigger_price is not None else order.trigger_price,
            last=self._last_price.get(req.symbol, instrument.ref_price),
            policy=self._fill_policy, tick=instrument.tick_size)

    def _match(self, order: _WorkingOrder, price: Decimal, ts: datetime) -> list[BrokerOrder]:
        """Apply one tick to one working order; the snapshots to announce."""
        assert order.terms is not None  # only accepted orders are working
        match = match_tick(order.terms, price, self._fill_policy)
        changes: list[BrokerOrder] = []
        if match is NO_MATCH:
            return changes
        if match.triggered_at is not None:
            order.triggered = True
            order.kite_status = _OPEN
            order.message = f"triggered at {match.triggered_at}"
            order.updated_at = ts
            changes.append(self._remember(order))
        if match.fill is not None:
            self._fill(order, match.fill.quantity, match.fill.price, ts)
            changes.append(self._remember(order))
        return changes

    def _fill(self, order: _WorkingOrder, quantity: int, price: Decimal, ts: datetime) -> None:
        req = order.request
        value = price * quantity
        order.filled_quantity += quantity
        order.filled_value += value
        order.updated_at = ts
        order.message = None
        if req.side is Side.BUY:
            self._cash -= value
        else:
            self._cash += value
        self._trades.append(PaperTrade(
            f"T{len(self._trades) + 1:06d}", order.order_id, req.client_tag, req.symbol,
            req.side, quantity, price, ts))
        self._add_to_position(req.symbol, req.side, quantity, value)
        if order.filled_quantity == order.quantity:
            self._finish(order, OrderStatus.FILLED, _COMPLETE, None)
        else:
            order.status = OrderStatus.PARTIALLY_FILLED

    def _add_to_position(self, symbol: str, side: Side, quantity: int, value: Decimal) -> None:
        held = self._positions.get(symbol) or PaperPosition(
            symbol, 0, 0, Decimal(0), 0, Decimal(0))
        if side is Side.BUY:
            held = PaperPosition(symbol, held.quantity + quantity,
                                 held.buy_quantity + quantity, held.buy_value + value,
                                 held.sell_quantity, held.sell_value)
        else:
            held = PaperPosition(symbol, held.quantity - quantity, held.buy_quantity,
                                 held.buy_value, held.sell_quantity + quantity,
                                 held.sell_value + value)
        self._positions[symbol] = held

    def _finish(self, order: _WorkingOrder, status: OrderStatus, kite_status: str,
                message: str | None) -> None:
        order.status, order.kite_status, order.message = status, kite_status, message
        working = self._working_by_symbol.get(order.request.symbol)
        if working and order.order_id in working:
            working.remove(order.order_id)

    def _snapshot(self, order: _WorkingOrder) -> BrokerOrder:
        req = order.request
        average = _average(order.filled_value, order.filled_quantity)
        raw: dict[str, Any] = {
            "order_id": order.order_id,
            "tag": req.client_tag,
            "exchange": req.exchange,
            "tradingsymbol": req.symbol,
            "transaction_type": req.side.value,
            "order_type": req.kind.value,
            "product": req.product,
            "validity": req.validity,
            "quantity": order.quantity,
            "price": _text(order.price),
            "trigger_price": _text(order.trigger_price),
            "status": order.kite_status,
            "status_message": order.message,
            "filled_quantity": order.filled_quantity,
            "pending_quantity": order.pending,
            "cancelled_quantity": order.cancelled_quantity,
            "average_price": _text(average),
            "order_timestamp": order.placed_at.isoformat(),
            "exchange_update_timestamp": order.updated_at.isoformat(),
        }
        return BrokerOrder(
            broker_order_id=order.order_id,
            client_tag=req.client_tag,
            symbol=req.symbol,
            side=req.side,
            kind=req.kind,
            quantity=order.quantity,
            status=order.status,
            filled_quantity=order.filled_quantity,
            average_price=average,
            message=order.message,
            updated_at=order.updated_at,
            raw=raw,
            price=order.price,
            trigger_price=order.trigger_price,
            exchange=req.exchange,
            product=req.product,
        )

    def _remember(self, order: _WorkingOrder) -> BrokerOrder:
        """Record the order's new state in its history (every change passes here)."""
        snapshot = self._snapshot(order)
        self._history[order.order_id].append(snapshot)
        order.terms = None
        if order.instrument is not None and not order.status.is_final:
            order.terms = OrderTerms(
                order.request.side, order.request.kind, order.quantity,
                order.quantity - order.filled_quantity, order.price, order.trigger_price,
                order.triggered, order.instrument.tick_size)
        return snapshot

    # -- outside the lock ------------------------------------------------------------------

    def _announce(self, updates: list[BrokerOrder]) -> None:
        if not updates:
            return
        with self._lock:
            listeners = list(self._listeners)
        for update in updates:
            for listener in listeners:
                try:
                    listener(update)
                except Exception:
                    log.exception("order update listener failed on %s",
                                  update.broker_order_id)

    def _simulate_latency(self) -> None:
        if self._latency is None:
            return
        if isinstance(self._latency, tuple):
            low, high = self._latency
            with self._lock:
                delay = self._latency_rng.uniform(low, high)
        else:
            delay = self._latency
        if delay > 0:
            time.sleep(delay)
