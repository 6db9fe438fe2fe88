"""Backtests for the command line (and, later, the console): candles from a CSV file or the
database as a BarSeries, a run, and the stored run in `backtest_runs`.

Everything a user can get wrong is checked before anything is written: the file's rows (all
of them, with line numbers), the symbol, interval and range, the kind, its parameters and
exits. A run that fails writes nothing.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backtest.bars import BarSeries, rows_of
from ..backtest.runner import Backtest, BacktestResult
from ..backtest.snapshot import curve_points, strategy_snapshot
from ..backtest.spec import FillAt, RunSpec
from ..backtest.sweep import RANKS, GridResult, WalkForward, parse_grid
from ..db.models import BacktestRun
from ..db.repositories.candles import CandleRepository
from ..db.repositories.instruments import InstrumentRepository
from ..db.row_security import act_for
from ..domain import validation
from ..domain.candle_csv import parse_interval
from ..domain.catalog import BY_KIND, entry_for
from ..domain.clock import IST, utc_now
from ..domain.enums import BacktestStatus, InstrumentType, Product
from ..domain.errors import ValidationError
from .candle_import import load_candle_file

DEFAULT_TICK = Decimal("0.05")

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
    tick = _decimal(args.tick, "tick") if args.tick is not None else DEFAULT_TICK
    capital = _decimal(args.capital, "capital")
    return RunSpec(kind=args.kind, params=params, exits=exits_of(args),
                   quantity=args.quantity, product=_choice(Product, args.product, "product"),
                   instrument_type=_choice(InstrumentType, args.instrument_type or "EQ",
                                           "instrument_type"),
                   lot_size=args.lot_size or 1, exchange=args.exchange.strip().upper(),
                   fill=FillAt(args.fill), slippage_ticks=args.slippage_ticks, tick=tick,
                   charges=not args.no_charges, capital=capital, shorts=not args.long_only)


def with_instrument(ctx: AppContext, spec: RunSpec, symbol: str, args: Any) -> RunSpec:
    """The instruments master's tick size, lot size and type for what the command line
    leaves unsaid (when the database is open anyway)."""
    with ctx.session() as s:
        found = InstrumentRepository(s).get(validation.symbol(symbol), spec.exchange)
        if found is None:
            return spec
        changes: dict[str, Any] = {}
        if args.tick is None:
            changes["tick"] = found.tick_size
        if args.lot_size is None:
            changes["lot_size"] = found.lot_size
        if args.instrument_type is None:
            changes["instrument_type"] = InstrumentType(str(found.instrument_type))
    return replace(spec, **changes)


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


def grid_of(args: Any) -> dict[str, list[Any]] | None:
    """The command line's grid, checked (None: a single run)."""
    if not args.grid:
        if args.walk_forward:
            raise ValidationError("walk_forward", "needs a --grid to fit in sample")
        return None
    if args.email:
        raise ValidationError("email", "stores single runs; run the chosen parameters "
                                       "without --grid to store one")
    if args.rank not in RANKS:
        raise ValidationError("rank", "must be one of " + ", ".join(RANKS))
    grid = parse_grid(args.grid)
    given = assignments(args.param, "param")
    both = sorted(set(grid) & set(given))
    if both:
        raise ValidationError("grid", f"{both[0]} is both a --param and a --grid")
    return grid


_COLUMNS = (("trades", "trades", "{:>6}"), ("net_pnl", "net P&L", "{:>12,.2f}"),
            ("win_rate", "win %", "{:>6.1%}"), ("profit_factor", "PF", "{:>5.2f}"),
            ("sharpe", "Sharpe", "{:>7.2f}"), ("max_drawdown", "max DD", "{:>10,.2f}"))


def _cell(value: Any, shape: str) -> str:
    width = int("".join(ch for ch in shape.split(":")[1] if ch.isdigit())[:2] or 6)
    if value is None or isinstance(value, str):
        return f"{'-' if value is None else value:>{width}}"
    return shape.format(value)


