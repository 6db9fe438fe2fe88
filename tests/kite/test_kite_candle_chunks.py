"""Chunked, paced, resumable candle downloads through the real kiteconnect client against
the local Kite sandbox (which enforces Kite's per-request spans and 3 historical req/s)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import unquote_plus

import pytest
from sqlmodel import func, select

from tui_trader.brokers.base import BrokerUnavailable
from tui_trader.brokers.kite import KiteBroker
from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.db.models.market import Candle
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import Timeframe
from tui_trader.domain.errors import ValidationError
from tui_trader.services.market_data import ChunkDone, RequestPacer, store_candles

START = datetime(2026, 6, 1, tzinfo=IST)
END = datetime(2026, 10, 28, 23, 59, 59, tzinfo=IST)  # 150 days: 3 minute-candle chunks
# 450 days of 15-minute candles: chunks of 200, 200 and 50 days (fewer candles to store)
LONG_START = datetime(2025, 6, 2, tzinfo=IST)
LONG_END = LONG_START + timedelta(days=450) - timedelta(seconds=1)


def _historical_requests(broker: KiteBroker) -> list[str]:
    """Every historical request the client actually sends (a requests response hook)."""
    seen: list[str] = []

    def hook(response, *args, **kwargs):
        if "/instruments/historical/" in response.request.url:
            seen.append(response.request.url)

    broker.kite.reqsession.hooks["response"].append(hook)
    return seen


def _stored(ctx, first: datetime | None = None, last: datetime | None = None,
            timeframe: Timeframe = Timeframe.MINUTE) -> int:
    query = select(func.count()).select_from(Candle).where(
        Candle.symbol == "INFY", Candle.timeframe == timeframe)
    if first is not None:
        query = query.where(Candle.ts >= first, Candle.ts <= last)
    with ctx.session() as s:
        return s.exec(query).one()


def _pacer(ctx) -> tuple[RequestPacer, list[float]]:
    """Kite's 3/s pacing on the frozen clock: a 'sleep' moves the clock on."""
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        ctx.clock.advance(timedelta(seconds=seconds))

    return RequestPacer(ctx.clock, 3, sleep=sleep), slept


def test_150_minute_days_in_three_paced_requests(
        ctx, make_sandbox: Callable[..., KiteSandbox],
        make_broker: Callable[..., KiteBroker]) -> None:
    sandbox = make_sandbox(clock=ctx.clock)  # enforces historical_per_s = 3
    broker = make_broker(sandbox, clock=ctx.clock)
    requests = _historical_requests(broker)
    pacer, slept = _pacer(ctx)
    progress: list[ChunkDone] = []
    written = store_candles(ctx, broker, "NSE:INFY", START, END, "minute", pace=pacer.wait,
                            progress=progress.append)
    assert len(requests) == 3
    assert [(p.index, p.total, p.skipped) for p in progress] == [
        (0, 3, False), (1, 3, False), (2, 3, False)]
    assert progress[-1].candles == written == _stored(ctx)
    assert progress[0].candles < progress[1].candles < written
    # 107 weekdays in the range, 375 one-minute candles a session (09:15-15:29)
    weekdays = sum(1 for d in range(150) if (START + timedelta(days=d)).weekday() < 5)
    assert written == weekdays * 375
    assert len(slept) == 2 and all(s == pytest.approx(1 / 3) for s in slept)
    # a re-run fetches nothing: every chunk is stored whole
    assert store_candles(ctx, broker, "INFY", START, END, "minute", pace=pacer.wait) == 0
    assert len(requests) == 3 and _stored(ctx) == written


def test_interrupted_download_resumes_after_the_stored_chunk(
        ctx, make_sandbox: Callable[..., KiteSandbox],
        make_broker: Callable[..., KiteBroker]) -> None:
    sandbox = make_sandbox(clock=ctx.clock)
    broker = make_broker(sandbox, clock=ctx.clock)
    requests = _historical_requests(broker)
    pacer, _ = _pacer(ctx)

    def fail_after_first(done: ChunkDone) -> None:
        if done.index == 0:  # Kite refuses the second chunk's request
            sandbox.answer_next(1, "InputException", path_prefix="/instruments/historical")

    with pytest.raises(BrokerUnavailable):
        store_candles(ctx, broker, "INFY", LONG_START, LONG_END, "15minute", pace=pacer.wait,
                      progress=fail_after_first)
    assert len(requests) == 2
    q15 = Timeframe.MIN15
    first_chunk = _stored(ctx, timeframe=q15)
    second_from = LONG_START + timedelta(days=200)
    assert first_chunk > 0 and _stored(ctx, second_from, LONG_END, q15) == 0  # whole chunks
    progress: list[ChunkDone] = []
    written = store_candles(ctx, broker, "INFY", LONG_START, LONG_END, "15minute",
                            pace=pacer.wait, progress=progress.append)
    assert [(p.index, p.skipped) for p in progress] == [(0, True), (1, False), (2, False)]
    assert len(requests) == 4  # chunks 2 and 3 only: chunk 1 was not fetched again
    assert f"from={second_from:%Y-%m-%d} 00:00:00" in unquote_plus(requests[2])
    third_from = second_from + timedelta(days=200)
    assert f"from={third_from:%Y-%m-%d} 00:00:00" in unquote_plus(requests[3])
    assert _stored(ctx, timeframe=q15) == first_chunk + written
    assert _stored(ctx, second_from, LONG_END, q15) == written > 0


def test_a_chunk_with_only_its_two_ends_stored_is_fetched(
        ctx, make_sandbox: Callable[..., KiteSandbox],
        make_broker: Callable[..., KiteBroker]) -> None:
    sandbox = make_sandbox(clock=ctx.clock)
    broker = make_broker(sandbox, clock=ctx.clock)
    requests = _historical_requests(broker)
    pacer, _ = _pacer(ctx)
    start = datetime(2026, 3, 2, tzinfo=IST)  # Monday to Thursday 2026-09-17, before now:
    end = start + timedelta(days=200) - timedelta(seconds=1)  # one 15-minute chunk
    assert start.weekday() == 0 and end.weekday() == 3 and end < ctx.clock.now()
    for day in (start, end.replace(hour=0, minute=0, second=0)):
        store_candles(ctx, broker, "INFY", day, day + timedelta(hours=23), "15minute",
                      pace=pacer.wait)
    ends_only = _stored(ctx, timeframe=Timeframe.MIN15)
    assert len(requests) == 2 and ends_only > 0
    written = store_candles(ctx, broker, "INFY", start, end, "15minute", pace=pacer.wait)
    assert len(requests) == 3 and written > ends_only  # not mistaken for a stored chunk


@pytest.mark.parametrize(("symbol", "start", "end", "interval", "message"), [
    ("INFY", END, START, "minute", "--from: must not be after --to"),
    ("INFY", START, END, "2minute", "interval: must be one of"),
    ("NOPE", START, END, "minute", "Symbol: NSE:NOPE is not in the instruments list"),
])
def test_bad_input_one_line_nothing_fetched_or_written(
        ctx, make_sandbox: Callable[..., KiteSandbox],
        make_broker: Callable[..., KiteBroker], symbol, start, end, interval,
        message) -> None:
    sandbox = make_sandbox(clock=ctx.clock)
    broker = make_broker(sandbox, clock=ctx.clock)
    requests = _historical_requests(broker)
    with pytest.raises(ValidationError) as caught:
        store_candles(ctx, broker, symbol, start, end, interval)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
    assert requests == [] and _stored(ctx) == 0
