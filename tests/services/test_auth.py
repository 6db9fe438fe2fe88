"""Sign-up, login, lockout with time left, session expiry, logout."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tui_trader.db.models import User
from tui_trader.domain.errors import AccountLockedError, AuthError, ValidationError
from tui_trader.services.auth import AuthService


def test_sign_up_then_login_and_resume(ctx):
    auth = AuthService(ctx)
    assert not auth.has_users()
    user = auth.sign_up("Trader@Example.com", "correct horse", name="Asha")
    assert user.email == "trader@example.com"
    result = auth.login("trader@example.com", "correct horse")
    assert result.user.id == user.id
    assert "correct horse" not in repr(result) and result.token not in repr(result)
    assert auth.resume(result.token).id == user.id
    with ctx.session() as s:
        stored = s.get(User, user.id)
        assert stored.password_hash.startswith("$argon2id$")
        assert "correct horse" not in stored.password_hash
        assert stored.last_login == ctx.clock.now()


@pytest.mark.parametrize("email,password,field", [
    ("a@example.com", "password1", "password"),
    ("a@example.com", "Qwerty2024!", "password"),
    ("a@example.com", "12345678", "password"),
    ("not-an-email", "longenough", "email"),
    ("", "longenough", "email"),
    ("a@example.com", "short", "password"),
    ("a@example.com", "with\x07bell!", "password"),
])
def test_bad_sign_up_names_the_field_and_writes_nothing(ctx, email, password, field):
    auth = AuthService(ctx)
    with pytest.raises(ValidationError) as err:
        auth.sign_up(email, password)
    assert err.value.field == field
    assert not auth.has_users()


def test_duplicate_email(ctx):
    auth = AuthService(ctx)
    auth.sign_up("a@example.com", "pass-word-one")
    with pytest.raises(ValidationError, match="Email: is already registered"):
        auth.sign_up("A@example.com", "pass-word-two")


def test_wrong_password_and_unknown_email_say_the_same(ctx):
    auth = AuthService(ctx)
    auth.sign_up("a@example.com", "pass-word-one")
    with pytest.raises(AuthError) as wrong:
        auth.login("a@example.com", "nope-nope")
    with pytest.raises(AuthError) as unknown:
        auth.login("b@example.com", "nope-nope")
    assert str(wrong.value) == str(unknown.value)
    assert "nope-nope" not in str(wrong.value)


def test_lockout_after_repeated_failures_then_unlock(ctx):
    auth = AuthService(ctx)
    auth.sign_up("a@example.com", "pass-word-one")
    limit = ctx.settings.max_failed_logins
    for _ in range(limit - 1):
        with pytest.raises(AuthError):
            auth.login("a@example.com", "wrong-pass")
    with pytest.raises(AccountLockedError) as locked:
        auth.login("a@example.com", "wrong-pass")
    assert locked.value.seconds_left == ctx.settings.lockout_minutes * 60
    # Even the right password is refused while locked, with the time left.
    ctx.clock.advance(timedelta(minutes=5))
    with pytest.raises(AccountLockedError) as still:
        auth.login("a@example.com", "pass-word-one")
    assert 0 < still.value.seconds_left <= (ctx.settings.lockout_minutes - 5) * 60 + 1
    assert "try again in" in str(still.value)
    ctx.clock.advance(timedelta(minutes=ctx.settings.lockout_minutes))
    assert auth.login("a@example.com", "pass-word-one").user.email == "a@example.com"


def test_session_expires_and_logout_revokes(ctx):
    auth = AuthService(ctx)
    auth.sign_up("a@example.com", "pass-word-one")
    first = auth.login("a@example.com", "pass-word-one")
    ctx.clock.advance(timedelta(hours=ctx.settings.session_hours, seconds=1))
    with pytest.raises(AuthError, match="expired"):
        auth.resume(first.token)
    second = auth.login("a@example.com", "pass-word-one")
    auth.logout(second.token)
    with pytest.raises(AuthError, match="Not signed in"):
        auth.resume(second.token)


def test_a_common_password_is_refused_with_the_reason(ctx):
    with pytest.raises(ValidationError) as err:
        AuthService(ctx).sign_up("a@example.com", "Password2024!")
    assert str(err.value) == "Password: is a common password; choose another"
    assert AuthService(ctx).sign_up("a@example.com", "plum-orbit-kettle").email == \
        "a@example.com"
