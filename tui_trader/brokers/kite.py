"""`KiteBroker`: the `Broker` protocol on Zerodha Kite Connect v3 (the official `kiteconnect`
client, imported lazily so the console starts fast).

Outcome model (see `brokers/base.py`):

* a placement Kite answered with an error it decided on (`InputException`,
  `OrderException`, `PermissionException`, and `MarginException`, `HoldingException`,
  `UserException`, which the client raises as GeneralException: the adapter reads the
  type off the response) is `OrderRejected`;
* a placement whose answer was lost (timeout, connection error, 5xx, an HTML page from a
  proxy, a body that is not JSON) is `OutcomeUnknown` and is **never** re-sent: the engine
  looks the order up by its tag (`orders_by_tag`);
* an HTTP 429 means Kite refused before doing anything: `BrokerUnavailable` (not placed);
* `TokenException` (token lapsed at 06:00 IST or revoked) is `TokenExpired` with one clear
  message; the broker then refuses locally until a new token arrives (no retry loops);
* failed reads are `BrokerUnavailable`.

A client-side limiter keeps placements under Kite's 10/s and 400/min (waiting briefly) and
5,000/day (refusing, never waiting). Prices cross the boundary as `Decimal` (`str()` of the
JSON floats). Secrets stay wrapped in `Secret` until handed to the SDK and never reach logs,
exceptions or reprs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ..domain.clock import IST, Clock, SystemClock, ensure_utc
from ..domain.enums import OrderKind, OrderStatus, Side
from ..domain.errors import BrokerError
from ..security.secret import Secret
from .base import (
    BrokerOrder,
    BrokerUnavailable,
    OrderNotFound,
    OrderRejected,
    OrderRequest,
    OrderUpdateListener,
    OutcomeUnknown,
    TokenExpired,
)

log = logging.getLogger(__name__)

TOKEN_EXPIRED_MESSAGE = "Kite session expired: log in again"
VARIETY = "regular"
DEFAULT_TIMEOUT_S = 7.0
# -1 = Kite's automatic market protection; MARKET and SL-M orders with 0 are rejected.
AUTO_MARKET_PROTECTION = -1

FINAL_STATUSES = {"COMPLETE": OrderStatus.FILLED, "CANCELLED": OrderStatus.CANCELLED,
                  "REJECTED": OrderStatus.REJECTED}
# Working at the exchange (may already be partly filled). UPDATE is not an order-book
# status: Kite's order updates carry it for a modification or a partial fill.
WORKING_STATUSES = frozenset({"OPEN", "TRIGGER PENDING", "MODIFY PENDING", "CANCEL PENDING",
                              "MODIFIED", "MODIFY VALIDATION PENDING", "UPDATE"})


def map_status(kite_status: str | None, filled_quantity: int = 0) -> OrderStatus:
    """Kite's order status (plus the filled quantity) as ours."""
    status = (kite_status or "").strip().upper()
    if status in FINAL_STATUSES:
        return FINAL_STATUSES[status]
    if filled_quantity > 0:
        return OrderStatus.PARTIALLY_FILLED
    if status in WORKING_STATUSES:
        return OrderStatus.OPEN
    # PUT ORDER REQ RECEIVED, VALIDATION PENDING, OPEN PENDING, AMO REQ RECEIVED, ...
    return OrderStatus.PENDING


# -- rate limiting --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderLimits:
    """Kite's placement limits per API key; they change, so they are data."""

    per_second: int = 10
    per_minute: int = 400
    per_day: int = 5000

    @classmethod
    def of(cls, value: OrderLimits | tuple[int, int, int] | None) -> OrderLimits:
        if value is None:
            return cls()
        if isinstance(value, OrderLimits):
            return value
        per_second, per_minute, per_day = value
        return cls(int(per_second), int(per_minute), int(per_day))


_EPSILON = 1e-9


class RateLimitExceeded(BrokerUnavailable):
    """The client-side limiter refused: nothing was sent."""


