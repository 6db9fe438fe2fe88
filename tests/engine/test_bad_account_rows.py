"""One user's broken broker account never stops the engine for everyone: an unresolved order
on an account whose credentials no longer decrypt, or on an account that is not its user's,
is set aside with an alert naming the account, and every other user starts and trades."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from tui_trader.db.models import Notification, Order
from tui_trader.domain.enums import IntentState, OrderReason, OrderStatus, Side
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.live_brokers import make_live_factory
from tui_trader.services.strategies import StrategyService

from .conftest import FORM, Harness


def _unresolved_order(ctx, user_id, account_id) -> Order:
    """A LIVE BUY that was being placed when the engine last stopped (FIRING, its call's
    outcome never recorded), long enough ago to be reconciled at the next start."""
    long_ago = ctx.clock.now() - timedelta(minutes=10)
    with ctx.session() as s:
        order = Order(user_id=user_id, broker_account_id=account_id,
                      intent_key=f"manual:{account_id}:ENTRY:2026-11-23:1",
                      intent_state=IntentState.FIRING, client_tag="tbadrow0001",
                      trading_day=date(2026, 11, 23), symbol="INFY", side=Side.BUY,
                      reason=OrderReason.BUY, quantity=5, status=OrderStatus.PENDING,
                      created_at=long_ago, updated_at=long_ago)
        s.add(order)
    return order


def _garble_secret(ctx, account_id) -> None:
    """The row's secret no longer opens (another column's ciphertext copied over it)."""
    key = account_id.hex if ctx.db.dialect.name == "sqlite" else account_id
    with ctx.db.begin() as conn:
        conn.execute(sa.text("UPDATE broker_accounts SET api_secret_enc = api_key_enc "
                             "WHERE id = :id"), {"id": key})


@pytest.fixture
def other_trader(ctx):
    """Someone else on the same engine, trading on paper."""
    user = AuthService(ctx).sign_up("b@example.com", "password-b")
    BrokerAccountService(ctx, user.id).add_paper()
    return user, StrategyService(ctx, user.id).create(FORM)


def _engine(ctx) -> Harness:
    harness = Harness(ctx, consumer="bad-rows", live_factory=make_live_factory(ctx))
    return harness


def _alerts(ctx, user_id) -> list[str]:
    with ctx.session() as s:
        rows = s.exec(select(Notification).where(Notification.user_id == user_id)).all()
        return [f"{n.title}: {n.body}" for n in rows]


def _everyone_else_trades(ctx, harness, other_trader, owner_id) -> str:
    """Start the engine: it runs, the other trader's 09:30 BUY fills, and the owner of the
    bad row is told once, in an alert that is returned."""
    other, strategy = other_trader
    harness.start()
    assert harness.engine.state == "running" and harness.engine.gate.allowed
    harness.buy_at_930(other, strategy)
    assert _bought(ctx, strategy.id)
    assert not any("unusable" in text for text in _alerts(ctx, other.id))
    (alert,) = _alerts(ctx, owner_id)
    assert alert.startswith("Broker account unusable: ")
    return alert


def _bought(ctx, strategy_id) -> bool:
    with ctx.session() as s:
        return s.exec(select(Order).where(Order.strategy_id == strategy_id,
                                          Order.status == OrderStatus.FILLED)).first() \
            is not None


def test_an_account_whose_credentials_do_not_decrypt(ctx, other_trader, caplog):
    owner = AuthService(ctx).sign_up("a@example.com", "password-a")
    account = BrokerAccountService(ctx, owner.id).add_kite("apikeyA1234", "secretA-xyz",
                                                           label="A main")
    _garble_secret(ctx, account.id)
    _unresolved_order(ctx, owner.id, account.id)
    harness = _engine(ctx)
    caplog.set_level(logging.WARNING, logger="tui_trader")
    try:
        alert = _everyone_else_trades(ctx, harness, other_trader, owner.id)
        # The broken account is named, to its owner and in the log, and new entries through
        # it are held; nobody else's account is.
        assert "'A main'" in alert and str(account.id) in alert and "decrypt" in alert
        assert "'A main'" in caplog.text and str(account.id) in caplog.text
        assert set(harness.engine.gate.blocked_accounts) == {account.id}
        # Told once, not on every reconcile pass.
        harness.engine.reconcile()
        assert len(_alerts(ctx, owner.id)) == 1
        # Keys entered again: the account is no longer held (it now waits for a Kite login
        # like any other account without a session).
        BrokerAccountService(ctx, owner.id).update_kite_keys(account.id, "apikeyA1234",
                                                             "secretA-xyz")
        harness.engine.reconcile()
        assert harness.engine.gate.blocked_accounts == {}
    finally:
        harness.engine.stop()


def test_an_order_on_someone_elses_account(ctx, other_trader, caplog):
    owner = AuthService(ctx).sign_up("a@example.com", "password-a")
    other, _strategy = other_trader
    theirs = BrokerAccountService(ctx, other.id).add_kite("apikeyB1234", "secretB-xyz",
                                                          label="B private")
    _unresolved_order(ctx, owner.id, theirs.id)
    harness = _engine(ctx)
    caplog.set_level(logging.WARNING, logger="tui_trader")
    try:
        alert = _everyone_else_trades(ctx, harness, other_trader, owner.id)
        assert str(theirs.id) in alert and "not an account of yours" in alert
        assert "B private" not in alert  # nothing of the other user's is shown to this one
        assert str(theirs.id) in caplog.text
        # The account's real owner is not blocked for someone else's bad row.
        assert harness.engine.gate.blocked_accounts == {}
    finally:
        harness.engine.stop()
