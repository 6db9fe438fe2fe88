"""The engine's command channel in Redis carries out only commands signed by a signed-in
session of the user they act for; anything else (forged, someone else's session, logged out,
expired, altered, replayed) is refused with one line and logged. A LIVE start still needs
the trader's typed confirmation."""

from __future__ import annotations

import logging
import threading
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest

from tui_trader.domain.errors import AuthError
from tui_trader.engine import remote
from tui_trader.engine.remote import CONTROL_STREAM, SessionSigner
from tui_trader.security.session_tokens import token_hash
from tui_trader.services.auth import AuthService
from tui_trader.services.remote_engine import RemoteEngineControl
from tui_trader.services.strategies import StrategyService

from .conftest import FORM


def _login(ctx, email: str = "t@example.com", password: str = "password-t"):
    return AuthService(ctx).login(email, password)


def _running(harness) -> set[uuid.UUID]:
    return {s.id for s in harness.engine.strategies.all()}


def _answer(ctx, harness, fields: dict[str, str]) -> dict:
    """Put one raw entry on the control stream (as anyone with Redis access can), let the
    engine handle it, and return its reply."""
    import json

    ctx.store.xadd(CONTROL_STREAM, fields)
    assert harness.engine.control.poll() == 1
    reply = ctx.store.lpop(remote.reply_key(fields["request_id"]))
    assert reply is not None, "no reply"
    return json.loads(reply)


def _fields(command: str, user_id, **extra) -> dict[str, str]:
    import time

    return {"command": command, "request_id": uuid.uuid4().hex,
            "deadline": f"{time.time() + 30:.3f}", "user_id": str(user_id), **extra}


@pytest.fixture
def started(harness):
    harness.start()
    return harness


def test_a_forged_command_is_refused_and_logged(ctx, trader, strategy, started, caplog):
    caplog.set_level(logging.WARNING, logger="tui_trader.engine.remote")
    body = _answer(ctx, started, _fields("start", trader.id, strategy_id=str(strategy.id)))
    assert body == {"ok": False, "kind": "AuthError",
                    "error": "engine: command refused: not signed by a signed-in session"}
    assert _running(started) == set()
    assert "refused" in caplog.text and str(trader.id) in caplog.text


def test_a_signed_in_session_is_obeyed(ctx, trader, strategy, started):
    login = _login(ctx)
    signer = SessionSigner(str(login.session_id), token_hash(login.token))
    body = _answer(ctx, started, signer.sign(
        _fields("start", trader.id, strategy_id=str(strategy.id))))
    assert body["ok"] is True and strategy.id in _running(started)
    # Nothing on the stream reveals the token or the key it signs with.
    entries = repr(ctx.store.xrange(CONTROL_STREAM))
    assert login.token not in entries and token_hash(login.token) not in entries


def test_someone_elses_session_cannot_act_for_a_user(ctx, trader, strategy, started):
    AuthService(ctx).sign_up("m@example.com", "password-m")
    mallory = _login(ctx, "m@example.com", "password-m")
    signer = SessionSigner(str(mallory.session_id), token_hash(mallory.token))
    body = _answer(ctx, started, signer.sign(_fields("kill", trader.id)))
    assert body["ok"] is False
    assert body["error"] == "engine: command refused: not signed by a session of this user"


def test_an_altered_or_replayed_command_is_refused(ctx, trader, strategy, started):
    login = _login(ctx)
    signer = SessionSigner(str(login.session_id), token_hash(login.token))
    other = StrategyService(ctx, trader.id).create({**FORM, "name": "another"})
    signed = signer.sign(_fields("start", trader.id, strategy_id=str(strategy.id)))
    altered = {**signed, "strategy_id": str(other.id)}
    assert "not signed by a session of this user" in _answer(ctx, started, altered)["error"]
    assert _answer(ctx, started, signed)["ok"] is True
    started.engine.stop_strategy(trader.id, strategy.id)
    again = _answer(ctx, started, signed)
    assert again["error"] == "engine: command refused: already carried out once (a replay)"
    assert _running(started) == set()


def test_a_logged_out_or_expired_session_is_refused(ctx, trader, strategy, started):
    auth = AuthService(ctx)
    gone = _login(ctx)
    auth.logout(gone.token)
    console = RemoteEngineControl(ctx.store).for_session(gone)
    signed = console._signer.sign(_fields("kill", trader.id))
    assert "logged out" in _answer(ctx, started, signed)["error"]
    stale = _login(ctx)
    ctx.clock.advance(timedelta(hours=ctx.settings.session_hours, seconds=1))
    signer = SessionSigner(str(stale.session_id), token_hash(stale.token))
    assert "expired" in _answer(ctx, started, signer.sign(_fields("kill", trader.id)))["error"]


@contextmanager
def serving(harness):
    """The engine's control loop on a thread, as `tui-trader engine` runs it."""
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            harness.engine.control.poll(block_ms=50)

    loop = threading.Thread(target=serve, daemon=True)
    loop.start()
    try:
        yield
    finally:
        stop.set()
        loop.join(timeout=5)


def test_the_console_says_so_in_one_line(ctx, trader, strategy, started):
    """Through the console's control: without a session nothing is sent; a refusal comes
    back as one AuthError line."""
    with pytest.raises(AuthError, match="need a signed-in session"):
        RemoteEngineControl(ctx.store).start_strategy(trader.id, strategy.id)
    gone = _login(ctx)
    AuthService(ctx).logout(gone.token)
    console = RemoteEngineControl(ctx.store).for_session(gone)
    with serving(started), pytest.raises(AuthError) as err:
        console.start_strategy(trader.id, strategy.id)
    assert str(err.value) == "engine: command refused: the session was logged out; log in " \
                             "again"
    assert _running(started) == set()


def test_the_signed_in_console_signs_its_commands(ctx, trader, strategy, started):
    """A console attached to a server engine: its signed-in session's controls sign every
    command (ui.backend.UserSession binds them at login)."""
    from tui_trader.ui.backend import UserSession

    session = UserSession(ctx, _login(ctx), RemoteEngineControl(ctx.store))
    with serving(started):
        assert "next buy" in session.control.start(strategy.id).message
        assert strategy.id in _running(started)
        session.control.stop(strategy.id)
        assert session.control.kill_switch().strategies_stopped == 0
    assert _running(started) == set()


def test_a_live_start_needs_the_typed_confirmation(ctx, trader, started):
    from tui_trader.services.brokers import BrokerAccountService

    account = BrokerAccountService(ctx, trader.id).add_kite("apikey1234", "secret-1234")
    live = StrategyService(ctx, trader.id).create({**FORM, "name": "live one", "mode": "LIVE",
                                                   "broker_account_id": str(account.id)})
    login = _login(ctx)
    signer = SessionSigner(str(login.session_id), token_hash(login.token))
    body = _answer(ctx, started, signer.sign(
        _fields("start", trader.id, strategy_id=str(live.id))))
    assert body["ok"] is False and body["kind"] == "ValidationError"
    assert body["error"] == "Mode: LIVE strategies place real orders: confirm to start"
    assert _running(started) == set()
    body = _answer(ctx, started, signer.sign(
        _fields("start", trader.id, strategy_id=str(live.id), confirm_live="LIVE")))
    assert body["ok"] is True and live.id in _running(started)
