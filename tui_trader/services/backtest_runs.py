"""The console's backtests: the new-run form checked field by field, the run (progress
reported, a cancel that stops it between candles, the finished run stored), the stored runs
listed and opened, a run's per-day and per-month breakdown and drawdown, two runs compared,
and "paper-trade this" (a stopped paper strategy from a run's kind and parameters).

The run itself is the backtester's (`services.backtests` does the reading and storing the
command line uses too); this module only turns the form into it and the stored rows back
into what the screens show.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from ..backtest.spec import FillAt, RunSpec
from ..db.models import BacktestRun
from ..db.row_security import act_for
from ..domain import validation
from ..domain.candle_csv import CandleCsvError, parse_interval
from ..domain.catalog import check_exits, check_params, entry_for
from ..domain.clock import IST, utc_now
from ..domain.enums import Product, StrategyKind
from ..domain.errors import NotFoundError, ValidationError
from ..domain.labels import label_of
from ..domain.strategy_rules import exit_key
from . import backtests

if TYPE_CHECKING:
    from ..domain.strategy import StrategySpec
    from .context import AppContext

SOURCES = ("stored", "csv")
# The form's own fields as the screen labels them (the kind's parameters are labelled from
# the catalog with `label_of`).
LABELS = {"kind": "Kind", "symbol": "Symbol", "source": "Candles", "csv": "CSV file",
          "date_from": "From", "date_to": "To", "interval": "Interval", "fill": "Fill at",
          "slippage": "Slippage ticks", "quantity": "Quantity", "product": "Product",
          "stop_pct": "Stop %", "charges": "Charges"}


def field_label(name: str) -> str:
    return LABELS.get(name) or label_of(name)


class RunCancelled(Exception):
    """The user cancelled the run: nothing was stored."""


@dataclass(frozen=True)
class RunRequest:
    """A checked new-run form."""

    spec: RunSpec
    symbol: str
    interval: str
    source: str  # "stored" or "csv"
    csv: str = ""
    start: datetime | None = None
    end: datetime | None = None


def param_fields(kind: str) -> list[tuple[str, str, str]]:
    """The kind's parameters as form fields: (name, label, default text); the timeframe is
    the run's interval, so it is not asked twice."""
    entry = entry_for(kind)
    if entry is None:
        return []
    out = []
    for name, prop in entry.parameters_schema()["properties"].items():
        if name == "timeframe":
            continue
        default = prop.get("default")
        out.append((name, str(prop.get("title") or label_of(name)),
                    "" if default is None else str(default)))
    return out


def _day(text: str, name: str, end: bool) -> datetime:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(name, "must be a date written YYYY-MM-DD") from None
    return datetime.combine(day, time(23, 59, 59) if end else time(0, 0), tzinfo=IST)


