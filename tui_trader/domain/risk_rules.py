"""A user's risk rules as one value (`RiskLimits`), and the checks a form or command line
goes through before the rules are stored.

Every rule is optional (None: no such limit). Percentages are of the trading capital: the
capital the user set, else the broker's available margin at the start of the day. The
daily loss limit is the smaller of its rupee and percentage forms when both are set.

`check_risk_form` collects an error per field, naming the field as the screen labels it;
a set of rules that contradicts itself (a max position above the capital, a per-trade risk
above the daily loss limit) is refused as a whole, so bad input changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import ValidationError
from .labels import label_of
from .validation import NUMBER_RE, WHOLE_RE

HUNDRED = Decimal(100)
MAX_AMOUNT = Decimal("1000000000000")  # ₹1 lakh crore: anything above is a typing slip
MAX_COUNT = 1_000_000
CLEAR_WORDS = frozenset({"", "off", "none"})  # what removes a limit


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """One user's risk rules; None means the rule is not in force."""

    trading_capital: Decimal | None = None
    daily_loss_limit: Decimal | None = None  # ₹
    daily_loss_pct: Decimal | None = None  # % of capital
    max_position_value: Decimal | None = None  # ₹ in one symbol
    max_open_positions: int | None = None
    max_drawdown_pct: Decimal | None = None  # % down from the day's peak equity
    max_risk_per_trade_pct: Decimal | None = None  # % of capital lost if the stop is hit
    max_orders_per_day: int | None = None
    strategy_daily_loss_limit: Decimal | None = None  # ₹ per strategy per day

    def capital(self, broker_margin: Decimal | None) -> Decimal | None:
        """The capital percentages are of: the one set, else the broker's margin."""
        return self.trading_capital if self.trading_capital is not None else broker_margin

    @property
    def needs_capital(self) -> bool:
        """Whether a rule in force is a percentage or is measured against equity."""
        return (self.daily_loss_pct is not None or self.max_risk_per_trade_pct is not None
                or self.max_drawdown_pct is not None)

    def daily_loss_cap(self, capital: Decimal | None) -> Decimal | None:
        """The day's loss limit in ₹: the smaller of the ₹ and % forms in force."""
        caps = [self.daily_loss_limit] if self.daily_loss_limit is not None else []
        if self.daily_loss_pct is not None and capital is not None:
            caps.append(capital * self.daily_loss_pct / HUNDRED)
        return min(caps) if caps else None

    def risk_per_trade(self, capital: Decimal | None) -> Decimal | None:
        """The most one entry may lose at its stop, in ₹."""
        if self.max_risk_per_trade_pct is None or capital is None:
            return None
        return capital * self.max_risk_per_trade_pct / HUNDRED

    def as_dict(self) -> dict[str, Decimal | int | None]:
        return {name: getattr(self, name) for name in RULE_FIELDS}


RULE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(RiskLimits))
AMOUNT_FIELDS = frozenset({"trading_capital", "daily_loss_limit", "max_position_value",
                           "strategy_daily_loss_limit"})
PERCENT_FIELDS = frozenset({"daily_loss_pct", "max_drawdown_pct", "max_risk_per_trade_pct"})
COUNT_FIELDS = frozenset({"max_open_positions", "max_orders_per_day"})


def rupees(amount: Decimal) -> str:
    """'10,000' or '6,200.50': a ₹ figure as the status bar and messages show it."""
    whole = amount == amount.to_integral_value()
    return f"{amount:,.0f}" if whole else f"{amount:,.2f}"


def percent(value: Decimal) -> str:
    """'2%', '1.5%', '3.27%'."""
    return f"{value.quantize(Decimal('0.01')).normalize():f}%"


def describe_rule(field: str, value: Decimal | int | None) -> str:
    """A rule's value as the trader reads it: '10,000', '1.5%', '5', or 'off'."""
    if value is None:
        return "off"
    if field in PERCENT_FIELDS:
        return percent(Decimal(value))
    if field in COUNT_FIELDS:
        return f"{value:,}"
    return rupees(Decimal(value))


# -- one field ----------------------------------------------------------------------------

