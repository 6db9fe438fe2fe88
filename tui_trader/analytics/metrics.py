"""Performance metrics of a strategy's run (backtest, paper or live) from its trades and its
equity curve: P&L, win rate, profit factor, expectancy, drawdown, Sharpe, Sortino, Calmar,
CAGR, exposure, holding time, losing streaks.

Conventions (the same as empyrical's, which the tests check against):
- returns are daily: the equity at the last point of each IST day, against the day before;
  the curve's first point is the starting capital (not a day's close), so the first day's
  return is measured from it;
- annualisation uses 252 trading days a year; the risk-free rate is 0;
- Sharpe = mean / sample standard deviation (ddof 1) x sqrt(252);
- Sortino = mean x 252 / (root-mean-square of the negative returns x sqrt(252));
- CAGR = (final / start) ** (252 / number of daily returns) - 1;
- drawdown is measured on the curve as given (every point, so an intraday dip counts), in
  rupees and as a fraction of the running peak; Calmar = CAGR / that fraction;
- P&L, win rate, profit factor, expectancy, holding time and streaks are over closed trades
  (net of each trade's charges); a zero-P&L trade is neither a win nor a loss and ends a
  streak;
- exposure is the fraction of the curve's time span with a position open.

The curve is a list of (aware time, Decimal) points, or, for a backtest's curve of one point
per candle, an `EquitySeries` of numpy arrays: the same figures, without a Python object per
point.

A ratio whose denominator is zero is +/-infinity when its numerator is not zero (all
winning trades: profit factor `inf`; returns that never vary but gain: Sharpe `inf`), and
undefined (None) when there is nothing to measure (no trades, fewer than two returns, no
drawdown for Calmar). In JSON (`PerformanceSummary.to_json`) infinity is the string "inf" (or
"-inf") and undefined is null, since JSON has no number for either.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from ..domain.enums import Side
from ..domain.errors import ValidationError

TRADING_DAYS_PER_YEAR = 252
PAISA = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True)
class RoundTrip:
    """A round trip: `side` BUY is a long (bought first), SELL a short. Open while
    `exit_time` is None. `charges` are the trade's charges, both legs."""

    entry_time: datetime
    entry_price: Decimal
    quantity: int
    side: Side = Side.BUY
    exit_time: datetime | None = None
    exit_price: Decimal | None = None
    charges: Decimal = ZERO

    @property
    def is_closed(self) -> bool:
        return self.exit_time is not None and self.exit_price is not None

    @property
    def gross_pnl(self) -> Decimal | None:
        if not self.is_closed:
            return None
        sign = 1 if Side(str(self.side)) is Side.BUY else -1
        return (self.exit_price - self.entry_price) * self.quantity * sign

    @property
    def net_pnl(self) -> Decimal | None:
        gross = self.gross_pnl
        return None if gross is None else gross - self.charges

    @property
    def holding(self) -> timedelta | None:
        return None if self.exit_time is None else self.exit_time - self.entry_time


@dataclass(frozen=True)
class PerformanceSummary:
    trades: int                       # closed trades
    open_trades: int
    wins: int
    losses: int
    gross_pnl: Decimal                # closed trades, before charges
    charges: Decimal
    net_pnl: Decimal
    win_rate: float | None            # fraction of closed trades that made money
    profit_factor: float | None       # money won / money lost
    expectancy: Decimal | None        # average net P&L per closed trade
    average_win: Decimal | None
    average_loss: Decimal | None
    longest_losing_streak: int
    average_holding: timedelta | None
    exposure: float | None            # fraction of the time in the market
    start_equity: Decimal | None
    end_equity: Decimal | None
    max_drawdown: Decimal             # rupees, peak to trough
    max_drawdown_pct: float           # fraction of the peak
    days: int                         # daily returns measured
    cagr: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict: rupees as numbers to the paisa, fractions as numbers, holding
        time in seconds, infinity as "inf"/"-inf", undefined as null."""
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if isinstance(value, Decimal):
                out[name] = float(value)
            elif isinstance(value, timedelta):
                out[name + "_s"] = value.total_seconds()
            elif isinstance(value, float) and math.isinf(value):
                out[name] = "inf" if value > 0 else "-inf"
            elif value is None and name == "average_holding":
                out[name + "_s"] = None
            else:
                out[name] = value
        return out


def _paisa(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_UP)


def _ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator; +/-inf over zero, None for 0/0 or NaN."""
    if denominator == 0:
        if numerator == 0 or math.isnan(numerator):
            return None
        return math.inf if numerator > 0 else -math.inf
    result = numerator / denominator
    return None if math.isnan(result) else float(result)


NS_PER_DAY = 86_400 * 10**9
IST_OFFSET_NS = (5 * 3600 + 30 * 60) * 10**9  # India keeps no daylight saving


