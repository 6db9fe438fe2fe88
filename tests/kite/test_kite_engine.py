"""End to end: a LIVE strategy's BUY leaves the EmbeddedEngine through KiteBroker (built by
`make_live_factory` from the vault-held credentials) and lands at the sandbox; an ambiguous
submit is settled by tag without a second order; a lapsed token blocks the account."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from engine_harness import Harness
from sqlmodel import select

from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.db.models import Order, Position
from tui_trader.domain.enums import IntentState, OrderStatus, PositionStatus
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.kite_login import KiteSessionExchange
from tui_trader.services.live_brokers import make_live_factory
from tui_trader.services.strategies import StrategyService

from .conftest import API_KEY, API_SECRET, BIG, redirect_location

FORM = {"name": "INFY live", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
        "stop_loss": "1500", "quantity": "10", "mode": "LIVE"}


class LiveHarness(Harness):
    """The engine harness trading one LIVE strategy through KiteBroker at the sandbox."""

    def __init__(self, ctx: Any, sandbox: KiteSandbox, app_factory: bool = False,
                 **broker_options: Any) -> None:
        broker_options.setdefault("limits", BIG)
        factory = make_live_factory(ctx) if app_factory else \
            make_live_factory(ctx, **broker_options)
        super().__init__(ctx, consumer="kite-e2e", live_factory=factory)
        self.sandbox = sandbox
        self.user = AuthService(ctx).sign_up("live@example.com", "password-live")
        self.account = BrokerAccountService(ctx, self.user.id).add_kite(
            API_KEY, API_SECRET, api_root=sandbox.url).id
        KiteSessionExchange(ctx, self.user.id).exchange(self.account,
                                                        redirect_location(sandbox))
        self.strategy = StrategyService(ctx, self.user.id).create(
            {**FORM, "broker_account_id": str(self.account)})

    def start(self) -> LiveHarness:
        super().start()
        self.engine.start_strategy(self.user.id, self.strategy.id)
        return self

    def orders(self) -> list[Order]:
        with self.ctx.session() as s:
            return list(s.exec(select(Order).order_by(Order.created_at)).all())


@pytest.fixture
def live(ctx: Any,
         make_sandbox: Callable[..., KiteSandbox]) -> Iterator[Callable[..., LiveHarness]]:
    made: list[LiveHarness] = []

    def make(**broker_options: Any) -> LiveHarness:
        sandbox = make_sandbox(clock=ctx.clock)
        sandbox.set_price("INFY", "1520")
        harness = LiveHarness(ctx, sandbox, **broker_options)
        made.append(harness)
        return harness.start()

    yield make
    for harness in made:
        harness.engine.stop()


@pytest.mark.parametrize("app_factory", [False, True], ids=["kite_factory", "app_factory"])
def test_live_buy_goes_through_kite(live: Callable[..., LiveHarness], app_factory: bool) -> None:
    h = live(app_factory=app_factory)
    h.tick("INFY", "1520.00")
    h.advance_to(9, 30)
    h.settle()
    [buy] = h.orders()
    assert buy.status is OrderStatus.FILLED and buy.intent_state is IntentState.DONE
    assert buy.broker_account_id == h.account
    assert buy.average_price == Decimal("1520") and buy.filled_quantity == 10
    [received] = h.sandbox.received_orders
    assert received.params["tag"] == buy.client_tag
    assert received.order_id == buy.broker_order_id
    assert received.params["order_type"] == "MARKET"
    assert received.params["market_protection"] == "-1"
    assert h.sandbox.order(buy.broker_order_id)["status"] == "COMPLETE"
    with h.ctx.session() as s:
        pos = s.exec(select(Position)).one()
        assert pos.quantity == 10 and pos.status is PositionStatus.OPEN


def test_ambiguous_submit_settled_by_tag(live: Callable[..., LiveHarness]) -> None:
    h = live(timeout=1.5)
    h.sandbox.timeout_next_orders(1, delay_s=3)
    h.tick("INFY", "1520.00")
    h.advance_to(9, 30)
    h.settle()
    [buy] = h.orders()
    assert len(h.sandbox.received_orders) == 1  # never re-sent
    assert buy.broker_order_id == h.sandbox.received_orders[0].order_id
    assert buy.status is OrderStatus.FILLED and buy.filled_quantity == 10
    assert h.engine.executor.counters.unknown == 0  # resolved at once by orders_by_tag


def test_lapsed_token_blocks_the_account_without_retrying(
        live: Callable[..., LiveHarness]) -> None:
    h = live()
    h.sandbox.revoke_tokens()
    h.tick("INFY", "1520.00")
    h.advance_to(9, 30)
    h.settle()
    [buy] = h.orders()
    assert buy.intent_state is IntentState.FAILED
    assert buy.error == "Kite session expired: log in again"
    assert h.account in h.engine.gate.blocked_accounts
    assert len(h.sandbox.received_orders) == 1  # one 403, no retry loop
    from tui_trader.db.models import Notification

    with h.ctx.session() as s:
        kinds = {n.kind.value for n in s.exec(select(Notification)).all()}
    assert "TOKEN_EXPIRY" in kinds
    h.settle()
    assert len(h.sandbox.received_orders) == 1


def test_logging_in_again_lifts_the_block(live: Callable[..., LiveHarness]) -> None:
    from datetime import timedelta

    h = live()
    h.sandbox.revoke_tokens()
    h.tick("INFY", "1520.00")
    h.advance_to(9, 30)
    h.settle()
    assert h.account in h.engine.gate.blocked_accounts
    h.settle()  # a token that is merely still "in date" does not lift it
    assert h.account in h.engine.gate.blocked_accounts
    h.ctx.clock.advance(timedelta(minutes=1))
    KiteSessionExchange(h.ctx, h.user.id).exchange(h.account, h.sandbox.issue_request_token())
    h.settle()
    assert h.account not in h.engine.gate.blocked_accounts


def test_kill_switch_closes_a_live_position_at_kite(live: Callable[..., LiveHarness]) -> None:
    h = live()
    h.tick("INFY", "1520.00")
    h.advance_to(9, 30)
    h.settle()
    report = h.engine.kill_switch(h.user.id)
    assert report.exit_orders == 1 and report.errors == []
    buy, exit_ = h.sandbox.received_orders
    assert exit_.params["transaction_type"] == "SELL" and exit_.params["quantity"] == "10"
    orders = h.orders()
    assert [o.reason.value for o in orders] == ["BUY", "EXIT"]
    assert orders[1].broker_account_id == h.account
    assert exit_.params["tag"] == orders[1].client_tag
    h.settle()
    with h.ctx.session() as s:
        assert s.exec(select(Position)).one().status is PositionStatus.CLOSED


def test_protected_market_buy_rests_and_fills_in_parts(live: Callable[..., LiveHarness]) -> None:
    """Kite holds the MARKET BUY as a limit at its protection price: 4 of 10 fill at once,
    the rest works at the exchange and fills later, announced by the ticker's updates."""
    h = live()
    h.sandbox.set_liquidity("INFY", 4)
    announced: queue.Queue[dict[str, Any]] = queue.Queue()
    h.sandbox.add_order_listener(lambda _user, data: announced.put(data))  # the ticker's
    h.tick("INFY", "1520.00")
    h.advance_to(9, 30)
    h.settle()
    [buy] = h.orders()
    assert buy.status is OrderStatus.PARTIALLY_FILLED and buy.filled_quantity == 4
    assert buy.intent_state is IntentState.SENT and buy.error is None
    with h.ctx.session() as s:
        assert s.exec(select(Position)).one().quantity == 4
    assert h.engine.router.get(h.strategy.id).armed  # what is held is watched
    h.sandbox.set_liquidity("INFY", None)
    h.sandbox.set_price("INFY", "1524")
    broker = h.engine.brokers.for_account(h.user.id, h.account)
    while True:
        update = announced.get(timeout=5)
        broker.apply_order_update(update)  # as the Kite ticker feed hands it over
        if update["status"] == "COMPLETE":
            break
    h.settle()
    [buy] = h.orders()
    assert buy.status is OrderStatus.FILLED and buy.filled_quantity == 10
    assert buy.average_price == Decimal("1522.4") and buy.intent_state is IntentState.DONE
    assert len(h.sandbox.received_orders) == 1  # never re-sent
    with h.ctx.session() as s:
        pos = s.exec(select(Position)).one()
        assert pos.quantity == 10 and pos.status is PositionStatus.OPEN


