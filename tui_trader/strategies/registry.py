"""Which code implements each catalog kind, and how a running strategy's kind is made:
from the user's raw parameters (validated by the catalog) and, after a restart, its state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..domain.catalog import BY_KIND, check_params
from ..domain.enums import Product, StrategyKind
from ..domain.errors import ValidationError
from .base import Kind, KindContext
from .kinds.breakout import Breakout
from .kinds.ema_crossover import EmaCrossover
from .kinds.rsi_reversion import RsiReversion
from .kinds.scheduled import Scheduled
from .kinds.supertrend import Supertrend

KINDS: dict[StrategyKind, type[Kind]] = {
    cls.kind: cls for cls in (Scheduled, EmaCrossover, RsiReversion, Breakout, Supertrend)}

assert set(KINDS) == set(BY_KIND), "every catalog kind has code, and every kind an entry"


def make_kind(kind: str | StrategyKind, params: Mapping[str, Any], context: KindContext,
              state: Mapping[str, Any] | None = None,
              product: Product = Product.MIS) -> Kind:
    """A running strategy's kind; raises ValidationError (the first bad field) when the
    parameters break a rule."""
    valid, errors = check_params(kind, params, product)
    if valid is None:
        field = next(iter(errors))
        raise ValidationError(field, errors[field])
    return KINDS[StrategyKind(str(kind))](valid, context, state)