@dataclass(frozen=True)
class EquitySeries:
    """An equity curve as arrays: `times_ns` UTC epoch nanoseconds (int64, non-decreasing),
    `equity` rupees (float64). The first point is the starting capital."""

    times_ns: np.ndarray
    equity: np.ndarray

    def __len__(self) -> int:
        return len(self.equity)

    def time(self, index: int) -> datetime:
        return datetime.fromtimestamp(int(self.times_ns[index]) / 1e9, tz=UTC)

    def points(self) -> list[tuple[datetime, Decimal]]:
        """The curve as (time, rupees to the paisa) points, for storing or charting."""
        return [(self.time(i), _paisa(Decimal(repr(float(v)))))
                for i, v in enumerate(self.equity)]

    @classmethod
    def of(cls, curve: Sequence[tuple[datetime, Decimal]]) -> EquitySeries:
        times = np.array([round(at.timestamp() * 1e6) for at, _ in curve], dtype=np.int64)
        return cls(times * 1000, np.array([float(v) for _, v in curve], dtype=np.float64))


def _daily_returns(series: EquitySeries) -> np.ndarray:
    if not len(series):
        return np.empty(0)
    # The first point is the capital, not a day's close; the last point of each IST day
    # is that day's close.
    days = (series.times_ns[1:] + IST_OFFSET_NS) // NS_PER_DAY
    last = np.flatnonzero(np.append(np.diff(days) != 0, True)) if len(days) else days
    values = np.concatenate(([series.equity[0]], series.equity[1:][last]))
    with np.errstate(divide="ignore", invalid="ignore"):
        return values[1:] / values[:-1] - 1.0


def daily_returns(curve: Sequence[tuple[datetime, Decimal]] | EquitySeries) -> np.ndarray:
    """The daily returns of an equity curve (see the module docstring)."""
    series = curve if isinstance(curve, EquitySeries) else EquitySeries.of(curve)
    return _daily_returns(series)


def _checked_curve(equity_curve: Iterable[tuple[datetime, Decimal]]
                   ) -> list[tuple[datetime, Decimal]]:
    curve = [(at, Decimal(equity)) for at, equity in equity_curve]
    for index, (at, equity) in enumerate(curve):
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValidationError("equity curve", f"point {index + 1} has no UTC offset")
        if not equity.is_finite():
            raise ValidationError("equity curve", f"point {index + 1} is not a number")
        if index and at < curve[index - 1][0]:
            raise ValidationError("equity curve", f"point {index + 1} is earlier than the "
                                                  "one before")
    if curve and curve[0][1] <= 0:
        raise ValidationError("equity curve", "must start with capital above 0")
    return curve


def _checked_series(series: EquitySeries) -> EquitySeries:
    if len(series.times_ns) != len(series.equity):
        raise ValidationError("equity curve", "needs one time per equity value")
    if not np.all(np.isfinite(series.equity)):
        point = int(np.argmin(np.isfinite(series.equity))) + 1
        raise ValidationError("equity curve", f"point {point} is not a number")
    if len(series.times_ns) > 1 and np.any(np.diff(series.times_ns) < 0):
        point = int(np.argmax(np.diff(series.times_ns) < 0)) + 2
        raise ValidationError("equity curve", f"point {point} is earlier than the one before")
    if len(series) and series.equity[0] <= 0:
        raise ValidationError("equity curve", "must start with capital above 0")
    return series


def _drawdown(curve: Sequence[tuple[datetime, Decimal]] | EquitySeries
              ) -> tuple[Decimal, float]:
    if not len(curve):
        return ZERO, 0.0
    if isinstance(curve, EquitySeries):
        equity = curve.equity
    else:
        equity = np.array([float(v) for _, v in curve])
    peaks = np.maximum.accumulate(equity)
    fall = peaks - equity
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(peaks > 0, fall / peaks, 0.0)
    # The rupee figure from Decimal, at the point numpy found, so it is exact.
    worst = int(np.argmax(fall))
    peak_at = int(np.argmax(equity[: worst + 1]))
    if isinstance(curve, EquitySeries):  # floats on the paisa: rounding recovers them
        rupees = _paisa(Decimal(repr(float(equity[peak_at])))) - \
            _paisa(Decimal(repr(float(equity[worst]))))
    else:
        rupees = curve[peak_at][1] - curve[worst][1]
    return _paisa(max(rupees, ZERO)), float(np.max(fraction))


def _ends(curve: Sequence[tuple[datetime, Decimal]] | EquitySeries
          ) -> tuple[datetime, datetime] | None:
    if len(curve) < 2:
        return None
    if isinstance(curve, EquitySeries):
        return curve.time(0), curve.time(len(curve) - 1)
    return curve[0][0], curve[-1][0]


