"""NUL bytes and lone surrogates in any field a person can type: one clear error naming the
field (or, at the login door, the usual answer), never a database or encoding traceback, and
nothing written."""

from __future__ import annotations

import pytest

from tui_trader.domain.errors import AuthError, TuiTraderError, ValidationError
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.kite_login import parse_request_token
from tui_trader.services.strategies import StrategyService

BAD = {"nul": "ab\x00cd", "surrogate": "ab\ud800cd", "escaped-byte": "ab\udcffcd"}
FORM = {"name": "INFY morning", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
        "stop_loss": "1500", "quantity": "10"}


@pytest.fixture
def user(ctx):
    return AuthService(ctx).sign_up("a@example.com", "password-a")


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_sign_up_and_login(ctx, user, bad):
    auth = AuthService(ctx)
    for email, password, name, field in ((f"x{bad}@example.com", "password-x", None, "email"),
                                         ("x@example.com", f"pass{bad}word", None, "password"),
                                         ("x@example.com", "password-x", f"N{bad}", "name")):
        with pytest.raises(ValidationError) as err:
            auth.sign_up(email, password, name)
        assert err.value.field == field
    assert [u for u in ("x@example.com",) if _exists(ctx, u)] == []
    for email, password in ((f"a{bad}@example.com", "password-a"),
                            ("a@example.com", f"password{bad}")):
        with pytest.raises(AuthError):
            auth.login(email, password)
    # Counted like any address, and cleared like one.
    assert auth.unlock(f"a{bad}@example.com") is True
    assert auth.unlock(f"a{bad}@example.com") is False
    with pytest.raises(ValidationError):
        auth.set_theme(user.id, f"dark{bad}")


def _exists(ctx, email: str) -> bool:
    from tui_trader.db.repositories import UserRepository

    with ctx.session() as s:
        return UserRepository(s).by_email(email) is not None


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_broker_accounts(ctx, user, bad):
    accounts = BrokerAccountService(ctx, user.id)
    calls = [lambda: accounts.add_paper(f"Paper{bad}"),
             lambda: accounts.add_kite(f"key{bad}123", "secret-1"),
             lambda: accounts.add_kite("key123456", f"secret{bad}"),
             lambda: accounts.add_kite("key123456", "secret-1", label=f"L{bad}"),
             lambda: accounts.add_kite("key123456", "secret-1", api_root=f"https://a{bad}.in")]
    for call in calls:
        with pytest.raises(ValidationError):
            call()
    assert accounts.list() == []
    kite = accounts.add_kite("key123456", "secret-1")
    for call in (lambda: accounts.update_kite_keys(kite.id, api_secret=f"s{bad}"),
                 lambda: accounts.update_kite_keys(kite.id, label=f"L{bad}"),
                 lambda: accounts.store_access_token(kite.id, f"tok{bad}", ctx.clock.now())):
        with pytest.raises(ValidationError):
            call()
    with pytest.raises(ValidationError):
        parse_request_token(f"https://127.0.0.1/?request_token=ab{bad}")


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("field", sorted(FORM))
def test_strategy_forms(ctx, user, bad, field):
    strategies = StrategyService(ctx, user.id)
    with pytest.raises(ValidationError):
        strategies.create({**FORM, field: FORM[field] + bad})
    assert strategies.list() == []
    made = strategies.create(FORM)
    with pytest.raises(TuiTraderError):
        strategies.update(made.id, {**FORM, field: FORM[field] + bad})
    assert strategies.get(made.id).name == FORM["name"]
