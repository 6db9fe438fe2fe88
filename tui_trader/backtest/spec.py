"""What a backtest is asked to do: the strategy (kind, parameters, exits), the position
(product, quantity, lots), the fill assumptions and the money (capital, charges). Plain data,
JSON-able (`as_json`) for the stored run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ..domain.enums import InstrumentType, Product
from ..domain.errors import ValidationError
from ..domain.risk_rules import RiskLimits


class FillAt(StrEnum):
    """Where a market order a candle's signal gives is filled."""

    NEXT_OPEN = "next-open"  # at the next candle's open (the default; no look-ahead)
    CLOSE = "close"  # at the signal candle's own close


F_AND_O = frozenset({InstrumentType.FUT, InstrumentType.CE, InstrumentType.PE})


@dataclass(frozen=True)
class RunSpec:
    kind: str
    params: Mapping[str, Any]
    exits: Mapping[str, Any]  # the exit rules as a trader sets them (the kind's defaults
    # fill the rest); without `max_trades_per_day` entries a day are not capped
    quantity: int  # shares; lots for F&O
    product: Product = Product.CNC
    instrument_type: InstrumentType = InstrumentType.EQ
    lot_size: int = 1
    exchange: str = "NSE"
    fill: FillAt = FillAt.NEXT_OPEN
    slippage_ticks: int = 0
    tick: Decimal = Decimal("0.05")
    charges: bool = True
    capital: Decimal = Decimal(100_000)
    shorts: bool = field(default=True)  # enter short where the product allows it
    # The user's risk rules, judged for every entry by the live engine's pre-trade gate
    # (None: no rules). Percentages are of `capital` unless the rules set a capital.
    risk: RiskLimits | None = None

    def __post_init__(self) -> None:
        if isinstance(self.quantity, bool) or self.quantity <= 0:
            raise ValidationError("quantity", "must be a whole number above 0")
        if self.lot_size <= 0:
            raise ValidationError("lot_size", "must be a whole number above 0")
        if self.slippage_ticks < 0:
            raise ValidationError("slippage_ticks", "must be 0 or more")
        if self.tick <= 0:
            raise ValidationError("tick", "must be above 0")
        if self.capital <= 0:
            raise ValidationError("capital", "must be above 0")

    @property
    def units(self) -> int:
        """The quantity traded: lots times the lot size for F&O, shares otherwise."""
        if self.instrument_type in F_AND_O:
            return self.quantity * self.lot_size
        return self.quantity

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": dict(self.params), "exits": {
            k: None if v is None else str(v) for k, v in self.exits.items()},
            "quantity": self.quantity,
            "product": self.product.value, "instrument_type": self.instrument_type.value,
            "lot_size": self.lot_size, "exchange": self.exchange, "fill": self.fill.value,
            "slippage_ticks": self.slippage_ticks, "tick": str(self.tick),
            "charges": self.charges, "capital": str(self.capital), "shorts": self.shorts,
            **({"risk": {k: str(v) for k, v in self.risk.as_dict().items() if v is not None}}
               if self.risk is not None else {})}
