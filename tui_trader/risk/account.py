"""The figures of one user's trading day that the risk rules are judged against.

The engine (or the backtester) builds an `AccountSnapshot` from what it holds; the gate and
the assessment only read it. Equity is the trading capital plus the day's P&L, so the
snapshot carries P&L figures and the capital comes from the rules (or the broker's margin).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from ..domain.lifecycle import RiskState

ZERO = Decimal(0)
_NO_PNL: Mapping[Hashable, Decimal] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """An open position: whose, in what, and its value now (|quantity| x last price)."""

    strategy_id: Hashable
    symbol: str
    value: Decimal


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """One user's day so far.

    - `realized_pnl`, `unrealized_pnl`: today's, across every strategy (₹, signed).
    - `peak_pnl`: the highest total P&L seen today (the day starts at 0, so equity's peak is
      capital + max(peak_pnl, 0)); the drawdown is measured from there.
    - `positions`: every open position, `orders_today`: orders sent today (entries and
      exits), `strategy_pnl`: today's P&L per strategy.
    - `broker_margin`: the broker's available margin at the start of the day, the capital
      when the user set none (None: unknown).
    - `state`: the user's risk state now (REDUCING and HALTED take no entries).
    """

    realized_pnl: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    peak_pnl: Decimal = ZERO
    positions: tuple[OpenPosition, ...] = ()
    orders_today: int = 0
    strategy_pnl: Mapping[Hashable, Decimal] = field(default_factory=lambda: _NO_PNL)
    broker_margin: Decimal | None = None
    state: RiskState = RiskState.ACTIVE
    # derived once here, so each gate evaluation is a few lookups
    pnl: Decimal = field(init=False)
    open_keys: frozenset[tuple[Hashable, str]] = field(init=False)
    symbol_values: Mapping[str, Decimal] = field(init=False)

    def __post_init__(self) -> None:
        values: dict[str, Decimal] = {}
        for position in self.positions:
            values[position.symbol] = values.get(position.symbol, ZERO) + abs(position.value)
        set_ = object.__setattr__
        set_(self, "pnl", self.realized_pnl + self.unrealized_pnl)
        set_(self, "open_keys", frozenset((p.strategy_id, p.symbol) for p in self.positions))
        set_(self, "symbol_values", MappingProxyType(values))

    @property
    def loss(self) -> Decimal:
        """Today's loss as a positive figure (0 on a winning day)."""
        return -self.pnl if self.pnl < ZERO else ZERO

    def strategy_loss(self, strategy_id: Hashable) -> Decimal:
        pnl = self.strategy_pnl.get(strategy_id, ZERO)
        return -pnl if pnl < ZERO else ZERO

    def drawdown_pct(self, capital: Decimal) -> Decimal:
        """How far equity is below the day's peak equity, in % of that peak."""
        peak = max(self.peak_pnl, self.pnl, ZERO)
        top = capital + peak
        if top <= ZERO:
            return Decimal(100)
        return (peak - self.pnl) * 100 / top


@dataclass(frozen=True, slots=True)
class FillPnl:
    """The P&L one fill of today realized (0 for a fill that opened or added), and whose."""

    strategy_id: Hashable
    pnl: Decimal


@dataclass(frozen=True, slots=True)
class HeldPosition:
    """An open position as stored: signed quantity, average price, last price (None: not
    marked yet, valued at its average price)."""

    strategy_id: Hashable
    symbol: str
    quantity: int
    average_price: Decimal
    last_price: Decimal | None = None


def snapshot_of(fills: Iterable[FillPnl], held: Iterable[HeldPosition], orders_today: int,
                state: RiskState = RiskState.ACTIVE,
                broker_margin: Decimal | None = None) -> AccountSnapshot:
    """The day's snapshot from what a store (or the backtester's book) holds: today's
    realized P&L is the sum of today's fills' P&L (per strategy too), the unrealized P&L
    and each position's value come from its last price. The day's peak is not stored, so it
    is taken as the P&L now (the drawdown rule then sees only what is known)."""
    per_strategy: dict[Hashable, Decimal] = {}
    realized = ZERO
    for fill in fills:
        realized += fill.pnl
        per_strategy[fill.strategy_id] = per_strategy.get(fill.strategy_id, ZERO) + fill.pnl
    unrealized = ZERO
    positions: list[OpenPosition] = []
    for pos in held:
        if pos.quantity == 0:
            continue
        price = pos.last_price if pos.last_price is not None else pos.average_price
        gain = (price - pos.average_price) * pos.quantity
        unrealized += gain
        per_strategy[pos.strategy_id] = per_strategy.get(pos.strategy_id, ZERO) + gain
        positions.append(OpenPosition(pos.strategy_id, pos.symbol, abs(pos.quantity) * price))
    total = realized + unrealized
    return AccountSnapshot(realized_pnl=realized, unrealized_pnl=unrealized,
                           peak_pnl=max(total, ZERO), positions=tuple(positions),
                           orders_today=orders_today,
                           strategy_pnl=MappingProxyType(per_strategy),
                           broker_margin=broker_margin, state=state)
