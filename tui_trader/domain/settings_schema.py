"""How a typed setting is declared and how a broken one is told: the parameter and exit
models of the catalog are pydantic models built with `setting()`, and `field_errors` turns
pydantic's complaints into one clear rule per field ("must be between 2 and 100 candles"),
to be shown beside the field's label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import annotated_types as at
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from .labels import label_of


def setting(default: Any = ..., *, help: str, unit: str = "", step: float | None = None,
            updatable: bool = False, **bounds: Any) -> Any:
    """A field with its help text, unit, step (the editor's +/- increment) and whether it
    may change while the strategy runs; bounds as pydantic's ge/le/gt/lt."""
    extra: dict[str, Any] = {"updatable": updatable}
    if unit:
        extra["unit"] = unit
    if step is not None:
        extra["step"] = step
    return Field(default, description=help, json_schema_extra=extra, **bounds)


class SettingsModel(BaseModel):
    """Typed settings: unknown names refused, frozen once made, titled by the screen label."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              field_title_generator=lambda name, _info: label_of(name))

    def broken_rules(self) -> dict[str, str]:
        """Rules across fields this model breaks, {field: rule}; none by default."""
        return {}

    @classmethod
    def updatable(cls) -> frozenset[str]:
        return frozenset(name for name, info in cls.model_fields.items()
                         if isinstance(info.json_schema_extra, dict)
                         and info.json_schema_extra.get("updatable"))


def _bounds(model: type[BaseModel], name: str) -> str | None:
    """'must be between 2 and 100 candles': the field's bounds in words."""
    info = model.model_fields.get(name)
    if info is None:
        return None
    low = high = None
    for meta in info.metadata:
        if isinstance(meta, at.Ge):
            low = ("at least", meta.ge)
        elif isinstance(meta, at.Gt):
            low = ("above", meta.gt)
        elif isinstance(meta, at.Le):
            high = ("at most", meta.le)
        elif isinstance(meta, at.Lt):
            high = ("below", meta.lt)
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    unit = f" {extra['unit']}" if extra.get("unit") else ""
    if low and high and low[0] == "at least" and high[0] == "at most":
        return f"must be between {low[1]} and {high[1]}{unit}"
    said = " and ".join(f"{word} {value}" for word, value in filter(None, (low, high)))
    return f"must be {said}{unit}" if said else None


_TYPE_RULES = {
    "int_parsing": "must be a whole number", "int_from_float": "must be a whole number",
    "int_type": "must be a whole number", "float_parsing": "must be a number",
    "float_type": "must be a number", "decimal_parsing": "must be a number",
    "decimal_type": "must be a number", "finite_number": "must be a number",
    "time_parsing": "must be a time as HH:MM", "time_type": "must be a time as HH:MM",
    "missing": "is required", "extra_forbidden": "is not a setting of this kind",
    "bool_parsing": "must be yes or no",
}


def field_errors(model: type[SettingsModel], exc: PydanticValidationError) -> dict[str, str]:
    """pydantic's errors as {field: rule}, the first rule for each field."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "__all__"
        if name in errors:
            continue
        kind = error["type"]
        if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
            errors[name] = _bounds(model, name) or error["msg"]
        elif kind == "enum":
            expected = error.get("ctx", {}).get("expected", "")
            errors[name] = f"must be one of {expected.replace(chr(39), '')}"
        elif kind in _TYPE_RULES:
            errors[name] = _TYPE_RULES[kind]
        else:
            errors[name] = str(error["msg"]).removeprefix("Value error, ")
    return errors


def parse_settings(model: type[SettingsModel], raw: Mapping[str, Any]
                   ) -> tuple[SettingsModel | None, dict[str, str]]:
    """(settings, {}) when `raw` is valid, else (None, {field: rule}) for every bad field,
    the cross-field rules included once each field is valid on its own."""
    try:
        settings = model.model_validate(dict(raw))
    except PydanticValidationError as exc:
        return None, field_errors(model, exc)
    broken = settings.broken_rules()
    return (None, broken) if broken else (settings, {})
