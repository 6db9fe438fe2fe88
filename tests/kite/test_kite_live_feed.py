"""The console's in-process engine moves from simulated prices to the user's Kite ticker once
they have a Kite session: LIVE strategies may then start, and a stop-loss fires on a price
that came over the real ticker protocol, ending as an order at the (local) Kite server."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from sqlmodel import select

from tui_trader.brokers.feeds.simulated import SimulatedFeed
from tui_trader.brokers.kite import KiteBroker
from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.db.models import Order
from tui_trader.domain.clock import IST
from tui_trader.domain.enums import OrderStatus
from tui_trader.engine.embedded import EmbeddedEngine
from tui_trader.engine.scheduler import ManualSchedule
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.engine_control import StrategyControl
from tui_trader.services.kite_login import KiteSessionExchange
from tui_trader.services.live_brokers import make_live_factory
from tui_trader.services.live_feed import connect_live_feed
from tui_trader.services.market_data import download_instruments, symbol_tokens
from tui_trader.services.strategies import StrategyService

from .conftest import API_KEY, API_SECRET, BIG, redirect_location

FORM = {"name": "INFY live", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
        "stop_loss": "1500", "quantity": "10", "mode": "LIVE"}


def _wait(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)  # polling a condition with a deadline, not timing anything


def test_the_console_engine_goes_live_with_a_kite_session(
        ctx, make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(clock=ctx.clock)
    sandbox.set_price("INFY", "1520")
    user = AuthService(ctx).sign_up("feed@example.com", "password-feed")
    accounts = BrokerAccountService(ctx, user.id)
    account = accounts.add_kite(API_KEY, API_SECRET, api_root=sandbox.url).id
    strategy = StrategyService(ctx, user.id).create({**FORM, "broker_account_id": str(account)})
    runner = ManualSchedule()
    engine = EmbeddedEngine(ctx, feed=SimulatedFeed(seed=1, clock=ctx.clock), runner=runner,
                            consumer="console", live_factory=make_live_factory(ctx, limits=BIG))
    control = StrategyControl(ctx, user.id, engine)
    engine.start(threads=False)
    try:
        assert engine.health().feed == "simulated"
        # No Kite session yet: nothing to connect, and LIVE is refused on made-up prices.
        assert connect_live_feed(ctx, engine, user.id) is None
        try:
            control.start(strategy.id, confirm_live=True)
        except Exception as exc:
            assert "simulated feed" in str(exc)
        else:
            raise AssertionError("a LIVE strategy started on the simulated feed")

        KiteSessionExchange(ctx, user.id).exchange(account, redirect_location(sandbox))
        creds = accounts.credentials(account)
        download_instruments(ctx, KiteBroker(creds.api_key, creds.access_token,
                                             root=creds.api_root, clock=ctx.clock))
        note = connect_live_feed(ctx, engine, user.id)
        assert note is not None and "Kite" in note
        assert engine.health().feed == "kite"
        # The watchdog knows the market's hours: a quiet Sunday is not a stale feed.
        assert engine.feed.is_market_open(datetime(2026, 11, 22, 10, 0, tzinfo=IST)) is False
        assert engine.feed.is_market_open(ctx.clock.now().replace(hour=5)) is True  # 10:30
        assert connect_live_feed(ctx, engine, user.id) is None  # already live: one way
        control.start(strategy.id, confirm_live=True)

        token = symbol_tokens(ctx)["INFY"]
        _wait(lambda: (sandbox.push_tick(token, "1520.00")
                       or engine.router.last_price("INFY") == Decimal("1520.00")),
              "the first INFY tick over the Kite ticker")
        local = ctx.clock.now().astimezone(IST)
        ctx.clock.set(datetime(local.year, local.month, local.day, 9, 30, tzinfo=IST))
        runner.run_due(ctx.clock.now())
        engine.executor.drain()
        _wait(lambda: len(sandbox.received_orders) == 1, "the BUY at the Kite server")
        _wait(lambda: (engine.maintain() or engine.executor.drain() or True) and
              engine.router.get(strategy.id).armed, "the BUY filled and the stop armed")

        sandbox.set_price("INFY", "1495")
        _wait(lambda: (sandbox.push_tick(token, "1495.00") or engine.executor.drain() or True)
              and len(sandbox.received_orders) == 2, "the stop-loss exit at the Kite server")
        engine.executor.drain()
        with ctx.session() as s:
            orders = s.exec(select(Order).order_by(Order.created_at)).all()
        assert [o.reason.value for o in orders] == ["BUY", "STOPLOSS"]
        exit_params = sandbox.received_orders[1].params
        assert exit_params["transaction_type"] == "SELL" and exit_params["tag"] == \
            orders[1].client_tag
        _wait(lambda: (engine.maintain() or engine.executor.drain() or True) and
              _status(ctx, orders[1].id) is OrderStatus.FILLED, "the exit filled")
    finally:
        engine.stop()


def _status(ctx, order_id) -> OrderStatus:
    with ctx.session() as s:
        return s.get(Order, order_id).status


def test_after_the_daily_relogin_the_ticker_reconnects_with_the_new_token(
        ctx, make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(clock=ctx.clock)
    user = AuthService(ctx).sign_up("relogin@example.com", "password-feed")
    accounts = BrokerAccountService(ctx, user.id)
    account = accounts.add_kite(API_KEY, API_SECRET, api_root=sandbox.url).id
    flow = KiteSessionExchange(ctx, user.id)
    flow.exchange(account, redirect_location(sandbox))
    creds = accounts.credentials(account)
    download_instruments(ctx, KiteBroker(creds.api_key, creds.access_token,
                                         root=creds.api_root, clock=ctx.clock))
    engine = EmbeddedEngine(ctx, feed=SimulatedFeed(seed=1, clock=ctx.clock),
                            runner=ManualSchedule(), consumer="relogin")
    engine.start(threads=False)
    try:
        assert connect_live_feed(ctx, engine, user.id) is not None
        feed = engine.feed
        feed.subscribe(["INFY"])
        token = symbol_tokens(ctx)["INFY"]
        _wait(lambda: (sandbox.push_tick(token, "1520.00")
                       or engine.router.last_price("INFY") == Decimal("1520.00")),
              "ticks on the first session")
        old = accounts.credentials(account).access_token
        sandbox.revoke_tokens()  # 06:00 IST: the session lapses
        sandbox.drop_sockets()
        flow.exchange(account, redirect_location(sandbox))  # the trader logs in again
        assert not feed.uses_token(accounts.credentials(account).access_token)
        note = connect_live_feed(ctx, engine, user.id)
        assert note is not None and "reconnected" in note
        assert feed.uses_token(accounts.credentials(account).access_token)
        assert not feed.uses_token(old)
        _wait(lambda: (sandbox.push_tick(token, "1533.00")
                       or engine.router.last_price("INFY") == Decimal("1533.00")),
              "ticks again on the new session")
    finally:
        engine.stop()
