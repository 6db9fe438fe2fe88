"""The client-side order limiter: token buckets on an injected clock, day limit refuses."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from tui_trader.brokers.base import BrokerUnavailable
from tui_trader.brokers.kite import OrderLimits, OrderRateLimiter, RateLimitExceeded
from tui_trader.domain.clock import IST, FrozenClock


class FakeTime:
    """A monotonic clock that only moves when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self.lock = threading.Lock()

    def monotonic(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.slept.append(seconds)
            self.now += seconds


def limiter(limits: OrderLimits, t: FakeTime, clock: FrozenClock, **kw) -> OrderRateLimiter:
    return OrderRateLimiter(limits, clock=clock, monotonic=t.monotonic, sleep=t.sleep, **kw)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 1, 12, 10, 0, tzinfo=IST))


def test_ten_per_second_then_waits(clock: FrozenClock) -> None:
    t = FakeTime()
    lim = limiter(OrderLimits(), t, clock)
    for _ in range(10):
        lim.acquire()
    assert t.slept == []
    lim.acquire()  # the 11th waits for a token
    assert t.slept and t.now == pytest.approx(0.1)
    # Over a simulated minute the rate never exceeds 10/s.
    start = t.now
    for _ in range(100):
        lim.acquire()
    assert t.now - start >= 9.9


def test_per_minute_bucket(clock: FrozenClock) -> None:
    t = FakeTime()
    lim = limiter(OrderLimits(per_second=1000, per_minute=400, per_day=5000), t, clock)
    for _ in range(400):
        lim.acquire()
    assert t.now == 0
    lim.acquire()
    assert t.now == pytest.approx(60 / 400)


def test_day_limit_refuses_without_waiting(clock: FrozenClock) -> None:
    t = FakeTime()
    lim = limiter(OrderLimits(per_second=10_000, per_minute=10_000, per_day=5), t, clock)
    for _ in range(5):
        lim.acquire()
    with pytest.raises(RateLimitExceeded) as info:
        lim.acquire()
    assert isinstance(info.value, BrokerUnavailable)
    assert "5 orders today" in info.value.message and t.slept == []
    # The next IST day starts afresh.
    clock.advance(timedelta(days=1))
    lim.acquire()
    assert lim.used_today() == 1


def test_refuses_when_the_wait_would_be_too_long(clock: FrozenClock) -> None:
    t = FakeTime()
    lim = limiter(OrderLimits(per_second=1, per_minute=1, per_day=100), t, clock,
                  max_wait_s=5)
    lim.acquire()
    with pytest.raises(RateLimitExceeded, match="rate limit"):
        lim.acquire()


def test_penalty_after_a_429(clock: FrozenClock) -> None:
    t = FakeTime()
    lim = limiter(OrderLimits(), t, clock)
    lim.penalize(1.0)
    lim.acquire()
    assert t.now == pytest.approx(1.0)


def test_thread_safe_under_contention(clock: FrozenClock) -> None:
    lim = OrderRateLimiter(OrderLimits(per_second=10_000, per_minute=100_000,
                                       per_day=1_000), clock=clock)
    errors: list[BaseException] = []

    def worker() -> None:
        for _ in range(200):
            try:
                lim.acquire()
            except RateLimitExceeded as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert lim.used_today() == 1000 and len(errors) == 600
