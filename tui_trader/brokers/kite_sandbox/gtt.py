"""GTT (good-till-triggered) triggers: stored per user, and fired when the price crosses.

A single trigger fires when the last price reaches its one value from the side it started
on; a two-leg (OCO) trigger fires its first order at or below the lower value, its second
at or above the upper one. Firing places a regular LIMIT order through the order book and
records the result on the trigger, as Kite reports it: the order placed, when and at what
price the trigger fired, and the order's fate — an order the exchange or the risk checks
refuse (a price beyond the circuit, a CNC sell without the shares) is never placed, and the
result says why.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from tui_trader.domain.clock import ensure_utc

from .config import SandboxConfig
from .errors import InputError, KiteError
from .hours import TradingHours
from .market import Market
from .matching import OrderBook
from .wire import ist, num

GTT_TYPES = ("single", "two-leg")


@dataclass(slots=True)
class Gtt:
    trigger_id: int
    user_id: str
    type: str
    condition: dict[str, Any]
    orders: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    status: str = "active"
    rising: bool = True  # single leg: fires on a rise to the value (else on a fall)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.trigger_id,
            "user_id": self.user_id,
            "parent_trigger": None,
            "type": self.type,
            "created_at": ist(self.created_at),
            "updated_at": ist(self.updated_at),
            "expires_at": ist(self.expires_at),
            "status": self.status,
            "condition": dict(self.condition),
            "orders": [dict(o) for o in self.orders],
            "meta": dict(self.meta) or None,
        }


class GttBook:
    def __init__(self, config: SandboxConfig, market: Market, book: OrderBook,
                 lock: threading.RLock) -> None:
        self._config = config
        self._market = market
        self._book = book
        self._lock = lock
        self._hours = TradingHours(config.calendar)
        self._gtts: dict[int, Gtt] = {}
        self._seq = 100_000

    def _now(self) -> datetime:
        return ensure_utc(self._config.clock.now())

    def _parse(self, form: Mapping[str, str]) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        kind = form.get("type") or ""
        if kind not in GTT_TYPES:
            raise InputError("Invalid `type`: single or two-leg.")
        try:
            condition = json.loads(form.get("condition") or "")
            orders = json.loads(form.get("orders") or "")
        except ValueError:
            raise InputError("Invalid `condition` or `orders`: not JSON.") from None
        if not isinstance(condition, dict) or not isinstance(orders, list):
            raise InputError("Invalid `condition` or `orders`.")
        exchange = str(condition.get("exchange", ""))
        symbol = str(condition.get("tradingsymbol", ""))
        inst = self._market.by_symbol(exchange, symbol)
        if inst is None:
            raise InputError(f"Invalid `tradingsymbol`: {exchange}:{symbol} not found.")
        values = condition.get("trigger_values")
        legs = 1 if kind == "single" else 2
        if not isinstance(values, list) or len(values) != legs or len(orders) != legs:
            raise InputError(f"A {kind} GTT needs {legs} trigger value(s) and order(s).")
        try:
            triggers = [Decimal(str(v)) for v in values]
            last = Decimal(str(condition.get("last_price", self._market.last_price(inst.token))))
        except InvalidOperation:
            raise InputError("Invalid `trigger_values` or `last_price`.") from None
        if kind == "two-leg" and not triggers[0] < last < triggers[1]:
            raise InputError("Two-leg trigger values must straddle the last price.")
        clean_orders = []
        for o in orders:
            if not isinstance(o, dict):
                raise InputError("Invalid `orders`.")
            for key in ("transaction_type", "quantity", "order_type", "product", "price"):
                if key not in o:
                    raise InputError(f"`{key}` missing inside orders.")
            clean_orders.append({
                "exchange": exchange, "tradingsymbol": symbol,
                "product": o["product"], "order_type": o["order_type"],
                "transaction_type": o["transaction_type"], "quantity": int(o["quantity"]),
                "price": float(o["price"]), "result": None,
            })
        cond = {"exchange": exchange, "tradingsymbol": symbol,
                "trigger_values": [num(t) for t in triggers], "last_price": num(last),
                "instrument_token": inst.token}
        return kind, cond, clean_orders

    def create(self, user_id: str, form: Mapping[str, str]) -> int:
        with self._lock:
            kind, cond, orders = self._parse(form)
            now = self._now()
            self._seq += 1
            gtt = Gtt(self._seq, user_id, kind, cond, orders, now, now,
                      now + timedelta(days=365))
            gtt.rising = Decimal(str(cond["trigger_values"][0])) > Decimal(
                str(cond["last_price"]))
            self._gtts[gtt.trigger_id] = gtt
            return gtt.trigger_id

    def _get(self, user_id: str, trigger_id: int) -> Gtt:
        gtt = self._gtts.get(trigger_id)
        if gtt is None or gtt.user_id != user_id:
            raise InputError("Invalid trigger id.")
        return gtt

    def get(self, user_id: str, trigger_id: int) -> dict[str, Any]:
        with self._lock:
            return self._get(user_id, trigger_id).to_dict()

    def triggers(self, user_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [g.to_dict() for g in self._gtts.values() if g.user_id == user_id]

    def modify(self, user_id: str, trigger_id: int, form: Mapping[str, str]) -> int:
        with self._lock:
            gtt = self._get(user_id, trigger_id)
            if gtt.status != "active":
                raise InputError(f"Trigger is {gtt.status} and cannot be modified.")
            gtt.type, gtt.condition, gtt.orders = self._parse(form)
            gtt.rising = Decimal(str(gtt.condition["trigger_values"][0])) > Decimal(
                str(gtt.condition["last_price"]))
            gtt.updated_at = self._now()
            return trigger_id

    def delete(self, user_id: str, trigger_id: int) -> int:
        with self._lock:
            gtt = self._get(user_id, trigger_id)
            gtt.status = "deleted"
            gtt.updated_at = self._now()
            return trigger_id

    def check(self) -> None:
        """Fire every active trigger whose condition the current price meets (triggers are
        watched only while the exchange is in session)."""
        if not self._hours.is_matching(self._now()):
            return
        with self._lock:
            for gtt in self._gtts.values():
                if gtt.status != "active":
                    continue
                ltp = self._market.last_price(gtt.condition["instrument_token"])
                values = [Decimal(str(v)) for v in gtt.condition["trigger_values"]]
                leg: int | None = None
                if gtt.type == "single":
                    hit = ltp >= values[0] if gtt.rising else ltp <= values[0]
                    leg = 0 if hit else None
                elif ltp <= values[0]:
                    leg = 0
                elif ltp >= values[1]:
                    leg = 1
                if leg is not None:
                    self._fire(gtt, leg, ltp)

    def _fire(self, gtt: Gtt, leg: int, ltp: Decimal) -> None:
        spec = gtt.orders[leg]
        form = {k: str(v) for k, v in spec.items() if k != "result"}
        form["tag"] = "gtt"
        result: dict[str, Any] = {
            "account_id": gtt.user_id, "exchange": spec["exchange"],
            "tradingsymbol": spec["tradingsymbol"], "validity": "DAY",
            "product": spec["product"], "order_type": spec["order_type"],
            "transaction_type": spec["transaction_type"], "quantity": spec["quantity"],
            "price": spec["price"],
            "meta": json.dumps({"app_id": 0, "gtt": gtt.trigger_id}, separators=(",", ":")),
            "timestamp": ist(self._now()), "triggered_at": num(ltp),
        }
        try:
            order = self._book.build(gtt.user_id, "regular", form)
            refusal = self._book.refusal(order)
            if refusal is None:
                self._book.record(order)
                self._book.accept(order.order_id)
                result["order_result"] = {"order_id": order.order_id, "status": "success",
                                          "rejection_reason": ""}
            else:
                result["order_result"] = {"order_id": "", "status": "failed",
                                          "rejection_reason": refusal}
        except KiteError as exc:
            result["order_result"] = {"order_id": "", "status": "failed",
                                      "rejection_reason": exc.message}
        spec["result"] = result
        gtt.status = "triggered"
        gtt.updated_at = self._now()
