"""The user's risk rules on the engine's one order path: an entry the rules refuse is denied
locally (never reaches the broker), recorded as a FAILED intent and a `risk_events` row with
the rule and the figures, and the trader is told why; exits are never denied; no rules (or
an entry within them) changes nothing."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlmodel import select

from tui_trader.brokers.paper import PaperBroker
from tui_trader.db.models import Notification, Order, Position, PositionHistory, RiskEvent
from tui_trader.domain.enums import (
    IntentState,
    OrderReason,
    OrderStatus,
    PositionAction,
    PositionStatus,
    RiskEventKind,
    RiskRuleKind,
    TriggerEvent,
)
from tui_trader.engine.config import DEFAULT
from tui_trader.engine.faults import CrashAt, SimulatedCrash, Step
from tui_trader.live.order_queue import OrderEvent
from tui_trader.services.risk import RiskService
from tui_trader.services.strategies import StrategyService

from .conftest import FORM, on_paper


def _lost_today(ctx, trader, amount: str, *, still_open: bool = False,
                symbol: str = "TCS") -> None:
    """A position of today in another symbol, with the loss its closing fill realized
    (or still open, worth 100 x 3,400)."""
    now = ctx.clock.now()
    with ctx.session() as s:
        pos = Position(user_id=trader.id, symbol=symbol, quantity=100 if still_open else 0,
                       average_price=Decimal("3400"), ltp=Decimal("3400"),
                       realized_pnl=-Decimal(amount),
                       status=PositionStatus.OPEN if still_open else PositionStatus.CLOSED,
                       opened_at=now, closed_at=None if still_open else now)
        s.add(pos)
        s.flush()
        s.add(PositionHistory(position_id=pos.id, user_id=trader.id,
                              action=PositionAction.CLOSE if not still_open
                              else PositionAction.OPEN,
                              quantity=100, price=Decimal("3400"), pnl=-Decimal(amount),
                              created_at=now))


def _buy(ctx, trader, strategy_id) -> OrderEvent:
    return OrderEvent(strategy_id, trader.id, TriggerEvent.BUY, "INFY", None,
                      ctx.clock.now())


def _events(ctx) -> list[RiskEvent]:
    with ctx.session() as s:
        return list(s.exec(select(RiskEvent)).all())


def _notes(ctx) -> list[Notification]:
    with ctx.session() as s:
        return list(s.exec(select(Notification)).all())


def _entries(ctx) -> list[Order]:
    with ctx.session() as s:
        return list(s.exec(select(Order).where(Order.reason == OrderReason.BUY)).all())


def test_a_breached_daily_loss_limit_denies_the_buy_locally(ctx, trader, strategy):
    RiskService(ctx, trader.id).set({"daily_loss_limit": "10000"})
    _lost_today(ctx, trader, "10250")
    harness, paper = on_paper(ctx, "risk-loss")
    try:
        harness.buy_at_930(trader, strategy)
        assert paper.placed_count() == 0  # nothing reached the broker
        (entry,) = _entries(ctx)
        assert entry.intent_state is IntentState.FAILED
        assert entry.status is OrderStatus.REJECTED
        assert entry.broker_order_id is None
        assert entry.error.startswith("denied by the risk rules: ")
        (event,) = _events(ctx)
        assert event.kind is RiskEventKind.DENIAL
        assert event.rule is RiskRuleKind.DAILY_LOSS_LIMIT
        assert event.observed == Decimal("10250") and event.limit_value == Decimal("10000")
        assert event.strategy_id == strategy.id
        assert event.details["symbol"] == "INFY" and event.details["quantity"] == 10
        (note,) = [n for n in _notes(ctx) if "denied" in n.title]
        assert note.title == "INFY morning: BUY INFY 10 denied"
        assert "10,250" in note.body and "10,000" in note.body
        assert "Nothing was sent to the broker" in note.body
        assert harness.engine.executor.counters.denied == 1
        assert harness.engine.positions.open_for_strategy(strategy.id) is None

        # The same day's BUY handed over again (a restart, a second engine) is not retried.
        harness.engine.executor.submit(_buy(ctx, trader, strategy.id))
        harness.settle()
        assert paper.placed_count() == 0
        assert len(_events(ctx)) == 1
    finally:
        harness.engine.stop()


def test_max_open_positions_denies_a_new_position(ctx, trader, strategy):
    RiskService(ctx, trader.id).set({"max_open_positions": "1"})
    _lost_today(ctx, trader, "0", still_open=True)  # TCS already open
    harness, paper = on_paper(ctx, "risk-positions")
    try:
        harness.buy_at_930(trader, strategy)
        assert paper.placed_count() == 0
        (event,) = _events(ctx)
        assert event.rule is RiskRuleKind.MAX_OPEN_POSITIONS
        assert event.observed == 2 and event.limit_value == 1
        assert any(n.title == "INFY morning: BUY INFY 10 denied" and
                   "1 open; a new position would make 2" in n.body for n in _notes(ctx))
    finally:
        harness.engine.stop()


def test_an_exit_goes_out_with_the_limit_breached(ctx, trader, strategy):
    harness, paper = on_paper(ctx, "risk-exit")
    try:
        harness.buy_at_930(trader, strategy)  # no rules yet: bought
        assert paper.placed_count() == 1
        RiskService(ctx, trader.id).set({"daily_loss_limit": "500",
                                         "max_open_positions": "1",
                                         "max_orders_per_day": "1"})
        _lost_today(ctx, trader, "5000")
        harness.tick("INFY", "1499.00")  # through the 1,500 stop
        harness.settle()
        assert paper.placed_count() == 2
        with ctx.session() as s:
            exit_order = s.exec(select(Order).where(
                Order.reason == OrderReason.STOPLOSS)).one()
        assert exit_order.status is OrderStatus.FILLED
        assert harness.engine.positions.open_for_strategy(strategy.id) is None
        assert _events(ctx) == []
    finally:
        harness.engine.stop()


def test_an_entry_within_the_limits_goes_as_before(ctx, trader, strategy):
    RiskService(ctx, trader.id).set({"daily_loss_limit": "10000", "max_open_positions": "2",
                                     "max_position_value": "20000",
                                     "max_orders_per_day": "5"})
    _lost_today(ctx, trader, "2000")
    harness, paper = on_paper(ctx, "risk-within")
    try:
        harness.buy_at_930(trader, strategy)  # 10 x 1,520 = 15,200; risk 200 at the stop
        assert paper.placed_count() == 1
        (entry,) = _entries(ctx)
        assert entry.status is OrderStatus.FILLED
        assert _events(ctx) == []
        assert harness.engine.executor.counters.denied == 0
    finally:
        harness.engine.stop()


def test_orders_per_day_counts_only_orders_that_were_sent(ctx, trader, strategy):
    """A second strategy's BUY: the first strategy's BUY and its denial-free day count one
    order, so a limit of 1 refuses the second entry."""
    RiskService(ctx, trader.id).set({"max_orders_per_day": "1"})
    other = StrategyService(ctx, trader.id).create(
        FORM | {"name": "INFY second", "quantity": "5"})
    harness, paper = on_paper(ctx, "risk-orders")
    try:
        harness.buy_at_930(trader, strategy)
        assert paper.placed_count() == 1
        harness.engine.start_strategy(trader.id, other.id)
        harness.engine.executor.submit(_buy(ctx, trader, other.id))
        harness.settle()
        assert paper.placed_count() == 1
        (event,) = _events(ctx)
        assert event.rule is RiskRuleKind.MAX_ORDERS_PER_DAY
        assert event.observed == 2 and event.limit_value == 1
    finally:
        harness.engine.stop()


def test_an_entry_fired_again_after_a_crash_is_judged_too(ctx, trader, strategy):
    """The engine died with the BUY's intent claimed and not yet sent; the next start fires
    it again (the broker has no order with its tag), and the rules judge that call too."""
    RiskService(ctx, trader.id).set({"daily_loss_limit": "10000"})
    _lost_today(ctx, trader, "10250")
    paper = PaperBroker(ctx.clock, fill_market_immediately=True,
                        starting_cash=Decimal("100000000"))
    crash = CrashAt(Step.INTENT)
    dying, _ = on_paper(ctx, "risk-crash", paper, faults=crash,
                        config=replace(DEFAULT, claim_stale_ms=0))
    with pytest.raises(SimulatedCrash):
        dying.buy_at_930(trader, strategy)
    assert crash.fired and _entries(ctx)[0].intent_state is IntentState.FIRING
    dying.engine.brokers.detach()  # the process is gone: it hears nothing more
    dying.engine.ledger.close()
    survivor, _ = on_paper(ctx, "risk-crash", paper, config=replace(DEFAULT, claim_stale_ms=0))
    try:
        survivor.settle()
        assert paper.placed_count() == 0
        (entry,) = _entries(ctx)
        assert entry.intent_state is IntentState.FAILED
        assert entry.error.startswith("denied by the risk rules: ")
        (event,) = _events(ctx)
        assert event.rule is RiskRuleKind.DAILY_LOSS_LIMIT
    finally:
        survivor.engine.stop()
