"""The router: ticks become candles, candles reach the strategies that read them, the clock
wakes the kinds that keep time, and a kind that raises is isolated and reported while the
others go on."""

from __future__ import annotations

from datetime import time, timedelta

from tui_trader.domain.candle import Candle
from tui_trader.domain.enums import Timeframe
from tui_trader.strategies.base import KindContext
from tui_trader.strategies.candles import CandleBuilder
from tui_trader.strategies.kinds.ema_crossover import EmaCrossover
from tui_trader.strategies.registry import make_kind
from tui_trader.strategies.router import EMPTY, StrategyRouter
from tui_trader.strategies.signals import Action, Holding

from .conftest import MONDAY, d, ist


class Exploding(EmaCrossover):
    """An EMA crossover with a bug that shows on its third candle."""

    def on_candle(self, candle, holding):
        self.seen = getattr(self, "seen", 0) + 1
        if self.seen == 3:
            raise ZeroDivisionError("float division by zero")
        return super().on_candle(candle, holding)


def ema(symbol="INFY", cls=None, **params):
    kind = make_kind("ema_crossover", {"fast": 2, "slow": 3, "timeframe": "minute", **params},
                     KindContext(symbol))
    return kind if cls is None else cls(kind.params, KindContext(symbol))


def drive(router, prices, symbol="INFY"):
    """One tick a minute from 09:15; every round the router gave back."""
    rounds = []
    for i, price in enumerate(prices):
        rounds.append(router.on_tick(symbol, d(str(price)), ist(MONDAY, 9, 15 + i, 30), 1))
    rounds.append(router.advance(ist(MONDAY, 9, 15 + len(prices))))
    return [r for r in rounds if r]


def test_a_tick_that_closes_nothing_gives_nothing(calendar):
    router = StrategyRouter(CandleBuilder(calendar.session))
    router.add("a", "INFY", ema())
    assert router.on_tick("INFY", d("100"), ist(MONDAY, 9, 15, 1), 1) is EMPTY
    assert router.on_tick("INFY", d("101"), ist(MONDAY, 9, 15, 2), 1) is EMPTY
    assert router.on_tick("TCS", d("101"), ist(MONDAY, 9, 15, 2), 1) is EMPTY


def test_candles_reach_the_strategies_of_their_symbol_and_timeframe(calendar):
    router = StrategyRouter(CandleBuilder(calendar.session))
    router.add("a", "INFY", ema())
    router.add("b", "INFY", ema(timeframe="5minute"))
    router.add("c", "TCS", ema(symbol="TCS"))
    prices = [100, 99, 98, 97, 96, 100, 104, 108, 112]
    rounds = drive(router, prices)
    ids = {r.strategy_id for round_ in rounds for r in round_.signals}
    assert ids == {"a"}  # b's 5-minute EMAs are still warming; c's symbol never ticked
    (signal,) = [r.signal for round_ in rounds for r in round_.signals]
    assert signal.action is Action.ENTER_LONG
    assert router.kind("b").candles_seen() == 1  # one 5-minute candle closed


def test_a_kind_that_raises_is_stopped_and_told_while_the_others_go_on(calendar):
    router = StrategyRouter(CandleBuilder(calendar.session))
    router.add("bad", "INFY", ema(cls=Exploding))
    router.add("good", "INFY", ema())
    rounds = drive(router, [100, 99, 98, 97, 96, 100, 104, 108, 112])
    failures = [f for r in rounds for f in r.failures]
    assert len(failures) == 1
    failure = failures[0]
    assert failure.strategy_id == "bad"
    assert failure.message() == ("ema_crossover strategy stopped: it failed on the INFY "
                                 "1 min candle of 03 Mar 09:17 IST: ZeroDivisionError: "
                                 "float division by zero")
    assert router.running() == ["good"]
    assert [r.strategy_id for round_ in rounds for r in round_.signals] == ["good"]


def test_the_clock_wakes_a_scheduled_strategy(calendar):
    router = StrategyRouter(CandleBuilder(calendar.session))
    kind = make_kind("scheduled", {"buy_time": time(9, 30), "sell_time": time(15, 0)},
                     KindContext("INFY", calendar))
    kind.on_start(ist(MONDAY, 8, 0), Holding.FLAT)
    router.add("s", "INFY", kind)
    assert router.advance(ist(MONDAY, 9, 29)) is EMPTY
    (buy,) = router.advance(ist(MONDAY, 9, 30)).signals
    assert buy.signal.action is Action.ENTER_LONG
    router.set_holding("s", Holding.LONG)
    (sell,) = router.advance(ist(MONDAY, 15, 0) + timedelta(seconds=1)).signals
    assert sell.signal.action is Action.EXIT


def test_candles_from_a_backfill_go_through_the_same_routing(calendar):
    router = StrategyRouter(CandleBuilder(calendar.session))
    router.add("a", "INFY", ema())
    candles = [Candle("INFY", Timeframe.MINUTE, ist(MONDAY, 9, 15 + i), ist(MONDAY, 9, 16 + i),
                      d(str(p)), d(str(p)), d(str(p)), d(str(p)))
               for i, p in enumerate([100, 99, 98, 97, 96, 100, 104])]
    (routed,) = router.on_candles(candles).signals
    assert routed.signal.action is Action.ENTER_LONG
