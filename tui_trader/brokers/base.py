"""The broker boundary: what the engine sends (`OrderRequest`), what a broker reports back
(`BrokerOrder`), how a command can fail, and the `Broker` protocol every adapter implements.

The outcome model follows NautilusTrader's order lifecycle: every command ends confirmed
(a `BrokerOrder` comes back), rejected (`OrderRejected`: the broker said no, nothing is live),
not sent (`BrokerUnavailable`: safe to retry) or *unknown* (`OutcomeUnknown`: the order may
or may not exist). An unknown outcome is never retried; the engine reconciles it by looking
the order up with `Broker.orders_by_tag(client_tag)`, which is why every request carries a
deterministic `client_tag` (see `make_client_tag`).

Rejections a broker decides on the spot raise `OrderRejected`; rejections it decides later
(Kite's RMS after accepting the request) arrive as an order update whose status is REJECTED,
so the engine handles both.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, runtime_checkable

from tui_trader.domain.enums import OrderKind, OrderStatus, Side
from tui_trader.domain.errors import BrokerError, ValidationError

CLIENT_TAG_MAX_LEN = 20  # Kite's limit on an order `tag`
PRODUCTS = frozenset({"MIS", "CNC", "NRML"})
VALIDITIES = frozenset({"DAY"})
_CLIENT_TAG_RE = re.compile(rf"[A-Za-z0-9]{{1,{CLIENT_TAG_MAX_LEN}}}")


def validate_client_tag(tag: str) -> str:
    """Return `tag` if it is 1-20 ASCII letters or digits, else raise ValidationError."""
    if not isinstance(tag, str) or not _CLIENT_TAG_RE.fullmatch(tag):
        raise ValidationError(
            "client_tag", f"must be 1-{CLIENT_TAG_MAX_LEN} ASCII letters or digits"
        )
    return tag


def make_client_tag(event_id: str, leg: str) -> str:
    """The idempotency key for one leg of one order event: same inputs, same tag.

    20 characters of the base32 SHA-256 digest (100 bits), so a retried event or a second
    engine working the same event produces the same tag and the broker's order book can be
    searched for it.
    """
    if not event_id:
        raise ValidationError("event_id", "is required to derive a client tag")
    digest = hashlib.sha256(f"{event_id}\x1f{leg}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:CLIENT_TAG_MAX_LEN]


def _money_or_none(name: str, value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float) or isinstance(value, bool):
        raise ValidationError(name, "must be given as an exact Decimal, not a float")
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError(name, "must be a number like 1520.50") from exc


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order the engine asks a broker to place.

    Only what is ours to get right is checked here (the tag, product, validity, exact money
    types); the broker's own rules (quantity, tick size, funds, symbol) are the broker's to
    reject, so the paper broker can reject them the way a real broker would.
    """

    client_tag: str
    symbol: str
    side: Side
    kind: OrderKind
    quantity: int
    price: Decimal | None = None  # LIMIT and SL
    trigger_price: Decimal | None = None  # SL and SL-M
    exchange: str = "NSE"
    product: str = "MIS"
    validity: str = "DAY"

    def __post_init__(self) -> None:
        validate_client_tag(self.client_tag)
        try:
            object.__setattr__(self, "side", Side(self.side))
        except ValueError as exc:
            raise ValidationError("side", "must be BUY or SELL") from exc
        try:
            object.__setattr__(self, "kind", OrderKind(self.kind))
        except ValueError as exc:
            raise ValidationError("kind", "must be MARKET, LIMIT, SL or SL-M") from exc
        object.__setattr__(self, "price", _money_or_none("price", self.price))
        object.__setattr__(
            self, "trigger_price", _money_or_none("trigger_price", self.trigger_price)
        )
        if self.product not in PRODUCTS:
            raise ValidationError("product", "must be MIS, CNC or NRML")
        if self.validity not in VALIDITIES:
            raise ValidationError("validity", "must be DAY")


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """A broker's view of one order at one moment; a new snapshot for every change.

    `raw` is the broker's own representation (JSON-serialisable) and is stored verbatim as
    the order's raw_response. `message` carries the broker's reason for a rejection.
    """

    broker_order_id: str
    client_tag: str
    symbol: str
    side: Side
    kind: OrderKind
    quantity: int
    status: OrderStatus
    filled_quantity: int
    average_price: Decimal | None
    message: str | None
    updated_at: datetime  # UTC-aware
    raw: dict[str, Any] = field(hash=False, compare=True)
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    exchange: str = "NSE"
    product: str = "MIS"

    @property
    def pending_quantity(self) -> int:
        """Quantity still working at the broker (0 once the order is final)."""
        if self.status.is_final:
            return 0
        return self.quantity - self.filled_quantity

    @property
    def is_final(self) -> bool:
        return self.status.is_final


