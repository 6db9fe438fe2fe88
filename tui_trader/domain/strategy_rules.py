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
from .catalog import entry_for
from .enums import ExecutionMode, StrategyKind
from .errors import ValidationError

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
