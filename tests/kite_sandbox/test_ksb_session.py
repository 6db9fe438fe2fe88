"""Login, sessions and the request envelope, through the real kiteconnect client."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException, TokenException

from tui_trader.brokers.kite_sandbox import KiteSandbox, checksum, lapse_time
from tui_trader.domain.clock import IST, FrozenClock

from .conftest import API_KEY, API_SECRET, MONDAY_10AM, login, request_token


def test_scripted_login_returns_a_kite_session(sandbox: KiteSandbox) -> None:
    kite = KiteConnect(API_KEY, root=sandbox.url)
    data = kite.generate_session(request_token(sandbox), API_SECRET)
    assert kite.access_token == data["access_token"]
    # 19-char IST string, parsed by the client into a (naive, IST) datetime.
    assert data["login_time"] == MONDAY_10AM.replace(tzinfo=None)
    assert data["user_id"] == "SB1234"
    assert data["broker"] == "ZERODHA"
    for key in ("user_name", "email", "exchanges", "products", "order_types", "public_token"):
        assert key in data
    assert kite.profile()["user_id"] == "SB1234"


def test_login_redirect_carries_kite_query(sandbox: KiteSandbox) -> None:
    response = requests.get(f"{sandbox.url}/connect/login",
                            params={"api_key": API_KEY, "v": "3", "redirect_params": "a=1"},
                            allow_redirects=False, timeout=5)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("http://127.0.0.1/kite-redirect?")
    for part in ("action=login", "status=success", "request_token=", "a=1"):
        assert part in location


def test_login_with_unknown_api_key_is_refused(sandbox: KiteSandbox) -> None:
    response = requests.get(f"{sandbox.url}/connect/login",
                            params={"api_key": "nope", "v": "3"}, allow_redirects=False,
                            timeout=5)
    assert response.status_code == 400
    assert response.json()["error_type"] == "InputException"


def test_wrong_checksum_is_a_token_exception(sandbox: KiteSandbox) -> None:
    kite = KiteConnect(API_KEY, root=sandbox.url)
    with pytest.raises(TokenException) as info:
        kite.generate_session(request_token(sandbox), "not-the-secret")
    assert info.value.code == 403


def test_request_token_is_single_use(sandbox: KiteSandbox) -> None:
    token = request_token(sandbox)
    KiteConnect(API_KEY, root=sandbox.url).generate_session(token, API_SECRET)
    with pytest.raises(TokenException):
        KiteConnect(API_KEY, root=sandbox.url).generate_session(token, API_SECRET)


def test_request_token_expires(sandbox: KiteSandbox, clock: FrozenClock) -> None:
    token = request_token(sandbox)
    clock.advance(timedelta(minutes=6))
    with pytest.raises(TokenException):
        KiteConnect(API_KEY, root=sandbox.url).generate_session(token, API_SECRET)


def test_access_token_lapses_at_six_ist_next_day(sandbox: KiteSandbox,
                                                  clock: FrozenClock) -> None:
    kite = login(sandbox)
    expired: list[bool] = []
    kite.set_session_expiry_hook(lambda: expired.append(True))
    clock.set(datetime(2026, 1, 13, 5, 59, 59, tzinfo=IST))
    assert kite.profile()["user_id"] == "SB1234"
    clock.set(datetime(2026, 1, 13, 6, 0, 0, tzinfo=IST))
    with pytest.raises(TokenException) as info:
        kite.profile()
    assert info.value.code == 403
    assert expired == [True]


def test_lapse_time_rule() -> None:
    early = datetime(2026, 1, 12, 3, 0, tzinfo=IST)
    assert lapse_time(early) == datetime(2026, 1, 12, 6, 0, tzinfo=IST)
    assert lapse_time(MONDAY_10AM) == datetime(2026, 1, 13, 6, 0, tzinfo=IST)
    assert lapse_time(datetime(2026, 1, 12, 6, 0, tzinfo=IST)) == datetime(
        2026, 1, 13, 6, 0, tzinfo=IST)


def test_logout_invalidates_the_token(kite: KiteConnect) -> None:
    assert kite.invalidate_access_token() is True
    with pytest.raises(TokenException):
        kite.profile()


def test_revoke_tokens(sandbox: KiteSandbox, kite: KiteConnect) -> None:
    sandbox.revoke_tokens()
    with pytest.raises(TokenException):
        kite.orders()
    # A fresh login works again.
    assert login(sandbox).profile()["user_id"] == "SB1234"


def test_bad_credentials_are_403(sandbox: KiteSandbox) -> None:
    with pytest.raises(TokenException):
        KiteConnect(API_KEY, access_token="bogus", root=sandbox.url).profile()
    with pytest.raises(TokenException):
        KiteConnect(API_KEY, root=sandbox.url).profile()  # no Authorization header
    token = sandbox.issue_access_token()
    with pytest.raises(TokenException):
        KiteConnect("otherkey", access_token=token, root=sandbox.url).profile()


def test_version_header_is_required(sandbox: KiteSandbox) -> None:
    token = sandbox.issue_access_token()
    response = requests.get(f"{sandbox.url}/user/profile",
                            headers={"Authorization": f"token {API_KEY}:{token}"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error_type"] == "InputException"
    ok = requests.get(f"{sandbox.url}/user/profile", timeout=5,
                      headers={"Authorization": f"token {API_KEY}:{token}",
                               "X-Kite-Version": "3"})
    assert ok.status_code == 200
    assert ok.headers["Content-Type"].startswith("application/json")
    assert ok.json()["status"] == "success"


def test_error_envelope_shape(sandbox: KiteSandbox) -> None:
    response = requests.get(f"{sandbox.url}/no/such/route", headers={"X-Kite-Version": "3"},
                            timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body == {"status": "error", "message": "Route not found",
                    "error_type": "GeneralException", "data": None}


def test_missing_session_fields_are_input_errors(sandbox: KiteSandbox) -> None:
    response = requests.post(f"{sandbox.url}/session/token", data={"api_key": API_KEY},
                             headers={"X-Kite-Version": "3"}, timeout=5)
    assert response.status_code == 400
    assert response.json()["error_type"] == "InputException"
    with pytest.raises(InputException):
        KiteConnect("wrong", root=sandbox.url).generate_session("x", API_SECRET)


def test_checksum_helper_matches_the_client() -> None:
    import hashlib

    expected = hashlib.sha256(b"k" + b"r" + b"s").hexdigest()
    assert checksum("k", "r", "s") == expected


def test_profile_and_margins(kite: KiteConnect) -> None:
    profile = kite.profile()
    assert profile["user_id"] == "SB1234" and "NSE" in profile["exchanges"]
    both = kite.margins()
    assert set(both) == {"equity", "commodity"}
    equity = kite.margins("equity")
    assert equity["enabled"] is True
    assert equity["net"] == 1_000_000.0
    assert equity["available"]["cash"] == 1_000_000.0
    assert "debits" in equity["utilised"]
    assert kite.margins("commodity")["enabled"] is False
    with pytest.raises(InputException):
        kite.margins("crypto")