def test_protected_exit_rests_until_the_price_comes_back(
        live: Callable[..., LiveHarness]) -> None:
    """The kill switch's MARKET SELL is held as a limit at its protection price: 4 sold at
    once; the price then falls through the limit and the rest waits, working (no second
    exit is sent), until the price is back within it."""
    h = live()
    h.tick("INFY", "1520.00")
    h.advance_to(9, 30)
    h.settle()
    h.sandbox.set_liquidity("INFY", 4)
    announced: queue.Queue[dict[str, Any]] = queue.Queue()
    h.sandbox.add_order_listener(lambda _user, data: announced.put(data))
    report = h.engine.kill_switch(h.user.id)
    assert report.exit_orders == 1 and report.errors == []
    h.settle()
    buy, exit_ = h.orders()
    assert exit_.status is OrderStatus.PARTIALLY_FILLED and exit_.filled_quantity == 4
    assert exit_.intent_state is IntentState.SENT
    h.sandbox.set_price("INFY", "1500")  # below the SELL's limit of 1512.40: nothing sells
    h.settle()
    assert h.orders()[1].filled_quantity == 4
    assert len(h.sandbox.received_orders) == 2  # the working exit is not sent again
    h.sandbox.set_liquidity("INFY", None)
    h.sandbox.set_price("INFY", "1513")
    broker = h.engine.brokers.for_account(h.user.id, h.account)
    while True:
        update = announced.get(timeout=5)
        broker.apply_order_update(update)
        if update["status"] == "COMPLETE":
            break
    h.settle()
    exit_ = h.orders()[1]
    assert exit_.status is OrderStatus.FILLED and exit_.filled_quantity == 10
    with h.ctx.session() as s:
        assert s.exec(select(Position)).one().status is PositionStatus.CLOSED
    assert len(h.sandbox.received_orders) == 2
