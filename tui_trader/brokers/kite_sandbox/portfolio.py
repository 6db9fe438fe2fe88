"""Positions, holdings and margins, derived from the trade book and live prices.

Nothing here is stored: positions are re-aggregated from trades on every request, so they
always agree with the fills. The sandbox has one trading day (no overnight carry), hence
`net` and `day` positions are the same list. Margin is a simple model — delivery blocks the
full value, MIS a fifth — enough to practise "insufficient funds" rejections. A CNC sell
needs the shares: demat holdings plus what was bought for delivery today, less what other
CNC sells are already selling.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tui_trader.domain.enums import OrderKind

from ..matching import affordable, margin_required, reserve_price
from .config import SandboxConfig
from .errors import InputError
from .market import Market
from .matching import MARGIN_RATE, TERMINAL, Order, OrderBook
from .wire import num


@dataclass(slots=True)
class _Position:
    exchange: str
    tradingsymbol: str
    token: int
    product: str
    buy_quantity: int = 0
    buy_value: Decimal = Decimal(0)
    sell_quantity: int = 0
    sell_value: Decimal = Decimal(0)

    @property
    def quantity(self) -> int:
        return self.buy_quantity - self.sell_quantity

    @property
    def buy_price(self) -> Decimal:
        return self.buy_value / self.buy_quantity if self.buy_quantity else Decimal(0)

    @property
    def sell_price(self) -> Decimal:
        return self.sell_value / self.sell_quantity if self.sell_quantity else Decimal(0)

    @property
    def average_price(self) -> Decimal:
        if self.quantity > 0:
            return self.buy_price
        if self.quantity < 0:
            return self.sell_price
        return Decimal(0)

    @property
    def realised(self) -> Decimal:
        matched = min(self.buy_quantity, self.sell_quantity)
        return matched * (self.sell_price - self.buy_price) if matched else Decimal(0)

    @property
    def blocked(self) -> Decimal:
        return abs(self.quantity) * self.average_price * MARGIN_RATE[self.product]


class Portfolio:
    def __init__(self, config: SandboxConfig, market: Market, book: OrderBook,
                 lock: threading.RLock) -> None:
        self._config = config
        self._market = market
        self._book = book
        self._lock = lock

    def _positions(self, user_id: str) -> list[_Position]:
        found: dict[tuple[str, str, str], _Position] = {}
        for trade in self._book.trades:
            if self._book.orders[trade.order_id].user_id != user_id:
                continue
            inst = trade.instrument
            key = (inst.exchange, inst.symbol, trade.product)
            pos = found.setdefault(key, _Position(inst.exchange, inst.symbol, inst.token,
                                                  trade.product))
            if trade.transaction_type == "BUY":
                pos.buy_quantity += trade.quantity
                pos.buy_value += trade.price * trade.quantity
            else:
                pos.sell_quantity += trade.quantity
                pos.sell_value += trade.price * trade.quantity
        return list(found.values())

    def positions(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            rows = [self._position_dict(p) for p in self._positions(user_id)]
        return {"net": rows, "day": [dict(r) for r in rows]}

    def _position_dict(self, p: _Position) -> dict[str, Any]:
        ltp = self._market.last_price(p.token)
        close = self._market.quote(p.token).prev_close
        value = p.sell_value - p.buy_value
        pnl = value + p.quantity * ltp
        return {
            "tradingsymbol": p.tradingsymbol,
            "exchange": p.exchange,
            "instrument_token": p.token,
            "product": p.product,
            "quantity": p.quantity,
            "overnight_quantity": 0,
            "multiplier": 1,
            "average_price": num(p.average_price.quantize(Decimal("0.01"))),
            "close_price": num(close),
            "last_price": num(ltp),
            "value": num(value),
            "pnl": num(pnl),
            "m2m": num(pnl),
            "unrealised": num(pnl - p.realised),
            "realised": num(p.realised),
            "buy_quantity": p.buy_quantity,
            "buy_price": num(p.buy_price.quantize(Decimal("0.01"))),
            "buy_value": num(p.buy_value),
            "buy_m2m": num(p.buy_value),
            "sell_quantity": p.sell_quantity,
            "sell_price": num(p.sell_price.quantize(Decimal("0.01"))),
            "sell_value": num(p.sell_value),
            "sell_m2m": num(p.sell_value),
            "day_buy_quantity": p.buy_quantity,
            "day_buy_price": num(p.buy_price.quantize(Decimal("0.01"))),
            "day_buy_value": num(p.buy_value),
            "day_sell_quantity": p.sell_quantity,
            "day_sell_price": num(p.sell_price.quantize(Decimal("0.01"))),
            "day_sell_value": num(p.sell_value),
        }

    def holdings(self) -> list[dict[str, Any]]:
        out = []
        for h in self._config.holdings:
            inst = self._market.by_symbol(h.exchange, h.tradingsymbol)
            if inst is None:
                continue
            q = self._market.quote(inst.token)
            pnl = (q.last_price - h.average_price) * h.quantity
            out.append({
                "tradingsymbol": inst.symbol, "exchange": inst.exchange,
                "instrument_token": inst.token, "isin": "", "product": "CNC", "price": 0,
                "quantity": h.quantity, "used_quantity": 0, "t1_quantity": 0,
                "realised_quantity": h.quantity, "authorised_quantity": 0,
                "authorised_date": None, "opening_quantity": h.quantity,
                "collateral_quantity": 0, "collateral_type": "", "discrepancy": False,
                "average_price": num(h.average_price), "last_price": num(q.last_price),
                "close_price": num(q.prev_close), "pnl": num(pnl),
                "day_change": num(q.last_price - q.prev_close),
                "day_change_percentage": num(
                    (q.last_price - q.prev_close) / q.prev_close * 100 if q.prev_close else 0),
            })
        return out

    def holdings_check(self, order: Order) -> str | None:
        """OrderBook hook: a rejection message when a CNC sell has not the shares to sell."""
        if order.product != "CNC" or order.transaction_type != "SELL":
            return None
        inst = order.instrument
        held = sum(h.quantity for h in self._config.holdings
                   if (h.exchange, h.tradingsymbol) == (inst.exchange, inst.symbol))
        held += sum(p.quantity for p in self._positions(order.user_id)
                    if p.token == inst.token and p.product == "CNC")
        selling = sum(o.pending_quantity for o in self._book.orders.values()
                      if o.user_id == order.user_id and o.order_id != order.order_id
                      and o.instrument.token == inst.token and o.product == "CNC"
                      and o.transaction_type == "SELL" and o.status not in TERMINAL)
        if order.pending_quantity > held - selling:
            return ("Insufficient stock holding or there are pending sell orders for this "
                    "stock. Check the orderbook.")
        return None

    # -- margins -------------------------------------------------------------------------------

    def _exposure_required(self, order: Order, positions: list[_Position]) -> Decimal:
        """Margin an open order needs: only the part that grows the position counts."""
        held = sum(p.quantity for p in positions
                   if p.token == order.instrument.token and p.product == order.product)
        reducible = max(0, -held) if order.transaction_type == "BUY" else max(0, held)
        price = reserve_price(OrderKind(order.order_type), order.side, limit=order.price,
                              trigger=order.trigger_price,
                              last=self._market.last_price(order.instrument.token))
        return margin_required(order.pending_quantity, price,
                               rate=MARGIN_RATE[order.product], reducible=reducible)

    def _used(self, user_id: str, exclude: str | None = None) -> tuple[Decimal, Decimal]:
        """(margin blocked, realised P&L) for the user's positions and open orders."""
        positions = self._positions(user_id)
        used = sum((p.blocked for p in positions), Decimal(0))
        realised = sum((p.realised for p in positions), Decimal(0))
        for order in self._book.orders.values():
            if (order.user_id == user_id and order.order_id != exclude
                    and order.status not in TERMINAL and order.status != "VALIDATION PENDING"):
                used += self._exposure_required(order, positions)
        return used, realised

    def funds_check(self, order: Order) -> str | None:
        """OrderBook hook: a rejection message when the order needs more than is free."""
        used, realised = self._used(order.user_id, exclude=order.order_id)
        available = self._config.opening_cash + realised - used
        required = self._exposure_required(order, self._positions(order.user_id))
        if not affordable(required, available):
            return (f"Insufficient funds. Required margin is {required:.2f} but available "
                    f"margin is {available:.2f}. Check the orderbook for open orders.")
        return None

    def margins(self, user_id: str, segment: str | None = None) -> dict[str, Any]:
        with self._lock:
            used, realised = self._used(user_id)
        cash = self._config.opening_cash
        net = cash + realised - used
        equity = {
            "enabled": True,
            "net": num(net),
            "available": {
                "adhoc_margin": 0, "cash": num(cash), "opening_balance": num(cash),
                "live_balance": num(net), "collateral": 0, "intraday_payin": 0,
            },
            "utilised": {
                "debits": num(used), "exposure": 0, "m2m_realised": num(realised),
                "m2m_unrealised": 0, "option_premium": 0, "payout": 0, "span": 0,
                "holding_sales": 0, "turnover": 0, "liquid_collateral": 0,
                "stock_collateral": 0, "delivery": 0,
            },
        }
        commodity = {
            "enabled": False, "net": 0,
            "available": {k: 0 for k in equity["available"]},
            "utilised": {k: 0 for k in equity["utilised"]},
        }
        both = {"equity": equity, "commodity": commodity}
        if segment is None:
            return both
        if segment not in both:
            raise InputError(f"Invalid segment: {segment}.")
        return both[segment]
