"""How times, money and messages read on screen: IST always, an earlier day never passes
for today, and a broker's message is one short line of text."""

from __future__ import annotations

from datetime import UTC, datetime

from tui_trader.ui.formatting import ist_datetime, ist_when, one_line


def test_an_order_time_today_is_a_clock_time_and_an_earlier_days_is_a_date():
    now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # Monday 10:30 IST
    assert ist_when(datetime(2026, 11, 23, 3, 45, 9, tzinfo=UTC), now) == "09:15:09"
    # 20:00 UTC on Sunday is already Monday 01:30 in Kolkata: today, in IST.
    assert ist_when(datetime(2026, 11, 22, 20, 0, tzinfo=UTC), now) == "01:30:00"
    assert ist_when(datetime(2026, 11, 20, 9, 32, tzinfo=UTC), now) == "20 Nov"
    assert ist_when(None, now) == "-"
    assert ist_datetime(now) == "2026-11-23 10:30 IST"


def test_a_message_from_outside_is_one_short_line_without_escapes():
    assert one_line("\x1b[31mRMS:\x1b[0m\r\n  insufficient\tfunds \x07") == \
        "RMS: insufficient funds ␇"
    assert one_line("\u202eabc", 200) == "�abc"
    assert one_line("नमस्ते\u200dक") == "नमस्ते\u200dक", "a joiner some scripts need stays"
    assert one_line("x" * 300, 10) == "x" * 9 + "…"
