"""SSH-friendly Kite login: login URL, pasting the redirect, the checksum exchange with the
vault-held secret, the stored (encrypted) token and its 06:00 IST lapse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from tui_trader.brokers.kite import KiteBroker
from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.db.models import BrokerAccount
from tui_trader.db.models.brokers import TokenRefreshLog
from tui_trader.domain.clock import IST
from tui_trader.domain.errors import AuthError, ValidationError
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.kite_login import (
    KiteSessionExchange,
    lapse_after,
    login_url,
    parse_request_token,
)

from .conftest import API_KEY, API_SECRET, redirect_location


def test_login_url() -> None:
    assert login_url("abc123") == "https://kite.zerodha.com/connect/login?api_key=abc123&v=3"
    assert login_url("abc123", "http://127.0.0.1:8123/") == \
        "http://127.0.0.1:8123/connect/login?api_key=abc123&v=3"


@pytest.mark.parametrize("pasted", [
    "http://127.0.0.1/kite-redirect?request_token=AbC123xyz789&action=login&status=success",
    "  https://myapp.example/cb?action=login&type=login&status=success"
    "&request_token=AbC123xyz789  ",
    "request_token=AbC123xyz789&status=success",
    "?request_token=AbC123xyz789",
    "AbC123xyz789",
    "'AbC123xyz789'",
])
def test_parse_request_token_accepts(pasted: str) -> None:
    assert parse_request_token(pasted) == "AbC123xyz789"


@pytest.mark.parametrize("pasted, words", [
    ("", "paste"),
    ("http://127.0.0.1/kite-redirect?action=login&status=success", "no request_token"),
    ("http://x/cb?request_token=a&request_token=b", "no request_token"),
    ("http://x/cb?status=cancelled&request_token=AbC123xyz789", "cancelled"),
    ("not a token!", "no request_token"),
])
def test_parse_request_token_refuses(pasted: str, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_request_token(pasted)
    assert info.value.field == "request_token" and words in info.value.message


def test_lapse_after() -> None:
    assert lapse_after(datetime(2026, 1, 12, 10, 0, tzinfo=IST)) == \
        datetime(2026, 1, 13, 6, 0, tzinfo=IST)
    assert lapse_after(datetime(2026, 1, 13, 5, 59, tzinfo=IST)) == \
        datetime(2026, 1, 13, 6, 0, tzinfo=IST)
    assert lapse_after(datetime(2026, 1, 13, 6, 0, tzinfo=IST)) == \
        datetime(2026, 1, 14, 6, 0, tzinfo=IST)


@pytest.fixture
def ctx_sandbox(ctx, make_sandbox: Callable[..., KiteSandbox]) -> KiteSandbox:
    return make_sandbox(clock=ctx.clock)


def _account(ctx, sandbox: KiteSandbox, secret: str = API_SECRET):
    user = AuthService(ctx).sign_up("kite@example.com", "password-kite")
    view = BrokerAccountService(ctx, user.id).add_kite(API_KEY, secret, api_root=sandbox.url)
    return user, view.id


def test_exchange_stores_an_encrypted_token(ctx, ctx_sandbox: KiteSandbox) -> None:
    user, account = _account(ctx, ctx_sandbox)
    flow = KiteSessionExchange(ctx, user.id)
    assert flow.login_url(account) == ctx_sandbox.login_url
    expires_at = flow.exchange(account, redirect_location(ctx_sandbox))
    # ctx's clock: Monday 23 Nov 2026 09:00 IST -> lapses Tuesday 06:00 IST.
    assert expires_at == datetime(2026, 11, 24, 6, 0, tzinfo=IST)
    service = BrokerAccountService(ctx, user.id)
    creds = service.credentials(account)
    assert creds.token_expires_at == expires_at and creds.access_token
    with ctx.session() as s:
        row = s.get(BrokerAccount, account)
        assert row.broker_user_id == "SB1234"
        assert creds.access_token.reveal() not in str(row.access_token_enc)
        [log] = s.exec(select(TokenRefreshLog)).all()
        assert log.succeeded and log.expires_at == expires_at
    assert service.list()[0].token_state == "valid"
    broker = KiteBroker(creds.api_key, creds.access_token, root=creds.api_root,
                        clock=ctx.clock)
    assert broker.funds() == Decimal("1000000")
    # The request token is single-use: pasting the same URL again fails clearly.
    with pytest.raises(AuthError, match="request token is invalid or expired"):
        flow.exchange(account, redirect_location(ctx_sandbox).replace(
            "request_token=", "request_token=zz"))


def test_wrong_secret_fails_with_checksum_message(ctx, ctx_sandbox: KiteSandbox,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    user, account = _account(ctx, ctx_sandbox, secret="wrongsecret77")
    with pytest.raises(AuthError) as info:
        KiteSessionExchange(ctx, user.id).exchange(account, redirect_location(ctx_sandbox))
    message = info.value.message
    assert "invalid checksum" in message and "API secret" in message
    assert "wrongsecret77" not in message and "wrongsecret77" not in caplog.text
    assert info.value.__cause__ is None  # the SDK exception (and its request) is not chained
    with ctx.session() as s:
        [log] = s.exec(select(TokenRefreshLog)).all()
        assert not log.succeeded and log.message == message
    assert BrokerAccountService(ctx, user.id).credentials(account).access_token is None


def test_garbage_paste_is_a_validation_error(ctx, ctx_sandbox: KiteSandbox) -> None:
    user, account = _account(ctx, ctx_sandbox)
    with pytest.raises(ValidationError, match="request_token"):
        KiteSessionExchange(ctx, user.id).exchange(account, "http://x/cb?status=success")


def test_unreachable_kite_is_logged(ctx, ctx_sandbox: KiteSandbox) -> None:
    user = AuthService(ctx).sign_up("kite2@example.com", "password-kite")
    view = BrokerAccountService(ctx, user.id).add_kite(API_KEY, API_SECRET,
                                                       api_root="http://127.0.0.1:9")
    with pytest.raises(AuthError, match="could not reach Kite"):
        KiteSessionExchange(ctx, user.id, timeout=0.5).exchange(view.id, "AbC123xyz789")


def test_ticker_feed_from_the_vault(ctx, ctx_sandbox: KiteSandbox) -> None:
    from tui_trader.services.market_data import (
        download_instruments,
        kite_ticker_feed,
        symbol_tokens,
    )

    user, account = _account(ctx, ctx_sandbox)
    with pytest.raises(Exception, match="log in again"):
        kite_ticker_feed(ctx, user.id, account)
    KiteSessionExchange(ctx, user.id).exchange(account, redirect_location(ctx_sandbox))
    creds = BrokerAccountService(ctx, user.id).credentials(account)
    download_instruments(ctx, KiteBroker(creds.api_key, creds.access_token,
                                         root=creds.api_root, clock=ctx.clock))
    feed = kite_ticker_feed(ctx, user.id, account)
    assert feed.root == ctx_sandbox.ws_url
    assert feed.tokens["INFY"] == symbol_tokens(ctx)["INFY"] == 408065
    assert creds.access_token.reveal() not in repr(feed)


def test_the_configured_kite_root_serves_login_and_exchange(ctx, ctx_sandbox: KiteSandbox,
                                                           monkeypatch) -> None:
    """An account with no API root of its own follows TUI_TRADER_KITE_ROOT (the sandbox to
    practise on) for the login URL and the token exchange, as the broker and ticker do."""
    monkeypatch.setattr(ctx.settings, "kite_root", ctx_sandbox.url)
    user = AuthService(ctx).sign_up("root@example.com", "password-root")
    account = BrokerAccountService(ctx, user.id).add_kite(API_KEY, API_SECRET).id
    flow = KiteSessionExchange(ctx, user.id)
    assert flow.login_url(account) == ctx_sandbox.login_url
    assert flow.exchange(account, redirect_location(ctx_sandbox)) > ctx.clock.now()
