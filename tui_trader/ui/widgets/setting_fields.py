"""Form fields generated from a typed settings model (a catalog kind's parameters, the
exit rules): a choice (timeframe, stop type, re-entry) becomes a Select, anything else a
text field holding its default; the placeholder says the bounds, unit and step, and the
help text is kept for the form's help line. Nothing here validates: the form asks the one
rule (domain/services) and shows its messages at these fields."""

from __future__ import annotations

import enum
import types
import typing
from dataclasses import dataclass
from datetime import time
from typing import Any

import annotated_types as at
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Select

from ...domain.labels import label_of
from ...domain.settings_schema import SettingsModel
from ...domain.timeframes import describe
from .field import Field
from .plain import PlainLabel

CHOICE_WORDS = {"price": "price", "percent": "% of entry", "atr": "ATR multiple",
                "never": "never again that day", "new_signal": "on a new signal",
                "cooldown": "after a cool-down"}


@dataclass(frozen=True)
class SettingField:
    key: str  # the form's key (the widget is #input-<key>, its message #error-<key>)
    name: str  # the model's field
    label: str
    help: str
    hint: str  # bounds, unit, step in words (the placeholder)
    choices: tuple[tuple[str, str], ...] = ()  # (shown, value) for a choice


def _enum_of(annotation: Any) -> type[enum.Enum] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
            return candidate
    return None


def _optional(annotation: Any) -> bool:
    return isinstance(annotation, types.UnionType) and type(None) in typing.get_args(annotation)


def _hint(info: Any, optional: bool, annotation: Any) -> str:
    low = high = None
    for meta in info.metadata:
        if isinstance(meta, at.Ge | at.Gt):
            low = getattr(meta, "ge", None) if isinstance(meta, at.Ge) else f">{meta.gt}"
        elif isinstance(meta, at.Le | at.Lt):
            high = getattr(meta, "le", None) if isinstance(meta, at.Le) else f"<{meta.lt}"
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    words = []
    if low is not None and high is not None:
        words.append(f"{low}-{high}")
    elif low is not None:
        words.append(f"{low} or more" if not str(low).startswith(">") else f"above {low[1:]}")
    if extra.get("unit"):
        words.append(str(extra["unit"]))
    if extra.get("step"):
        words.append(f"step {extra['step']:g}")
    if time in (annotation, *typing.get_args(annotation)):
        words.append("HH:MM IST")
    if optional:
        words.append("empty: none")
    return ", ".join(words)


def setting_fields(model: type[SettingsModel], keys: dict[str, str],
                   timeframes: tuple[Any, ...] = ()) -> list[SettingField]:
    """One SettingField per model field, in the model's order; `keys` maps a field name to
    its form key; a timeframe offers only `timeframes`."""
    out = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        choice = _enum_of(annotation)
        choices: tuple[tuple[str, str], ...] = ()
        if choice is not None:
            members = list(timeframes) if name == "timeframe" and timeframes else list(choice)
            choices = tuple((describe(m) if name == "timeframe" else
                             CHOICE_WORDS.get(m.value, m.value), m.value) for m in members)
        out.append(SettingField(keys[name], name, label_of(keys[name]),
                                info.description or "",
                                _hint(info, _optional(annotation), annotation), choices))
    return out


def text_of(value: Any) -> str:
    """A default or stored value as the field shows it."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value)


def widgets_for(field: SettingField, value: str) -> list[Widget]:
    """The widgets of one setting: a labelled Select and its message line, or a Field."""
    if field.choices:
        values = [v for _, v in field.choices]
        select: Select[str] = Select(list(field.choices), value=value if value in values
                                     else values[0], allow_blank=False, compact=True,
                                     id=f"input-{field.key}")
        row = Horizontal(Label(field.label, classes="field-label"), select,
                         classes="select-row")
        return [row, PlainLabel("", classes="field-error", id=f"error-{field.key}")]
    return [Field(field.key, field.label, value=value, placeholder=field.hint)]


class SettingsGroup(Vertical):
    """A heading-less group of generated fields (the kind's, or the exits')."""

    DEFAULT_CSS = """
    SettingsGroup {
        height: auto;
    }
    SettingsGroup > .field-error {
        width: 100%;
        height: auto;
        min-height: 1;
        padding-left: 14;
        color: $error;
    }
    """
