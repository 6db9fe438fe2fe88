"""The intent ledger writes states only along the lifecycle tables: an illegal move is
refused and writes nothing; a call's lost answer never overrides the broker's own update."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from tui_trader.brokers.base import BrokerOrder
from tui_trader.db.models import Order, OrderHistory
from tui_trader.domain.enums import IntentState, OrderKind, OrderReason, OrderStatus, Side
from tui_trader.domain.intent_key import IntentKey, Leg
from tui_trader.domain.lifecycle import IllegalTransition
from tui_trader.engine.intents import IntentDraft, IntentLedger
from tui_trader.services.auth import AuthService


@pytest.fixture
def ledger_and_claim(ctx):
    user = AuthService(ctx).sign_up("ledger@example.com", "correct-horse-1", "L")
    ledger = IntentLedger(ctx.db)
    day = date(2026, 11, 23)
    draft = IntentDraft(user_id=user.id, strategy_id=None, broker_account_id=None,
                        key=IntentKey(uuid.uuid4(), Leg.ENTRY, day), event_id="e1",
                        trading_day=day, symbol="INFY", exchange="NSE", side=Side.BUY,
                        kind=OrderKind.MARKET, reason=OrderReason.BUY, quantity=10)
    claim = ledger.claim(draft, ctx.clock.now())
    assert claim.won and claim.state is IntentState.FIRING
    yield ctx, ledger, claim
    ledger.close()


def _filled(claim, status=OrderStatus.FILLED, filled=10) -> BrokerOrder:
    return BrokerOrder(broker_order_id="B1", client_tag=claim.client_tag, symbol="INFY",
                       side=Side.BUY, kind=OrderKind.MARKET, quantity=10, status=status,
                       filled_quantity=filled, average_price=Decimal("1520"), message=None,
                       updated_at=None, raw={})


def _state(ctx, order_id):
    with ctx.db.connect() as conn:
        row = conn.execute(sa.select(Order.__table__.c.intent_state, Order.__table__.c.status)
                           .where(Order.__table__.c.id == order_id)).one()
        history = conn.execute(sa.select(sa.func.count()).select_from(OrderHistory.__table__)
                               .where(OrderHistory.__table__.c.order_id == order_id)).scalar()
    return IntentState(row.intent_state), OrderStatus(row.status), history


def test_a_filled_intent_cannot_be_rearmed_or_failed(ledger_and_claim):
    ctx, ledger, claim = ledger_and_claim
    ledger.record(claim.order_id, _filled(claim), ctx.clock.now())
    before = _state(ctx, claim.order_id)
    assert before[:2] == (IntentState.DONE, OrderStatus.FILLED)
    with pytest.raises(IllegalTransition, match="order intent: DONE -> ARMED"):
        ledger.rearm(claim.order_id, ctx.clock.now(), "must not happen")
    with pytest.raises(IllegalTransition, match="order intent: DONE -> FAILED"):
        ledger.mark_failed(claim.order_id, ctx.clock.now(), "must not happen")
    assert _state(ctx, claim.order_id) == before  # nothing written, no history row


def test_a_lost_answer_does_not_undo_the_brokers_own_update(ledger_and_claim):
    """The broker announced the fill while its call's answer was lost: the intent stays
    DONE (marking it UNKNOWN would have it asked about, and could send a second exit)."""
    ctx, ledger, claim = ledger_and_claim
    ledger.record(claim.order_id, _filled(claim), ctx.clock.now())
    assert ledger.mark_unknown(claim.order_id, ctx.clock.now(), "timeout") is False
    assert _state(ctx, claim.order_id)[:2] == (IntentState.DONE, OrderStatus.FILLED)


def test_an_unanswered_call_goes_unknown_then_is_found(ledger_and_claim):
    ctx, ledger, claim = ledger_and_claim
    assert ledger.mark_unknown(claim.order_id, ctx.clock.now(), "timeout") is True
    assert _state(ctx, claim.order_id)[:2] == (IntentState.UNKNOWN, OrderStatus.UNKNOWN)
    ledger.record(claim.order_id, _filled(claim, OrderStatus.OPEN, 0), ctx.clock.now())
    assert _state(ctx, claim.order_id)[:2] == (IntentState.SENT, OrderStatus.OPEN)


def test_a_stale_snapshot_never_moves_an_order_back(ledger_and_claim):
    ctx, ledger, claim = ledger_and_claim
    ledger.record(claim.order_id, _filled(claim, OrderStatus.PARTIALLY_FILLED, 4),
                  ctx.clock.now())
    delta, before, _ = ledger.record(claim.order_id, _filled(claim, OrderStatus.OPEN, 4),
                                     ctx.clock.now())
    assert delta == 0 and before is OrderStatus.PARTIALLY_FILLED
    assert _state(ctx, claim.order_id)[:2] == (IntentState.SENT,
                                               OrderStatus.PARTIALLY_FILLED)
