"""Sandbox configuration: credentials, the injected clock and calendar, feed cadence and
Kite's limits.

Kite's rate limits change from time to time, so they live here as data, never as constants
inside the routes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tui_trader.domain.calendar import NseCalendar
from tui_trader.domain.clock import Clock, SystemClock

_SHARED_CALENDAR = NseCalendar()  # loads exchange-calendars once, on first use


def _calendar() -> NseCalendar:
    return _SHARED_CALENDAR


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Kite Connect's published limits (per API key); exceeding one answers HTTP 429."""

    quote_per_s: int = 1
    historical_per_s: int = 3
    orders_per_s: int = 10
    other_per_s: int = 10
    orders_per_min: int = 400
    orders_per_day: int = 5000
    modifications_per_order: int = 25

    @classmethod
    def unlimited(cls) -> RateLimits:
        """Limits no test will reach: for suites that do not exercise rate limiting."""
        big = 1_000_000_000
        return cls(big, big, big, big, big, big, big)


@dataclass(frozen=True, slots=True)
class HoldingSeed:
    """A demat holding the sandbox user starts with (reported by /portfolio/holdings)."""

    tradingsymbol: str
    quantity: int
    average_price: Decimal
    exchange: str = "NSE"


@dataclass(slots=True)
class SandboxConfig:
    """Everything a `KiteSandbox` needs; defaults mirror Kite Connect v3 where Kite has one."""

    api_key: str
    api_secret: str
    redirect_url: str = "http://127.0.0.1/kite-redirect"
    user_id: str = "SB1234"
    user_name: str = "Sandbox Trader"
    user_shortname: str = "Sandbox"
    email: str = "sandbox@example.invalid"
    seed: int = 1
    clock: Clock = field(default_factory=SystemClock)
    # Trading days and session hours (holidays, special sessions): NSE's.
    calendar: NseCalendar = field(default_factory=_calendar)
    # Feed cadence (real seconds): each interval the prices step and what changed is ticked
    # to its subscribers; a 1-byte heartbeat each heartbeat interval.
    tick_interval_s: float = 0.2
    heartbeat_interval_s: float = 1.0
    # Relative standard deviation of the price walk over one minute (0.001 is ~2% a day).
    # 0 freezes prices, so a test decides every move with set_price / push_tick.
    volatility: float = 0.001
    # The chance that a stock trades in one tick interval: only a trade (or an index move)
    # makes a tick, so quiet instruments go quiet on the ticker, as on Kite.
    trade_probability: float = 0.5
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # Request tokens from the login redirect live a few minutes and are single-use.
    request_token_ttl_s: float = 300.0
    opening_cash: Decimal = Decimal("1000000")
    holdings: tuple[HoldingSeed, ...] = ()
    # The daily price band (circuit limits) either side of the previous close.
    circuit_band: Decimal = Decimal("0.2")
    partial_fills: bool = False
    # From April 2026 Kite rejects MARKET and SL-M orders without market protection.
    reject_unprotected_market: bool = True
    # Delay (real seconds) between "received" and the exchange taking the order; 0 runs the
    # whole acceptance synchronously inside the POST.
    order_latency_s: float = 0.0
    max_ws_connections: int = 3
    max_ws_tokens: int = 3000
