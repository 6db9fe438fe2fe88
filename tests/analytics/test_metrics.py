"""Performance metrics: the return ratios against empyrical-reloaded on the same daily
returns (252 days a year, risk-free 0), the trade statistics by hand, and the edge cases."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import empyrical
import numpy as np
import pytest

from tui_trader.analytics.metrics import RoundTrip, daily_returns, summarize
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import Side
from tui_trader.domain.errors import ValidationError

D = Decimal
START = date(2026, 1, 1)


def weekdays(count: int, first: date = START) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def ist(day: date, hh: int = 15, mm: int = 30) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=IST)


def daily_curve(returns, capital=D("100000")) -> list[tuple[datetime, Decimal]]:
    """The capital the evening before the first day, then each day's close (to the paisa)."""
    days = weekdays(len(returns) + 1)
    curve = [(ist(days[0], 9, 0), capital)]
    equity = capital
    for day, r in zip(days[1:], returns, strict=True):
        equity = (equity * (1 + D(repr(float(r))))).quantize(D("0.01"))
        curve.append((ist(day), equity))
    return curve


def curve_returns(curve) -> np.ndarray:
    """The returns of a one-point-a-day curve, computed independently of the module."""
    values = [float(v) for _, v in curve]
    return np.array([b / a - 1 for a, b in zip(values, values[1:], strict=False)])


@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_return_ratios_match_empyrical_on_the_same_returns(seed):
    rng = np.random.default_rng(seed)
    curve = daily_curve(rng.normal(0.0004, 0.012, 400))
    returns = curve_returns(curve)
    got = summarize([], curve)
    assert got.days == len(returns) == 400
    assert np.allclose(daily_returns(curve), returns, rtol=0, atol=1e-15)
    assert got.sharpe == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-9)
    assert got.sortino == pytest.approx(empyrical.sortino_ratio(returns), rel=1e-9)
    assert got.cagr == pytest.approx(empyrical.annual_return(returns), rel=1e-9)
    assert -got.max_drawdown_pct == pytest.approx(empyrical.max_drawdown(returns), rel=1e-9)
    assert got.calmar == pytest.approx(empyrical.calmar_ratio(returns), rel=1e-9)


def test_intraday_points_give_one_return_per_ist_day_and_deepen_the_drawdown():
    d1, d2, d3 = weekdays(3)
    curve = [(ist(d1, 9, 15), D("1000")),
             (ist(d1, 11), D("900")),      # an intraday dip: -10%
             (ist(d1), D("1010")),         # the day's close
             (ist(d2, 10), D("1100")),
             (ist(d2), D("1050")),
             (ist(d3, 4), D("1029"))]           # early on d3: d3's close
    returns = daily_returns(curve)
    assert returns == pytest.approx([0.01, 1050 / 1010 - 1, 1029 / 1050 - 1])
    got = summarize([], curve)
    assert got.max_drawdown == D("100.00") and got.max_drawdown_pct == pytest.approx(0.1)
    assert got.days == 3
    # On daily closes the deepest fall is only 1050 -> 1029: the curve as given shows more.
    assert -empyrical.max_drawdown(returns) == pytest.approx(1 - 1029 / 1050)


