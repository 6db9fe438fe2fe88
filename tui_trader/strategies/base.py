"""The protocol every strategy kind follows.

A kind is made from its validated parameters, its context (the symbol; the calendar for kinds
that keep time) and, after a restart, the state it last returned. The engine (or the
backtester) then hands it events and acts on the signals it returns:
- `on_candle(candle, holding)` for each closed candle of its timeframe;
- `on_tick(price, at, holding)` for each tick, if `needs_ticks`;
- `on_time(now, holding)` once the clock reaches `wake_at()` (kinds that keep time).
`state()` is a JSON-able dict; a kind made again from it continues exactly as the one that
returned it would have. Before its lookback is filled a kind returns no signal and its
`status()` says how far warming up has come.

A kind whose signals come from indicators over closed candles may also offer a batch form for
backtests: `batch_events(columns)` gives, for every candle of a whole series at once, the
event its rule sees there (+1 a long event, -1 a short one, 0 none), and `signals_for`
turns one event into signals for a holding. `on_candle` applies the same rule one candle at
a time and the same `signals_for`, so both forms give the same signals (tests check it bar
by bar); the backtester calls `signals_for` only at the candles with an event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np

from ..domain.calendar import NseCalendar
from ..domain.candle import Candle
from ..domain.enums import StrategyKind, Timeframe
from ..domain.settings_schema import SettingsModel
from .signals import Holding, Signal


@dataclass(frozen=True)
class KindContext:
    symbol: str
    calendar: NseCalendar | None = None


class Kind(ABC):
    kind: ClassVar[StrategyKind]
    # Raised when a change to the kind's rule changes its signals (a backtest's snapshot
    # records it beside a hash of the code).
    version: ClassVar[int] = 1
    needs_ticks: ClassVar[bool] = False

    def __init__(self, params: SettingsModel, context: KindContext,
                 state: Mapping[str, Any] | None = None) -> None:
        self.params = params
        self.context = context

    @property
    def timeframe(self) -> Timeframe | None:
        """The candles it reads (None: it reads none)."""
        return getattr(self.params, "timeframe", None)

    @property
    def lookback(self) -> int:
        """Closed candles it needs before it can give a signal (on the next one)."""
        return 0

    @property
    def warm(self) -> bool:
        return True

    def on_candle(self, candle: Candle, holding: Holding) -> list[Signal]:
        return []

    def on_tick(self, price: Decimal, at: datetime, holding: Holding) -> list[Signal]:
        return []

    def on_start(self, now: datetime, holding: Holding) -> list[Signal]:
        """The strategy starts (or restarts) at `now` holding `holding`."""
        return []

    def on_time(self, now: datetime, holding: Holding) -> list[Signal]:
        return []

    def wake_at(self) -> datetime | None:
        """When it next wants `on_time` (None: never)."""
        return None

    def batch_events(self, columns: Mapping[str, np.ndarray]) -> np.ndarray | None:
        """The rule over a whole series (`columns`: open, high, low, close, volume as
        float64 arrays): the event at each candle, +1 long, -1 short, 0 none. None: this
        kind has no batch form (the backtester then feeds it candle by candle)."""
        return None

    def signals_for(self, event: int, holding: Holding, at: datetime,
                    price: Decimal) -> list[Signal]:
        """The signals one event gives a strategy holding `holding` (kinds with a batch
        form)."""
        return []

    @abstractmethod
    def state(self) -> dict[str, Any]:
        """Everything it needs to resume, JSON-able."""

    def indicators(self) -> dict[str, float]:
        """The indicator values a trader looks at, by display name."""
        return {}

    def status(self) -> str:
        """What it is doing, in words ("waiting for EMA 9 to cross 21")."""
        return ""


class CandleKind(Kind):
    """A kind driven by closed candles: warming up is counted in candles."""

    def warming_status(self) -> str:
        return f"warming up: {self.candles_seen()} of {self.lookback} candles"

    def candles_seen(self) -> int:
        return 0
