"""Formatting at the protocol edge: IST timestamps, JSON numbers, prices in paise."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from tui_trader.domain.clock import IST, ensure_utc


def ist(value: datetime | None) -> str | None:
    """Kite's timestamp: IST wall clock, "YYYY-MM-DD HH:MM:SS" (19 chars, the client's test)."""
    if value is None:
        return None
    return ensure_utc(value).astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")


def num(value: Decimal | int | None) -> int | float:
    """Decimal inside, a JSON number outside as Kite writes it: whole numbers as integers
    (72, not 72.0), the rest as floats."""
    if value is None:
        return 0
    if isinstance(value, int) or value == value.to_integral_value():
        return int(value)
    return float(value)


def paise(price: Decimal) -> int:
    """Ticker packets carry prices as unsigned integers in paise."""
    return max(0, int((price * 100).to_integral_value(rounding=ROUND_HALF_UP)))