def test_trade_statistics_by_hand():
    d = weekdays(6)
    trades = [
        RoundTrip(ist(d[0], 9, 30), D("100"), 10, Side.BUY, ist(d[0], 10, 30), D("110"), D("5")),
        RoundTrip(ist(d[1], 9, 30), D("200"), 5, Side.BUY, ist(d[1], 11, 30), D("190"), D("3")),
        RoundTrip(ist(d[2], 9, 30), D("50"), 4, Side.SELL, ist(d[2], 9, 45), D("45"), D("2")),
        RoundTrip(ist(d[3], 9, 30), D("100"), 1, Side.BUY, ist(d[3], 9, 31), D("99"), D("1")),
        RoundTrip(ist(d[4], 9, 30), D("100"), 1, Side.BUY, ist(d[4], 10, 0), D("98")),
        RoundTrip(ist(d[5], 9, 30), D("100"), 2, Side.BUY, ist(d[5], 9, 40), D("100")),
        RoundTrip(ist(d[5], 14, 0), D("100"), 3, Side.BUY),  # still open
    ]
    curve = [(ist(d[0], 9, 15), D("10000")), (ist(d[5], 15, 0), D("10056"))]
    got = summarize(trades, curve)
    assert (got.trades, got.open_trades, got.wins, got.losses) == (6, 1, 2, 3)
    assert got.gross_pnl == D("67.00")          # 100 - 50 + 20 - 1 - 2 + 0
    assert got.charges == D("11.00")
    assert got.net_pnl == D("56.00")
    assert got.win_rate == pytest.approx(2 / 6)
    assert got.profit_factor == pytest.approx((95 + 18) / (53 + 2 + 2))
    assert got.expectancy == D("9.33")          # 56 / 6
    assert got.average_win == D("56.50") and got.average_loss == D("-19.00")
    assert got.longest_losing_streak == 2        # the last two before the flat trade
    assert got.average_holding == (timedelta(hours=1) + timedelta(hours=2)
                                   + timedelta(minutes=15) + timedelta(minutes=1)
                                   + timedelta(minutes=30) + timedelta(minutes=10)) / 6
    held = (timedelta(hours=1) + timedelta(hours=2) + timedelta(minutes=15)
            + timedelta(minutes=1) + timedelta(minutes=30) + timedelta(minutes=10)
            + timedelta(hours=1))  # the open trade counts until the curve ends
    assert got.exposure == pytest.approx(held / (curve[-1][0] - curve[0][0]))


def test_overlapping_trades_count_their_time_once():
    d = weekdays(1)[0]
    trades = [RoundTrip(ist(d, 10), D("1"), 1, Side.BUY, ist(d, 12), D("1")),
              RoundTrip(ist(d, 11), D("1"), 1, Side.BUY, ist(d, 13), D("1"))]
    curve = [(ist(d, 9), D("100")), (ist(d, 17), D("100"))]
    assert summarize(trades, curve).exposure == pytest.approx(3 / 8)


def test_no_trades_and_a_flat_curve():
    days = weekdays(3)
    curve = [(ist(days[0], 9), D("5000"))] + [(ist(day), D("5000")) for day in days]
    got = summarize([], curve)
    assert (got.trades, got.wins, got.losses, got.longest_losing_streak) == (0, 0, 0, 0)
    assert got.net_pnl == D("0.00")
    assert got.win_rate is None and got.profit_factor is None and got.expectancy is None
    assert got.average_holding is None and got.exposure == 0.0
    assert got.sharpe is None and got.sortino is None and got.calmar is None
    assert got.cagr == 0.0 and got.max_drawdown == D("0.00") and got.max_drawdown_pct == 0.0
    data = got.to_json()
    assert data["profit_factor"] is None and data["sharpe"] is None
    assert data["average_holding_s"] is None
    json.dumps(data, allow_nan=False)
    assert math.isnan(empyrical.sharpe_ratio(curve_returns(curve)))
    assert math.isnan(empyrical.calmar_ratio(curve_returns(curve)))


def test_an_empty_curve_measures_nothing():
    got = summarize([], [])
    assert got.days == 0 and got.cagr is None and got.sharpe is None
    assert got.start_equity is None and got.exposure is None


def test_one_winning_trade_has_an_infinite_profit_factor():
    d1, d2 = weekdays(2)
    trade = RoundTrip(ist(d1, 10), D("100"), 10, Side.BUY, ist(d2, 10), D("105"), D("2.5"))
    curve = [(ist(d1, 9), D("10000")), (ist(d1), D("10020")), (ist(d2), D("10047.50"))]
    got = summarize([trade], curve)
    assert got.trades == 1 and got.win_rate == 1.0 and got.net_pnl == D("47.50")
    assert got.profit_factor == math.inf
    assert got.expectancy == D("47.50") and got.average_loss is None
    assert got.average_holding == timedelta(days=1)
    data = got.to_json()
    assert data["profit_factor"] == "inf"
    assert data["net_pnl"] == 47.5 and data["average_holding_s"] == 86400.0
    assert json.loads(json.dumps(data, allow_nan=False))["profit_factor"] == "inf"


