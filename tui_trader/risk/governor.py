"""The order-rate governor: one per user (per broker API key), across all their strategies,
so the orders sent never exceed the broker's per-second, per-minute and per-day limits
(Kite: 10/s, 400/min, 5,000/day; SEBI's retail-algo threshold is 10 a second).

Orders wait in the governor and leave in priority order: exits before entries, and among
exits the largest loss first (a stop-loss on the position losing most goes before one
losing less); orders of equal rank leave in the order they came. An entry that waited
longer than `entry_max_wait` seconds is dropped, never sent late on a stale signal; once the
day's budget (less `exit_reserve` orders kept for exits) is spent, waiting entries are
dropped too. Exits are never dropped.

Pure and clock-free: the caller passes monotonic seconds (`now`) and the IST trading day
(`day`) into every call, and calls `release` again at `next_at`. The windows are sliding:
in any interval of one second (one minute) at most `per_second` (`per_minute`) orders are
released.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RateLimits:
    per_second: int = 10
    per_minute: int = 400
    per_day: int = 5000

    def __post_init__(self) -> None:
        if min(self.per_second, self.per_minute, self.per_day) < 1:
            raise ValueError("every order rate limit must be at least 1")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order waiting to go: the caller's key for it (an intent key), whether it closes a
    position, and that position's P&L now (exits: the most negative goes first)."""

    key: Hashable
    is_exit: bool
    pnl: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class Dropped:
    request: OrderRequest
    reason: str


@dataclass(frozen=True, slots=True)
class Release:
    """What to do now: send `send` in this order, give up `dropped`; call again at
    `next_at` (None: nothing waits, or only exits that must wait for the next day)."""

    send: tuple[OrderRequest, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    next_at: float | None = None


@dataclass(order=True, slots=True)
class _Waiting:
    priority: tuple[int, Decimal, int]
    since: float = field(compare=False)
    request: OrderRequest = field(compare=False)


class OrderGovernor:
    """Paces one user's orders within `limits`; see the module docstring."""

    def __init__(self, limits: RateLimits, *, entry_max_wait: float | None = 30.0,
                 exit_reserve: int = 0) -> None:
        if exit_reserve < 0 or exit_reserve >= limits.per_day:
            raise ValueError("exit_reserve must be at least 0 and below the per-day limit")
        self.limits = limits
        self.entry_max_wait = entry_max_wait
        self.exit_reserve = exit_reserve
        self._heap: list[_Waiting] = []
        self._keys: set[Hashable] = set()
        self._seq = itertools.count()
        self._second: deque[float] = deque()
        self._minute: deque[float] = deque()
        self._day: date | None = None
        self._sent_today = 0

    # -- in -------------------------------------------------------------------------------
    def submit(self, request: OrderRequest, now: float) -> bool:
        """Queue an order; False if one with its key is already waiting (nothing changes)."""
        if request.key in self._keys:
            return False
        rank = (0, request.pnl, next(self._seq)) if request.is_exit else \
            (1, ZERO, next(self._seq))
        heapq.heappush(self._heap, _Waiting(rank, now, request))
        self._keys.add(request.key)
        return True

    def start_day(self, day: date, already_sent: int) -> None:
        """The orders already sent on `day` (e.g. before a restart) count against its
        budget."""
        self._day, self._sent_today = day, max(0, already_sent)

    # -- out ------------------------------------------------------------------------------
    @property
    def waiting(self) -> int:
        return len(self._heap)

    def sent_today(self, day: date) -> int:
        return self._sent_today if day == self._day else 0

    def release(self, now: float, day: date) -> Release:
        """The orders that may go now, highest priority first, and when to ask again."""
        if day != self._day:
            self._day, self._sent_today = day, 0
        dropped = self._drop_stale_entries(now)
        self._slide(now)
        send: list[OrderRequest] = []
        while self._heap and self._window_open():
            head = self._heap[0]
            day_left = self.limits.per_day - self._sent_today
            if day_left <= 0:
                break
            if not head.request.is_exit and day_left <= self.exit_reserve:
                dropped.extend(self._drop_entries(self._day_spent_reason()))
                continue
            heapq.heappop(self._heap)
            self._keys.discard(head.request.key)
            send.append(head.request)
            self._second.append(now)
            self._minute.append(now)
            self._sent_today += 1
        if self._heap and self._sent_today >= self.limits.per_day:
            dropped.extend(self._drop_entries(self._day_spent_reason()))
        return Release(tuple(send), tuple(dropped), self._next_at())

    # -- inside ---------------------------------------------------------------------------
    def _day_spent_reason(self) -> str:
        kept = f" (the last {self.exit_reserve:,} are kept for exits)" if self.exit_reserve \
            else ""
        return f"the day's {self.limits.per_day:,} orders are used{kept}"

    def _slide(self, now: float) -> None:
        for window, span in ((self._second, 1.0), (self._minute, 60.0)):
            while window and now - window[0] >= span:
                window.popleft()

    def _window_open(self) -> bool:
        return len(self._second) < self.limits.per_second and \
            len(self._minute) < self.limits.per_minute

    def _next_at(self) -> float | None:
        """When a waiting order can next go (a window frees), or an entry goes stale."""
        if not self._heap or self._sent_today >= self.limits.per_day:
            return None  # nothing waits, or only exits for the next day's budget
        # Both windows must have room: the later of the times each frees a slot.
        frees = [0.0]
        if len(self._second) >= self.limits.per_second:
            frees.append(self._second[0] + 1.0)
        if len(self._minute) >= self.limits.per_minute:
            frees.append(self._minute[0] + 60.0)
        wake = max(frees)
        if self.entry_max_wait is not None:
            entries = [w.since for w in self._heap if not w.request.is_exit]
            if entries:
                wake = min(wake, min(entries) + self.entry_max_wait)
        return wake

    def _drop_stale_entries(self, now: float) -> list[Dropped]:
        if self.entry_max_wait is None:
            return []
        limit = self.entry_max_wait
        stale = [w for w in self._heap if not w.request.is_exit and now - w.since >= limit]
        if not stale:
            return []
        return self._remove(stale, f"waited {limit:g}s for the order rate limit; a signal "
                                   f"that old is not sent")

    def _drop_entries(self, reason: str) -> list[Dropped]:
        return self._remove([w for w in self._heap if not w.request.is_exit], reason)

    def _remove(self, gone: list[_Waiting], reason: str) -> list[Dropped]:
        ids = {id(w) for w in gone}
        self._heap = [w for w in self._heap if id(w) not in ids]
        heapq.heapify(self._heap)
        for w in gone:
            self._keys.discard(w.request.key)
        gone.sort()
        return [Dropped(w.request, reason) for w in gone]
