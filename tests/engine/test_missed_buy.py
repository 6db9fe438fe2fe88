"""A BUY whose time came while no engine ran (the console was closed) is not moved to the
next day without a word: the next start says so in an alert and in the strategy's status."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from tui_trader.db.models import Notification, Strategy
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import Severity

from .conftest import Harness


def _alerts(ctx, user_id) -> list[Notification]:
    with ctx.session() as s:
        return list(s.exec(select(Notification).where(Notification.user_id == user_id)))


def _reason(ctx, strategy_id) -> str:
    with ctx.session() as s:
        return s.get(Strategy, strategy_id).status_reason or ""


def _reopen_at(ctx, when: datetime) -> Harness:
    ctx.clock.set(when)
    return Harness(ctx, consumer="test-engine").start()


def test_a_buy_missed_while_the_console_was_closed_is_told(ctx, trader, strategy, harness):
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)  # Monday 09:00, BUY at 09:30
    harness.engine.stop()
    again = _reopen_at(ctx, datetime(2026, 11, 23, 10, 5, tzinfo=IST))
    try:
        (alert,) = _alerts(ctx, trader.id)
        assert alert.severity is Severity.WARNING
        assert alert.title == "INFY morning: BUY of Mon 23 Nov 09:30 IST missed"
        assert "console was closed" in alert.body
        # Tuesday 24 November 2026 is an NSE holiday (Guru Nanak Jayanti).
        assert "next buy Wed 25 Nov 09:30 IST" in alert.body
        assert _reason(ctx, strategy.id) == ("missed BUY of Mon 23 Nov 09:30 IST (console "
                                             "closed); next buy Wed 25 Nov 09:30 IST")
    finally:
        again.engine.stop()
    once_more = _reopen_at(ctx, datetime(2026, 11, 23, 11, 0, tzinfo=IST))
    once_more.engine.stop()
    assert len(_alerts(ctx, trader.id)) == 1, "told once, not at every start"
    assert _reason(ctx, strategy.id).startswith("missed BUY of Mon 23 Nov"), \
        "the mark stays until the next BUY"


def test_several_missed_days_are_counted(ctx, trader, strategy, harness):
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.engine.stop()
    again = _reopen_at(ctx, datetime(2026, 11, 27, 9, 0, tzinfo=IST))  # Friday
    again.engine.stop()
    (alert,) = _alerts(ctx, trader.id)
    # Monday, Wednesday and Thursday (Tuesday is a holiday).
    assert alert.title == ("INFY morning: 3 BUYs, the last on Thu 26 Nov 09:30 IST "
                           "missed")


def test_a_buy_the_engine_handled_is_not_reported_as_missed(ctx, trader, strategy,
                                                            harness):
    harness.start()
    harness.buy_at_930(trader, strategy)
    harness.engine.stop()
    again = _reopen_at(ctx, datetime(2026, 11, 23, 10, 5, tzinfo=IST))
    again.engine.stop()
    assert [a for a in _alerts(ctx, trader.id) if "missed" in a.title] == []


def test_a_strategy_started_after_its_buy_time_missed_nothing(ctx, trader, strategy,
                                                              harness):
    ctx.clock.set(datetime(2026, 11, 23, 9, 45, tzinfo=IST))
    harness.start()
    harness.engine.start_strategy(trader.id, strategy.id)
    harness.engine.stop()
    again = _reopen_at(ctx, datetime(2026, 11, 23, 10, 0, tzinfo=IST))
    again.engine.stop()
    assert _alerts(ctx, trader.id) == []


def test_a_day_whose_buy_was_placed_is_not_missed_whatever_last_run_says(ctx, trader,
                                                                         strategy, harness):
    """A strategy running since before the engine kept `last_run` current (an upgrade):
    the days it bought on are not reported."""
    harness.start()
    harness.buy_at_930(trader, strategy)
    harness.tick("INFY", "1490.00")  # sold by its stop-loss: nothing held at the restart
    harness.settle()
    with ctx.session() as s:
        s.get(Strategy, strategy.id).last_run = datetime(2026, 11, 23, 9, 0, tzinfo=IST)
    harness.engine.stop()
    again = _reopen_at(ctx, datetime(2026, 11, 23, 10, 5, tzinfo=IST))
    again.engine.stop()
    assert [a for a in _alerts(ctx, trader.id) if "missed" in a.title] == []


def test_the_status_line_follows_the_next_buy(ctx, trader, strategy, harness):
    """It said "next buy Mon 23 Nov" for good once set at start; shown under the table, it
    must move on when the BUY is taken and when the engine starts on a later day."""
    harness.start()
    harness.buy_at_930(trader, strategy)
    assert _reason(ctx, strategy.id) == "next buy Wed 25 Nov 09:30 IST, sell 15:00 IST"
    with ctx.session() as s:
        s.get(Strategy, strategy.id).status_reason = "next buy Mon 23 Nov 09:30 IST"
    harness.engine.stop()
    again = _reopen_at(ctx, datetime(2026, 11, 25, 9, 0, tzinfo=IST))
    again.engine.stop()
    assert _reason(ctx, strategy.id) == "next buy Wed 25 Nov 09:30 IST, sell 15:00 IST"