def _whole(text: str, name: str, low: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ValidationError(name, "must be a whole number") from None
    if value < low:
        raise ValidationError(name, f"must be {low} or more")
    return value


def _percent(text: str, name: str) -> Decimal | None:
    if not text.strip():
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or value <= 0:
        raise ValidationError(name, "must be a number above 0 (or empty for the kind's "
                                    "default)")
    return value


def check_form(raw: Mapping[str, Any]) -> tuple[RunRequest | None, dict[str, str]]:
    """The form checked: (request, {}) or (None, {field: one line naming the field as the
    screen labels it and the rule it breaks}). Reads nothing; runs nothing."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    def check(name: str, fn: Callable[[], Any]) -> None:
        try:
            values[name] = fn()
        except ValidationError as exc:
            errors[name] = exc.rule

    kind = str(raw.get("kind") or "")
    entry = entry_for(kind)
    if entry is None:
        errors["kind"] = "choose a kind from the catalog"
    check("symbol", lambda: validation.symbol(raw.get("symbol")))
    check("interval", lambda: parse_interval(str(raw.get("interval") or "")).value)
    source = str(raw.get("source") or "stored")
    if source not in SOURCES:
        errors["source"] = "must be stored or csv"
    elif source == "csv":
        if not str(raw.get("csv") or "").strip():
            errors["csv"] = "give the path of a CSV file of candles"
    else:
        check("date_from", lambda: _day(str(raw.get("date_from") or ""), "date_from", False))
        check("date_to", lambda: _day(str(raw.get("date_to") or ""), "date_to", True))
        if "date_from" in values and "date_to" in values and \
                values["date_to"] < values["date_from"]:
            errors["date_to"] = "must not be before From"
    check("quantity", lambda: _whole(str(raw.get("quantity") or ""), "quantity", 1))
    check("slippage", lambda: _whole(str(raw.get("slippage") or "0"), "slippage", 0))
    check("stop_pct", lambda: _percent(str(raw.get("stop_pct") or ""), "stop_pct"))
    try:
        product = Product(str(raw.get("product") or "CNC").upper())
    except ValueError:
        errors["product"] = "must be CNC, MIS or NRML"
        product = Product.CNC
    try:
        fill = FillAt(str(raw.get("fill") or FillAt.NEXT_OPEN))
    except ValueError:
        errors["fill"] = "must be next-open or close"
        fill = FillAt.NEXT_OPEN
    params: dict[str, Any] = {k: v for k, v in dict(raw.get("params") or {}).items()
                              if str(v).strip() != ""}
    exits: dict[str, Any] = {}
    if values.get("stop_pct") is not None:
        exits = {"stop_mode": "percent", "stop_loss": values["stop_pct"]}
    if entry is not None:
        if entry.timeframes and "interval" in values:
            params["timeframe"] = values["interval"]
        _, bad = check_params(kind, params, product)
        for name, rule in bad.items():
            errors["interval" if name == "timeframe" else name] = rule
        _, bad_exits = check_exits(kind, exits)
        for name, rule in bad_exits.items():
            errors["stop_pct" if name in ("stop_loss", "stop_mode") else name] = rule
    if errors:
        return None, {name: f"{field_label(name)}: {rule}" for name, rule in errors.items()}
    spec = RunSpec(kind=kind, params=params, exits=exits, quantity=values["quantity"],
                   product=product, fill=fill, slippage_ticks=values["slippage"],
                   charges=str(raw.get("charges") or "on") != "off")
    return RunRequest(spec, values["symbol"], values["interval"], source,
                      str(raw.get("csv") or "").strip(), values.get("date_from"),
                      values.get("date_to")), {}


@dataclass(frozen=True)
class RunRow:
    """A stored run as the list shows it."""

    id: uuid.UUID
    started_at: datetime | None
    kind: str
    symbol: str
    interval: str
    data_from: datetime | None
    data_to: datetime | None
    summary: dict[str, Any]

    def figure(self, name: str) -> Any:
        return self.summary.get(name)


@dataclass(frozen=True)
class RunDetail(RunRow):
    params: dict[str, Any] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)
    data_source: str = ""
    trades: list[dict[str, Any]] = field(default_factory=list)
    curve: list[list[Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Period:
    """Closed trades grouped by the IST day (or month) they closed."""

    label: str
    trades: int
    wins: int
    net_pnl: float


def by_period(trades: list[dict[str, Any]], month: bool = False) -> list[Period]:
    """Per day ("2026-11-20") or per month ("2026-11") of exit: trades, wins, net P&L."""
    groups: dict[str, list[float]] = {}
    for t in trades:
        if t.get("exit_time") is None or t.get("net_pnl") is None:
            continue  # open at the end of the data
        key = str(t["exit_time"])[:7 if month else 10]
        groups.setdefault(key, []).append(float(t["net_pnl"]))
    return [Period(k, len(v), sum(1 for p in v if p > 0), round(sum(v), 2))
            for k, v in sorted(groups.items())]


def drawdown(curve: list[list[Any]]) -> list[float]:
    """Per point of the equity curve, rupees below the highest equity so far (<= 0)."""
    peak = float("-inf")
    out = []
    for _, equity in curve:
        peak = max(peak, float(equity))
        out.append(round(float(equity) - peak, 2))
    return out


def _as_row(run: BacktestRun, detail: bool = False) -> RunRow:
    common = dict(id=run.id, started_at=run.started_at, kind=run.kind or "",
                  symbol=run.symbol or "", interval=run.interval or "",
                  data_from=run.data_from, data_to=run.data_to, summary=dict(run.summary))
    if not detail:
        return RunRow(**common)
    return RunDetail(**common, params=dict(run.params), snapshot=dict(run.strategy_snapshot),
                     data_source=run.data_source or "", trades=list(run.trades),
                     curve=list(run.equity_curve))


class BacktestRunService:
    """The signed-in user's backtests."""

    def __init__(self, ctx: AppContext, user_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.user_id = user_id

    def runs(self) -> list[RunRow]:
        """Every stored run of the user, newest first."""
        with self.ctx.session() as s:
            act_for(s, self.user_id)
            rows = s.exec(select(BacktestRun).where(BacktestRun.user_id == self.user_id)
                          .order_by(col(BacktestRun.created_at).desc(),
                                    col(BacktestRun.id)))
            return [_as_row(r) for r in rows]

    def get(self, run_id: uuid.UUID | str) -> RunDetail:
        with self.ctx.session() as s:
            act_for(s, self.user_id)
            try:
                key = uuid.UUID(str(run_id))
            except ValueError:
                raise NotFoundError("backtest run", str(run_id)) from None
            run = s.get(BacktestRun, key)
            if run is None or run.user_id != self.user_id:
                raise NotFoundError("backtest run", str(run_id))
            return _as_row(run, detail=True)  # type: ignore[return-value]

    def closes(self, run: RunDetail, most: int = 2000) -> list[tuple[datetime, float]]:
        """The closes of the stored candles a run read, at most `most` of them (every k-th
        on a long run) for a chart; [] for a CSV run (its file is not kept)."""
        if run.data_source != "database" or run.data_from is None or run.data_to is None:
            return []
        bars = backtests.stored_bars(self.ctx, run.symbol, run.interval, run.data_from,
                                     run.data_to, str(run.params.get("exchange") or "NSE"))
        step = max(1, -(-len(bars) // most))
        return [(bars.start(i), float(bars.close[i])) for i in range(0, len(bars), step)]

    def run(self, request: RunRequest, progress: Callable[[int, int], None] | None = None,
            cancel: threading.Event | None = None) -> uuid.UUID:
        """Read the candles, run, store: the stored run's id. `progress(done, total)` is
        called as candles are replayed; once `cancel` is set the run stops at the next
        report (RunCancelled) and nothing is stored. A bad field raises ValidationError
        named as the form labels it."""
        started = self.ctx.clock.now()  # the clock the console shows (simulated in tests)
        try:
            if request.source == "csv":
                try:
                    bars = backtests.csv_bars(request.csv, request.symbol, request.interval,
                                              request.spec.exchange)
                except CandleCsvError as exc:
                    bad = len({error.line for error in exc.errors})
                    raise ValidationError("csv", f"{exc.errors[0]} ({bad} bad row"
                                                 f"{'s' if bad != 1 else ''})") from None
                except OSError as exc:
                    raise ValidationError("csv", f"cannot be read ({exc.strerror or exc})"
                                          ) from None
            else:
                assert request.start is not None and request.end is not None
                bars = backtests.stored_bars(self.ctx, request.symbol, request.interval,
                                             request.start, request.end,
                                             request.spec.exchange)
            spec = backtests.with_instrument(self.ctx, request.spec, bars.symbol,
                                             SimpleNamespace(tick=None, lot_size=None,
                                                             instrument_type=None))

            def report(done: int, total: int) -> None:
                if cancel is not None and cancel.is_set():
                    raise RunCancelled
                if progress is not None:
                    progress(done, total)

            if cancel is not None and cancel.is_set():
                raise RunCancelled
            backtest, result = backtests.run(spec, bars, progress=report)
        except ValidationError as exc:
            name = {"range": "date_to", "to": "date_to", "stop_loss": "stop_pct", "file": "csv",
                    "timeframe": "interval", "lot_size": "quantity"}.get(exc.field, exc.field)
            raise ValidationError(name, f"{field_label(name)}: {exc.rule}") from None
        if cancel is not None and cancel.is_set():
            raise RunCancelled
        return backtests.store_run(self.ctx, self.user_id, backtest, result, started)

    def paper_trade(self, run_id: uuid.UUID | str) -> StrategySpec:
        """A paper strategy (stopped) from the run's kind, symbol, quantity, parameters and
        stop; the strategies service's rules apply (it refuses kinds the engine cannot run
        yet, with its own message)."""
        from .strategies import StrategyService

        run = self.get(run_id)
        params = {k: v for k, v in dict(run.snapshot.get("params") or {}).items()
                  if k != "timeframe"}
        exits = run.snapshot.get("exits") or {}
        raw: dict[str, Any] = {
            **params, "kind": run.kind, "symbol": run.symbol,
            "exchange": run.params.get("exchange") or "NSE",
            "quantity": str(run.params.get("quantity") or 1), "mode": "PAPER",
            "name": f"{run.symbol} {run.kind} from backtest "
                    f"{(run.started_at or utc_now()).astimezone(IST):%m-%d %H:%M}"}
        strategies = StrategyService(self.ctx, self.user_id)
        stop = exits.get("stop_loss")
        if run.kind != StrategyKind.SCHEDULED:
            # A signal kind keeps its exits as the run had them (a stop in % stays a %),
            # in the editor's own field names.
            raw["product"] = str(run.params.get("product") or "MIS")
            raw.update({exit_key(StrategyKind(run.kind), name): str(value)
                        for name, value in exits.items() if value is not None})
        elif str(exits.get("stop_mode")) == "price" and stop is not None:
            raw["stop_loss"] = str(stop)
        elif str(exits.get("stop_mode")) == "percent" and stop is not None:
            # A strategy's stop is a price: the run's percentage below the last known one.
            known = strategies.last_known_price(run.symbol, raw["exchange"])
            if known is not None:
                tick = Decimal(str(run.params.get("tick") or "0.05"))
                price = known.price * (1 - Decimal(str(stop)) / 100)
                stop_price = (price / tick).to_integral_value(ROUND_FLOOR) * tick
                raw["stop_loss"] = str(stop_price.quantize(Decimal("0.01")))
        kind_error = strategies.check(raw).get("kind")
        if kind_error:  # said first: the other fields do not matter for such a kind
            raise ValidationError("kind", kind_error)
        return strategies.create(raw)


def _money(value: Any) -> str:
    return "-" if value is None else f"₹{float(value):,.2f}"


def _ratio(value: Any, percent: bool = False) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):  # "inf" / "-inf" as stored
        return "∞" if value == "inf" else "-∞"
    return f"{float(value) * 100:.1f} %" if percent else f"{float(value):.2f}"


# The summary figures a trader reads first, in order: (key, label, shape).
FIGURES = (("trades", "Trades", "int"), ("net_pnl", "Net P&L", "money"),
           ("gross_pnl", "Gross P&L", "money"), ("charges", "Charges", "money"),
           ("win_rate", "Win rate", "pct"), ("profit_factor", "Profit factor", "ratio"),
           ("expectancy", "Expectancy", "money"), ("max_drawdown", "Max drawdown", "money"),
           ("max_drawdown_pct", "Max drawdown %", "pct"), ("sharpe", "Sharpe", "ratio"),
           ("sortino", "Sortino", "ratio"), ("calmar", "Calmar", "ratio"),
           ("cagr", "CAGR", "pct"), ("exposure", "Exposure", "pct"),
           ("longest_losing_streak", "Longest losing streak", "int"), ("bars", "Candles", "int"))


def figure_text(summary: Mapping[str, Any], key: str, shape: str) -> str:
    value = summary.get(key)
    if shape == "money":
        return _money(value)
    if shape == "pct":
        return _ratio(value, percent=True)
    if shape == "ratio":
        return _ratio(value)
    return "-" if value is None else f"{value}"


def describe_range(run: RunRow) -> str:
    if run.data_from is None or run.data_to is None:
        return "-"
    start, end = run.data_from.astimezone(IST), run.data_to.astimezone(IST)
    if end - start < timedelta(days=1):
        return f"{start:%Y-%m-%d}"
    return f"{start:%Y-%m-%d}..{end:%Y-%m-%d}"


def compare(a: RunDetail, b: RunDetail) -> list[tuple[str, str, str]]:
    """Two runs side by side: (label, first, second) for what ran and the figures."""
    def setting(run: RunDetail) -> dict[str, str]:
        params = run.snapshot.get("params") or {}
        return {"Kind": run.kind, "Symbol": run.symbol, "Interval": run.interval,
                "Range": describe_range(run),
                "Parameters": ", ".join(f"{k}={v}" for k, v in params.items()) or "-",
                "Fill at": str(run.params.get("fill", "-")),
                "Quantity": str(run.params.get("quantity", "-")),
                "Product": str(run.params.get("product", "-"))}

    left, right = setting(a), setting(b)
    rows = [(label, left[label], right[label]) for label in left]
    rows += [(label, figure_text(a.summary, key, shape), figure_text(b.summary, key, shape))
             for key, label, shape in FIGURES]
    return rows


__all__ = ["FIGURES", "LABELS", "BacktestRunService", "Period", "RunCancelled", "RunDetail",
           "RunRequest", "RunRow", "by_period", "check_form", "compare", "describe_range",
           "drawdown", "field_label", "figure_text", "param_fields"]