def test_one_losing_trade_has_a_profit_factor_of_zero():
    d = weekdays(1)[0]
    trade = RoundTrip(ist(d, 10), D("100"), 1, Side.BUY, ist(d, 11), D("90"))
    got = summarize([trade], [(ist(d, 9), D("100")), (ist(d), D("90"))])
    assert got.profit_factor == 0.0 and got.longest_losing_streak == 1
    assert got.days == 1 and got.sharpe is None  # one return has no deviation


def test_zero_variance_returns_are_infinite_ratios_as_in_empyrical():
    days = weekdays(4)
    rising = [(ist(days[0], 9), D("100"))] + [
        (ist(day), D(100 * 2 ** (i + 1))) for i, day in enumerate(days)]
    returns = curve_returns(rising)
    got = summarize([], rising)
    assert got.sharpe == math.inf == empyrical.sharpe_ratio(returns)
    assert got.sortino == math.inf == empyrical.sortino_ratio(returns)
    assert got.calmar is None and math.isnan(empyrical.calmar_ratio(returns))
    assert got.to_json()["sharpe"] == "inf"
    falling = [(ist(days[0], 9), D("1600"))] + [
        (ist(day), D(1600) / 2 ** (i + 1)) for i, day in enumerate(days)]
    got = summarize([], falling)
    assert got.sharpe == -math.inf == empyrical.sharpe_ratio(curve_returns(falling))
    assert got.to_json()["sharpe"] == "-inf"
    assert got.max_drawdown == D("1500.00")
    assert got.max_drawdown_pct == pytest.approx(1 - 1 / 16)


@pytest.mark.parametrize("curve,needle", [
    ([(datetime(2026, 1, 1, 9), D("100"))], "no UTC offset"),
    ([(ist(START, 10), D("100")), (ist(START, 9), D("101"))], "earlier than"),
    ([(ist(START, 10), D("0"))], "capital above 0"),
    ([(ist(START, 10), D("NaN"))], "not a number"),
])
def test_a_bad_equity_curve_is_refused(curve, needle):
    with pytest.raises(ValidationError) as err:
        summarize([], curve)
    assert needle in str(err.value) and err.value.field == "equity curve"


@pytest.mark.parametrize("seed", [3, 11])
def test_an_equity_series_gives_the_same_summary_as_its_points(seed):
    """A backtest's curve as numpy arrays (one point per candle, several a day) measures
    exactly what the same points as a list do, and its ratios are empyrical's."""
    from tui_trader.analytics.metrics import EquitySeries

    rng = np.random.default_rng(seed)
    days = weekdays(60)
    curve = [(ist(days[0], 9, 0), D("100000"))]
    equity = D("100000")
    for day in days:
        for hh, mm in ((9, 20), (11, 0), (13, 45), (15, 29)):
            equity += D(repr(round(float(rng.normal(5, 400)), 2)))
            curve.append((ist(day, hh, mm), equity))
    trades = [RoundTrip(ist(days[1], 9, 20), D("100"), 10, Side.BUY, ist(days[3], 11, 0),
                        D("104.5"), D("3.25")),
              RoundTrip(ist(days[5], 9, 20), D("100"), 10, Side.SELL, ist(days[5], 13, 45),
                        D("101"), D("1"))]
    series = EquitySeries.of(curve)
    listed, arrays = summarize(trades, curve), summarize(trades, series)
    assert arrays == listed
    returns = curve_returns([curve[0]] + [p for p in curve[1:] if p[0].time() == time(15, 29)])
    assert np.allclose(daily_returns(series), returns, rtol=0, atol=1e-15)
    assert arrays.sharpe == pytest.approx(empyrical.sharpe_ratio(returns), rel=1e-9)
    assert arrays.sortino == pytest.approx(empyrical.sortino_ratio(returns), rel=1e-9)
    assert arrays.cagr == pytest.approx(empyrical.annual_return(returns), rel=1e-9)
    assert [v for _, v in series.points()] == [v for _, v in curve]


def test_a_bad_equity_series_is_refused():
    from tui_trader.analytics.metrics import EquitySeries

    times = np.array([2, 1], dtype=np.int64) * 10**9
    with pytest.raises(ValidationError, match="point 2 is earlier"):
        summarize([], EquitySeries(times, np.array([100.0, 101.0])))
    with pytest.raises(ValidationError, match="point 2 is not a number"):
        summarize([], EquitySeries(times[::-1].copy(), np.array([100.0, np.nan])))
