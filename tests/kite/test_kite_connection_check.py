"""The Brokers screen's connection test, as the service the console calls: paper always
can trade, a Kite account needs its session, and Kite's own answer says the key and token
work."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.domain.errors import NotFoundError
from tui_trader.services.auth import AuthService
from tui_trader.services.broker_check import ConnectionCheck, check_connection
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.kite_login import KiteSessionExchange

from .conftest import API_KEY, API_SECRET, redirect_location


@pytest.fixture
def ctx_sandbox(ctx, make_sandbox: Callable[..., KiteSandbox]) -> KiteSandbox:
    return make_sandbox(clock=ctx.clock)


@pytest.fixture
def trader(ctx):
    return AuthService(ctx).sign_up("check@example.com", "password-check")


def test_a_paper_account_needs_no_connection(ctx, trader):
    account = BrokerAccountService(ctx, trader.id).add_paper("Paper")
    assert check_connection(ctx, trader.id, account.id) == ConnectionCheck(
        "Paper: OK (simulated fills; no connection needed)", ready=True)


def test_a_kite_account_without_a_session_is_told_to_log_in(ctx, trader, ctx_sandbox):
    account = BrokerAccountService(ctx, trader.id).add_kite(API_KEY, API_SECRET,
                                                            api_root=ctx_sandbox.url)
    assert check_connection(ctx, trader.id, account.id) == ConnectionCheck(
        "Kite: no access token yet; log in first (l)", ready=False)


def test_a_kite_account_with_a_session_asks_kite(ctx, trader, ctx_sandbox):
    account = BrokerAccountService(ctx, trader.id).add_kite(API_KEY, API_SECRET,
                                                            api_root=ctx_sandbox.url)
    KiteSessionExchange(ctx, trader.id).exchange(account.id, redirect_location(ctx_sandbox))
    assert check_connection(ctx, trader.id, account.id) == ConnectionCheck(
        "Kite: OK, available cash 1,000,000.00", ready=True)


def test_another_users_account_is_not_found(ctx, trader):
    account = BrokerAccountService(ctx, trader.id).add_paper("Paper")
    other = AuthService(ctx).sign_up("other@example.com", "password-other")
    with pytest.raises(NotFoundError):
        check_connection(ctx, other.id, account.id)


def test_an_account_without_its_own_api_root_is_tested_where_it_logged_in(
        ctx, trader, ctx_sandbox, monkeypatch):
    """TUI_TRADER_KITE_ROOT serves every account that names no API root: the login, the
    engine's orders and the connection test all go there."""
    monkeypatch.setattr(ctx.settings, "kite_root", ctx_sandbox.url)
    account = BrokerAccountService(ctx, trader.id).add_kite(API_KEY, API_SECRET)
    KiteSessionExchange(ctx, trader.id).exchange(account.id, redirect_location(ctx_sandbox))
    assert check_connection(ctx, trader.id, account.id) == ConnectionCheck(
        "Kite: OK, available cash 1,000,000.00", ready=True)
