"""Which risk state the day's figures call for, and how near the nearest limit is.

The account-wide limits are measured as a fraction used: the day's loss against the daily
loss limit, the drawdown from the day's peak equity against the max drawdown, the day's
orders against the max orders per day. Then:

- HALTED when the daily loss limit or the max drawdown is reached (100% used);
- REDUCING (exits only) when either is 90% used, or the day's orders are all used;
- WARNING when any of them is 80% used;
- ACTIVE otherwise.

The nearest limit is the most used one; the status bar shows it ("loss 6,200 / 10,000").
Per-entry limits (open positions, position value, risk per trade, a strategy's loss) are
the gate's alone: they refuse one entry, not the whole account.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..domain.enums import RiskRuleKind
from ..domain.lifecycle import RiskState
from ..domain.risk_rules import RiskLimits, percent, rupees
from .account import AccountSnapshot

WARN_AT = Decimal("0.8")
REDUCE_AT = Decimal("0.9")
HALTING = frozenset({RiskRuleKind.DAILY_LOSS_LIMIT, RiskRuleKind.MAX_DRAWDOWN_PCT})


@dataclass(frozen=True, slots=True)
class LimitUse:
    """How much of one limit the day has used."""

    rule: RiskRuleKind
    used: Decimal
    limit: Decimal

    @property
    def fraction(self) -> Decimal:
        return self.used / self.limit

    def describe(self) -> str:
        """'loss 6,200 / 10,000', 'drawdown 3.2% / 5%', 'orders 320 / 400'."""
        if self.rule is RiskRuleKind.MAX_DRAWDOWN_PCT:
            return f"drawdown {percent(self.used)} / {percent(self.limit)}"
        if self.rule is RiskRuleKind.MAX_ORDERS_PER_DAY:
            return f"orders {self.used:,.0f} / {self.limit:,.0f}"
        return f"loss {rupees(self.used)} / {rupees(self.limit)}"


@dataclass(frozen=True, slots=True)
class Assessment:
    """The state the figures call for, the limit that calls for it (None when ACTIVE), and
    the nearest limit (None when no account-wide limit can be measured)."""

    state: RiskState
    cause: LimitUse | None
    nearest: LimitUse | None

    def status_text(self) -> str:
        return self.nearest.describe() if self.nearest is not None else "no risk limits"


def limit_uses(limits: RiskLimits, account: AccountSnapshot) -> list[LimitUse]:
    """Every account-wide limit in force that can be measured today."""
    capital = limits.capital(account.broker_margin)
    uses: list[LimitUse] = []
    cap = limits.daily_loss_cap(capital)
    if cap is not None:
        uses.append(LimitUse(RiskRuleKind.DAILY_LOSS_LIMIT, account.loss, cap))
    if limits.max_drawdown_pct is not None and capital is not None:
        uses.append(LimitUse(RiskRuleKind.MAX_DRAWDOWN_PCT, account.drawdown_pct(capital),
                             limits.max_drawdown_pct))
    if limits.max_orders_per_day is not None:
        uses.append(LimitUse(RiskRuleKind.MAX_ORDERS_PER_DAY, Decimal(account.orders_today),
                             Decimal(limits.max_orders_per_day)))
    return uses


def _state_of(use: LimitUse) -> RiskState:
    fraction = use.fraction
    if use.rule in HALTING:
        if fraction >= 1:
            return RiskState.HALTED
        if fraction >= REDUCE_AT:
            return RiskState.REDUCING
    elif fraction >= 1:
        return RiskState.REDUCING
    return RiskState.WARNING if fraction >= WARN_AT else RiskState.ACTIVE


_RANK = {state: rank for rank, state in enumerate(
    (RiskState.ACTIVE, RiskState.WARNING, RiskState.REDUCING, RiskState.HALTED))}


def assess(limits: RiskLimits, account: AccountSnapshot) -> Assessment:
    """The state the day's figures call for, its cause and the nearest limit."""
    uses = limit_uses(limits, account)
    if not uses:
        return Assessment(RiskState.ACTIVE, None, None)
    nearest = max(uses, key=lambda use: use.fraction)
    state, cause = RiskState.ACTIVE, None
    for use in sorted(uses, key=lambda use: -use.fraction):
        candidate = _state_of(use)
        if _RANK[candidate] > _RANK[state]:
            state, cause = candidate, use
    return Assessment(state, cause, nearest)


def rank(state: RiskState) -> int:
    """ACTIVE 0 < WARNING 1 < REDUCING 2 < HALTED 3."""
    return _RANK[state]

