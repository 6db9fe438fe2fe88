"""The strategy catalog as the console and the CLI use it: every kind with its description,
parameter schema (JSON Schema), timeframes and default exits, as JSON or a readable table;
and a user's settings for a kind checked as a whole, one rule per field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.catalog import CATALOG, check_exits, check_params
from ..domain.enums import Product
from ..domain.labels import label_of
from ..domain.timeframes import describe


def catalog_json() -> list[dict[str, Any]]:
    """One object per kind: kind, name, description, parameters (a JSON Schema object),
    timeframes, default_exits, updatable."""
    return [entry.as_json() for entry in CATALOG]


def check_settings(kind: str, params: Mapping[str, Any], exits: Mapping[str, Any],
                   product: str | Product = Product.MIS) -> dict[str, str]:
    """Every broken rule of a strategy's kind settings, {field: rule}; {} when all hold."""
    try:
        chosen = Product(str(product).upper())
    except ValueError:
        return {"product": "must be one of " + ", ".join(p.value for p in Product)}
    _, errors = check_params(kind, params, chosen)
    if "kind" in errors:
        return errors
    _, exit_errors = check_exits(kind, exits)
    return {**errors, **exit_errors}


def _parameter_words(entry_json: dict[str, Any]) -> str:
    words = []
    for name, prop in entry_json["parameters"]["properties"].items():
        if name == "timeframe":
            continue
        bounded = next((p for p in prop.get("anyOf", [prop]) if "minimum" in p), prop)
        low, high = bounded.get("minimum"), bounded.get("maximum")
        default = prop.get("default")
        bounds = f" {low}-{high}" if low is not None and high is not None else ""
        shown = f"={default}" if default is not None else \
            " (optional)" if "default" in prop else ""
        words.append(f"{label_of(name)}{shown}{bounds}")
    return ", ".join(words)


def catalog_table() -> list[str]:
    """The catalog as lines of text for a terminal."""
    lines = []
    for entry in CATALOG:
        data = entry.as_json()
        frames = ", ".join(describe(tf) for tf in entry.timeframes) or "none (set times)"
        lines += [f"{entry.kind.value}  {entry.name}", f"  {entry.description}",
                  f"  parameters: {_parameter_words(data)}", f"  timeframes: {frames}", ""]
    return lines[:-1]
