"""The catalog of strategy kinds: what each is called, what it does, its typed parameters,
the timeframes it can use and its default exits. One source: the database's
`strategy_catalog` is seeded from it, `tui-trader catalog` prints it, the editor builds its
forms from it and `tui_trader.strategies` implements each entry.

`check_params` / `check_exits` validate a user's settings with one rule per field, named as
the screen labels it; `check_update` refuses a change to a field a running strategy may not
change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from enum import Enum
from typing import Any

from .enums import Product, StrategyKind, Timeframe
from .exit_rules import ExitRules, LevelMode, ReEntry
from .kind_params import (
    BreakoutParams,
    EmaCrossoverParams,
    RsiReversionParams,
    ScheduledParams,
    SupertrendParams,
)
from .labels import label_of
from .settings_schema import SettingsModel, parse_settings
from .timeframes import describe

ALL_TIMEFRAMES = tuple(Timeframe)


@dataclass(frozen=True)
class CatalogEntry:
    kind: StrategyKind
    name: str
    description: str
    params: type[SettingsModel]
    timeframes: tuple[Timeframe, ...]  # empty: the kind reads no candles
    default_exits: Mapping[str, Any] = field(default_factory=dict)
    runs: bool = False  # the engine runs this kind today (the others: catalog only)

    def parameters_schema(self) -> dict[str, Any]:
        """The parameters as a JSON Schema object (pydantic's), each property titled with
        its screen label and the timeframe narrowed to the ones this kind can use."""
        schema = self.params.model_json_schema()
        for name, prop in schema["properties"].items():
            prop.setdefault("title", label_of(name))
            if name == "timeframe":
                prop.pop("$ref", None)
                prop.update(type="string", enum=[tf.value for tf in self.timeframes])
        if not any("$ref" in p for p in schema["properties"].values()):
            schema.pop("$defs", None)
        return schema

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters_schema(),
            "timeframes": [tf.value for tf in self.timeframes],
            "default_exits": {k: _jsonable(v) for k, v in self.default_exits.items()},
            "updatable": sorted(self.params.updatable()),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, time):
        return value.isoformat(timespec="minutes")
    return value


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        StrategyKind.SCHEDULED, "Scheduled buy/sell",
        "Buys at one time and sells at a later one on each trading day, exiting early if the "
        "price falls to the stop-loss.",
        ScheduledParams, (),
        {"stop_mode": LevelMode.PRICE, "square_off": None, "max_trades_per_day": 1,
         "reentry": ReEntry.NEVER},
        runs=True),
    CatalogEntry(
        StrategyKind.EMA_CROSSOVER, "EMA crossover",
        "Goes long when the fast EMA crosses above the slow one and short when it crosses "
        "below; a position exits on the opposite cross.",
        EmaCrossoverParams, ALL_TIMEFRAMES,
        {"stop_mode": LevelMode.PERCENT, "stop_loss": "1.0", "max_trades_per_day": 3}),
    CatalogEntry(
        StrategyKind.RSI_REVERSION, "RSI reversion",
        "Buys when the RSI climbs back out of oversold and sells short when it falls back "
        "out of overbought; a long exits when the RSI reaches overbought, a short when it "
        "reaches oversold.",
        RsiReversionParams, ALL_TIMEFRAMES,
        {"stop_mode": LevelMode.PERCENT, "stop_loss": "1.5", "target_mode": LevelMode.PERCENT,
         "target": "3.0", "max_trades_per_day": 2}),
    CatalogEntry(
        StrategyKind.BREAKOUT, "Breakout (momentum)",
        "Goes long when a candle closes above the highest high of the candles before it, "
        "short below their lowest low, optionally only on heavy volume; a position exits "
        "when the price breaks out the other way.",
        BreakoutParams, ALL_TIMEFRAMES,
        {"stop_mode": LevelMode.ATR, "stop_loss": "2.0", "trailing_mode": LevelMode.ATR,
         "trailing": "3.0", "max_trades_per_day": 2}),
    CatalogEntry(
        StrategyKind.SUPERTREND, "Supertrend",
        "Follows the Supertrend (ATR bands around the mid-price): long while the price holds "
        "above the lower band, short below the upper one; a position exits when the trend "
        "flips.",
        SupertrendParams, ALL_TIMEFRAMES,
        {"stop_mode": LevelMode.PERCENT, "stop_loss": "2.0", "max_trades_per_day": 3}),
)

BY_KIND: dict[StrategyKind, CatalogEntry] = {entry.kind: entry for entry in CATALOG}


def entry_for(kind: str | StrategyKind) -> CatalogEntry | None:
    try:
        return BY_KIND.get(StrategyKind(str(kind)))
    except ValueError:
        return None


def _kinds() -> str:
    return ", ".join(k.value for k in BY_KIND)


def check_params(kind: str | StrategyKind, raw: Mapping[str, Any],
                 product: Product = Product.MIS) -> tuple[SettingsModel | None, dict[str, str]]:
    """(params, {}) when `raw` are valid parameters of `kind` for `product`, else
    (None, {field: rule}) for every bad field."""
    entry = entry_for(kind)
    if entry is None:
        return None, {"kind": f"must be one of {_kinds()}"}
    params, errors = parse_settings(entry.params, raw)
    if "timeframe" in raw and not entry.timeframes:
        errors["timeframe"] = f"{entry.name} trades at set times and takes no timeframe"
    timeframe = getattr(params, "timeframe", None)
    if timeframe is not None:
        if timeframe not in entry.timeframes:
            errors["timeframe"] = (f"{entry.name} cannot use {describe(timeframe)} candles; "
                                   f"choose one of "
                                   f"{', '.join(describe(t) for t in entry.timeframes)}")
        elif timeframe is Timeframe.DAY and product is Product.MIS:
            errors["timeframe"] = ("a day candle closes at the session close, after MIS "
                                   "positions are squared off; choose a shorter timeframe "
                                   "or the CNC product")
    return (None, errors) if errors else (params, {})


def check_exits(kind: str | StrategyKind, raw: Mapping[str, Any]
                ) -> tuple[ExitRules | None, dict[str, str]]:
    """The kind's default exits overlaid with `raw`, validated: (rules, {}) or (None,
    {field: rule})."""
    entry = entry_for(kind)
    if entry is None:
        return None, {"kind": f"must be one of {_kinds()}"}
    merged = {**entry.default_exits, **raw}
    rules, errors = parse_settings(ExitRules, merged)
    return rules, errors  # type: ignore[return-value]


def check_update(kind: str | StrategyKind, running: Mapping[str, Any],
                 raw: Mapping[str, Any]) -> dict[str, str]:
    """The fields a running strategy's new parameters `raw` change that may not change
    while it runs, {field: rule}; {} when the change may be applied."""
    entry = entry_for(kind)
    if entry is None:
        return {"kind": f"must be one of {_kinds()}"}
    updatable = entry.params.updatable()
    return {name: f"cannot change while the strategy runs (stop it first); "
                  f"{label_of(name)} is {running.get(name)}"
            for name in sorted(set(running) | set(raw))
            if name not in updatable and raw.get(name, running.get(name)) != running.get(name)}
