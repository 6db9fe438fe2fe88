"""How times and money read on screen: IST always, and an earlier day never passes for
today."""

from __future__ import annotations

from datetime import UTC, datetime

from tui_trader.ui.formatting import ist_datetime, ist_when


def test_an_order_time_today_is_a_clock_time_and_an_earlier_days_is_a_date():
    now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # Monday 10:30 IST
    assert ist_when(datetime(2026, 11, 23, 3, 45, 9, tzinfo=UTC), now) == "09:15:09"
    # 20:00 UTC on Sunday is already Monday 01:30 in Kolkata: today, in IST.
    assert ist_when(datetime(2026, 11, 22, 20, 0, tzinfo=UTC), now) == "01:30:00"
    assert ist_when(datetime(2026, 11, 20, 9, 32, tzinfo=UTC), now) == "20 Nov"
    assert ist_when(None, now) == "-"
    assert ist_datetime(now) == "2026-11-23 10:30 IST"