class OrderRateLimiter:
    """Token buckets for orders per second and per minute (callers wait for a token, up to
    `max_wait_s`), and a hard per-day count keyed by the IST trading date (refuses at once).

    Thread-safe. Time is injectable: `monotonic`/`sleep` drive the buckets, `clock` (UTC-aware
    wall time) decides the day.
    """

    def __init__(self, limits: OrderLimits, *, clock: Clock,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 max_wait_s: float = 65.0) -> None:
        self.limits = limits
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._max_wait = max_wait_s
        self._lock = threading.Lock()
        now = monotonic()
        self._buckets = [  # [capacity, refill per second, tokens, last refill]
            [float(limits.per_second), float(limits.per_second), float(limits.per_second), now],
            [float(limits.per_minute), limits.per_minute / 60.0, float(limits.per_minute), now],
        ]
        self._day: date | None = None
        self._day_count = 0
        self._penalty_until = 0.0

    def _refill(self, now: float) -> None:
        for bucket in self._buckets:
            capacity, rate, tokens, last = bucket
            bucket[2] = min(capacity, tokens + (now - last) * rate)
            bucket[3] = now

    def _wait_needed(self, now: float) -> float:
        wait = max(0.0, self._penalty_until - now)
        for _capacity, rate, tokens, _last in self._buckets:
            if tokens < 1.0 - _EPSILON:
                wait = max(wait, (1.0 - tokens) / rate if rate > 0 else float("inf"))
        return wait

    def used_today(self) -> int:
        with self._lock:
            return self._day_count if self._day == self._today() else 0

    def _today(self) -> date:
        return self._clock.now().astimezone(IST).date()

    def acquire(self) -> None:
        """Take one placement token, waiting if the second/minute buckets are empty."""
        waited = 0.0
        while True:
            with self._lock:
                today = self._today()
                if self._day != today:
                    self._day, self._day_count = today, 0
                if self._day_count >= self.limits.per_day:
                    raise RateLimitExceeded(
                        f"Kite order limit reached: {self.limits.per_day} orders today; "
                        "no more orders can be placed until tomorrow")
                now = self._monotonic()
                self._refill(now)
                wait = self._wait_needed(now)
                if wait <= 0:
                    for bucket in self._buckets:
                        bucket[2] = max(0.0, bucket[2] - 1.0)
                    self._day_count += 1
                    return
            if waited + wait > self._max_wait:
                raise RateLimitExceeded("Kite order rate limit: too many orders right now; "
                                        "not placed")
            wait = max(wait, 0.001)  # always make progress (float rounding)
            self._sleep(wait)
            waited += wait

    def penalize(self, seconds: float) -> None:
        """Kite answered 429: hold further placements for `seconds`."""
        with self._lock:
            self._penalty_until = max(self._penalty_until, self._monotonic() + seconds)


# -- helpers ------------------------------------------------------------------------------------


def to_decimal(value: Any) -> Decimal | None:
    """A JSON number (float/int/str) as an exact Decimal via its shortest repr; None if absent."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def parse_kite_time(value: Any) -> datetime | None:
    """Kite's IST timestamps ("YYYY-MM-DD HH:MM:SS" or the client's naive datetime) as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        stamp = value
    else:
        try:
            stamp = datetime.fromisoformat(str(value).strip())
        except ValueError:
            return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=IST)
    return ensure_utc(stamp)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# Tags Kite adds on its own: a protected market order's "mktp" and "mktp:<percent>", an
# auto-sliced order's "autoslice" and "autoslice:<id>". Never one of ours.
KITE_OWN_TAGS = ("mktp", "autoslice")


def _is_kites_own_tag(tag: str) -> bool:
    return tag.partition(":")[0] in KITE_OWN_TAGS


def _order_tag(data: dict[str, Any]) -> str:
    tag = data.get("tag")
    if tag:
        return str(tag)
    tags = [str(t) for t in data.get("tags") or [] if not _is_kites_own_tag(str(t))]
    return tags[0] if tags else ""


def _has_tag(data: dict[str, Any], tag: str) -> bool:
    return data.get("tag") == tag or tag in (data.get("tags") or [])


def _kind(order_type: Any) -> OrderKind:
    try:
        return OrderKind(str(order_type))
    except ValueError:
        return OrderKind.MARKET


def _side(transaction_type: Any) -> Side:
    try:
        return Side(str(transaction_type))
    except ValueError:
        return Side.BUY