def grid_lines(found: GridResult, rank: str, top: int) -> list[str]:
    """The grid as a table, best first by `rank`; a heatmap when it sweeps two
    parameters."""
    rows = found.ranked(rank)
    names = list(rows[0].params) if rows else []
    lines = [f"{found.combinations:,} combinations, {len(rows):,} run, "
             f"{len(found.skipped):,} skipped by the kind's rules; best {min(top, len(rows))} "
             f"by {rank}:"]
    lines.append("  ".join([*(f"{n:>8}" for n in names),
                            *(f"{label:>{len(_cell(0.0, shape))}}"
                              for _, label, shape in _COLUMNS)]))
    for row in rows[:top]:
        lines.append("  ".join([*(f"{row.params[n]:>8}" for n in names),
                                *(_cell(row.figures.get(key), shape)
                                  for key, _, shape in _COLUMNS)]))
    if len(names) == 2:
        lines += heatmap_lines(found, rank, names)
    return lines


_SHADES = " .:-=+*#%@"


def heatmap_lines(found: GridResult, rank: str, names: list[str]) -> list[str]:
    """`rank` over two parameters as characters: ' ' lowest to '@' highest."""
    xs = sorted({row.params[names[0]] for row in found.rows})
    ys = sorted({row.params[names[1]] for row in found.rows})
    score = {(r.params[names[0]], r.params[names[1]]): r.score(rank) for r in found.rows}
    finite = [v for v in score.values() if math.isfinite(v)]
    if not finite:
        return []
    low, high = min(finite), max(finite)
    lines = [f"{rank} by {names[0]} (across) and {names[1]} (down), "
             f"'{_SHADES[0]}' {low:,.2f} .. '{_SHADES[-1]}' {high:,.2f}, blank where not run:"]
    for y in ys:
        cells = []
        for x in xs:
            value = score.get((x, y))
            if value is None or not math.isfinite(value):
                cells.append(" ")
            else:
                step = 0 if high == low else (value - low) / (high - low)
                cells.append(_SHADES[min(len(_SHADES) - 1, int(step * len(_SHADES)))])
        lines.append(f"{y:>8} |{''.join(cells)}|")
    return lines


def grid_json(found: GridResult, rank: str) -> dict[str, Any]:
    rows = found.ranked(rank)
    return {"combinations": found.combinations, "run": len(rows), "skipped": found.skipped,
            "rank": rank, "rows": [{"params": r.params, "summary": r.figures} for r in rows]}


def walk_forward_json(result: WalkForward) -> dict[str, Any]:
    return {"rank": result.rank, "degradation": result.degradation,
            "verdict": result.verdict(), "windows": [
                {"in_sample": list(w.in_sample), "out_of_sample": list(w.out_of_sample),
                 "in_days": w.in_days, "out_days": w.out_days, "params": w.best.params,
                 "in_sample_summary": w.best.figures, "out_of_sample_summary": w.out}
                for w in result.windows]}


def walk_forward_lines(result: WalkForward, bars: BarSeries) -> list[str]:
    lines = []
    for number, w in enumerate(result.windows, start=1):
        start = bars.start(w.in_sample[0]).astimezone(IST)
        split = bars.start(w.out_of_sample[0]).astimezone(IST)
        chosen = ", ".join(f"{k}={v}" for k, v in w.best.params.items())
        lines.append(f"window {number}: in sample {start:%Y-%m-%d} ({w.in_days} days) chose "
                     f"{chosen}: ₹{w.best.figures['net_pnl']:,.2f} "
                     f"(₹{w.in_per_day:,.2f}/day); out of sample from {split:%Y-%m-%d} "
                     f"({w.out_days} days): ₹{w.out['net_pnl']:,.2f} "
                     f"(₹{w.out_per_day:,.2f}/day)")
    lines.append(result.verdict())
    return lines


__all__ = ["assignments", "csv_bars", "exits_of", "grid_json", "grid_lines", "grid_of",
           "heatmap_lines", "run", "run_spec", "store_run", "stored_bars", "summary_lines",
           "walk_forward_json", "walk_forward_lines", "with_instrument"]
