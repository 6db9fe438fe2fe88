"""Backtests for the command line (and, later, the console): candles from a CSV file or the
database as a BarSeries, a run, and the stored run in `backtest_runs`.

Everything a user can get wrong is checked before anything is written: the file's rows (all
of them, with line numbers), the symbol, interval and range, the kind, its parameters and
exits. A run that fails writes nothing.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backtest.bars import BarSeries, rows_of
from ..backtest.runner import Backtest, BacktestResult
from ..backtest.snapshot import curve_points, strategy_snapshot
from ..backtest.spec import FillAt, RunSpec
from ..db.models import BacktestRun
from ..db.repositories.candles import CandleRepository
from ..db.row_security import act_for
from ..domain import validation
from ..domain.candle_csv import parse_interval
from ..domain.catalog import BY_KIND, entry_for
from ..domain.clock import IST, utc_now
from ..domain.enums import BacktestStatus, InstrumentType, Product
from ..domain.errors import ValidationError
from .candle_import import load_candle_file

if TYPE_CHECKING:
    from .context import AppContext


def csv_bars(path: str | Path, symbol: str, interval: str, exchange: str = "NSE"
             ) -> BarSeries:
    """The candles of a CSV file (CandleCsvError lists every bad row; nothing is run)."""
    checked = load_candle_file(path, symbol, interval, exchange)
    return BarSeries.of_rows(checked.symbol, checked.timeframe, rows_of(checked.candles),
                             f"csv {Path(path).name}")


def stored_bars(ctx: AppContext, symbol: str, interval: str, start: datetime,
                end: datetime, exchange: str = "NSE") -> BarSeries:
    """The stored candles starting in [start, end]; a range with none is refused."""
    name = validation.symbol(symbol)
    timeframe = parse_interval(interval)
    if end < start:
        raise ValidationError("to", "must not be before From")
    with ctx.session() as s:
        candles = CandleRepository(s).between(name, exchange, timeframe, start, end)
        rows = rows_of(candles)
    if not rows:
        raise ValidationError("range", f"no {timeframe.value} candles of {name} stored from "
                                       f"{start.astimezone(IST):%Y-%m-%d %H:%M} to "
                                       f"{end.astimezone(IST):%Y-%m-%d %H:%M} IST; "
                                       "store them first (tui-trader market candles or "
                                       "import-csv)")
    return BarSeries.of_rows(name, timeframe, rows, "database")


def store_run(ctx: AppContext, user_id: uuid.UUID, backtest: Backtest,
              result: BacktestResult, started_at: datetime) -> uuid.UUID:
    """The finished run as one `backtest_runs` row of `user_id`: its id."""
    bars = result.bars
    row = BacktestRun(
        user_id=user_id, status=BacktestStatus.DONE, params=result.spec.as_json(),
        strategy_snapshot=strategy_snapshot(backtest), kind=backtest.kind.kind.value,
        symbol=bars.symbol, interval=bars.timeframe.value, data_source=bars.source[:300],
        data_from=result.data_from, data_to=result.data_to,
        summary={**result.summary.to_json(), "bars": len(bars),
                 "refused_entries": result.refusals},
        trades=[t.as_json() for t in result.trades], equity_curve=curve_points(result),
        started_at=started_at, finished_at=utc_now())
    with ctx.session() as s:
        act_for(s, user_id)
        s.add(row)
        s.flush()
        return row.id


def assignments(pairs: list[str], option: str) -> dict[str, str]:
    """`NAME=VALUE` arguments as a dict; a malformed or repeated one is refused."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name or not value.strip():
            raise ValidationError(option, f"{pair!r} must be written NAME=VALUE")
        if name in out:
            raise ValidationError(option, f"{name} is given twice")
        out[name] = value.strip()
    return out


