"""No secret reaches a log line, an exception message or a repr on the Kite paths: login
(good and bad), orders, failures and a token lapse, with every logger at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from tui_trader.brokers.base import OrderRequest, OutcomeUnknown, TokenExpired
from tui_trader.brokers.kite import KiteBroker
from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.domain.errors import AuthError
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.kite_login import KiteSessionExchange

from .conftest import API_KEY, API_SECRET, redirect_location


def test_kite_paths_never_log_secrets(ctx, make_sandbox: Callable[..., KiteSandbox],
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox = make_sandbox(clock=ctx.clock)
    user = AuthService(ctx).sign_up("secret@example.com", "password-secret")
    accounts = BrokerAccountService(ctx, user.id)
    good = accounts.add_kite(API_KEY, API_SECRET, label="good", api_root=sandbox.url).id
    bad = accounts.add_kite(API_KEY, "otherSecret1234", label="bad", api_root=sandbox.url).id
    flow = KiteSessionExchange(ctx, user.id)
    messages: list[str] = []
    with pytest.raises(AuthError) as info:
        flow.exchange(bad, redirect_location(sandbox))
    messages.append(str(info.value))
    flow.exchange(good, redirect_location(sandbox))
    creds = accounts.credentials(good)
    token = creds.access_token.reveal()
    broker = KiteBroker(creds.api_key, creds.access_token, root=creds.api_root,
                        clock=ctx.clock)
    broker.place_order(OrderRequest("SECRET1", "INFY", "BUY", "MARKET", 1))
    sandbox.fail_next(1, status=502, path_prefix="/orders/")
    with pytest.raises(OutcomeUnknown) as unknown:
        broker.place_order(OrderRequest("SECRET2", "INFY", "BUY", "MARKET", 1))
    messages.append(str(unknown.value))
    sandbox.revoke_tokens()
    with pytest.raises(TokenExpired) as expired:
        broker.orders()
    messages.append(str(expired.value))
    messages += [repr(broker), repr(creds), repr(creds.access_token)]
    for secret in (API_SECRET, "otherSecret1234", token):
        assert secret not in caplog.text
        for text in messages:
            assert secret not in text
