"""Kite's rate limits: per-second buckets per API key, plus order-placement caps.

Windows use the monotonic clock, not the injected one: a frozen test clock must not make
every request look simultaneous forever. The per-day placement count resets on the IST date
of the injected clock, which is what "a trading day" means.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import date

from tui_trader.domain.clock import IST, Clock

from .config import RateLimits
from .errors import RateLimitError

TOO_MANY = "Too many requests"


def bucket_for(method: str, path: str) -> str | None:
    """Which limit a request counts against; None for routes Kite does not meter."""
    if path.startswith("/connect/"):
        return None  # the browser login page, not the API
    if path.startswith("/quote"):
        return "quote"
    if path.startswith("/instruments/historical/"):
        return "historical"
    if path.startswith("/orders") and method in ("POST", "PUT", "DELETE"):
        return "orders"
    return "other"


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Clock) -> None:
        self.limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._placements: dict[str, deque[float]] = {}
        self._day: dict[str, tuple[date, int]] = {}

    def _per_second(self, bucket: str) -> int:
        return {
            "quote": self.limits.quote_per_s,
            "historical": self.limits.historical_per_s,
            "orders": self.limits.orders_per_s,
        }.get(bucket, self.limits.other_per_s)

    @staticmethod
    def _admit(window: deque[float], now: float, span: float, limit: int) -> bool:
        while window and now - window[0] >= span:
            window.popleft()
        if len(window) >= limit:
            return False
        window.append(now)
        return True

    def hit(self, key: str, bucket: str) -> None:
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault((key, bucket), deque())
            if not self._admit(window, now, 1.0, self._per_second(bucket)):
                raise RateLimitError(TOO_MANY)

    def hit_placement(self, key: str) -> None:
        """An order placement also counts against the per-minute and per-day caps."""
        now = time.monotonic()
        today = self._clock.now().astimezone(IST).date()
        with self._lock:
            day, count = self._day.get(key, (today, 0))
            if day != today:
                count = 0
            if count >= self.limits.orders_per_day:
                raise RateLimitError("Maximum allowed orders for the day exceeded.")
            window = self._placements.setdefault(key, deque())
            if not self._admit(window, now, 60.0, self.limits.orders_per_min):
                raise RateLimitError("Maximum allowed orders per minute exceeded.")
            self._day[key] = (today, count + 1)
