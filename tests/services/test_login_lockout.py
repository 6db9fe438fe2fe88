"""Login lockout: counted before the password is checked (so a burst of attempts cannot check
more passwords than the limit), per email address for real and made-up addresses alike (so
the answers never tell which addresses have accounts), bounded, and cleared by an admin."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tui_trader.db.models import LoginAttempt
from tui_trader.domain.errors import AccountLockedError, AuthError, LoginRefusedError
from tui_trader.security import passwords
from tui_trader.services.auth import AuthService

PASSWORD = "password-a-1"


class CountingHasher:
    """The real argon2 hasher, counting verifications (the cost a lockout must bound)."""

    def __init__(self, real) -> None:
        self._real = real
        self._lock = threading.Lock()
        self.verifications = 0

    def verify(self, *args, **kwargs):
        with self._lock:
            self.verifications += 1
        return self._real.verify(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def hasher(monkeypatch) -> CountingHasher:
    counting = CountingHasher(passwords._HASHER)
    monkeypatch.setattr(passwords, "_HASHER", counting)
    return counting


def _burst(auth: AuthService, email: str, password: str, n: int) -> list[BaseException]:
    """`n` logins at once from `n` threads; every outcome (each must be an AuthError)."""
    gate = threading.Barrier(n)
    outcomes: list[BaseException | None] = [None] * n

    def attempt(i: int) -> None:
        gate.wait()
        try:
            auth.login(email, password)
        except BaseException as exc:  # collected and checked below
            outcomes[i] = exc

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), "a login hung"
    return outcomes


@pytest.mark.parametrize("known", [True, False], ids=["real-address", "made-up-address"])
def test_thirty_concurrent_logins_check_at_most_the_limit(ctx, hasher, known):
    auth = AuthService(ctx)
    auth.sign_up("a@example.com", PASSWORD)
    hasher.verifications = 0
    email = "a@example.com" if known else "nobody@example.com"
    limit = ctx.settings.max_failed_logins

    outcomes = _burst(auth, email, "wrong-password", 30)

    assert all(isinstance(o, AuthError) for o in outcomes), outcomes
    assert hasher.verifications <= limit
    assert sum(isinstance(o, AccountLockedError) for o in outcomes) >= 30 - limit + 1
    # Locked now: even the right password checks nothing until the lock ends.
    with pytest.raises(AccountLockedError):
        auth.login(email, PASSWORD)
    assert hasher.verifications <= limit


def test_a_real_and_a_made_up_address_get_the_same_answers(ctx, hasher):
    auth = AuthService(ctx)
    auth.sign_up("real@example.com", PASSWORD)
    limit = ctx.settings.max_failed_logins

    def answers(email: str) -> tuple[list[str], int]:
        hasher.verifications = 0
        said = []
        for _ in range(limit + 1):
            with pytest.raises(AuthError) as err:
                auth.login(email, "not-the-password")
            said.append(str(err.value))
        return said, hasher.verifications

    real, real_checks = answers("real@example.com")
    made_up, made_up_checks = answers("made-up@example.com")
    assert real == made_up
    assert real_checks == made_up_checks == limit  # the same cost, and none while locked
    assert real[0] == (f"password: email or password is incorrect; {limit - 1} attempts left "
                       f"before a {ctx.settings.lockout_minutes}-minute lock")
    assert "1 attempt left" in real[limit - 2]
    assert real[limit - 1].startswith("locked after repeated failed logins; try again in 15m")
    ctx.clock.advance(timedelta(minutes=4, seconds=30))
    for email in ("real@example.com", "made-up@example.com"):
        with pytest.raises(AccountLockedError) as err:
            auth.login(email, PASSWORD)
        assert err.value.seconds_left == 10 * 60 + 30
        assert str(err.value).endswith("try again in 10m 30s")


def test_the_right_password_clears_the_count(ctx):
    auth = AuthService(ctx)
    auth.sign_up("a@example.com", PASSWORD)
    for _ in range(ctx.settings.max_failed_logins - 1):
        with pytest.raises(LoginRefusedError):
            auth.login("a@example.com", "wrong-password")
    auth.login("a@example.com", PASSWORD)
    with pytest.raises(LoginRefusedError) as err:
        auth.login("a@example.com", "wrong-password")
    assert err.value.attempts_left == ctx.settings.max_failed_logins - 1


def test_failures_are_forgotten_after_a_quiet_window(ctx):
    auth = AuthService(ctx)
    for _ in range(3):
        with pytest.raises(LoginRefusedError):
            auth.login("a@example.com", "wrong-password")
    ctx.clock.advance(timedelta(minutes=ctx.settings.lockout_minutes, seconds=1))
    with pytest.raises(LoginRefusedError) as err:
        auth.login("a@example.com", "wrong-password")
    assert err.value.attempts_left == ctx.settings.max_failed_logins - 1


def _tracked(ctx) -> int:
    with ctx.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(LoginAttempt)).scalar_one()


def test_made_up_addresses_cannot_fill_the_database(ctx, monkeypatch):
    from tui_trader.db.repositories import login_attempts

    monkeypatch.setattr(login_attempts, "MAX_TRACKED", 8)
    auth = AuthService(ctx)
    auth.sign_up("real@example.com", PASSWORD)
    for _ in range(ctx.settings.max_failed_logins):  # a locked address is never evicted
        with pytest.raises(AuthError):
            auth.login("real@example.com", "wrong-password")
    for n in range(20):
        with pytest.raises(LoginRefusedError):
            auth.login(f"flood{n}@example.com", "wrong-password")
        assert _tracked(ctx) <= 8
    with pytest.raises(AccountLockedError):
        auth.login("real@example.com", PASSWORD)
    # Rounds that are over are deleted as soon as any new one starts.
    ctx.clock.advance(timedelta(minutes=2 * ctx.settings.lockout_minutes, seconds=1))
    with pytest.raises(LoginRefusedError):
        auth.login("someone@example.com", "wrong-password")
    assert _tracked(ctx) == 1


def test_unlock_clears_a_lock_at_once(ctx):
    auth = AuthService(ctx)
    auth.sign_up("a@example.com", PASSWORD)
    for _ in range(ctx.settings.max_failed_logins):
        with pytest.raises(AuthError):
            auth.login("a@example.com", "wrong-password")
    with pytest.raises(AccountLockedError):
        auth.login("a@example.com", PASSWORD)
    assert auth.unlock(" A@Example.com ") is True
    assert auth.login("a@example.com", PASSWORD).user.email == "a@example.com"
    assert auth.unlock("a@example.com") is False
