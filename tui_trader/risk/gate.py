"""The pre-trade gate: every entry is judged here against the user's risk rules, the same
code in backtest, paper and live. It allows, or denies with the rule and the figures
(observed against limit) -- a denied entry is never sent.

Exits have no way in: the gate judges only an `Entry` (anything else is a TypeError), so
closing a position never waits on, or is refused by, a risk rule.

The rules are checked in this order, the first that refuses giving the answer: the user's
state (REDUCING and HALTED take no entries), the entry itself (stop on the loss side, whole
lots), a known capital when a rule needs one, the daily loss limit (reached, or this entry's
risk at its stop would pass it), the drawdown from the day's peak, the strategy's daily
loss, orders per day, open positions, the position's value, and the risk per trade.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal

from ..domain.enums import RiskRuleKind, Side
from ..domain.labels import label_of
from ..domain.risk_rules import HUNDRED, RiskLimits, percent, rupees
from .account import ZERO, AccountSnapshot

_R = RiskRuleKind


@dataclass(frozen=True, slots=True)
class Entry:
    """A proposed entry: the order that opens (or adds to) a position, with its stop."""

    strategy_id: Hashable
    symbol: str
    side: Side
    quantity: int
    price: Decimal
    stop: Decimal
    lot_size: int = 1

    @property
    def stop_distance(self) -> Decimal:
        """What one unit loses if the stop is hit (negative: the stop is on the wrong side)."""
        return self.price - self.stop if self.side is Side.BUY else self.stop - self.price

    @property
    def risk(self) -> Decimal:
        """What the whole entry loses if the stop is hit, in ₹."""
        return self.quantity * self.stop_distance

    @property
    def value(self) -> Decimal:
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class Denial:
    """Why an entry was refused: the rule, the figure seen and the limit it broke (either
    None where the rule has no figure), and one line for the trader."""

    rule: RiskRuleKind
    observed: Decimal | None
    limit: Decimal | None
    message: str


@dataclass(frozen=True, slots=True)
class GateDecision:
    allowed: bool
    denial: Denial | None = None


ALLOWED = GateDecision(True)


def _deny(rule: RiskRuleKind, observed: Decimal | None, limit: Decimal | None,
          message: str) -> GateDecision:
    return GateDecision(False, Denial(rule, observed, limit, message))


_LOSS_FIELDS = {_R.DAILY_LOSS_LIMIT: "daily_loss_limit",
                _R.STRATEGY_DAILY_LOSS: "strategy_daily_loss_limit"}


def _loss_room(rule: RiskRuleKind, whose: str, lost: Decimal, limit: Decimal,
               risk: Decimal) -> GateDecision | None:
    """A loss limit judged now and as if this entry's stop were hit: a denial, or None."""
    label = label_of(_LOSS_FIELDS[rule])
    if lost >= limit:
        return _deny(rule, lost, limit,
                     f"{label}: {whose} loss {rupees(lost)} has reached {rupees(limit)}")
    if lost + risk > limit:
        return _deny(rule, lost + risk, limit,
                     f"{label}: this entry risks {rupees(risk)} at its stop; "
                     f"{rupees(limit - lost)} is left of {whose} {rupees(limit)}")
    return None


