"""How a historical-candle download is cut into requests Kite will answer.

Kite serves at most a fixed number of days per request for each interval (minute 60 days,
3/5/10 minutes 100, 15/30 minutes 200, 60 minutes 400, day 2000). A range is cut at IST
midnights into chunks of at most that many whole days: the first chunk starts at the
range's start and the last ends at its end, every inner boundary is a day boundary, so a
chunk is a run of whole days and together they cover the range exactly, with no overlap.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .clock import IST, ensure_utc
from .enums import Timeframe
from .errors import ValidationError

# Days per request Kite's historical API allows; 75/125 minutes are not served by Kite.
MAX_DAYS: dict[Timeframe, int] = {
    Timeframe.MINUTE: 60, Timeframe.MIN3: 100, Timeframe.MIN5: 100, Timeframe.MIN10: 100,
    Timeframe.MIN15: 200, Timeframe.MIN30: 200, Timeframe.MIN60: 400, Timeframe.DAY: 2000,
}
_LAST_SECOND = time(23, 59, 59)


@dataclass(frozen=True)
class Chunk:
    """One request: `start`..`end` inclusive (UTC-aware), over IST days `first_day`..
    `last_day`."""

    index: int
    start: datetime
    end: datetime
    first_day: date
    last_day: date


def download_interval(interval: str | Timeframe) -> Timeframe:
    """The interval as a Timeframe Kite serves, or a one-line error naming the field."""
    try:
        timeframe = Timeframe(str(interval))
    except ValueError:
        timeframe = None
    if timeframe not in MAX_DAYS:
        raise ValidationError("interval", "must be one of " + ", ".join(
            t.value for t in MAX_DAYS))
    return timeframe


def plan_chunks(start: datetime, end: datetime, interval: str | Timeframe) -> list[Chunk]:
    """The requests that download `start`..`end` (both inclusive, aware) at `interval`."""
    max_days = MAX_DAYS[download_interval(interval)]
    start, end = ensure_utc(start), ensure_utc(end)  # refuses naive datetimes
    if start > end:
        raise ValidationError("--from", "must not be after --to")
    first = start.astimezone(IST).date()
    last = end.astimezone(IST).date()
    chunks: list[Chunk] = []
    day = first
    while day <= last:
        chunk_last = min(last, day + timedelta(days=max_days - 1))
        chunk_start = max(start, datetime.combine(day, time(0), tzinfo=IST).astimezone(
            start.tzinfo))
        chunk_end = min(end, datetime.combine(chunk_last, _LAST_SECOND, tzinfo=IST)
                        .astimezone(start.tzinfo))
        chunks.append(Chunk(len(chunks), chunk_start, chunk_end, day, chunk_last))
        day = chunk_last + timedelta(days=1)
    return chunks


__all__ = ["MAX_DAYS", "Chunk", "download_interval", "plan_chunks"]
