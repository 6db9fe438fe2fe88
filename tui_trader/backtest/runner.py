"""The backtester: replays a series of candles through a strategy kind, the exits and the
matching core the live engine and the paper broker use, and measures the run.

Per candle, in this order (what a live strategy sees):
1. orders waiting for this candle fill at its open (`match_bar` on a MARKET order, the
   fill moved against the order by the slippage, on the tick grid);
2. an open position meets its exits inside the candle: the stop as a resting SL-M order
   and the target as a resting LIMIT order, both matched by `match_bar` (a gap through the
   stop fills at the open, a stop the candle reaches later at the stop; when the candle
   reaches both, the stop is assumed to come first unless the target gapped at the open);
   then `ExitEvaluator.on_price` moves the trailing stop with the candle's best price and
   `on_time` says when MIS is squared off;
3. the kind reads the closed candle and its signals become orders: filled at the next
   candle's open (`FillAt.NEXT_OPEN`, the default) or at this candle's close
   (`FillAt.CLOSE`), entries first passing the entry gate (the product: CNC never sells
   short; the MIS square-off; entries a day and re-entry when the run caps them).

A kind with a batch form (`Kind.batch_events`) is not fed candle by candle: its events are
computed over the whole series at once and the loop visits only the candles where something
can happen: an event, a waiting order, and, while a position is open, the first candle
whose range reaches its stop or target or whose close passes the square-off (every candle
when the stop trails). The skipped candles are ones on which the steps above do nothing, so
both ways give the same trades (tests/backtest checks it).

Money is Decimal in trades and P&L; the equity curve (one point per candle, marked at the
close) is numpy.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np

from ..analytics.metrics import EquitySeries, PerformanceSummary, RoundTrip, summarize
from ..brokers.matching import FillPolicy, OrderTerms, TickSlippage, match_bar, match_tick
from ..domain.calendar import NseCalendar
from ..domain.catalog import check_exits
from ..domain.charges import TradeLeg, leg_charges
from ..domain.clock import IST
from ..domain.enums import OrderKind, Product, Side
from ..domain.errors import ValidationError
from ..domain.price_grid import ceil_to_tick, floor_to_tick
from ..domain.risk_rules import RiskLimits
from ..risk.account import FillPnl, snapshot_of
from ..risk.gate import Entry, PreTradeGate
from ..strategies.base import KindContext
from ..strategies.entry_gate import DayCount, EntryGate
from ..strategies.exits import ExitEvaluator, OpenTrade
from ..strategies.indicators import batch as indicator_batch
from ..strategies.registry import make_kind
from ..strategies.signals import Action, Holding, Signal
from .bars import BarSeries, dec, from_ns, to_ns
from .spec import FillAt, RunSpec

ZERO = Decimal(0)
UNCAPPED = sys.maxsize
_CLOCK = re.compile(r"\d\d:\d\d")
Progress = Callable[[int, int], None]


@dataclass
class Trade:
    """One simulated round trip. Open at the end of the data while `exit_time` is None."""

    side: Side
    quantity: int
    entry_time: datetime
    entry_price: Decimal
    entry_reason: str
    entry_index: int
    exit_time: datetime | None = None
    exit_price: Decimal | None = None
    exit_reason: str | None = None  # "signal", "stop", "trailing", "target", "time"
    exit_note: str | None = None  # the reason in words
    exit_index: int | None = None
    entry_charges: Decimal = ZERO
    exit_charges: Decimal = ZERO

    @property
    def charges(self) -> Decimal:
        return self.entry_charges + self.exit_charges

    def round_trip(self) -> RoundTrip:
        return RoundTrip(self.entry_time, self.entry_price, self.quantity, self.side,
                         self.exit_time, self.exit_price, self.charges)

    def as_json(self) -> dict[str, Any]:
        def when(at: datetime | None) -> str | None:
            return None if at is None else at.astimezone(IST).isoformat()

        net = self.round_trip().net_pnl
        return {"side": "long" if self.side is Side.BUY else "short",
                "quantity": self.quantity, "entry_time": when(self.entry_time),
                "entry_price": float(self.entry_price), "entry_reason": self.entry_reason,
                "exit_time": when(self.exit_time),
                "exit_price": None if self.exit_price is None else float(self.exit_price),
                "exit_reason": self.exit_reason, "exit_note": self.exit_note,
                "charges": float(self.charges),
                "net_pnl": None if net is None else float(net)}


@dataclass
class BacktestResult:
    spec: RunSpec
    bars: BarSeries
    trades: list[Trade]
    curve: EquitySeries
    summary: PerformanceSummary
    refusals: dict[str, int] = field(default_factory=dict)  # entries the gate refused, why

    @property
    def data_from(self) -> datetime:
        return self.bars.start(0)

    @property
    def data_to(self) -> datetime:
        return self.bars.end(len(self.bars) - 1)

    def to_json(self) -> dict[str, Any]:
        return {"symbol": self.bars.symbol, "interval": self.bars.timeframe.value,
                "source": self.bars.source, "bars": len(self.bars),
                "from": self.data_from.astimezone(IST).isoformat(),
                "to": self.data_to.astimezone(IST).isoformat(),
                "trades": [t.as_json() for t in self.trades],
                "summary": self.summary.to_json(), "refused_entries": self.refusals}


@dataclass
class _Order:
    """A market order waiting for the next candle's open."""

    side: Side
    opens: bool  # an entry (else it closes the position)
    reason: str  # an entry's reason; an exit's rule ("signal", "time")
    note: str
    signal_index: int


