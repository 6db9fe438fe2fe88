"""The one rule a stop-loss must meet against the market: it sits below the last known price
(above it for a short), and against an entry: below a long's entry price, above a short's.

A stop at or above the price sells straight after the BUY fills. The rule is checked in the
editor (as you type and on save), when a strategy starts, and again at the moment of the BUY,
each time against the best price known then: a live tick, else a stored one (the last
candle close, else the instruments master's last price). With no price known at all the
rule cannot be judged and passes; the BUY moment always has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .enums import Side
from .errors import ValidationError

LIVE = "live"
LAST_CLOSE = "last close"
LAST_KNOWN = "last known"
ENTRY = "entry"  # a position's entry price (a signal's price before it fills)


@dataclass(frozen=True, slots=True)
class KnownPrice:
    """A symbol's price and where it comes from (`LIVE`, `LAST_CLOSE`, `LAST_KNOWN`)."""

    symbol: str
    price: Decimal
    source: str
    at: datetime | None = None

    def describe(self) -> str:
        """e.g. "INFY's live price 1,520.40" or "TCS's last close 3,410.25"."""
        noun = "last close" if self.source == LAST_CLOSE else f"{self.source} price"
        return f"{self.symbol}'s {noun} {self.price:,.2f}"


def stop_rule_broken(stop_loss: Decimal, known: KnownPrice | None,
                     side: Side = Side.BUY) -> str | None:
    """The rule the stop breaks against `known`, as a field message; None when it holds.
    `side` is the entry's: a long (BUY) is protected by a stop below, a short by one above."""
    if known is None:
        return None
    if side is Side.BUY:
        if stop_loss < known.price:
            return None
        return (f"must be below {known.describe()}; {stop_loss:,.2f} would sell straight "
                f"after buying")
    if stop_loss > known.price:
        return None
    return (f"must be above {known.describe()}; {stop_loss:,.2f} would buy back straight "
            f"after selling short")


def require_stop_below(stop_loss: Decimal, known: KnownPrice | None,
                       side: Side = Side.BUY) -> None:
    """Raise the stop rule (below a long's price, above a short's) as a ValidationError."""
    rule = stop_rule_broken(stop_loss, known, side)
    if rule is not None:
        raise ValidationError("stop_loss", rule)
