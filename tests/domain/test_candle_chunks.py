"""Chunk planning for historical downloads: exact cover, Kite's limits, whole days."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui_trader.domain.candle_chunks import MAX_DAYS, download_interval, plan_chunks
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import Timeframe
from tui_trader.domain.errors import ValidationError

# Kite Connect's documented per-request spans (days), written out independently of the module.
KITE_LIMITS = {"minute": 60, "3minute": 100, "5minute": 100, "10minute": 100,
               "15minute": 200, "30minute": 200, "60minute": 400, "day": 2000}


def test_limits_are_kites() -> None:
    assert {t.value: d for t, d in MAX_DAYS.items()} == KITE_LIMITS


def test_150_minute_days_are_three_chunks() -> None:
    start = datetime(2025, 8, 1, tzinfo=IST)
    end = datetime(2025, 12, 28, 23, 59, 59, tzinfo=IST)  # 150 days
    chunks = plan_chunks(start, end, "minute")
    assert [(c.first_day.isoformat(), c.last_day.isoformat()) for c in chunks] == [
        ("2025-08-01", "2025-09-29"), ("2025-09-30", "2025-11-28"), ("2025-11-29", "2025-12-28")]
    assert chunks[0].start == start and chunks[-1].end == end
    assert chunks[1].start == datetime(2025, 9, 30, tzinfo=IST)
    assert chunks[0].end == datetime(2025, 9, 29, 23, 59, 59, tzinfo=IST)
    assert [c.index for c in chunks] == [0, 1, 2]


def test_one_instant_is_one_chunk() -> None:
    at = datetime(2026, 1, 5, 10, 0, tzinfo=IST)
    [chunk] = plan_chunks(at, at, "day")
    assert chunk.start == chunk.end == at


@pytest.mark.parametrize(("start", "end", "interval", "message"), [
    (datetime(2026, 1, 6, tzinfo=IST), datetime(2026, 1, 5, tzinfo=IST), "day",
     "--from: must not be after --to"),
    (datetime(2026, 1, 5, tzinfo=IST), datetime(2026, 1, 6, tzinfo=IST), "7minute",
     "interval: must be one of minute, 3minute"),
    (datetime(2026, 1, 5, tzinfo=IST), datetime(2026, 1, 6, tzinfo=IST), "75minute",
     "interval: must be one of"),  # a timeframe we build, Kite does not serve
])
def test_bad_input_is_one_line(start, end, interval, message) -> None:
    with pytest.raises(ValidationError) as caught:
        plan_chunks(start, end, interval)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_naive_times_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        plan_chunks(datetime(2026, 1, 5), datetime(2026, 1, 6), "day")  # noqa: DTZ001


def test_download_interval_accepts_enum() -> None:
    assert download_interval(Timeframe.MIN15) is Timeframe.MIN15


instants = st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1),
                        timezones=st.just(UTC))


@settings(max_examples=200, deadline=None)
@given(a=instants, span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000)),
       interval=st.sampled_from(sorted(KITE_LIMITS)))
def test_chunks_cover_exactly_within_limits_on_whole_days(a, span, interval) -> None:
    b = a + span
    chunks = plan_chunks(a, b, interval)
    limit = KITE_LIMITS[interval]
    assert chunks[0].start == a and chunks[-1].end == b
    for chunk in chunks:
        assert chunk.start <= chunk.end
        assert chunk.end - chunk.start <= timedelta(days=limit)  # what Kite checks
        assert (chunk.last_day - chunk.first_day).days + 1 <= limit
        assert chunk.start.astimezone(IST).date() == chunk.first_day
        assert chunk.end.astimezone(IST).date() == chunk.last_day
    for before, after in zip(chunks, chunks[1:], strict=False):
        # whole days: the next chunk starts at the IST midnight right after this one ends
        assert after.first_day == before.last_day + timedelta(days=1)
        assert after.start.astimezone(IST).time() == time(0)
        assert after.start - before.end == timedelta(seconds=1)
        assert (before.last_day - before.first_day).days + 1 == limit  # only the last is short
    assert len(chunks) == -(-((b.astimezone(IST).date() - a.astimezone(IST).date()).days + 1)
                            // limit)
