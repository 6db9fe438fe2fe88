"""How money, P&L, quantities and times read on screen: pure functions, no Textual.

P&L always carries its sign (+/-) so colour is never the only cue.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from ..domain.clock import IST, ensure_utc
from ..domain.text import printable

CENT = Decimal("0.01")


def money(value: Decimal | None, *, blank: str = "-") -> str:
    """1234.5 -> '1,234.50'; None -> blank."""
    if value is None:
        return blank
    return f"{value.quantize(CENT, rounding=ROUND_HALF_EVEN):,.2f}"


def signed_money(value: Decimal | None, *, blank: str = "-") -> str:
    """P&L with an explicit sign: '+1,234.50', '-200.00', '0.00'."""
    if value is None:
        return blank
    amount = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    if amount > 0:
        return f"+{amount:,.2f}"
    if amount < 0:
        return f"-{-amount:,.2f}"
    return "0.00"


def sign_of(value: Decimal | None) -> int:
    if value is None:
        return 0
    amount = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    return (amount > 0) - (amount < 0)


def quantity(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def ist_time(value: datetime | None, *, seconds: bool = True) -> str:
    if value is None:
        return "-"
    local = ensure_utc(value).astimezone(IST)
    return local.strftime("%H:%M:%S" if seconds else "%H:%M")


def ist_when(value: datetime | None, now: datetime) -> str:
    """A time today as HH:MM:SS; an earlier day's as its date ("20 Nov"), so yesterday's
    fills never read as today's (the order's detail has the full time)."""
    if value is None:
        return "-"
    local = ensure_utc(value).astimezone(IST)
    if local.date() == ensure_utc(now).astimezone(IST).date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%d %b")


def ist_datetime(value: datetime | None) -> str:
    if value is None:
        return "-"
    return ensure_utc(value).astimezone(IST).strftime("%Y-%m-%d %H:%M IST")


def short_time(text: str) -> str:
    """'09:30:00' -> '09:30'; '09:30:15' stays."""
    return text[:5] if text.endswith(":00") and len(text) == 8 else text


def one_line(text: str, limit: int = 200) -> str:
    """One short line of outside text (an error, a name): escape sequences removed, control
    characters made visible, line breaks and runs of spaces collapsed, cut at `limit`."""
    flat = " ".join(printable(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
