"""Validation of a strategy form as a whole: every field checked, every error collected.

The editor calls this as the user types (to show messages at each field); the service calls
it before writing. Symbol existence needs the instruments table and is checked above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import validation as v
from .catalog import check_exits, check_params, entry_for
from .enums import ExecutionMode, Product, StrategyKind
from .errors import ValidationError
from .exit_rules import ExitRules
from .settings_schema import SettingsModel

if TYPE_CHECKING:
    from .calendar import Session


@dataclass(frozen=True)
class StrategyDraft:
    name: str
    symbol: str
    buy_time: time
    sell_time: time
    stop_loss: Decimal
    quantity: int
    mode: ExecutionMode = ExecutionMode.PAPER
    kind: StrategyKind = StrategyKind.SCHEDULED
    exchange: str = "NSE"


def check_strategy_form(raw: Mapping[str, Any], special: Sequence[Session] = ()
                        ) -> tuple[StrategyDraft | None, dict[str, str]]:
    """Return (draft, {}) when valid, else (None, {field: message}) for every bad field.

    `special` are the special sessions ahead (the calendar's): legs may fall in one of them
    instead of the regular 09:15-15:30 IST, both in the same one."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def run(field: str, fn) -> None:
        try:
            values[field] = fn()
        except ValidationError as exc:
            errors[exc.field] = exc.rule

    run("name", lambda: v.clean_text("name", raw.get("name"), max_len=80))
    run("symbol", lambda: v.symbol(raw.get("symbol")))
    run("buy_time", lambda: v.market_time("buy_time", raw.get("buy_time")))
    run("sell_time", lambda: v.market_time("sell_time", raw.get("sell_time")))
    run("stop_loss", lambda: v.price("stop_loss", raw.get("stop_loss")))
    run("quantity", lambda: v.quantity(raw.get("quantity")))

    mode_raw = raw.get("mode") or ExecutionMode.PAPER
    try:
        values["mode"] = ExecutionMode(str(mode_raw).upper())
    except ValueError:
        errors["mode"] = "must be PAPER or LIVE"
    kind_raw = raw.get("kind") or StrategyKind.SCHEDULED
    try:
        values["kind"] = StrategyKind(str(kind_raw))
    except ValueError:
        errors["kind"] = "must be one of: " + ", ".join(k.value for k in StrategyKind)
    else:
        entry = entry_for(values["kind"])
        if entry is None or not entry.runs:
            # Catalogued, but the engine would run it as a scheduled strategy: refused
            # until the engine runs the kind itself.
            errors["kind"] = (f"{values['kind'].value} strategies are in the catalog but the "
                              f"engine does not run them yet; choose scheduled")

    for field in ("buy_time", "sell_time"):
        if field in values:
            try:
                v.within_market_hours(field, values[field], special)
            except ValidationError as exc:
                errors[exc.field] = exc.rule
    if "buy_time" in values and "sell_time" in values and not \
            {"buy_time", "sell_time"} & set(errors):
        try:
            v.buy_before_sell(values["buy_time"], values["sell_time"])
            v.legs_in_one_session(values["buy_time"], values["sell_time"], special)
        except ValidationError as exc:
            errors[exc.field] = exc.rule
    if values.get("mode") is ExecutionMode.LIVE and not raw.get("broker_account_id"):
        errors["broker_account_id"] = "LIVE needs a Zerodha Kite account (add one under Brokers)"
    if errors:
        return None, errors
    return StrategyDraft(exchange=str(raw.get("exchange") or "NSE"), **values), {}


def require_valid(raw: Mapping[str, Any], special: Sequence[Session] = ()) -> StrategyDraft:
    """Like check_strategy_form but raises the first error (in form order)."""
    draft, errors = check_strategy_form(raw, special)
    if draft is None:
        field = next(iter(errors))
        raise ValidationError(field, errors[field])
    return draft


# -- a strategy of a signal kind (every kind but scheduled) ---------------------------------

@dataclass(frozen=True)
class KindDraft:
    """A valid strategy of a signal kind: its common fields, the kind's parameters and the
    exit rules, as the form (and the CLI) give them."""

    name: str
    symbol: str
    quantity: int
    kind: StrategyKind
    product: Product
    params: SettingsModel
    exits: ExitRules
    mode: ExecutionMode = ExecutionMode.PAPER
    exchange: str = "NSE"

    def parameters(self) -> dict[str, Any]:
        """What `strategies.parameters` keeps for it."""
        return {"params": self.params.model_dump(mode="json"),
                "exits": self.exits.model_dump(mode="json"), "product": self.product.value}


def exit_key(kind: StrategyKind, name: str) -> str:
    """The form's key for an exit setting: its own name, unless the kind has a parameter
    of that name (supertrend's ATR period), then `exit_<name>`."""
    entry = entry_for(kind)
    if entry is not None and name in entry.params.model_fields:
        return f"exit_{name}"
    return name


def kind_form_keys(kind: StrategyKind) -> tuple[list[str], list[str]]:
    """The form keys of a kind's parameters and of its exit rules, in form order."""
    entry = entry_for(kind)
    params = list(entry.params.model_fields) if entry is not None else []
    return params, [exit_key(kind, name) for name in ExitRules.model_fields]


def _settings(model: type[SettingsModel], keys: Mapping[str, str], raw: Mapping[str, Any]
              ) -> dict[str, Any]:
    """The form's values for a settings model: an empty optional field is None (none), an
    empty required one is left out (then reported missing, or the default applies)."""
    out: dict[str, Any] = {}
    for name, key in keys.items():
        if key not in raw:
            continue
        value = raw[key]
        if isinstance(value, str):
            value = value.strip()
        if value == "" or value is None:
            info = model.model_fields[name]
            if not info.is_required() and info.default is None:
                out[name] = None
            continue
        out[name] = value
    return out


def check_kind_form(raw: Mapping[str, Any]
                    ) -> tuple[KindDraft | None, dict[str, str]]:
    """(draft, {}) when a signal kind's form is valid, else (None, {form key: rule}) for
    every bad field: the common fields, the kind's parameters (their bounds and the rules
    across them), the product, and the exit rules over the kind's defaults. Whether the
    engine runs the kind is not judged here (the service refuses to save one it cannot)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def run(field: str, fn) -> None:
        try:
            values[field] = fn()
        except ValidationError as exc:
            errors[exc.field] = exc.rule

    run("name", lambda: v.clean_text("name", raw.get("name"), max_len=80))
    run("symbol", lambda: v.symbol(raw.get("symbol")))
    run("quantity", lambda: v.quantity(raw.get("quantity")))
    try:
        values["mode"] = ExecutionMode(str(raw.get("mode") or ExecutionMode.PAPER).upper())
    except ValueError:
        errors["mode"] = "must be PAPER or LIVE"
    if values.get("mode") is ExecutionMode.LIVE and not raw.get("broker_account_id"):
        errors["broker_account_id"] = "LIVE needs a Zerodha Kite account (add one under Brokers)"
    try:
        values["product"] = Product(str(raw.get("product") or Product.MIS).upper())
    except ValueError:
        errors["product"] = "must be one of " + ", ".join(p.value for p in Product)
    try:
        kind = StrategyKind(str(raw.get("kind") or ""))
    except ValueError:
        errors["kind"] = "must be one of: " + ", ".join(k.value for k in StrategyKind)
        return None, errors
    entry = entry_for(kind)
    if entry is None or kind is StrategyKind.SCHEDULED:
        errors["kind"] = "a scheduled strategy is written with its buy and sell times"
        return None, errors
    values["kind"] = kind
    param_keys, exit_keys = kind_form_keys(kind)
    params, param_errors = check_params(
        kind, _settings(entry.params, {n: n for n in param_keys}, raw),
        values.get("product", Product.MIS))
    errors.update(param_errors)
    exits, exit_errors = check_exits(
        kind, _settings(ExitRules, dict(zip(ExitRules.model_fields, exit_keys, strict=True)),
                        raw))
    errors.update({exit_key(kind, name): rule for name, rule in exit_errors.items()})
    if errors or params is None or exits is None:
        return None, errors
    return KindDraft(params=params, exits=exits, exchange=str(raw.get("exchange") or "NSE"),
                     **values), {}


def updatable_keys(kind: StrategyKind) -> frozenset[str]:
    """The form keys a running strategy of `kind` may change: the parameters and exits the
    catalog marks updatable (a scheduled strategy's legs and stop are not)."""
    entry = entry_for(kind)
    if entry is None or kind is StrategyKind.SCHEDULED:
        return frozenset()
    return frozenset(entry.params.updatable()) | frozenset(
        exit_key(kind, name) for name in ExitRules.updatable())
