"""User A can never read or change user B's strategies, orders, positions or broker keys."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from tui_trader.db.models import Order, Position
from tui_trader.db.repositories import OrderRepository, PositionRepository
from tui_trader.domain.errors import NotFoundError
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.strategies import StrategyService
from tui_trader.services.trading import TradingViews

FORM = {"name": "Morning INFY", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
        "stop_loss": "1450", "quantity": "10"}


@pytest.fixture
def two_users(ctx):
    auth = AuthService(ctx)
    a = auth.sign_up("a@example.com", "password-a")
    b = auth.sign_up("b@example.com", "password-b")
    return a.id, b.id


def test_strategies_are_private(ctx, two_users):
    a, b = two_users
    mine = StrategyService(ctx, a).create(FORM)
    theirs = StrategyService(ctx, b)
    assert theirs.list() == []
    for attempt in (lambda: theirs.get(mine.id), lambda: theirs.update(mine.id, FORM),
                    lambda: theirs.delete(mine.id), lambda: theirs.duplicate(mine.id),
                    lambda: theirs.get("not-a-uuid")):
        with pytest.raises(NotFoundError):
            attempt()
    assert StrategyService(ctx, a).get(mine.id).name == "Morning INFY"


def test_broker_accounts_and_keys_are_private(ctx, two_users):
    a, b = two_users
    account = BrokerAccountService(ctx, a).add_kite("apikeyA1234", "secretA-xyz")
    other = BrokerAccountService(ctx, b)
    assert other.list() == []
    with pytest.raises(NotFoundError):
        other.credentials(account.id)
    with pytest.raises(NotFoundError):
        other.remove(account.id)
    with pytest.raises(NotFoundError):
        other.store_access_token(account.id, "tok", ctx.clock.now())
    assert BrokerAccountService(ctx, a).credentials(account.id).api_key.reveal() == "apikeyA1234"


def test_orders_and_positions_are_private(ctx, two_users):
    a, b = two_users
    with ctx.session() as s:
        order = Order(user_id=a, intent_key="x", client_tag="tag1", trading_day=date(2026, 11, 23),
                      symbol="INFY", side="BUY", reason="BUY", quantity=1)
        pos = Position(user_id=a, symbol="INFY", quantity=1, average_price=Decimal("1500"))
        s.add(order)
        s.add(pos)
    views_b = TradingViews(ctx, b)
    assert views_b.orders() == [] and views_b.positions() == []
    with ctx.session() as s:
        with pytest.raises(NotFoundError):
            OrderRepository(s, b).get(order.id)
        with pytest.raises(NotFoundError):
            OrderRepository(s, b).history(order.id)
        with pytest.raises(NotFoundError):
            PositionRepository(s, b).get(pos.id)
        with pytest.raises(NotFoundError):
            OrderRepository(s, b).get(uuid.uuid4())
    assert [o.id for o in TradingViews(ctx, a).orders()] == [order.id]
