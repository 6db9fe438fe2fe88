"""`tui-trader keys rotate` against credential writes running at the same time, and against a
row that no longer decrypts: no credential is ever lost, and a rotation that cannot vouch
for every row retires nothing. Each race is staged with events, never with sleeps."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService, rotate_master_key

API_KEY = "kiteKEY9f3a7c21"
API_SECRET = "s3cr3t-7d1e0b9c-a44f"
OLD_TOKEN = "acc3ssT0k3n-0ld-1111"
NEW_TOKEN = "acc3ssT0k3n-n3w-2222"
DEADLINE_S = 30


@pytest.fixture
def accounts(ctx):
    user = AuthService(ctx).sign_up("a@example.com", "password-a")
    return BrokerAccountService(ctx, user.id)


class Worker(threading.Thread):
    """Runs `job` on its own thread; `turn` is set when it finishes (or fails)."""

    def __init__(self, name: str, job: Callable[[], object], turn: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.job, self.turn = job, turn
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.job()
        except BaseException as exc:  # re-raised by finish()
            self.error = exc
        finally:
            self.turn.set()

    def finish(self) -> object:
        self.join(DEADLINE_S)
        assert not self.is_alive(), f"{self.name} hung"
        if self.error is not None:
            raise self.error
        return self.result


def _wait(event: threading.Event, what: str) -> None:
    assert event.wait(DEADLINE_S), f"timed out waiting for {what}"


def _pause_in(ctx, monkeypatch, method: str, thread: str, reached: threading.Event,
              release: threading.Event, when: Callable[[str], bool] = lambda _c: True) -> None:
    """Make the vault's `method` stop on thread `thread` (once reached, until released)."""
    real = getattr(ctx.vault, method)

    def paused(*args, **kwargs):
        result = real(*args, **kwargs)
        if threading.current_thread().name == thread and when(kwargs["context"]) \
                and not reached.is_set():
            reached.set()
            _wait(release, f"the test to let {thread} go on")
        return result

    monkeypatch.setattr(ctx.vault, method, paused)


def test_a_write_in_progress_when_rotation_starts_is_rotated_too(accounts, ctx, monkeypatch):
    """The writer has sealed the new token (under the key about to be retired) and not yet
    committed: the rotation waits for it, then re-encrypts what it wrote."""
    view = accounts.add_kite(API_KEY, API_SECRET, label="Main")
    old_key = ctx.vault.current_key_id()
    sealed, release, turn = threading.Event(), threading.Event(), threading.Event()
    _pause_in(ctx, monkeypatch, "encrypt", "writer", sealed, release,
              when=lambda context: context.endswith(":access_token_enc"))
    expires = ctx.clock.now() + timedelta(hours=5)
    writer = Worker("writer", lambda: accounts.store_access_token(view.id, NEW_TOKEN, expires),
                    threading.Event())
    writer.start()
    _wait(sealed, "the writer to seal the token")

    waited = threading.Event()

    def on_wait() -> None:
        waited.set()
        turn.set()

    rotation = Worker("rotation", lambda: rotate_master_key(ctx, waiting=on_wait), turn)
    rotation.start()
    _wait(turn, "the rotation to wait for the writer, or to finish")
    release.set()
    writer.finish()
    report = rotation.finish()

    creds = accounts.credentials(view.id)
    assert creds.access_token.reveal() == NEW_TOKEN
    assert creds.api_key.reveal() == API_KEY
    assert report.ok and report.retired == (old_key,), report.summary()
    assert waited.is_set(), "the rotation did not wait for the write in progress"


class _Said(logging.Handler):
    """Sets `heard` (and `turn`) when a log line containing `needle` is emitted."""

    def __init__(self, needle: str, turn: threading.Event) -> None:
        super().__init__(logging.INFO)
        self.needle, self.turn = needle, turn
        self.heard = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.heard.set()
            self.turn.set()


def test_a_write_that_arrives_during_rotation_waits_and_is_kept(accounts, ctx, monkeypatch):
    """The rotation has read the rows and is re-encrypting them when a new token is stored:
    the writer waits, and its token is neither lost nor overwritten by the old one."""
    view = accounts.add_kite(API_KEY, API_SECRET, label="Main")
    expires = ctx.clock.now() + timedelta(hours=5)
    accounts.store_access_token(view.id, OLD_TOKEN, expires)
    old_key = ctx.vault.current_key_id()
    reading, release = threading.Event(), threading.Event()
    _pause_in(ctx, monkeypatch, "reencrypt", "rotation", reading, release)
    rotation = Worker("rotation", lambda: rotate_master_key(ctx), threading.Event())
    rotation.start()
    _wait(reading, "the rotation to be re-encrypting")

    turn = threading.Event()
    fence_log = logging.getLogger("tui_trader.db.credential_fence")
    said = _Said("credential write waits for a master-key rotation", turn)
    fence_log.addHandler(said)
    level = fence_log.level
    fence_log.setLevel(logging.INFO)  # setLevel: it also clears the loggers' level caches
    try:
        writer = Worker("writer",
                        lambda: accounts.store_access_token(view.id, NEW_TOKEN, expires), turn)
        writer.start()
        _wait(turn, "the writer to wait for the rotation, or to finish")
        writer_waited = said.heard.is_set()
        release.set()
        report = rotation.finish()
        writer.finish()
    finally:
        fence_log.removeHandler(said)
        fence_log.setLevel(level)

    assert accounts.credentials(view.id).access_token.reveal() == NEW_TOKEN
    assert report.ok and report.retired == (old_key,), report.summary()
    assert writer_waited, "the writer did not wait for the rotation"
    with ctx.db.connect() as conn:
        assert conn.execute(sa.text("SELECT key_id FROM broker_accounts")).scalar_one() == \
            report.new_key_id


def test_a_row_that_does_not_decrypt_stops_retirement_and_is_named(accounts, ctx):
    good = accounts.add_kite(API_KEY, API_SECRET, label="Main")
    other = AuthService(ctx).sign_up("b@example.com", "password-b")
    broken = BrokerAccountService(ctx, other.id).add_kite("otherKEY123", "other-secret",
                                                          label="Desk")
    with ctx.db.begin() as conn:  # someone copied another column's ciphertext into it
        conn.execute(sa.text("UPDATE broker_accounts SET api_secret_enc = api_key_enc "
                             "WHERE id = :id"), {"id": broken.id.hex
                                                if ctx.db.dialect.name == "sqlite"
                                                else broken.id})
    old_key = ctx.vault.current_key_id()

    report = rotate_master_key(ctx)

    assert not report.ok and report.retired == ()
    (failure,) = report.failures
    assert failure.where() == "'Desk' of b@example.com/api_secret_enc"
    assert "'Desk' of b@example.com/api_secret_enc: stored credential failed " \
           "authentication" in report.summary()
    assert "no key retired" in report.summary()
    assert old_key in ctx.vault.keystore.key_ids()
    # Nothing was half done: every other credential still opens.
    assert accounts.credentials(good.id).api_secret.reveal() == API_SECRET
    assert API_SECRET not in report.summary() and "other-secret" not in report.summary()
