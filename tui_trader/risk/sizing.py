"""Position sizing from the risk rules: quantity = risk ₹ ÷ stop distance, rounded down to
the lot, and no larger than what the gate would let through.

`quantity_for_risk` is the formula alone; `size_entry` applies every rule that bounds a
quantity (risk per trade, what is left of the day's and the strategy's loss limits, the
position's value) and says which one bound it, so a sized entry passes the gate whenever
the rules that do not depend on quantity do.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from ..domain.enums import RiskRuleKind, Side
from ..domain.risk_rules import RiskLimits
from .account import ZERO, AccountSnapshot


def quantity_for_risk(risk: Decimal, price: Decimal, stop: Decimal, lot_size: int = 1,
                      side: Side = Side.BUY) -> int:
    """The most whole lots whose loss at `stop` stays within `risk` ₹ (0 if not one lot, or
    if the stop is not on the loss side of `price`)."""
    distance = price - stop if side is Side.BUY else stop - price
    if distance <= ZERO or stop <= ZERO or lot_size <= 0:
        return 0
    return _whole_lots(risk, distance, lot_size)


@dataclass(frozen=True, slots=True)
class Sizing:
    """The largest quantity the rules allow, and the rule that bound it (None: no rule
    bounds the quantity, so `quantity` is None too: the strategy's own quantity stands)."""

    quantity: int | None
    bound_by: RiskRuleKind | None


def _whole_lots(amount: Decimal, per_unit: Decimal, lot_size: int) -> int:
    if amount <= ZERO:
        return 0
    units = int((amount / per_unit).to_integral_value(rounding=ROUND_FLOOR))
    return units - units % lot_size


def size_entry(limits: RiskLimits, account: AccountSnapshot, *, strategy_id: Hashable,
               symbol: str, side: Side, price: Decimal, stop: Decimal,
               lot_size: int = 1) -> Sizing:
    """The largest whole-lot quantity for an entry at `price` with its stop at `stop` that
    no quantity-bounding rule refuses. Quantity 0 means not even one lot fits."""
    distance = price - stop if side is Side.BUY else stop - price
    if distance <= ZERO or stop <= ZERO or lot_size <= 0:
        return Sizing(0, RiskRuleKind.INVALID_ENTRY)
    capital = limits.capital(account.broker_margin)
    bounds: list[tuple[int, RiskRuleKind]] = []
    # In the gate's order, so that of two rules allowing the same quantity the one named
    # is the one the gate would refuse a lot more with.
    day_cap = limits.daily_loss_cap(capital)
    if day_cap is not None:
        bounds.append((_whole_lots(day_cap - account.loss, distance, lot_size),
                       RiskRuleKind.DAILY_LOSS_LIMIT))
    if limits.strategy_daily_loss_limit is not None:
        room = limits.strategy_daily_loss_limit - account.strategy_loss(strategy_id)
        bounds.append((_whole_lots(room, distance, lot_size),
                       RiskRuleKind.STRATEGY_DAILY_LOSS))
    if limits.max_position_value is not None:
        room = limits.max_position_value - account.symbol_values.get(symbol, ZERO)
        bounds.append((_whole_lots(room, price, lot_size), RiskRuleKind.MAX_POSITION_VALUE))
    per_trade = limits.risk_per_trade(capital)
    if per_trade is not None:
        bounds.append((_whole_lots(per_trade, distance, lot_size),
                       RiskRuleKind.MAX_RISK_PER_TRADE))
    if not bounds:
        return Sizing(None, None)
    quantity, rule = min(bounds, key=lambda bound: bound[0])
    return Sizing(quantity, rule)
