"""Candle timeframes on the NSE session: how long a bucket is and which bucket an instant
falls in.

Buckets are anchored at the session's open (09:15 IST on a regular day, a special session's
own open: Muhurat trading, a Budget Saturday), so 75-minute candles run 09:15-10:30, ...,
14:15-15:30, and a bucket the session cuts short closes at the session close (the last
60-minute candle of a regular day is 15:15-15:30). A day candle is the whole session. An
instant outside the session is in no bucket: there is no candle outside the session.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .calendar import MARKET_CLOSE, MARKET_OPEN, Session
from .clock import ensure_utc
from .enums import Timeframe

TIMEFRAME_MINUTES: dict[Timeframe, int] = {
    Timeframe.MINUTE: 1, Timeframe.MIN3: 3, Timeframe.MIN5: 5, Timeframe.MIN10: 10,
    Timeframe.MIN15: 15, Timeframe.MIN30: 30, Timeframe.MIN60: 60, Timeframe.MIN75: 75,
    Timeframe.MIN125: 125,
}  # the day is absent: it is as long as its session

REGULAR_SESSION = timedelta(hours=MARKET_CLOSE.hour - MARKET_OPEN.hour,
                            minutes=MARKET_CLOSE.minute - MARKET_OPEN.minute)


def nominal_span(timeframe: Timeframe) -> timedelta:
    """A full bucket's length (a day: the regular 09:15-15:30 session)."""
    minutes = TIMEFRAME_MINUTES.get(timeframe)
    return REGULAR_SESSION if minutes is None else timedelta(minutes=minutes)


def describe(timeframe: Timeframe) -> str:
    """'15 min', '75 min', 'day': how a trader says it."""
    minutes = TIMEFRAME_MINUTES.get(timeframe)
    return "day" if minutes is None else f"{minutes} min"


def bucket_of(session: Session, at: datetime, timeframe: Timeframe
              ) -> tuple[datetime, datetime] | None:
    """(start, end) in UTC of the bucket `at` falls in, None outside the session. The end
    is the candle's close: the bucket's own end, or the session close if that comes first."""
    return bucket_bounds(session, ensure_utc(at), TIMEFRAME_MINUTES.get(timeframe))


def bucket_bounds(session: Session, at: datetime, minutes: int | None
                  ) -> tuple[datetime, datetime] | None:
    """Like bucket_of for buckets `minutes` long (None: the whole session); `at` UTC."""
    opens, closes = session.open_at(), session.close_at()
    if not opens <= at < closes:
        return None
    if minutes is None:
        return opens, closes
    width = timedelta(minutes=minutes)
    start = opens + width * ((at - opens) // width)
    return start, min(start + width, closes)


def buckets(session: Session, minutes: int | None) -> list[tuple[datetime, datetime]]:
    """Every bucket of a session `minutes` long (None: the session itself), in order."""
    out: list[tuple[datetime, datetime]] = []
    at, closes = session.open_at(), session.close_at()
    while at < closes:
        bounds = bucket_bounds(session, at, minutes)
        assert bounds is not None
        out.append(bounds)
        at = bounds[1]
    return out