@dataclass
class _Position:
    trade: Trade
    levels: OpenTrade
    exiting: bool = False  # an exit order waits for the next open


class Backtest:
    """One run of one strategy over one series. `batch=False` feeds every candle to the
    kind even when it has a batch form (the tests compare both)."""

    def __init__(self, spec: RunSpec, bars: BarSeries, *,
                 calendar: NseCalendar | None = None, batch: bool = True,
                 progress: Progress | None = None) -> None:
        self.spec = spec
        self.bars = bars
        self.calendar = calendar or NseCalendar(use_exchange_calendars=False)
        self.use_batch = batch
        self.progress = progress
        params = dict(spec.params)
        self.kind = make_kind(spec.kind, params, KindContext(bars.symbol, self.calendar),
                              product=spec.product)
        if self.kind.timeframe is not None and self.kind.timeframe is not bars.timeframe:
            raise ValidationError("interval", f"the candles are {bars.timeframe.value}; the "
                                              f"strategy reads {self.kind.timeframe.value}")
        rules, errors = check_exits(spec.kind, spec.exits)
        if rules is None or errors:
            name = next(iter(errors))
            raise ValidationError(name, errors[name])
        self.rules = rules
        gate_rules = rules
        if "max_trades_per_day" not in spec.exits:  # a backtest caps entries only if asked
            gate_rules = rules.model_copy(update={"max_trades_per_day": UNCAPPED})
        self.exits = ExitEvaluator(rules, spec.product, bars.symbol, tick=spec.tick,
                                   calendar=self.calendar)
        self.gate = EntryGate(gate_rules, spec.product, self.kind.timeframe, self.exits)
        # The pre-trade gate of the live engine, with the run's capital as the margin.
        self.risk = PreTradeGate(spec.risk) if spec.risk not in (None, RiskLimits()) \
            else None
        self.policy = FillPolicy(TickSlippage(spec.slippage_ticks)
                                 if spec.slippage_ticks else None)
        self.atr: np.ndarray | None = None
        self._levels_need_atr = "atr" in {str(rules.stop_mode), str(rules.target_mode),
                                          str(rules.trailing_mode)}
        if self._levels_need_atr:
            self.atr = indicator_batch("ATR", rules.atr_period, bars.high, bars.low, bars.close)
        self._square_off = self._square_off_flags()
        # the run's state
        self.trades: list[Trade] = []
        self.position: _Position | None = None
        self.pending: list[_Order] = []
        self.counts = DayCount()
        self.refusals: Counter[str] = Counter()

    # -- the run ------------------------------------------------------------------------------

    def run(self) -> BacktestResult:
        bars, n = self.bars, len(self.bars)
        events = self.kind.batch_events(bars.columns()) if self.use_batch else None
        for signal in self.kind.on_start(bars.start(0), Holding.FLAT):
            self._act(signal, 0, at_open=True)
        step = max(1, n // 20)
        reported = 0
        if events is None:
            for i in range(n):
                self._bar(i, None)
                if self.progress is not None and i - reported >= step:
                    reported = i
                    self.progress(i, n)
        else:
            event_at = np.flatnonzero(events)
            k, i = 0, 0
            while i < n:
                self._bar(i, int(events[i]))
                if self.progress is not None and i - reported >= step:
                    reported = i
                    self.progress(i, n)
                while k < len(event_at) and event_at[k] <= i:
                    k += 1
                following = int(event_at[k]) if k < len(event_at) else n
                i = self._next_visit(i, following)
        if self.progress is not None:
            self.progress(n, n)
        curve = self._curve()
        summary = summarize([t.round_trip() for t in self.trades], curve)
        return BacktestResult(self.spec, bars, self.trades, curve, summary,
                              dict(self.refusals))

    def _next_visit(self, i: int, following: int) -> int:
        """The next candle where anything can happen (batch form)."""
        if self.pending or self.kind.wake_at() is not None:
            return i + 1
        position = self.position
        if position is None:
            return following
        if self.rules.trailing is not None:
            return i + 1
        lo, hi = i + 1, following
        if lo >= hi:
            return hi
        first = np.flatnonzero(self._reached(position, lo, hi))
        return lo + int(first[0]) if len(first) else hi

    def _may_exit(self, lo: int, hi: int) -> bool:
        """Can an exit happen in candles lo..hi-1? Always with a trailing stop (it moves
        with every candle); else only where a candle reaches the stop or the target or
        closes at or after the square-off (what `_exits` would act on)."""
        if self.rules.trailing is not None or self.position is None:
            return True
        return bool(self._reached(self.position, lo, hi).any())

    def _reached(self, position: _Position, lo: int, hi: int) -> np.ndarray:
        levels = position.levels
        long = levels.side is Side.BUY
        stop = float(levels.stop)
        bars = self.bars
        hit = bars.low[lo:hi] <= stop if long else bars.high[lo:hi] >= stop
        if levels.target is not None:
            target = float(levels.target)
            hit |= bars.high[lo:hi] >= target if long else bars.low[lo:hi] <= target
        if self._square_off is not None:
            hit |= self._square_off[lo:hi]
        return hit

    def _bar(self, i: int, event: int | None) -> None:
        if self.pending:
            orders, self.pending = self.pending, []
            for order in orders:
                self._fill(order, i, at_open=True)
        position = self.position
        if position is not None and not position.exiting and self._may_exit(i, i + 1) and \
                not (position.trade.entry_index == i and self.spec.fill is FillAt.CLOSE):
            self._exits(i, position)
        wake = self.kind.wake_at()
        while wake is not None and to_ns(wake) <= self.bars.ends_ns[i]:
            for signal in self.kind.on_time(wake, self._holding()):
                self._act(signal, i)
            after = self.kind.wake_at()
            if after == wake:
                break
            wake = after
        if event is None:
            signals = self.kind.on_candle(self.bars.candle(i), self._holding())
        elif event:
            signals = self.kind.signals_for(event, self._holding(), self.bars.end(i),
                                            dec(self.bars.close[i]))
        else:
            return
        for signal in signals:
            self._act(signal, i)

    def _holding(self) -> Holding:
        if self.position is None:
            return Holding.FLAT
        return Holding.LONG if self.position.levels.side is Side.BUY else Holding.SHORT

    # -- signals become orders -----------------------------------------------------------------

    def _act(self, signal: Signal, i: int, *, at_open: bool = False) -> None:
        position = self.position
        if signal.action is Action.EXIT:
            if position is not None and not position.exiting:
                self._order(_Order(_opposite(position.levels.side), False, "signal",
                                   signal.reason, i), i, at_open)
            return
        if position is not None and not position.exiting:
            return  # already in
        if signal.action is Action.ENTER_SHORT and not self.spec.shorts:
            self.refusals["shorts are off for this run"] += 1
            return
        refusal = self.gate.refusal(self.counts, signal, signal.at)
        if refusal is not None:
            self.refusals[_CLOCK.sub("HH:MM", refusal)] += 1  # one line per rule
            return
        self.counts = self.gate.entered(self.counts, signal.at)
        side = Side.BUY if signal.action is Action.ENTER_LONG else Side.SELL
        self._order(_Order(side, True, signal.reason, signal.reason, i), i, at_open)

    def _order(self, order: _Order, i: int, at_open: bool) -> None:
        if at_open:
            self._fill(order, i, at_open=True)
        elif self.spec.fill is FillAt.CLOSE:
            self._fill(order, i, at_open=False)
        else:
            if not order.opens and self.position is not None:
                self.position.exiting = True
            self.pending.append(order)

    def _fill(self, order: _Order, i: int, *, at_open: bool) -> None:
        units = self.spec.units
        terms = OrderTerms(order.side, OrderKind.MARKET, units, units, tick=self.spec.tick)
        if at_open:
            match = match_bar(terms, self.bars.bar(i), self.policy)
            at = self.bars.start(i)
        else:
            match = match_tick(terms, dec(self.bars.close[i]), self.policy)
            at = self.bars.end(i)
        assert match.fill is not None, "a market order always fills"
        price = self._on_grid(order.side, match.fill.price)
        if order.opens:
            self._open(order, price, at, i)
        elif self.position is not None:
            self._close(self.position, price, at, i, order.reason, order.note)

    def _on_grid(self, side: Side, price: Decimal) -> Decimal:
        """A fill on the tick grid, rounded against the order."""
        tick = self.spec.tick
        return ceil_to_tick(price, tick) if side is Side.BUY else floor_to_tick(price, tick)

    # -- positions -----------------------------------------------------------------------------

    def _open(self, order: _Order, price: Decimal, at: datetime, i: int) -> None:
        atr = None
        if self.atr is not None:
            value = self.atr[order.signal_index]
            atr = None if np.isnan(value) else float(value)
        try:
            levels = self.exits.open(order.side, price, at, atr)
        except ValidationError as exc:  # e.g. an ATR stop before the ATR is known
            self.refusals[f"{exc.field}: {exc.rule}"] += 1
            return
        if self.risk is not None:
            denial = self._risk_denial(order.side, price, levels.stop, at)
            if denial is not None:  # denied: never filled, as the engine never sends it
                self.refusals[denial] += 1
                return
        trade = Trade(order.side, self.spec.units, at, price, order.reason, i)
        trade.entry_charges = self._charges(trade, order.side, price, at, at)
        self.trades.append(trade)
        self.position = _Position(trade, levels)

    def _risk_denial(self, side: Side, price: Decimal, stop: Decimal, at: datetime
                     ) -> str | None:
        """The risk rule an entry at `price` breaks, judged on the run's day so far (its
        closed trades' net P&L, its orders); None when the rules allow it."""
        day = at.astimezone(IST).date()
        fills, orders = [], 0
        for trade in self.trades:
            if trade.entry_time.astimezone(IST).date() == day:
                orders += 1
            if trade.exit_time is not None and trade.exit_time.astimezone(IST).date() == day:
                orders += 1
                fills.append(FillPnl("run", trade.round_trip().net_pnl or ZERO))
        account = snapshot_of(fills, (), orders, broker_margin=self.spec.capital)
        decision = self.risk.check_entry(  # type: ignore[union-attr]
            Entry("run", self.bars.symbol, side, self.spec.units, price, stop), account)
        if decision.allowed:
            return None
        return f"risk rule {decision.denial.rule.value}"  # type: ignore[union-attr]

    def _close(self, position: _Position, price: Decimal, at: datetime, i: int, rule: str,
               note: str) -> None:
        trade = position.trade
        trade.exit_time, trade.exit_price, trade.exit_index = at, price, i
        trade.exit_reason, trade.exit_note = rule, note
        trade.exit_charges = self._charges(trade, _opposite(trade.side), price, at,
                                           trade.entry_time)
        if trade.entry_charges and self._same_day(trade.entry_time, at):
            # the entry leg is re-charged as intraday once the exit shows it was one
            trade.entry_charges = self._charges(trade, trade.side, trade.entry_price,
                                                trade.entry_time, at)
        self.position = None
        self.counts = self.gate.exited(self.counts, at)

    def _exits(self, i: int, position: _Position) -> None:
        levels, units = position.levels, self.spec.units
        side = _opposite(levels.side)
        long = levels.side is Side.BUY
        bar = self.bars.bar(i)
        stop = match_bar(OrderTerms(side, OrderKind.SL_M, units, units, trigger=levels.stop,
                                    tick=self.spec.tick), bar, self.policy)
        target = None
        if levels.target is not None:
            target = match_bar(OrderTerms(side, OrderKind.LIMIT, units, units,
                                          limit=levels.target, tick=self.spec.tick),
                               bar, self.policy)
        gapped_to_target = target is not None and target.fill is not None and \
            (bar.open >= levels.target if long else bar.open <= levels.target)
        if target is not None and target.fill is not None and \
                (stop.fill is None or gapped_to_target):
            note = f"target {levels.target:,.2f} reached"
            self._close(position, self._on_grid(side, target.fill.price), self._at(i, bar,
                        target.fill.price), i, "target", note)
            return
        if stop.fill is not None:
            rule = "trailing" if levels.trailed else "stop"
            what = "trailing stop" if levels.trailed else "stop-loss"
            self._close(position, self._on_grid(side, stop.fill.price),
                        self._at(i, bar, stop.fill.price), i, rule,
                        f"{what} {levels.stop:,.2f} hit")
            return
        decision = self.exits.on_price(levels, bar.high if long else bar.low, self.bars.end(i))
        if decision is not None and decision.rule == "time":
            self._order(_Order(side, False, "time", decision.message, i), i, False)

    def _at(self, i: int, bar: Any, price: Decimal) -> datetime:
        """When an exit inside a candle happened: at its open if it filled there, else
        (somewhere inside) stamped at the candle's close."""
        return self.bars.start(i) if price == bar.open else self.bars.end(i)

    # -- money ---------------------------------------------------------------------------------

    def _same_day(self, a: datetime, b: datetime) -> bool:
        return a.astimezone(IST).date() == b.astimezone(IST).date()

    def _charges(self, trade: Trade, side: Side, price: Decimal, at: datetime,
                 other_leg_at: datetime) -> Decimal:
        if not self.spec.charges:
            return ZERO
        product = self.spec.product
        if product is Product.CNC and self._same_day(at, other_leg_at) and \
                at != other_leg_at:
            product = Product.MIS  # a delivery buy sold the same day is charged as intraday
        leg = TradeLeg(at, side, trade.quantity, price, product.value,
                       self.spec.instrument_type.value, self.spec.exchange)
        return leg_charges(leg).total

    def _square_off_flags(self) -> np.ndarray | None:
        """Per candle: does its close reach the day's MIS square-off?"""
        if self.spec.product is not Product.MIS or self.rules.square_off is None:
            return None
        days = (self.bars.ends_ns + (5 * 3600 + 30 * 60) * 10**9) // (86_400 * 10**9)
        due = np.empty(len(days), dtype=np.int64)
        for day in np.unique(days):
            local = from_ns(int(day) * 86_400 * 10**9).date()
            at = self.exits.square_off_at(local)
            due[days == day] = to_ns(at) if at is not None else np.iinfo(np.int64).max
        return self.bars.ends_ns >= due

    def _curve(self) -> EquitySeries:
        """Equity at each candle's close: capital, plus the cash the fills moved, plus the
        open position at the close."""
        n = len(self.bars)
        flows = np.zeros(n)
        held = np.zeros(n)
        for t in self.trades:
            sign = 1.0 if t.side is Side.BUY else -1.0
            flows[t.entry_index] -= sign * t.quantity * float(t.entry_price) + \
                float(t.entry_charges)
            held[t.entry_index] += sign * t.quantity
            if t.exit_index is not None:
                flows[t.exit_index] += sign * t.quantity * float(t.exit_price) - \
                    float(t.exit_charges)
                held[t.exit_index] -= sign * t.quantity
        equity = float(self.spec.capital) + np.cumsum(flows) + np.cumsum(held) * self.bars.close
        times = np.concatenate(([self.bars.starts_ns[0]], self.bars.ends_ns))
        return EquitySeries(times, np.concatenate(([float(self.spec.capital)],
                                                   np.round(equity, 2))))


def _opposite(side: Side) -> Side:
    return Side.SELL if side is Side.BUY else Side.BUY


def run_backtest(spec: RunSpec, bars: BarSeries, **options: Any) -> BacktestResult:
    return Backtest(spec, bars, **options).run()
