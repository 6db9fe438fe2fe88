"""The order-rate governor on a frozen clock: never more than the broker's limits in any
second, minute or day; exits before entries, the largest loss first; stale entries dropped,
exits never."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from tui_trader.risk.governor import OrderGovernor, OrderRequest, RateLimits

KITE = RateLimits(per_second=10, per_minute=400, per_day=5000)
DAY = date(2026, 11, 23)


def drain(governor: OrderGovernor, start: float = 0.0, day: date = DAY):
    """Run the governor as the engine would: release, then sleep (on the frozen clock)
    until it says; returns [(time, request)] in the order sent."""
    now, sent = start, []
    for _ in range(100_000):
        release = governor.release(now, day)
        sent.extend((now, request) for request in release.send)
        if release.next_at is None:
            return sent
        assert release.next_at > now, "the governor must always move time forward"
        now = release.next_at
    raise AssertionError("the governor never finished")


def most_in_any_window(times: list[float], span: float) -> int:
    return max(sum(1 for t in times if start <= t < start + span) for start in times)


def test_a_burst_of_200_stop_losses_from_one_tick():
    """One tick crosses 200 stop-losses on a Kite account: they leave ten a second, the
    position losing most first, all 200 within 19 seconds of the tick."""
    governor = OrderGovernor(KITE)
    losses = [D(-((i * 7919) % 200 + 1) * 25) for i in range(200)]  # distinct, shuffled
    for i, pnl in enumerate(losses):
        assert governor.submit(OrderRequest(f"exit-{i}", is_exit=True, pnl=pnl), 0.0)
    sent = drain(governor)
    assert [request.pnl for _, request in sent] == sorted(losses)  # largest loss first
    times = [t for t, _ in sent]
    assert times == [float(second) for second in range(20) for _ in range(10)]
    assert most_in_any_window(times, 1.0) == 10


def test_exits_overtake_waiting_entries_and_entries_keep_their_order():
    governor = OrderGovernor(KITE)
    for i in range(15):
        governor.submit(OrderRequest(f"entry-{i}", is_exit=False), 0.0)
    first = governor.release(0.0, DAY)
    assert [r.key for r in first.send] == [f"entry-{i}" for i in range(10)]
    assert first.next_at == 1.0
    governor.submit(OrderRequest("exit-small", is_exit=True, pnl=D("-100")), 0.4)
    governor.submit(OrderRequest("exit-big", is_exit=True, pnl=D("-900")), 0.5)
    governor.submit(OrderRequest("exit-profit", is_exit=True, pnl=D("250")), 0.6)
    assert governor.release(0.7, DAY).send == ()  # the second is spent
    later = governor.release(1.0, DAY)
    assert [r.key for r in later.send] == ["exit-big", "exit-small", "exit-profit",
                                           "entry-10", "entry-11", "entry-12", "entry-13",
                                           "entry-14"]
    assert later.next_at is None and governor.waiting == 0


def test_the_minute_limit_paces_a_long_burst():
    governor = OrderGovernor(KITE, entry_max_wait=None)
    for i in range(450):
        governor.submit(OrderRequest(i, is_exit=True, pnl=D(-i)), 0.0)
    sent = drain(governor)
    times = [t for t, _ in sent]
    assert len(sent) == 450
    assert times[399] == 39.0 and times[400] == 60.0  # 400 in the first minute, then wait
    assert most_in_any_window(times, 60.0) == 400
    assert most_in_any_window(times, 1.0) == 10


def test_the_windows_slide_they_are_not_calendar_seconds():
    governor = OrderGovernor(RateLimits(per_second=2, per_minute=100, per_day=100))
    for i in range(4):
        governor.submit(OrderRequest(i, is_exit=False), 0.0)
    assert len(governor.release(0.5, DAY).send) == 2
    blocked = governor.release(1.2, DAY)  # 1.0 has passed, but not since 0.5
    assert blocked.send == () and blocked.next_at == 1.5
    assert len(governor.release(1.5, DAY).send) == 2


def test_an_entry_that_waited_too_long_is_dropped_never_sent_late():
    governor = OrderGovernor(RateLimits(per_second=1, per_minute=60, per_day=100),
                             entry_max_wait=2.0)
    for key in ("a", "b", "c", "d"):
        governor.submit(OrderRequest(key, is_exit=False), 0.0)
    governor.submit(OrderRequest("x", is_exit=True, pnl=D("-5")), 0.0)
    assert [r.key for r in governor.release(0.0, DAY).send] == ["x"]
    assert [r.key for r in governor.release(1.0, DAY).send] == ["a"]
    release = governor.release(2.0, DAY)
    assert release.send == ()  # b, c, d waited 2 s: dropped before the slot was used
    assert [(d.request.key, d.reason) for d in release.dropped] == [
        (key, "waited 2s for the order rate limit; a signal that old is not sent")
        for key in ("b", "c", "d")]
    assert release.next_at is None and governor.waiting == 0


def test_the_next_wake_up_is_when_an_entry_would_go_stale_if_that_is_sooner():
    governor = OrderGovernor(RateLimits(per_second=1, per_minute=1, per_day=100),
                             entry_max_wait=5.0)
    governor.submit(OrderRequest("a", is_exit=False), 0.0)
    governor.submit(OrderRequest("b", is_exit=False), 0.0)
    assert governor.release(0.0, DAY).next_at == 5.0  # the minute frees at 60


def test_the_day_budget_keeps_a_reserve_for_exits_and_resets_the_next_day():
    governor = OrderGovernor(RateLimits(per_second=100, per_minute=1000, per_day=5),
                             exit_reserve=2)
    governor.start_day(DAY, already_sent=1)  # one sent before a restart
    for i in range(4):
        governor.submit(OrderRequest(f"entry-{i}", is_exit=False), 0.0)
    release = governor.release(0.0, DAY)
    assert [r.key for r in release.send] == ["entry-0", "entry-1"]
    assert [d.request.key for d in release.dropped] == ["entry-2", "entry-3"]
    assert release.dropped[0].reason == ("the day's 5 orders are used (the last 2 are kept "
                                         "for exits)")
    for i in range(3):
        governor.submit(OrderRequest(f"exit-{i}", is_exit=True, pnl=D(-i)), 0.0)
    release = governor.release(0.0, DAY)
    assert [r.key for r in release.send] == ["exit-2", "exit-1"]  # the reserve
    assert release.next_at is None and governor.waiting == 1  # exit-0 waits for tomorrow
    assert governor.sent_today(DAY) == 5
    tomorrow = governor.release(0.0, date(2026, 11, 25))
    assert [r.key for r in tomorrow.send] == ["exit-0"]


def test_a_key_already_waiting_is_not_queued_twice():
    governor = OrderGovernor(KITE)
    assert governor.submit(OrderRequest("k", is_exit=True), 0.0)
    assert not governor.submit(OrderRequest("k", is_exit=True, pnl=D("-50")), 0.0)
    assert governor.waiting == 1


def test_limits_are_checked():
    with pytest.raises(ValueError):
        RateLimits(per_second=0)
    with pytest.raises(ValueError):
        OrderGovernor(RateLimits(per_day=5), exit_reserve=5)
