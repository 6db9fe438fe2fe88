"""Input rules shared by services, forms and the database checks.

Each function returns the cleaned value or raises ValidationError naming the field and rule.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Sequence
from datetime import time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from .common_passwords import is_common
from .errors import ValidationError

if TYPE_CHECKING:
    from .calendar import Session

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9&_.\-]{0,29}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_NAME = 100
MAX_QUANTITY = 1_000_000
MAX_PRICE = Decimal("10000000")
# ASCII digits only: Decimal() and int() also take other scripts' digits and "1_000".
NUMBER_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
WHOLE_RE = re.compile(r"^-?[0-9]+$")


def has_control(text: str) -> bool:
    """Control or format characters (NUL included), line/paragraph separators (they break a
    one-line field as a newline would), or lone surrogates (not text at all: they cannot be
    encoded to store or show)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") for ch in text)


_has_control = has_control


def clean_text(field: str, value: str | None, *, max_len: int, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(field, "is required")
    if len(text) > max_len:
        raise ValidationError(field, f"must be at most {max_len} characters")
    if _has_control(text):
        raise ValidationError(field, "must not contain control characters")
    return text


def email(value: str | None) -> str:
    text = clean_text("email", value, max_len=254).lower()
    if not EMAIL_RE.match(text):
        raise ValidationError("email", "must be a valid address like name@example.com")
    return text


def password(value: str | None) -> str:
    text = value or ""
    if len(text) < MIN_PASSWORD:
        raise ValidationError("password", f"must be at least {MIN_PASSWORD} characters")
    if len(text) > MAX_PASSWORD:
        raise ValidationError("password", f"must be at most {MAX_PASSWORD} characters")
    if _has_control(text):
        raise ValidationError("password", "must not contain control characters")
    if is_common(text):
        raise ValidationError("password", "is a common password; choose another")
    return text


def api_root(field: str, value: str | None) -> str | None:
    """A broker API root URL, or None when blank. It carries credentials and orders, so it
    must be https://; plain http:// only to a loopback address (a local sandbox)."""
    from urllib.parse import urlsplit

    text = clean_text(field, value, max_len=200, required=False)
    if not text:
        return None
    example = "must be a URL like https://api.kite.trade"
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        raise ValidationError(field, example) from None
    plain_ok = parts.scheme == "http" and is_loopback(parts.hostname or "")
    if parts.scheme != "https" and not plain_ok:
        raise ValidationError(field, "must start with https:// (http:// only for 127.0.0.1 "
                                     "or localhost)")
    if not parts.hostname:
        raise ValidationError(field, example)
    if parts.username is not None or parts.password is not None:
        raise ValidationError(field, "must not carry a user name or password")
    return text


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def symbol(value: str | None) -> str:
    text = clean_text("symbol", value, max_len=30).upper()
    if not SYMBOL_RE.match(text):
        raise ValidationError("symbol", "must be an NSE trading symbol such as INFY")
    return text


def market_time(field: str, value: str | time | None) -> time:
    if isinstance(value, time):
        return value.replace(microsecond=0, tzinfo=None)
    text = (value or "").strip()
    if not text:
        raise ValidationError(field, "is required (HH:MM or HH:MM:SS, IST)")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if not match:
        raise ValidationError(field, "must be a time as HH:MM or HH:MM:SS (IST)")
    hh, mm, ss = int(match[1]), int(match[2]), int(match[3] or 0)
    if hh > 23 or mm > 59 or ss > 59:
        raise ValidationError(field, "must be a real time of day (00:00-23:59)")
    return time(hh, mm, ss)


def within_market_hours(field: str, value: time, special: Sequence[Session] = ()) -> time:
    """A leg must fall in an NSE session: the regular 09:15-15:30 IST, or one of the special
    sessions ahead (Muhurat trading, a Budget Saturday) given in `special`. A MARKET order
    outside a session is refused by the broker or filled on a stale price."""
    from .calendar import MARKET_CLOSE, MARKET_OPEN

    if MARKET_OPEN <= value <= MARKET_CLOSE or any(s.holds(value, value) for s in special):
        return value
    raise ValidationError(field, f"must be within NSE market hours, {MARKET_OPEN:%H:%M}-"
                                 f"{MARKET_CLOSE:%H:%M} IST{_or_special(special)}")


def legs_in_one_session(buy_time: time, sell_time: time, special: Sequence[Session] = ()
                        ) -> None:
    """Both legs inside one session: a day's BUY and SELL are placed in the same session, so
    a buy at 09:30 cannot be sold in the evening's Muhurat window."""
    from .calendar import MARKET_CLOSE, MARKET_OPEN

    if MARKET_OPEN <= buy_time and sell_time <= MARKET_CLOSE:
        return
    if any(s.holds(buy_time, sell_time) for s in special):
        return
    raise ValidationError("sell_time", f"must fall in the same session as buy_time: "
                                       f"{MARKET_OPEN:%H:%M}-{MARKET_CLOSE:%H:%M} IST"
                                       f"{_or_special(special)}")


def _or_special(special: Sequence[Session], shown: int = 2) -> str:
    """The special sessions worth naming: those reaching outside the regular hours (a
    Budget Saturday's 09:15-15:30 allows no other times of day)."""
    from .calendar import MARKET_CLOSE, MARKET_OPEN

    special = [s for s in special if s.open < MARKET_OPEN or s.close > MARKET_CLOSE]
    if not special:
        return ""
    named = ", ".join(s.describe() for s in special[:shown])
    more = f" and {len(special) - shown} more" if len(special) > shown else ""
    return f", or a special session: {named}{more}"


def price(field: str, value: str | Decimal | int | None, *, required: bool = True) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(field, "is required")
    if isinstance(value, float):
        raise ValidationError(field, "must be given as an exact decimal, not a float")
    text = str(value).strip().replace(",", "")
    if text.lower().lstrip("+-") in ("nan", "snan", "inf", "infinity"):
        raise ValidationError(field, "must be a finite number")
    if not NUMBER_RE.match(text):
        raise ValidationError(field, "must be a number like 1520.50")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValidationError(field, "must be a number like 1520.50") from exc
    if not amount.is_finite():
        raise ValidationError(field, "must be a finite number")
    if amount <= 0:
        raise ValidationError(field, "must be greater than 0")
    if amount > MAX_PRICE:
        raise ValidationError(field, f"must be at most {MAX_PRICE}")
    if amount.as_tuple().exponent < -2:
        raise ValidationError(field, "must have at most 2 decimal places")
    return amount


def quantity(value: str | int | None, field: str = "quantity") -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(field, "is required")
    text = str(value).strip()
    if not WHOLE_RE.match(text):
        raise ValidationError(field, "must be a whole number")
    qty = int(text)
    if qty <= 0:
        raise ValidationError(field, "must be greater than 0")
    if qty > MAX_QUANTITY:
        raise ValidationError(field, f"must be at most {MAX_QUANTITY:,}")
    return qty


def buy_before_sell(buy: time, sell: time) -> None:
    if buy >= sell:
        raise ValidationError("sell_time", "must be later than Buy at")
