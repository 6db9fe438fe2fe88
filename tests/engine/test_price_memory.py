"""The simulated market goes on across restarts: the engine keeps the last prices it saw,
and its next start's simulated feed resumes from them (before: back to the reference
prices, so paper P&L jumped at every launch)."""

from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from tui_trader.brokers.feeds.simulated import SimulatedFeed
from tui_trader.db.models import Instrument
from tui_trader.engine.embedded import EmbeddedEngine
from tui_trader.engine.scheduler import ManualSchedule


def _engine(ctx) -> EmbeddedEngine:
    engine = EmbeddedEngine(ctx, feed=SimulatedFeed(seed=1, clock=ctx.clock),
                            runner=ManualSchedule(), consumer="memory-test")
    engine.start(threads=False)
    return engine


def _stored(ctx, symbol: str) -> Decimal:
    with ctx.session() as s:
        return s.exec(select(Instrument).where(Instrument.symbol == symbol)).one().last_price


def test_a_restart_goes_on_from_the_last_prices(ctx):
    first = _engine(ctx)
    first.feed.force_price("INFY", Decimal("1400.00"))
    first.on_ticks(first.feed.next_batch())
    first.stop()
    assert _stored(ctx, "INFY") == Decimal("1400.00")

    second = _engine(ctx)
    try:
        assert second.feed.price("INFY") == Decimal("1400.00")
        (tick,) = [t for t in second.feed.next_batch() if t.symbol == "INFY"]
        assert abs(tick.price - Decimal("1400.00")) <= Decimal("1.00")
    finally:
        second.stop()


def test_prices_are_kept_while_running_not_only_at_stop(ctx):
    engine = _engine(ctx)
    try:
        engine.feed.force_price("TCS", Decimal("3300.00"))
        engine.on_ticks(engine.feed.next_batch())
        engine.maintain()  # the first pass keeps them; then every 30 s
        assert _stored(ctx, "TCS") == Decimal("3300.00")
    finally:
        engine.stop()
