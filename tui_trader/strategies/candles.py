"""The one candle builder: live ticks, replayed ticks and historical back-fill (stored ticks,
or finer candles such as Kite's 1-minute ones) all become NSE-session candles through it.

Rules (see domain.timeframes for the buckets):
- A candle covers one bucket anchored at its session's open; special sessions (Muhurat) come
  from the calendar's `session(day)`. A tick outside every session makes no candle: it is
  counted in `outside_session` and dropped.
- A candle is emitted once, when it closes: by the first tick at or after its end, or by
  `advance(now)` once the clock passes its end (the engine calls it on every batch, so a
  quiet symbol's candle is not held back). A closed candle never changes: a tick older than
  a closed bucket is counted in `late` and dropped.
- Gaps are explicit: a bucket with no tick makes no candle, unless the builder was made with
  `fill_gaps=True`, which emits a flat candle at the previous close (volume 0, `filled`)
  for each empty bucket of a session after the symbol's first candle.
- Prices are Decimals in and out; volume, VWAP and trade count come from the traded
  quantities the feed gives (a tick with volume 0 moves the price only).

Speed: a tick that closes no candle costs one dict lookup, two time comparisons and a few
attribute updates (`add_tick`'s first branch). Each symbol keeps one open bucket, its finest
one (the greatest common divisor of its timeframes); longer timeframes are rolled up from
it when it closes, so ten timeframes cost a tick no more than one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from math import gcd

from ..domain.calendar import Session
from ..domain.candle import Candle
from ..domain.clock import ensure_utc
from ..domain.enums import Timeframe
from ..domain.timeframes import TIMEFRAME_MINUTES, buckets

NOTHING: tuple[Candle, ...] = ()
VWAP_QUANTUM = Decimal("0.0001")
SessionOf = Callable[[date], Session | None]
# India keeps no daylight saving: an instant's IST day is its UTC time plus 5:30.
IST_OFFSET = timedelta(hours=5, minutes=30)


class _Day:
    """A day's session with its open and close as UTC instants (computed once)."""

    __slots__ = ("session", "opens", "closes")

    def __init__(self, session: Session | None) -> None:
        self.session = session
        if session is not None:
            self.opens, self.closes = session.open_at(), session.close_at()

    def bucket(self, at: datetime, minutes: int | None) -> tuple[datetime, datetime] | None:
        """bucket_bounds, on the cached instants."""
        if self.session is None or not self.opens <= at < self.closes:
            return None
        if minutes is None:
            return self.opens, self.closes
        width = _WIDTHS.get(minutes) or _WIDTHS.setdefault(minutes, timedelta(minutes=minutes))
        start = self.opens + width * ((at - self.opens) // width)
        end = start + width
        return start, end if end < self.closes else self.closes


_WIDTHS: dict[int, timedelta] = {}


class _Bar:
    """An open bucket's running totals."""

    __slots__ = ("start", "end", "open", "high", "low", "close", "volume", "pv", "trades",
                 "vwap_known")

    def __init__(self, start: datetime, end: datetime, price: Decimal) -> None:
        self.start, self.end = start, end
        self.open = self.high = self.low = self.close = price
        self.volume = 0
        self.pv = Decimal(0)
        self.trades = 0
        self.vwap_known = True

    @classmethod
    def of(cls, candle: Candle) -> _Bar:
        """A closed finer candle as a bar, to fold into a bucket."""
        bar = cls(candle.start, candle.end, candle.open)
        bar.high, bar.low, bar.close = candle.high, candle.low, candle.close
        bar.volume, bar.trades = candle.volume, candle.trades
        if candle.vwap is not None:
            bar.pv = candle.vwap * candle.volume
        bar.vwap_known = candle.vwap is not None or not candle.volume
        return bar

    def fold(self, other: _Bar) -> None:
        """Take in a later, closed finer bucket."""
        if other.high > self.high:
            self.high = other.high
        if other.low < self.low:
            self.low = other.low
        self.close = other.close
        self.volume += other.volume
        self.pv += other.pv
        self.trades += other.trades
        self.vwap_known = self.vwap_known and other.vwap_known

    def candle(self, symbol: str, timeframe: Timeframe) -> Candle:
        vwap = None
        if self.volume and self.vwap_known:
            vwap = (self.pv / self.volume).quantize(VWAP_QUANTUM)
        return Candle(symbol, timeframe, self.start, self.end, self.open, self.high, self.low,
                      self.close, self.volume, vwap, self.trades)


class _Track:
    """What the builder keeps for one symbol."""

    __slots__ = ("timeframes", "base", "emit_base", "rollups", "closed_until", "last_close",
                 "emitted_until", "skip_until")

    def __init__(self, timeframes: frozenset[Timeframe]) -> None:
        self.timeframes = timeframes
        minutes = [TIMEFRAME_MINUTES[tf] for tf in timeframes if tf in TIMEFRAME_MINUTES]
        self.base: int | None = gcd(*minutes) if minutes else None  # None: day only
        base_tf = next((tf for tf in timeframes if TIMEFRAME_MINUTES.get(tf) == self.base),
                       None)
        self.emit_base: Timeframe | None = base_tf
        self.rollups: dict[Timeframe, _Bar | None] = {
            tf: None for tf in sorted(timeframes, key=_width) if tf is not base_tf}
        self.closed_until: datetime | None = None  # end of the last closed finest bucket
        self.last_close: Decimal | None = None
        self.emitted_until: dict[Timeframe, datetime] = {}
        self.skip_until: dict[Timeframe, datetime] = {}  # partial buckets not to build


def _width(timeframe: Timeframe) -> int:
    return TIMEFRAME_MINUTES.get(timeframe, 10_000)


def _order(candle: Candle) -> tuple[datetime, int]:
    return candle.end, _width(candle.timeframe)


class CandleBuilder:
    """Turns ticks (and finer candles) into closed candles for the symbols it tracks."""

    def __init__(self, sessions: SessionOf, *, fill_gaps: bool = False) -> None:
        self._sessions_of = sessions
        self._days: dict[date, _Day] = {}
        self.fill_gaps = fill_gaps
        self._tracks: dict[str, _Track] = {}
        self._bars: dict[str, _Bar] = {}
        self._next_due: datetime | None = None
        self.outside_session = 0
        self.late = 0

    # -- what is built ----------------------------------------------------------------------

    def track(self, symbol: str, timeframes: Iterable[Timeframe]) -> None:
        """Build `timeframes` candles for `symbol` from now on. A timeframe added while a
        bucket is open starts with its next full bucket (a candle is never built from part
        of its bucket); so do all of them when the finest bucket changes."""
        chosen = frozenset(Timeframe(tf) for tf in timeframes)
        if not chosen:
            raise ValueError("track needs at least one timeframe")
        old = self._tracks.get(symbol)
        track = _Track(chosen)
        self._tracks[symbol] = track
        if old is None:
            return
        bar = self._bars.get(symbol)
        track.closed_until, track.last_close = old.closed_until, old.last_close
        track.emitted_until = {tf: at for tf, at in old.emitted_until.items() if tf in chosen}
        same_base = old.base == track.base
        if same_base:
            for timeframe in track.rollups:
                track.rollups[timeframe] = old.rollups.get(timeframe)
        elif bar is not None:
            del self._bars[symbol]
        seen = (bar.start if same_base else bar.end) if bar is not None else old.closed_until
        if seen is None:
            return
        day = self._day(seen)
        for timeframe in chosen:
            if same_base and timeframe in old.timeframes:
                continue
            bounds = day.bucket(seen, TIMEFRAME_MINUTES.get(timeframe))
            if bounds is not None and bounds[0] != seen:
                track.skip_until[timeframe] = bounds[1]

    def untrack(self, symbol: str) -> None:
        self._tracks.pop(symbol, None)
        self._bars.pop(symbol, None)

    def timeframes(self, symbol: str) -> frozenset[Timeframe]:
        track = self._tracks.get(symbol)
        return track.timeframes if track else frozenset()

    # -- input ------------------------------------------------------------------------------

    def add_tick(self, symbol: str, price: Decimal, at: datetime,
                 volume: int = 0) -> Sequence[Candle]:
        """One trade (or last-price update, volume 0) at `at` (UTC-aware); returns the
        candles it closed, oldest first (usually none)."""
        bar = self._bars.get(symbol)
        if bar is not None and bar.start <= at < bar.end:
            if price > bar.high:
                bar.high = price
            elif price < bar.low:
                bar.low = price
            bar.close = price
            if volume:
                bar.volume += volume
                bar.pv += price * volume
                bar.trades += 1
            return NOTHING
        return self._new_bucket(symbol, price, at, volume)

    def add_candle(self, candle: Candle) -> Sequence[Candle]:
        """A finer candle (a back-filled 1-minute one, say) taken in as one piece: it must
        lie inside one of the symbol's finest buckets. Returns the candles it closed."""
        track = self._tracks.get(candle.symbol)
        if track is None:
            return NOTHING
        size = TIMEFRAME_MINUTES.get(candle.timeframe)
        if track.base is not None and (size is None or track.base % size):
            raise ValueError(f"{candle.timeframe.value} candles cannot build "
                             f"{track.base}-minute buckets")
        bar = self._bars.get(candle.symbol)
        out: Sequence[Candle] = NOTHING
        if bar is None or not bar.start <= candle.start < bar.end:
            out = self._new_bucket(candle.symbol, candle.open, candle.start, 0)
            bar = self._bars.get(candle.symbol)
            if bar is None or not bar.start <= candle.start < bar.end:
                return out  # outside the session or late: counted by _new_bucket
        bar.fold(_Bar.of(candle))
        return out

    def advance(self, now: datetime) -> Sequence[Candle]:
        """Close every bucket that ended by `now` (the feed's clock): a quiet symbol's
        candle is emitted on time, not at its next tick."""
        now = ensure_utc(now)
        if self._next_due is None or now < self._next_due:
            if not self.fill_gaps:
                return NOTHING
        out: list[Candle] = []
        for symbol, track in self._tracks.items():
            out.extend(self._close_until(symbol, track, now))
        self._next_due = self._earliest_end()
        if not out:
            return NOTHING
        out.sort(key=_order)
        return out

    def open_candle(self, symbol: str, timeframe: Timeframe) -> Candle | None:
        """The candle still building for `symbol` (for a chart's last bar), None if none."""
        track = self._tracks.get(symbol)
        bar = self._bars.get(symbol)
        if track is None or bar is None or timeframe not in track.timeframes:
            return None
        if timeframe is track.emit_base:
            return bar.candle(symbol, timeframe)
        agg = track.rollups.get(timeframe)
        if agg is None:
            return bar.candle(symbol, timeframe)
        merged = _Bar(agg.start, agg.end, agg.open)
        merged.fold(agg)
        merged.fold(bar)
        return merged.candle(symbol, timeframe)

    # -- the slow path: a bucket ends or begins ---------------------------------------------

    def _new_bucket(self, symbol: str, price: Decimal, at: datetime,
                    volume: int) -> Sequence[Candle]:
        track = self._tracks.get(symbol)
        if track is None:
            return NOTHING
        if at.tzinfo is not UTC:
            at = ensure_utc(at)
        bar = self._bars.get(symbol)
        if (bar is not None and at < bar.start) or \
                (track.closed_until is not None and at < track.closed_until):
            self.late += 1
            return NOTHING
        out = self._close_until(symbol, track, at)
        bounds = self._day(at).bucket(at, track.base)
        if bounds is None:
            self.outside_session += 1
            return sorted(out, key=_order) if out else NOTHING
        bar = _Bar(bounds[0], bounds[1], price)
        if volume:
            bar.volume = volume
            bar.pv = price * volume
            bar.trades = 1
        self._bars[symbol] = bar
        if self._next_due is None or bar.end < self._next_due:
            self._next_due = bar.end
        if len(out) > 1:
            out.sort(key=_order)
        return out if out else NOTHING

    def _close_until(self, symbol: str, track: _Track, at: datetime) -> list[Candle]:
        """Close the symbol's buckets that ended at or before `at`."""
        out: list[Candle] = []
        bar = self._bars.get(symbol)
        if bar is not None and bar.end <= at:
            del self._bars[symbol]
            track.closed_until = bar.end
            track.last_close = bar.close
            if track.emit_base is not None and \
                    bar.start >= track.skip_until.get(track.emit_base, bar.start):
                self._emit(out, symbol, track, track.emit_base, bar)
            self._roll_up(out, symbol, track, bar)
        for timeframe, agg in track.rollups.items():
            if agg is not None and agg.end <= at:
                track.rollups[timeframe] = None
                self._emit(out, symbol, track, timeframe, agg)
        if self.fill_gaps and track.last_close is not None:
            for timeframe in track.timeframes:
                self._fill(out, symbol, track, timeframe, at)
        return out

    def _roll_up(self, out: list[Candle], symbol: str, track: _Track, bar: _Bar) -> None:
        day = self._day(bar.start)
        for timeframe, agg in track.rollups.items():
            if bar.start < track.skip_until.get(timeframe, bar.start):
                continue
            start, end = day.bucket(bar.start, TIMEFRAME_MINUTES.get(timeframe)) \
                or (bar.start, bar.end)
            if agg is not None and agg.start != start:
                self._emit(out, symbol, track, timeframe, agg)
                agg = None
            if agg is None:
                agg = _Bar(start, end, bar.open)
                agg.high, agg.low = bar.high, bar.low
            agg.fold(bar)
            if agg.end <= bar.end:
                track.rollups[timeframe] = None
                self._emit(out, symbol, track, timeframe, agg)
            else:
                track.rollups[timeframe] = agg

    def _emit(self, out: list[Candle], symbol: str, track: _Track, timeframe: Timeframe,
              bar: _Bar) -> None:
        if self.fill_gaps:
            self._fill(out, symbol, track, timeframe, bar.start)
        out.append(bar.candle(symbol, timeframe))
        track.emitted_until[timeframe] = bar.end

    def _fill(self, out: list[Candle], symbol: str, track: _Track, timeframe: Timeframe,
              until: datetime) -> None:
        """Flat candles for the empty buckets of `timeframe` that ended by `until`, after
        the last candle emitted (fill_gaps only; nothing before the symbol's first)."""
        after = track.emitted_until.get(timeframe)
        price = track.last_close
        if after is None or price is None or after >= until:
            return
        minutes = TIMEFRAME_MINUTES.get(timeframe)
        day = (after + IST_OFFSET).date()
        last_day = (until + IST_OFFSET).date()
        while day <= last_day:
            session = self._day_on(day).session
            if session is not None:
                for start, end in buckets(session, minutes):
                    if start >= after and end <= until:
                        out.append(Candle(symbol, timeframe, start, end, price, price, price,
                                          price, filled=True))
                        track.emitted_until[timeframe] = end
            day = date.fromordinal(day.toordinal() + 1)

    def _earliest_end(self) -> datetime | None:
        ends = [bar.end for bar in self._bars.values()]
        ends += [agg.end for track in self._tracks.values()
                 for agg in track.rollups.values() if agg is not None]
        return min(ends, default=None)

    def _day(self, at: datetime) -> _Day:
        """The IST day of a UTC instant, with its session."""
        return self._day_on((at + IST_OFFSET).date())

    def _day_on(self, day: date) -> _Day:
        try:
            return self._days[day]
        except KeyError:
            known = self._days[day] = _Day(self._sessions_of(day))
            return known