def _brief(exc: BaseException) -> str:
    """A short, secret-free description of an SDK/transport error for messages."""
    parts = [type(exc).__name__]
    code = getattr(exc, "code", None)
    if code:
        parts.append(f"HTTP {code}")
    text = str(exc).splitlines()[0] if str(exc) else ""
    # HTML pages, long dumps and anything that could echo a URL carrying a token stay out.
    if text and "<html" not in text.lower() and len(text) <= 160 \
            and "token" not in text.lower():
        parts.append(text)
    return ": ".join(parts)


# Kite's refusals the client has no class for: it raises GeneralException and drops the
# name, which an unclassified failure (outcome unknown) also raises.
REFUSAL_ERROR_TYPES = frozenset({"MarginException", "HoldingException", "UserException"})


class _LastErrorType:
    """Kite's `error_type` of the last error response on this thread, read by a response
    hook on the client's HTTP session (the client keeps only the message and the code)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def hook(self, response: Any, *_args: Any, **_kwargs: Any) -> Any:
        name = None
        if response.status_code >= 400 and \
                "json" in response.headers.get("content-type", ""):
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and isinstance(body.get("error_type"), str):
                name = body["error_type"]
        self._local.name = name
        return response

    def clear(self) -> None:
        self._local.name = None

    def is_refusal(self) -> bool:
        return getattr(self._local, "name", None) in REFUSAL_ERROR_TYPES


class _ErrorKinds:
    """The exception classes of kiteconnect and requests, loaded with the SDK."""

    def __init__(self) -> None:
        import requests
        from kiteconnect import exceptions as kex

        self.token = kex.TokenException
        self.rejected = (kex.InputException, kex.OrderException, kex.PermissionException)
        self.network = kex.NetworkException
        self.transport = (kex.DataException, kex.GeneralException, kex.NetworkException,
                          requests.exceptions.RequestException, json.JSONDecodeError,
                          ValueError)
        self.kite_base = kex.KiteException


# -- the broker ----------------------------------------------------------------------------------


class KiteBroker:
    """The `Broker` protocol on Kite Connect v3. Thread-safe."""

    name = "kite"

    def __init__(self, api_key: Secret, access_token: Secret, *, root: str | None = None,
                 clock: Clock | None = None,
                 limits: OrderLimits | tuple[int, int, int] | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S,
                 token_expires_at: datetime | None = None,
                 token_source: Callable[[], tuple[Secret | None, datetime | None]] | None = None,
                 market_protection: int = AUTO_MARKET_PROTECTION,
                 product: str = "MIS",
                 read_retries: int = 1,
                 algo_id: str | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 kite: Any = None) -> None:
        from kiteconnect import KiteConnect  # lazy: keeps console cold start fast

        self._api_key = Secret(api_key)
        self._access_token = Secret(access_token)
        self._clock: Clock = clock or SystemClock()
        self._errors = _ErrorKinds()
        self.kite = kite or KiteConnect(self._api_key.reveal(),
                                        access_token=self._access_token.reveal(),
                                        root=root, timeout=timeout)
        self._last_error_type = _LastErrorType()
        session = getattr(self.kite, "reqsession", None)
        if session is not None:
            session.hooks["response"].append(self._last_error_type.hook)
        self.root = root
        self.timeout = timeout
        self.limits = OrderLimits.of(limits)
        self.limiter = OrderRateLimiter(self.limits, clock=self._clock, monotonic=monotonic,
                                        sleep=sleep)
        self.market_protection = market_protection
        self.default_product = product
        self.read_retries = read_retries
        self.algo_id = algo_id
        self._sleep = sleep
        self._token_expires_at = token_expires_at
        self._token_source = token_source
        self._expired = False
        self._lock = threading.Lock()
        self._listeners: list[OrderUpdateListener] = []
        self._tags: dict[str, str] = {}  # order_id -> tag, for updates that lack one
        self._sent = 0

    def __repr__(self) -> str:
        return f"KiteBroker(root={self.root!r}, expired={self._expired})"

    # -- session ---------------------------------------------------------------------------
    def set_access_token(self, access_token: Secret, expires_at: datetime | None = None) -> None:
        """Use a fresh access token (after the user logged in again)."""
        with self._lock:
            self._access_token = Secret(access_token)
            self.kite.set_access_token(self._access_token.reveal())
            self._token_expires_at = expires_at
            self._expired = False

    @property
    def requests_sent(self) -> int:
        """HTTP requests handed to the client so far (tests use it to prove no retries)."""
        return self._sent

    def _count(self) -> None:
        with self._lock:
            self._sent += 1

    @property
    def token_expired(self) -> bool:
        return self._expired

    def _check_token(self) -> None:
        """Refuse locally once the token is known to be dead, unless a new one arrived."""
        now = self._clock.now()
        if not (self._expired or (self._token_expires_at is not None
                                  and now >= self._token_expires_at)):
            return
        if self._token_source is not None:
            try:
                token, expires_at = self._token_source()
            except Exception:  # the store may be down: stay expired
                log.warning("Kite: could not read a fresh access token")
                token, expires_at = None, None
            if token and token != self._access_token and (expires_at is None
                                                           or expires_at > now):
                self.set_access_token(token, expires_at)
                return
        self._expired = True
        raise TokenExpired(TOKEN_EXPIRED_MESSAGE)

    def _token_died(self) -> TokenExpired:
        self._expired = True
        log.warning("Kite: access token rejected (lapsed or revoked); entries need a new login")
        return TokenExpired(TOKEN_EXPIRED_MESSAGE)

    # -- calls -----------------------------------------------------------------------------
    def _read(self, what: str, fn: Callable[[], Any], *,
              not_found: str | None = None) -> Any:
        """A read: TokenException -> TokenExpired; transport trouble -> BrokerUnavailable after
        `read_retries` further attempts (reads are safe to repeat)."""
        self._check_token()
        attempts = 1 + max(0, self.read_retries)
        last: BaseException | None = None
        for attempt in range(attempts):
            try:
                self._count()
                return fn()
            except self._errors.token as exc:
                raise self._token_died() from exc
            except self._errors.rejected as exc:
                if not_found is not None:
                    raise OrderNotFound(not_found) from exc
                raise BrokerUnavailable(f"Kite refused to {what}: {_brief(exc)}") from exc
            except self._errors.transport as exc:
                last = exc
                if getattr(exc, "code", None) == 429:
                    delay = 1.0
                else:
                    delay = 0.2
                if attempt + 1 < attempts:
                    self._sleep(delay)
        assert last is not None
        raise BrokerUnavailable(f"Kite unavailable: could not {what} ({_brief(last)})") \
            from last

    def place_order(self, req: OrderRequest) -> BrokerOrder:
        self._check_token()
        params: dict[str, Any] = {
            "variety": VARIETY, "exchange": req.exchange, "tradingsymbol": req.symbol,
            "transaction_type": req.side.value, "quantity": req.quantity,
            "product": req.product or self.default_product, "order_type": req.kind.value,
            "validity": req.validity, "tag": req.client_tag,
        }
        if req.kind in (OrderKind.LIMIT, OrderKind.SL):
            if req.price is None:
                raise OrderRejected(f"{req.kind.value} order needs a price")
            params["price"] = str(req.price)
        if req.kind in (OrderKind.SL, OrderKind.SL_M):
            if req.trigger_price is None:
                raise OrderRejected(f"{req.kind.value} order needs a trigger price")
            params["trigger_price"] = str(req.trigger_price)
        if req.kind in (OrderKind.MARKET, OrderKind.SL_M):
            params["market_protection"] = self.market_protection
        if self.algo_id:
            params["algo_id"] = self.algo_id
        self.limiter.acquire()  # raises RateLimitExceeded (nothing sent)
        self._last_error_type.clear()
        try:
            self._count()
            order_id = str(self.kite.place_order(**params))
        except self._errors.token as exc:
            raise self._token_died() from exc
        except self._errors.rejected as exc:
            reason = str(exc) or type(exc).__name__
            log.info("Kite rejected order %s: %s", req.client_tag, reason)
            raise OrderRejected(reason) from exc
        except self._errors.transport as exc:
            if self._last_error_type.is_refusal():  # margin, holdings, the account
                reason = str(exc) or type(exc).__name__
                log.info("Kite refused order %s: %s", req.client_tag, reason)
                raise OrderRejected(reason) from exc
            if getattr(exc, "code", None) == 429:
                self.limiter.penalize(1.0)
                raise BrokerUnavailable("Kite rate limit (HTTP 429): order not placed; "
                                        "try again shortly") from exc
            log.warning("Kite place_order %s: outcome unknown (%s)", req.client_tag,
                        _brief(exc))
            raise OutcomeUnknown(
                f"Kite did not confirm order {req.client_tag} ({_brief(exc)}); "
                "reconcile by tag, do not re-send", client_tag=req.client_tag) from exc
        except BrokerError:
            raise
        except Exception as exc:  # anything else after sending: the outcome is unknown
            raise OutcomeUnknown(
                f"Kite did not confirm order {req.client_tag} ({type(exc).__name__}); "
                "reconcile by tag, do not re-send", client_tag=req.client_tag) from exc
        with self._lock:
            self._tags[order_id] = req.client_tag
        try:
            return self.get_order(order_id)
        except (BrokerUnavailable, OrderNotFound, TokenExpired):
            # Placed for sure (Kite gave an order id); only the snapshot read failed: report
            # it as received, never as a failure. Updates and reconciliation fill it in.
            return self._received(order_id, req)

    def _received(self, order_id: str, req: OrderRequest) -> BrokerOrder:
        return BrokerOrder(broker_order_id=order_id, client_tag=req.client_tag,
                           symbol=req.symbol, side=req.side, kind=req.kind,
                           quantity=req.quantity, status=OrderStatus.PENDING,
                           filled_quantity=0, average_price=None, message=None,
                           updated_at=self._clock.now(),
                           raw={"order_id": order_id, "status": "PUT ORDER REQ RECEIVED",
                                "tag": req.client_tag},
                           price=req.price, trigger_price=req.trigger_price,
                           exchange=req.exchange, product=req.product)

    def _write(self, what: str, order_id: str, fn: Callable[[], Any]) -> BrokerOrder:
        self._check_token()
        self._last_error_type.clear()
        try:
            self._count()
            fn()
        except self._errors.token as exc:
            raise self._token_died() from exc
        except self._errors.rejected as exc:
            raise OrderRejected(str(exc) or f"Kite refused to {what} order {order_id}") \
                from exc
        except self._errors.transport as exc:
            if self._last_error_type.is_refusal():
                raise OrderRejected(str(exc) or f"Kite refused to {what} order {order_id}") \
                    from exc
            if getattr(exc, "code", None) == 429:
                raise BrokerUnavailable(f"Kite rate limit (HTTP 429): could not {what} "
                                        f"order {order_id}; try again shortly") from exc
            raise OutcomeUnknown(f"Kite did not confirm the {what} of order {order_id} "
                                 f"({_brief(exc)}); check the order book") from exc
        return self.get_order(order_id)

    def modify_order(self, broker_order_id: str, *, quantity: int | None = None,
                     price: Decimal | None = None,
                     trigger_price: Decimal | None = None) -> BrokerOrder:
        params: dict[str, Any] = {}
        if quantity is not None:
            params["quantity"] = int(quantity)
        if price is not None:
            params["price"] = str(price)
        if trigger_price is not None:
            params["trigger_price"] = str(trigger_price)
        return self._write("modify", broker_order_id, lambda: self.kite.modify_order(
            VARIETY, broker_order_id, **params))

    def cancel_order(self, broker_order_id: str) -> BrokerOrder:
        return self._write("cancel", broker_order_id,
                           lambda: self.kite.cancel_order(VARIETY, broker_order_id))

    def order_history(self, broker_order_id: str) -> list[BrokerOrder]:
        states = self._read(f"read order {broker_order_id}",
                            lambda: self.kite.order_history(broker_order_id),
                            not_found=broker_order_id)
        if not states:
            raise OrderNotFound(broker_order_id)
        return [self.to_order(s) for s in states]

    def get_order(self, broker_order_id: str) -> BrokerOrder:
        return self.order_history(broker_order_id)[-1]

    def orders(self) -> list[BrokerOrder]:
        rows = self._read("list orders", self.kite.orders) or []
        return [self.to_order(r) for r in rows]

    def orders_by_tag(self, client_tag: str) -> list[BrokerOrder]:
        rows = self._read("list orders", self.kite.orders) or []
        return [self.to_order(r) for r in rows if _has_tag(r, client_tag)]

    def funds(self) -> Decimal:
        """What is free for new orders: the equity segment's `net` (Kite's live balance,
        which falls as margin is used), not `available.cash` (the day's opening cash)."""
        data = self._read("read funds", lambda: self.kite.margins("equity")) or {}
        net = to_decimal(data.get("net"))
        if net is None:
            net = to_decimal((data.get("available") or {}).get("live_balance"))
        if net is None:
            raise BrokerUnavailable("Kite funds: the margins answer had no net balance")
        return net

    def historical(self, instrument_token: int, from_: datetime, to: datetime,
                   interval: str, *, oi: bool = False) -> list[dict[str, Any]]:
        """Candles as the client parses them (`date`, floats for OHLC), for market_data."""
        fmt = "%Y-%m-%d %H:%M:%S"
        start = ensure_utc(from_).astimezone(IST).strftime(fmt)
        end = ensure_utc(to).astimezone(IST).strftime(fmt)
        return self._read("download candles", lambda: self.kite.historical_data(
            instrument_token, start, end, interval, oi=oi)) or []

    def instruments_csv(self, exchange: str | None = None) -> str:
        """The raw instruments CSV (parsed by us: the client's parser crashes on empty
        numeric cells)."""
        if exchange:
            body = self._read("download instruments", lambda: self.kite._get(
                "market.instruments", url_args={"exchange": exchange}))
        else:
            body = self._read("download instruments",
                              lambda: self.kite._get("market.instruments.all"))
        if isinstance(body, bytes):
            return body.decode("utf-8")
        return str(body or "")

    # -- updates ---------------------------------------------------------------------------
    def to_order(self, data: dict[str, Any]) -> BrokerOrder:
        """A Kite order dict (REST or ticker update) as a `BrokerOrder` snapshot."""
        order_id = str(data.get("order_id") or "")
        filled = _int(data.get("filled_quantity"))
        status = map_status(data.get("status"), filled)
        avg = to_decimal(data.get("average_price"))
        if avg is not None and avg == 0 and filled == 0:
            avg = None
        tag = _order_tag(data) or self._tags.get(order_id, "")
        updated = (parse_kite_time(data.get("exchange_update_timestamp"))
                   or parse_kite_time(data.get("exchange_timestamp"))
                   or parse_kite_time(data.get("order_timestamp"))
                   or self._clock.now())
        price = to_decimal(data.get("price"))
        trigger = to_decimal(data.get("trigger_price"))
        message = data.get("status_message") or data.get("status_message_raw")
        return BrokerOrder(
            broker_order_id=order_id, client_tag=tag,
            symbol=str(data.get("tradingsymbol") or ""),
            side=_side(data.get("transaction_type")), kind=_kind(data.get("order_type")),
            quantity=_int(data.get("quantity")), status=status, filled_quantity=filled,
            average_price=avg, message=str(message) if message else None,
            updated_at=updated, raw=_jsonable(dict(data)),
            price=price if price else None, trigger_price=trigger if trigger else None,
            exchange=str(data.get("exchange") or "NSE"),
            product=str(data.get("product") or "MIS"))

    def subscribe_updates(self, listener: OrderUpdateListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def apply_order_update(self, data: dict[str, Any]) -> BrokerOrder | None:
        """An order update from the ticker (`{"type":"order","data":...}`'s data): convert
        and hand to every listener. Malformed updates are logged and dropped."""
        try:
            order = self.to_order(data)
        except Exception:
            log.warning("Kite: malformed order update dropped")
            return None
        if not order.broker_order_id:
            log.warning("Kite: order update without order_id dropped")
            return None
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(order)
            except Exception:
                log.exception("Kite: an order update listener raised")
        return order

    def close(self) -> None:
        session = getattr(self.kite, "reqsession", None)
        if session is not None:
            try:
                session.close()
            except Exception:  # closing is best effort
                pass


__all__ = ["AUTO_MARKET_PROTECTION", "KiteBroker", "OrderLimits", "OrderRateLimiter",
           "RateLimitExceeded", "TOKEN_EXPIRED_MESSAGE", "map_status",
           "parse_kite_time", "to_decimal"]