def _number(field: str, value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValidationError(field, "must be given as an exact decimal, not a float")
    text = str(value).strip().replace(",", "")
    if not NUMBER_RE.match(text):
        raise ValidationError(field, "must be a number like 5000 or 2.5")
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - NUMBER_RE admits only plain decimals
        raise ValidationError(field, "must be a number like 5000 or 2.5") from None
    if number <= 0:
        raise ValidationError(field, "must be greater than 0 (leave it empty, or 'off', for "
                                     "no limit)")
    if number.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError(field, "must have at most 2 decimal places")
    return number


def parse_rule(field: str, value: Any) -> Decimal | int | None:
    """One rule's value from text (or a number): None to remove the limit, else a checked
    amount (₹), percentage or count. Raises ValidationError naming the field."""
    if field not in RULE_FIELDS:
        raise ValidationError(field, "is not a risk rule")
    if value is None or (isinstance(value, str) and value.strip().lower() in CLEAR_WORDS):
        return None
    if field in COUNT_FIELDS:
        text = str(value).strip().replace(",", "")
        if isinstance(value, float) or not WHOLE_RE.match(text):
            raise ValidationError(field, "must be a whole number like 5")
        count = int(text)
        if count <= 0:
            raise ValidationError(field, "must be at least 1 (leave it empty, or 'off', for "
                                         "no limit)")
        if count > MAX_COUNT:
            raise ValidationError(field, f"must be at most {MAX_COUNT:,}")
        return count
    number = _number(field, value)
    if field in PERCENT_FIELDS and number > HUNDRED:
        raise ValidationError(field, "must be a percentage of at most 100")
    if field in AMOUNT_FIELDS and number > MAX_AMOUNT:
        raise ValidationError(field, f"must be at most {rupees(MAX_AMOUNT)}")
    return number


# -- the rules together -------------------------------------------------------------------

def _contradictions(limits: RiskLimits) -> dict[str, str]:
    """Rules that cannot all hold: each named at the field that goes too far."""
    errors: dict[str, str] = {}
    capital = limits.trading_capital
    cap_label = label_of("trading_capital")
    if capital is not None:
        for field in ("max_position_value", "daily_loss_limit", "strategy_daily_loss_limit"):
            value = getattr(limits, field)
            if value is not None and value > capital:
                errors[field] = (f"{rupees(value)} is above {cap_label} {rupees(capital)}")
    day_cap = limits.daily_loss_cap(capital)
    strategy_cap = limits.strategy_daily_loss_limit
    if "strategy_daily_loss_limit" not in errors and strategy_cap is not None \
            and day_cap is not None and strategy_cap > day_cap:
        errors["strategy_daily_loss_limit"] = (
            f"{rupees(strategy_cap)} is above the account's daily loss limit "
            f"{rupees(day_cap)}")
    per_trade_pct = limits.max_risk_per_trade_pct
    if per_trade_pct is not None:
        if limits.daily_loss_pct is not None and per_trade_pct > limits.daily_loss_pct:
            errors["max_risk_per_trade_pct"] = (
                f"{percent(per_trade_pct)} is above {label_of('daily_loss_pct')} "
                f"{percent(limits.daily_loss_pct)}: one trade could lose more than a day may")
        else:
            per_trade = limits.risk_per_trade(capital)
            if per_trade is not None and day_cap is not None and per_trade > day_cap:
                errors["max_risk_per_trade_pct"] = (
                    f"{percent(per_trade_pct)} of {cap_label} is {rupees(per_trade)}, above "
                    f"the daily loss limit {rupees(day_cap)}: one trade could lose more than "
                    f"a day may")
    return errors


def check_risk_form(raw: Mapping[str, Any], base: RiskLimits | None = None
                    ) -> tuple[RiskLimits | None, dict[str, str]]:
    """The rules `base` would have with the fields in `raw` changed (a field absent from
    `raw` keeps its value; None, '' or 'off' removes it). Returns (limits, {}) when the
    whole set is valid, else (None, {field: rule}) for every bad field."""
    errors: dict[str, str] = {}
    changes: dict[str, Decimal | int | None] = {}
    for field, value in raw.items():
        try:
            changes[field] = parse_rule(field, value)
        except ValidationError as exc:
            errors[exc.field] = exc.rule
    if errors:
        return None, errors
    limits = replace(base or RiskLimits(), **changes)
    errors = _contradictions(limits)
    return (None, errors) if errors else (limits, {})


def require_valid_rules(raw: Mapping[str, Any], base: RiskLimits | None = None) -> RiskLimits:
    """`check_risk_form`, raising ValidationError for the first bad field (in the order the
    rules are listed)."""
    limits, errors = check_risk_form(raw, base)
    if limits is None:
        field = min(errors, key=lambda f: RULE_FIELDS.index(f) if f in RULE_FIELDS else -1)
        raise ValidationError(field, errors[field])
    return limits
