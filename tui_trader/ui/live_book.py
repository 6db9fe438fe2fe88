"""The signed-in user's positions as the console shows them, kept current by engine events,
and the day's P&L curve sampled from their totals. Pure Python: no Textual, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from ..domain.clock import IST, ensure_utc
from ..domain.events import PositionChanged

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class PositionLine:
    id: str
    symbol: str
    quantity: int
    average_price: Decimal
    ltp: Decimal | None
    unrealized: Decimal
    realized: Decimal
    status: str
    strategy_id: str | None = None
    strategy: str = ""

    @property
    def is_open(self) -> bool:
        return self.status != "CLOSED"


@dataclass(frozen=True, slots=True)
class Totals:
    open_quantity: int
    unrealized: Decimal
    realized: Decimal

    @property
    def net(self) -> Decimal:
        return self.unrealized + self.realized


def line_from_event(event: PositionChanged, strategy: str = "") -> PositionLine:
    return PositionLine(id=event.position_id, symbol=event.symbol, quantity=event.quantity,
                        average_price=event.average_price, ltp=event.ltp,
                        unrealized=event.unrealized_pnl, realized=event.realized_pnl,
                        status=event.status, strategy_id=event.strategy_id, strategy=strategy)


class LiveBook:
    """Positions by id, their totals, and (time, net P&L) points for today's chart."""

    def __init__(self, *, min_step: timedelta = timedelta(seconds=1),
                 max_points: int = 2000) -> None:
        self.positions: dict[str, PositionLine] = {}
        self.strategy_names: dict[str, str] = {}
        self.series: list[tuple[datetime, Decimal]] = []
        self.loaded = False
        self.version = 0  # bumps on every change: cheap "did anything move?" for readers
        self._touched: set[str] = set()  # ids changed by events while a load was running
        self._min_step = min_step
        self._max_points = max_points

    # -- changes ----------------------------------------------------------------------------
    def begin_load(self) -> None:
        self._touched.clear()

    def load(self, lines: Iterable[PositionLine], names: dict[str, str] | None = None) -> None:
        """Replace everything with a fresh read, keeping rows events updated meanwhile."""
        if names:
            self.strategy_names.update(names)
        fresh = {line.id: line for line in lines}
        for key in self._touched:
            if key in self.positions:
                fresh[key] = self.positions[key]
        self.positions = fresh
        self._touched.clear()
        self.loaded = True
        self.version += 1

    def apply(self, events: Iterable[PositionChanged]) -> bool:
        changed = False
        for event in events:
            name = self.strategy_names.get(event.strategy_id or "", "")
            line = line_from_event(event, name)
            if self.positions.get(line.id) != line:
                self.positions[line.id] = line
                changed = True
            self._touched.add(line.id)
        if changed:
            self.version += 1
        return changed

    def name_strategies(self, names: dict[str, str]) -> None:
        self.strategy_names.update(names)
        changed = False
        for key, line in list(self.positions.items()):
            name = names.get(line.strategy_id or "")
            if name and name != line.strategy:
                self.positions[key] = replace(line, strategy=name)
                changed = True
        if changed:
            self.version += 1

    # -- reads ------------------------------------------------------------------------------
    def lines(self, *, include_closed: bool = True) -> list[PositionLine]:
        rows = [p for p in self.positions.values() if include_closed or p.is_open]
        return sorted(rows, key=lambda p: (not p.is_open, p.symbol, p.strategy, p.id))

    def totals(self, *, include_closed: bool = True) -> Totals:
        rows = [p for p in self.positions.values() if include_closed or p.is_open]
        return Totals(open_quantity=sum(p.quantity for p in rows if p.is_open),
                      unrealized=sum((p.unrealized for p in rows), ZERO),
                      realized=sum((p.realized for p in rows), ZERO))

    # -- the day's curve --------------------------------------------------------------------
    def sample(self, now: datetime) -> bool:
        """Record the net P&L at `now` (at most one point per `min_step`); a new IST day
        starts a new curve. Returns whether a point was added."""
        now = ensure_utc(now)
        net = self.totals().net
        if self.series:
            last_at, last_net = self.series[-1]
            if last_at.astimezone(IST).date() != now.astimezone(IST).date():
                self.series.clear()
            elif now - last_at < self._min_step or (last_net == net and
                                                    now - last_at < timedelta(minutes=1)):
                return False
        self.series.append((now, net))
        if len(self.series) > self._max_points:
            self.series = self.series[::2]  # halve the resolution, keep the shape
        return True