def _exposure(trades: Sequence[RoundTrip],
              curve: Sequence[tuple[datetime, Decimal]] | EquitySeries) -> float | None:
    ends = _ends(curve)
    if ends is None or ends[1] <= ends[0]:
        return None
    start, end = ends
    spans = sorted((max(t.entry_time, start), min(t.exit_time or end, end)) for t in trades)
    held = timedelta(0)
    open_from = open_to = None
    for lo, hi in spans:
        if hi <= lo:
            continue
        if open_to is None or lo > open_to:
            if open_to is not None:
                held += open_to - open_from
            open_from, open_to = lo, hi
        else:
            open_to = max(open_to, hi)
    if open_to is not None:
        held += open_to - open_from
    return held / (end - start)


def _longest_losing_streak(closed: Sequence[RoundTrip]) -> int:
    longest = run = 0
    for trade in sorted(closed, key=lambda t: t.exit_time):
        run = run + 1 if trade.net_pnl < 0 else 0
        longest = max(longest, run)
    return longest


def sharpe_ratio(returns: np.ndarray) -> float | None:
    if len(returns) < 2:
        return None
    mean = float(np.mean(returns))
    # Identical returns have no dispersion; the computed deviation would be float noise.
    std = 0.0 if np.ptp(returns) == 0 else float(np.std(returns, ddof=1))
    ratio = _ratio(mean, std)
    return None if ratio is None else ratio * math.sqrt(TRADING_DAYS_PER_YEAR)


def sortino_ratio(returns: np.ndarray) -> float | None:
    if len(returns) < 2:
        return None
    downside = float(np.sqrt(np.mean(np.square(np.minimum(returns, 0.0)))))
    return _ratio(float(np.mean(returns)) * TRADING_DAYS_PER_YEAR,
                  downside * math.sqrt(TRADING_DAYS_PER_YEAR))


def cagr(returns: np.ndarray) -> float | None:
    if len(returns) < 1:
        return None
    growth = float(np.prod(1.0 + returns))
    if growth <= 0:
        return -1.0  # everything lost
    return growth ** (TRADING_DAYS_PER_YEAR / len(returns)) - 1.0


def summarize(trades: Iterable[RoundTrip],
              equity_curve: Iterable[tuple[datetime, Decimal]] | EquitySeries
              ) -> PerformanceSummary:
    """Every metric of a run. `equity_curve` is (aware time, equity) in time order, or an
    EquitySeries; its first point the starting capital."""
    trades = list(trades)
    if isinstance(equity_curve, EquitySeries):
        curve: Sequence[tuple[datetime, Decimal]] | EquitySeries = \
            _checked_series(equity_curve)
        first = _paisa(Decimal(repr(float(curve.equity[0])))) if len(curve) else None
        last = _paisa(Decimal(repr(float(curve.equity[-1])))) if len(curve) else None
    else:
        curve = _checked_curve(equity_curve)
        first = curve[0][1] if curve else None
        last = curve[-1][1] if curve else None
    closed = [t for t in trades if t.is_closed]
    nets = [t.net_pnl for t in closed]
    won = [n for n in nets if n > 0]
    lost = [n for n in nets if n < 0]
    gross = sum((t.gross_pnl for t in closed), ZERO)
    paid = sum((t.charges for t in closed), ZERO)
    money_won, money_lost = sum(won, ZERO), -sum(lost, ZERO)
    holdings = [t.holding for t in closed]
    returns = daily_returns(curve)
    max_dd, max_dd_pct = _drawdown(curve)
    growth = cagr(returns)
    return PerformanceSummary(
        trades=len(closed), open_trades=len(trades) - len(closed),
        wins=len(won), losses=len(lost),
        gross_pnl=_paisa(gross), charges=_paisa(paid), net_pnl=_paisa(gross - paid),
        win_rate=len(won) / len(closed) if closed else None,
        profit_factor=_ratio(float(money_won), float(money_lost)),
        expectancy=_paisa(sum(nets, ZERO) / len(nets)) if nets else None,
        average_win=_paisa(money_won / len(won)) if won else None,
        average_loss=_paisa(-money_lost / len(lost)) if lost else None,
        longest_losing_streak=_longest_losing_streak(closed),
        average_holding=sum(holdings, timedelta(0)) / len(holdings) if holdings else None,
        exposure=_exposure(trades, curve),
        start_equity=first, end_equity=last,
        max_drawdown=max_dd, max_drawdown_pct=max_dd_pct,
        days=len(returns), cagr=growth,
        sharpe=sharpe_ratio(returns), sortino=sortino_ratio(returns),
        calmar=None if growth is None or max_dd_pct == 0 else growth / max_dd_pct,
    )


__all__ = ["EquitySeries", "PerformanceSummary", "TRADING_DAYS_PER_YEAR", "RoundTrip", "cagr",
           "daily_returns", "sharpe_ratio", "sortino_ratio", "summarize"]