class OrderRejected(BrokerError):
    """The broker said no: the order is definitely not live. `order` is the broker's record
    of the rejection when it keeps one (the paper broker does)."""

    def __init__(self, reason: str, *, order: BrokerOrder | None = None) -> None:
        super().__init__(f"order rejected: {reason}")
        self.reason = reason
        self.order = order


class OrderNotFound(BrokerError):
    """No order with that id exists at the broker."""

    def __init__(self, broker_order_id: str) -> None:
        super().__init__(f"order {broker_order_id} not found at the broker")
        self.broker_order_id = broker_order_id


class OutcomeUnknown(BrokerError):
    """The request may or may not have reached the broker (timeout, connection lost).

    Never re-send: reconcile with `Broker.orders_by_tag(client_tag)` instead.
    """

    def __init__(self, message: str, *, client_tag: str | None = None) -> None:
        super().__init__(message)
        self.client_tag = client_tag


class BrokerUnavailable(BrokerError):
    """The request definitely did not leave (refused before sending); safe to retry."""


class TokenExpired(BrokerError):
    """The broker session's access token is no longer valid; the user must log in again."""


class AccountUnusable(BrokerError):
    """A broker account cannot be used at all until someone acts: its stored credentials do
    not decrypt, or it is not an account of the user an order or strategy belongs to
    (`foreign`). The message names the account and is safe to show that user."""

    def __init__(self, account_id: object, message: str, *, foreign: bool = False) -> None:
        super().__init__(message)
        self.account_id = account_id
        self.foreign = foreign


OrderUpdateListener = Callable[[BrokerOrder], None]


@runtime_checkable
class Broker(Protocol):
    """What the engine needs from a broker. Implementations must be thread-safe."""

    name: str

    def place_order(self, req: OrderRequest) -> BrokerOrder:
        """Place an order; raises OrderRejected, OutcomeUnknown, BrokerUnavailable or
        TokenExpired. The returned snapshot may already be final."""
        ...

    def modify_order(
        self,
        broker_order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
    ) -> BrokerOrder:
        """Change a working order; `quantity` is the new total quantity."""
        ...

    def cancel_order(self, broker_order_id: str) -> BrokerOrder: ...

    def get_order(self, broker_order_id: str) -> BrokerOrder: ...

    def order_history(self, broker_order_id: str) -> list[BrokerOrder]:
        """Every state the order went through, oldest first."""
        ...

    def orders(self) -> list[BrokerOrder]:
        """Today's orders, latest state of each, in placement order."""
        ...

    def orders_by_tag(self, client_tag: str) -> list[BrokerOrder]:
        """Every order carrying `client_tag` (brokers do not enforce uniqueness)."""
        ...

    def funds(self) -> Decimal:
        """Cash available for new orders."""
        ...

    def subscribe_updates(self, listener: OrderUpdateListener) -> None:
        """Register a callback for changes the broker makes on its own (fills, triggers,
        late rejections); it may be called from another thread."""
        ...

    def close(self) -> None: ...
