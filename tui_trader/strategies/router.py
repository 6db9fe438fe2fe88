"""Routes market data to the running strategies: ticks into the one candle builder, each
closed candle to the strategies that read that symbol and timeframe, ticks to the few kinds
that want them, and the clock to kinds that keep time.

A kind that raises is isolated: it is taken out of routing and reported as a `KindFailure`
(which strategy, on what, and the error in one line) while every other strategy goes on.

Speed: a tick that closes no candle and that no kind watches costs the builder's few dict
operations and one more lookup here.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..domain.candle import Candle
from ..domain.clock import IST
from ..domain.enums import StrategyKind, Timeframe
from .base import Kind
from .candles import CandleBuilder
from .signals import Holding, Signal


@dataclass(frozen=True, slots=True)
class Routed:
    strategy_id: Hashable
    signal: Signal


@dataclass(frozen=True, slots=True)
class KindFailure:
    strategy_id: Hashable
    kind: StrategyKind
    during: str  # "the INFY 15 min candle of 10:00 IST"
    error: str  # "ZeroDivisionError: float division by zero"

    def message(self) -> str:
        return f"{self.kind.value} strategy stopped: it failed on {self.during}: {self.error}"


@dataclass(frozen=True, slots=True)
class Round:
    """What one tick, clock step or batch of candles produced."""

    signals: tuple[Routed, ...] = ()
    failures: tuple[KindFailure, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.signals or self.failures)


EMPTY = Round()


class _Slot:
    __slots__ = ("strategy_id", "symbol", "kind", "holding")

    def __init__(self, strategy_id: Hashable, symbol: str, kind: Kind,
                 holding: Holding) -> None:
        self.strategy_id, self.symbol, self.kind, self.holding = (strategy_id, symbol, kind,
                                                                   holding)


def _error(exc: Exception) -> str:
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class StrategyRouter:
    def __init__(self, builder: CandleBuilder) -> None:
        self.builder = builder
        self._slots: dict[Hashable, _Slot] = {}
        self._by_candle: dict[tuple[str, Timeframe], list[_Slot]] = {}
        self._by_tick: dict[str, list[_Slot]] = {}
        self._timed: list[_Slot] = []

    # -- who runs ---------------------------------------------------------------------------

    def add(self, strategy_id: Hashable, symbol: str, kind: Kind,
            holding: Holding = Holding.FLAT) -> None:
        self.remove(strategy_id)
        slot = _Slot(strategy_id, symbol, kind, holding)
        self._slots[strategy_id] = slot
        if kind.timeframe is not None:
            self._by_candle.setdefault((symbol, kind.timeframe), []).append(slot)
            self._retrack(symbol)
        if kind.needs_ticks:
            self._by_tick.setdefault(symbol, []).append(slot)
        if kind.wake_at() is not None or type(kind).on_time is not Kind.on_time:
            self._timed.append(slot)

    def remove(self, strategy_id: Hashable) -> None:
        slot = self._slots.pop(strategy_id, None)
        if slot is None:
            return
        for table in (self._by_candle, self._by_tick):
            for key, slots in list(table.items()):
                if slot in slots:
                    slots.remove(slot)
                    if not slots:
                        del table[key]
        if slot in self._timed:
            self._timed.remove(slot)
        self._retrack(slot.symbol)

    def _retrack(self, symbol: str) -> None:
        wanted = {tf for (sym, tf) in self._by_candle if sym == symbol}
        if not wanted:
            self.builder.untrack(symbol)
        elif wanted != self.builder.timeframes(symbol):
            self.builder.track(symbol, wanted)

    def set_holding(self, strategy_id: Hashable, holding: Holding) -> None:
        slot = self._slots.get(strategy_id)
        if slot is not None:
            slot.holding = holding

    def kind(self, strategy_id: Hashable) -> Kind | None:
        slot = self._slots.get(strategy_id)
        return slot.kind if slot else None

    def running(self) -> list[Hashable]:
        return list(self._slots)

    # -- what happens -----------------------------------------------------------------------

    def on_tick(self, symbol: str, price: Decimal, at: datetime, volume: int = 0) -> Round:
        closed = self.builder.add_tick(symbol, price, at, volume)
        watchers = self._by_tick.get(symbol)
        if not closed and watchers is None:
            return EMPTY
        signals: list[Routed] = []
        failures: list[KindFailure] = []
        if closed:
            self._candles(closed, signals, failures)
        for slot in list(watchers or ()):
            self._call(slot, signals, failures, f"the {symbol} tick at {_ist(at)}",
                       lambda s=slot: s.kind.on_tick(price, at, s.holding))
        return Round(tuple(signals), tuple(failures))

    def on_candles(self, candles: Iterable[Candle]) -> Round:
        """Closed candles from elsewhere (back-fill, a backtest's replay)."""
        signals: list[Routed] = []
        failures: list[KindFailure] = []
        self._candles(candles, signals, failures)
        return Round(tuple(signals), tuple(failures)) if signals or failures else EMPTY

    def advance(self, now: datetime) -> Round:
        """The clock moved: close candles that ended, and wake kinds that keep time."""
        signals: list[Routed] = []
        failures: list[KindFailure] = []
        self._candles(self.builder.advance(now), signals, failures)
        for slot in list(self._timed):
            wake = slot.kind.wake_at()
            if wake is not None and wake <= now:
                self._call(slot, signals, failures, f"the clock at {_ist(now)}",
                           lambda s=slot: s.kind.on_time(now, s.holding))
        return Round(tuple(signals), tuple(failures)) if signals or failures else EMPTY

    def _candles(self, candles: Iterable[Candle], signals: list[Routed],
                 failures: list[KindFailure]) -> None:
        by_candle = self._by_candle
        for candle in candles:
            slots = by_candle.get((candle.symbol, candle.timeframe))
            if not slots:
                continue
            for slot in list(slots):
                try:
                    out = slot.kind.on_candle(candle, slot.holding)
                except Exception as exc:  # one strategy's bug must not stop the others
                    self._fail(slot, failures, _candle_words(candle), exc)
                    continue
                if out:
                    signals.extend(Routed(slot.strategy_id, s) for s in out)

    def _call(self, slot: _Slot, signals: list[Routed], failures: list[KindFailure],
              during: str, call) -> None:
        try:
            out: Sequence[Signal] = call()
        except Exception as exc:  # one strategy's bug must not stop the others
            self._fail(slot, failures, during, exc)
            return
        signals.extend(Routed(slot.strategy_id, s) for s in out)

    def _fail(self, slot: _Slot, failures: list[KindFailure], during: str,
              exc: Exception) -> None:
        failures.append(KindFailure(slot.strategy_id, slot.kind.kind, during, _error(exc)))
        self.remove(slot.strategy_id)


def _ist(at: datetime) -> str:
    return f"{at.astimezone(IST):%H:%M:%S} IST"


def _candle_words(candle: Candle) -> str:
    from ..domain.timeframes import describe

    return (f"the {candle.symbol} {describe(candle.timeframe)} candle of "
            f"{candle.start.astimezone(IST):%d %b %H:%M} IST")