def _decimal(text: str | None, field: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise ValidationError(field, f"{text!r} is not a number")
    return value


def _choice(enum: type, text: str, field: str) -> Any:
    try:
        return enum(text.strip().upper())
    except ValueError:
        raise ValidationError(field, "must be one of " + ", ".join(e.value for e in enum)
                              ) from None


def exits_of(args: Any) -> dict[str, Any]:
    """The exit rules the command line sets (the kind's defaults fill the rest)."""
    exits: dict[str, Any] = {}
    for level in ("stop", "target", "trailing"):
        field = "stop_loss" if level == "stop" else level
        given = [(mode, getattr(args, f"{level}_{mode}", None)) for mode in ("pct", "atr")]
        if level == "stop" and args.stop_price is not None:
            given.append(("price", args.stop_price))
        given = [(mode, text) for mode, text in given if text is not None]
        if len(given) > 1:
            raise ValidationError(field, "give it one way only (percent, ATR or price)")
        if given:
            mode, text = given[0]
            exits[f"{level}_mode"] = {"pct": "percent", "atr": "atr", "price": "price"}[mode]
            exits[field] = _decimal(text, field)
    if args.square_off is not None:
        exits["square_off"] = None if args.square_off.strip().lower() == "off" \
            else args.square_off
    if args.max_trades_per_day is not None:
        exits["max_trades_per_day"] = args.max_trades_per_day
    return exits


def run_spec(args: Any) -> RunSpec:
    """The command line's run, checked (ValidationError names the first bad option)."""
    params: dict[str, Any] = assignments(args.param, "param")
    if "timeframe" in params:
        raise ValidationError("param", "the timeframe is the candles' --interval")
    if entry_for(args.kind) is None:
        raise ValidationError("kind", "must be one of " + ", ".join(k.value for k in BY_KIND))
    if entry_for(args.kind).timeframes:
        params["timeframe"] = parse_interval(args.interval).value
    tick = _decimal(args.tick, "tick")
    capital = _decimal(args.capital, "capital")
    return RunSpec(kind=args.kind, params=params, exits=exits_of(args),
                   quantity=args.quantity, product=_choice(Product, args.product, "product"),
                   instrument_type=_choice(InstrumentType, args.instrument_type,
                                           "instrument_type"),
                   lot_size=args.lot_size, exchange=args.exchange.strip().upper(),
                   fill=FillAt(args.fill), slippage_ticks=args.slippage_ticks, tick=tick,
                   charges=not args.no_charges, capital=capital, shorts=not args.long_only)


def run(spec: RunSpec, bars: BarSeries, **options: Any) -> tuple[Backtest, BacktestResult]:
    backtest = Backtest(spec, bars, **options)
    return backtest, backtest.run()


def _money(value: Any) -> str:
    return "-" if value is None else f"₹{value:,.2f}"


def _ratio(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return f"{value * 100:.1f} %" if percent else f"{value:.2f}"


def summary_lines(result: BacktestResult) -> list[str]:
    """The run in a few lines for a terminal."""
    s, bars = result.summary, result.bars
    lines = [f"{result.spec.kind} on {bars.symbol} {bars.timeframe.value}: {len(bars):,} "
             f"candles, {result.data_from.astimezone(IST):%Y-%m-%d %H:%M} to "
             f"{result.data_to.astimezone(IST):%Y-%m-%d %H:%M} IST ({bars.source})",
             f"trades {s.trades} (open {s.open_trades}), win rate "
             f"{_ratio(s.win_rate, True)}, profit factor {_ratio(s.profit_factor)}, "
             f"expectancy {_money(s.expectancy)}",
             f"net P&L {_money(s.net_pnl)} (gross {_money(s.gross_pnl)}, charges "
             f"{_money(s.charges)}), max drawdown {_money(s.max_drawdown)} "
             f"({_ratio(s.max_drawdown_pct, True)})",
             f"Sharpe {_ratio(s.sharpe)}, Sortino {_ratio(s.sortino)}, Calmar "
             f"{_ratio(s.calmar)}, CAGR {_ratio(s.cagr, True)}, exposure "
             f"{_ratio(s.exposure, True)}, longest losing streak {s.longest_losing_streak}"]
    if result.refusals:
        lines.append("entries refused: " + "; ".join(
            f"{count} x {why}" for why, count in sorted(result.refusals.items())))
    return lines


__all__ = ["assignments", "csv_bars", "exits_of", "run", "run_spec", "store_run",
           "stored_bars", "summary_lines"]
