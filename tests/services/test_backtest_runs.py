"""The console's backtest service on a real database: a form checked field by field (named
as labelled, nothing run), a run on stored candles stored and read back, a cancelled run
storing nothing, the per-day/per-month breakdown, compare, and paper-trade this."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal

import pytest
from ui.backtest_seed import store_minutes  # tests/ui, on the path as a package

from tui_trader.db.models import Instrument
from tui_trader.db.repositories.instruments import InstrumentRepository
from tui_trader.domain.enums import Exchange, InstrumentType
from tui_trader.domain.errors import ValidationError
from tui_trader.services.auth import AuthService
from tui_trader.services.backtest_runs import (
    BacktestRunService,
    RunCancelled,
    by_period,
    check_form,
    compare,
    drawdown,
)

FORM = {"kind": "ema_crossover", "params": {"fast": "5", "slow": "20"}, "symbol": "INFY",
        "interval": "minute", "source": "stored", "date_from": "2026-11-01",
        "date_to": "2026-11-23", "quantity": "10", "slippage": "1", "product": "MIS",
        "fill": "next-open", "stop_pct": "1", "charges": "on"}


def last_close(ctx) -> Decimal:
    with ctx.session() as s:
        return InstrumentRepository(s).last_known_price("INFY").price


@pytest.fixture
def service(ctx):
    user = AuthService(ctx).sign_up("asha@example.com", "correct-horse-1", "Asha")
    store_minutes(ctx)
    return BacktestRunService(ctx, user.id)


def test_a_bad_form_names_each_field_as_labelled_and_runs_nothing():
    request, errors = check_form({**FORM, "params": {"fast": "1", "slow": "x"},
                                  "quantity": "0", "date_to": "2026-10-01",
                                  "stop_pct": "-1"})
    assert request is None
    assert errors == {"fast": "Fast EMA: must be between 2 and 100 candles",
                      "slow": "Slow EMA: must be a whole number",
                      "quantity": "Quantity: must be 1 or more",
                      "date_to": "To: must not be before From",
                      "stop_pct": "Stop %: must be a number above 0 (or empty for the "
                                  "kind's default)"}
    _, errors = check_form({**FORM, "source": "csv", "csv": ""})
    assert errors == {"csv": "CSV file: give the path of a CSV file of candles"}


def test_a_run_is_stored_and_read_back_with_its_breakdown(service):
    request, errors = check_form(FORM)
    assert errors == {}
    seen: list[tuple[int, int]] = []
    run_id = service.run(request, lambda done, total: seen.append((done, total)))
    assert seen[-1] == (375 * 3, 375 * 3), "progress ends at the last candle"
    [row] = service.runs()
    assert row.id == run_id and (row.kind, row.symbol, row.interval) == \
        ("ema_crossover", "INFY", "minute")
    detail = service.get(run_id)
    assert detail.summary["trades"] == len(detail.trades) > 0
    days = by_period(detail.trades)
    assert sum(d.trades for d in days) == sum(1 for t in detail.trades if t["exit_time"])
    assert round(sum(d.net_pnl for d in days), 2) == round(
        sum(t["net_pnl"] for t in detail.trades if t["exit_time"]), 2)
    assert [m.label for m in by_period(detail.trades, month=True)] == ["2026-11"]
    dd = drawdown(detail.curve)
    # The stored curve is thinned (each day's close and each exit): its drawdown is at most
    # the run's, measured on every candle.
    assert max(dd) == 0 and 0 < -min(dd) <= detail.summary["max_drawdown"] + 0.005


def test_a_range_with_no_candles_is_refused_at_to(service):
    request, _ = check_form({**FORM, "date_from": "2026-01-01", "date_to": "2026-01-31"})
    with pytest.raises(ValidationError) as caught:
        service.run(request)
    assert caught.value.field == "date_to" and caught.value.rule.startswith("To: no minute")
    assert service.runs() == []


def test_a_cancelled_run_stops_and_stores_nothing(service):
    request, _ = check_form(FORM)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        cancel.set()  # the user presses cancel while the first report is shown

    with pytest.raises(RunCancelled):
        service.run(request, progress, cancel)
    assert len(seen) == 1 and seen[0] < 375 * 3, "stopped at the next report"
    assert service.runs() == []


def test_compare_and_paper_trade_this(service):
    from tui_trader.domain.enums import StrategyStatus
    from tui_trader.services.strategies import StrategyService

    first = service.run(check_form(FORM)[0])
    second = service.run(check_form({**FORM, "params": {"fast": "9", "slow": "21"}})[0])
    rows = {label: (a, b) for label, a, b in compare(service.get(first),
                                                      service.get(second))}
    assert rows["Parameters"] == ("fast=5, slow=20, timeframe=minute",
                                  "fast=9, slow=21, timeframe=minute")
    assert set(rows) >= {"Net P&L", "Win rate", "Max drawdown", "Sharpe"}
    # The engine cannot run EMA crossover strategies yet: the strategies service says so.
    with pytest.raises(ValidationError) as caught:
        service.paper_trade(first)
    assert caught.value.field == "kind"
    assert StrategyService(service.ctx, service.user_id).list() == []
    # A scheduled run becomes a stopped paper strategy with its times, quantity and its
    # stop 1 % below the last stored close.
    with service.ctx.session() as s:
        InstrumentRepository(s).upsert_many([Instrument(
            instrument_token=1, symbol="INFY", exchange=Exchange.NSE,
            instrument_type=InstrumentType.EQ, tick_size=Decimal("0.05"), lot_size=1)])
    scheduled = service.run(check_form({
        **FORM, "kind": "scheduled", "params": {"buy_time": "09:30", "sell_time": "15:00"}}
    )[0])
    spec = service.paper_trade(scheduled)
    close = last_close(service.ctx)
    assert close * Decimal("0.99") - Decimal("0.05") < spec.stop_loss <= close * Decimal("0.99")
    assert (spec.kind.value, spec.symbol, spec.quantity, str(spec.buy_time)[:5],
            str(spec.sell_time)[:5]) == ("scheduled", "INFY", 10, "09:30", "15:00")
    assert spec.status is StrategyStatus.CREATED, "created, not started"


def test_the_candles_of_a_run_for_its_chart_with_each_trade_on_them(service):
    from tui_trader.ui.screens.backtest_detail import trade_marks

    run = service.get(service.run(check_form(FORM)[0]))
    closes = service.closes(run)
    assert len(closes) == 375 * 3 and closes[0][0] == run.data_from
    entries, exits = trade_marks(closes, run.trades)
    assert len(entries) == len(run.trades)
    assert len(exits) == sum(1 for t in run.trades if t["exit_time"])
    first = run.trades[0]
    index, price = entries[0]
    assert closes[index][0] <= datetime.fromisoformat(first["entry_time"])
    assert price == first["entry_price"]
    thinned = service.closes(run, most=100)
    assert len(thinned) <= 100 and thinned[0] == closes[0]


def test_a_csv_run_and_a_bad_csv_refused_at_its_field(service, tmp_path):
    from tui_trader.backtest.synthetic import minute_candles, to_csv

    good = tmp_path / "infy.csv"
    good.write_text(to_csv(minute_candles(750, seed=3, symbol="INFY")), encoding="utf-8")
    csv_form = {**FORM, "source": "csv", "csv": str(good)}
    run = service.get(service.run(check_form(csv_form)[0]))
    assert run.data_source == "csv infy.csv" and run.summary["bars"] == 750
    assert service.closes(run) == [], "a CSV's candles are not stored"
    bad = tmp_path / "bad.csv"
    bad.write_text("date,open,high,low,close,volume\n2026-11-16T09:15:00+05:30,a,1,1,1,1\n",
                   encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        service.run(check_form({**csv_form, "csv": str(bad)})[0])
    assert caught.value.field == "csv" and caught.value.rule.startswith("CSV file: ")
    with pytest.raises(ValidationError) as caught:
        service.run(check_form({**csv_form, "csv": str(tmp_path / "none.csv")})[0])
    assert caught.value.field == "csv"
    assert len(service.runs()) == 1, "the refused runs stored nothing"
