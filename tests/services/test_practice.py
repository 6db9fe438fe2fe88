"""Practice days as a service: the day's stored candles replayed through the engine (on
SQLite and on PostgreSQL), nothing written to the real book, and a trader's own strategies
taken into the practice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from tui_trader.db.models import Order, Position, Strategy
from tui_trader.db.repositories.candles import CandleRepository
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import Timeframe
from tui_trader.domain.errors import StateError
from tui_trader.domain.practice import plan_practice
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.demo import SAMPLE_STRATEGIES, sample_stop
from tui_trader.services.practice import (
    hold_practice_lock,
    open_practice_day,
    own_strategies,
    release,
    run_headless,
)
from tui_trader.services.strategies import StrategyService

DAY = date(2026, 11, 20)


@dataclass
class Row:
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 100
    oi: int | None = None


def test_stored_candles_of_the_day_are_replayed_through_the_engine(ctx):
    # 09:15-10:14 of INFY: flat at 1500, then a fall through 1485 from 09:25 on.
    rows = []
    for minute in range(60):
        at = datetime(2026, 11, 20, 9, 15, tzinfo=IST) + timedelta(minutes=minute)
        price = Decimal(1500) if minute < 10 else Decimal(1480)
        rows.append(Row(at, price, price + 1, price - 1, price))
    with ctx.session() as s:
        CandleRepository(s).store("INFY", "NSE", Timeframe.MINUTE, rows)
    plan = plan_practice(ctx.calendar, DAY.isoformat(), "300", date(2026, 11, 23))
    sample = ({"name": "INFY stored", "symbol": "INFY", "buy_time": "09:16",
               "sell_time": "09:50", "quantity": "4", "mode": "PAPER"}, Decimal("0.01"))
    said: list[str] = []
    day = open_practice_day(ctx.settings, plan, samples=[sample], say=said.append)
    assert day.source == {"INFY": "stored"}
    with day.ctx.session() as s:  # its stop: 1% under the day's stored open, 1500
        assert s.exec(select(Strategy)).one().stop_loss == sample_stop(Decimal(1500),
                                                                       Decimal("0.01"))
    result = run_headless(day, say=said.append)
    assert len(result.orders) == 2, said
    assert [(o.side, o.reason, o.status, o.average_price) for o in result.orders] == [
        ("BUY", "BUY", "FILLED", Decimal("1500")),
        ("SELL", "STOPLOSS", "FILLED", result.orders[1].average_price)]
    # The stop fills at a stored price of the fall (the low or the close of a candle).
    assert result.orders[1].average_price in {Decimal(1479), Decimal(1480), Decimal(1481)}
    assert result.net_pnl == (result.orders[1].average_price - 1500) * 4
    assert day.closed
    # The real book has none of it.
    with ctx.session() as s:
        assert s.exec(select(Order)).all() == []
        assert s.exec(select(Position)).all() == []
        assert s.exec(select(Strategy)).all() == []


def test_one_practice_day_at_a_time_per_data_dir(ctx):
    plan = plan_practice(ctx.calendar, DAY.isoformat(), "60", date(2026, 11, 23))
    first = open_practice_day(ctx.settings, plan)
    try:
        with pytest.raises(StateError, match="already running from this data directory"):
            open_practice_day(ctx.settings, plan)
        assert (first.ctx.settings.data_dir / "practice.db").exists()  # left alone
    finally:
        first.close()
    release(hold_practice_lock(ctx.settings.data_dir))  # closing it let the lock go


def test_a_traders_own_strategies_are_practised_with_their_stop_distance(ctx):
    user = AuthService(ctx).sign_up("own@example.com", "password-own")
    account = BrokerAccountService(ctx, user.id).add_paper("Paper")
    service = StrategyService(ctx, user.id)
    for sample in SAMPLE_STRATEGIES:  # the demo's own samples are left to the demo pair
        service.create({**sample, "stop_loss": "1000", "broker_account_id": str(account.id)})
    reference = Decimal("1495.60")  # RELIANCE's reference price: its last known one here
    service.create({"name": "Noon RELIANCE", "symbol": "RELIANCE", "buy_time": "12:00",
                    "sell_time": "13:00", "quantity": "3", "mode": "PAPER",
                    "stop_loss": str(sample_stop(reference, Decimal("0.02"))),
                    "broker_account_id": str(account.id)})
    plan = plan_practice(ctx.calendar, DAY.isoformat(), "60", date(2026, 11, 23))
    samples, skipped = own_strategies(ctx, user.id, plan)
    assert skipped == []
    assert [s["name"] for s, _ in samples] == ["Noon RELIANCE"]
    (copied, below), = samples
    assert copied == {"name": "Noon RELIANCE", "symbol": "RELIANCE", "buy_time": "12:00",
                      "sell_time": "13:00", "quantity": "3", "mode": "PAPER"}
    assert Decimal("0.0199") < below < Decimal("0.0201")