class PreTradeGate:
    """The user's rules, compiled once; `check_entry` judges one entry against the day's
    figures. Rebuild the gate when the rules change."""

    __slots__ = ("limits", "_drawdown", "_strategy_loss", "_orders", "_positions", "_value",
                 "_per_trade_pct", "_needs_capital")

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self._drawdown = limits.max_drawdown_pct
        self._strategy_loss = limits.strategy_daily_loss_limit
        self._orders = limits.max_orders_per_day
        self._positions = limits.max_open_positions
        self._value = limits.max_position_value
        self._per_trade_pct = limits.max_risk_per_trade_pct
        self._needs_capital = limits.needs_capital

    def check_entry(self, entry: Entry, account: AccountSnapshot) -> GateDecision:
        """ALLOWED, or a decision carrying the Denial. Only an Entry is judged."""
        if type(entry) is not Entry:
            raise TypeError("the pre-trade gate judges entries only; exits are never gated")
        if not account.state.takes_entries:
            return _deny(_R.RISK_STATE, None, None,
                         f"Risk state: {account.state}; new entries are refused "
                         f"(exits only)")
        distance = entry.stop_distance
        if entry.stop <= ZERO:
            return _deny(_R.INVALID_ENTRY, entry.stop, None,
                         f"{label_of('stop_loss')}: {entry.stop:,.2f} must be greater than 0")
        if distance <= ZERO:
            where = "below" if entry.side is Side.BUY else "above"
            return _deny(_R.INVALID_ENTRY, entry.stop, entry.price,
                         f"{label_of('stop_loss')}: {entry.stop:,.2f} must be {where} the "
                         f"entry price {entry.price:,.2f} for a {entry.side}")
        if entry.quantity <= 0 or entry.lot_size <= 0 or entry.quantity % entry.lot_size:
            return _deny(_R.INVALID_ENTRY, Decimal(entry.quantity), Decimal(entry.lot_size),
                         f"{label_of('quantity')}: {entry.quantity} is not a whole number "
                         f"of lots of {entry.lot_size}")
        capital = self.limits.capital(account.broker_margin)
        if capital is None and self._needs_capital:
            return _deny(_R.TRADING_CAPITAL, None, None,
                         f"{label_of('trading_capital')}: not set, and the broker's "
                         f"available margin is not known; percentage limits cannot be judged")
        risk = entry.quantity * distance

        cap = self.limits.daily_loss_cap(capital)
        if cap is not None:
            refused = _loss_room(_R.DAILY_LOSS_LIMIT, "the day's", account.loss, cap, risk)
            if refused is not None:
                return refused
        if self._drawdown is not None:
            drawdown = account.drawdown_pct(capital)  # type: ignore[arg-type]
            if drawdown >= self._drawdown:
                return _deny(_R.MAX_DRAWDOWN_PCT, drawdown, self._drawdown,
                             f"{label_of('max_drawdown_pct')}: equity is {percent(drawdown)} "
                             f"below the day's peak; the limit is {percent(self._drawdown)}")
        if self._strategy_loss is not None:
            refused = _loss_room(_R.STRATEGY_DAILY_LOSS, "the strategy's",
                                 account.strategy_loss(entry.strategy_id),
                                 self._strategy_loss, risk)
            if refused is not None:
                return refused
        if self._orders is not None and account.orders_today >= self._orders:
            return _deny(_R.MAX_ORDERS_PER_DAY, Decimal(account.orders_today + 1),
                         Decimal(self._orders),
                         f"{label_of('max_orders_per_day')}: {account.orders_today} orders "
                         f"sent today; the limit is {self._orders}")
        if self._positions is not None and \
                (entry.strategy_id, entry.symbol) not in account.open_keys:
            open_now = len(account.open_keys)
            if open_now >= self._positions:
                return _deny(_R.MAX_OPEN_POSITIONS, Decimal(open_now + 1),
                             Decimal(self._positions),
                             f"{label_of('max_open_positions')}: {open_now} open; a new "
                             f"position would make {open_now + 1}, above {self._positions}")
        if self._value is not None:
            value = account.symbol_values.get(entry.symbol, ZERO) + entry.quantity * entry.price
            if value > self._value:
                return _deny(_R.MAX_POSITION_VALUE, value, self._value,
                             f"{label_of('max_position_value')}: {entry.symbol} would be "
                             f"worth {rupees(value)}, above {rupees(self._value)}")
        if self._per_trade_pct is not None:
            most = capital * self._per_trade_pct / HUNDRED  # type: ignore[operator]
            if risk > most:
                return _deny(_R.MAX_RISK_PER_TRADE, risk, most,
                             f"{label_of('max_risk_per_trade_pct')}: this entry risks "
                             f"{rupees(risk)} at its stop ({entry.quantity} x "
                             f"{distance:,.2f}); the limit is {rupees(most)} "
                             f"({percent(self._per_trade_pct)} of {rupees(capital)})")  # type: ignore[arg-type]
        return ALLOWED
