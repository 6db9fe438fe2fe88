"""`EngineControl` for a console attached to a server engine (TUI_TRADER_ENGINE_MODE=attach).

Commands are signed by the signed-in session (`for_session`); the engine refuses any other.
"""

from __future__ import annotations

import uuid

import redis

from ..domain.errors import AuthError, StateError, TuiTraderError, ValidationError
from ..domain.lifecycle import engine_state
from ..engine.control import UNREACHABLE, EngineHealth, KillReport, StartResult
from ..engine.remote import HEARTBEAT, SessionSigner, send_command
from ..security.session_tokens import token_hash
from .views import LoginResult


def _raise(body: dict) -> None:
    """Re-raise the engine's error as the same kind of one-line error."""
    message = body.get("error", "The engine could not do it")
    kind = body.get("kind")
    if kind == "StateError":
        raise StateError(message)
    if kind == "AuthError":
        raise AuthError(message)
    if kind == "ValidationError" and body.get("field"):
        raise ValidationError(body["field"], body.get("rule", message))
    raise TuiTraderError(message)


class RemoteEngineControl:
    def __init__(self, store: redis.Redis, timeout_s: float = 5.0,
                 signer: SessionSigner | None = None) -> None:
        self.store = store
        self.timeout_s = timeout_s
        self._signer = signer

    def for_session(self, login: LoginResult) -> RemoteEngineControl:
        """This control acting as a signed-in session: its commands carry its signature."""
        if login.session_id is None:
            raise AuthError("session: not signed in; log in again")
        return RemoteEngineControl(self.store, self.timeout_s,
                                   SessionSigner(str(login.session_id), token_hash(login.token)))

    def _call(self, command: str, **fields: str) -> dict:
        if self._signer is None:
            raise AuthError("engine: commands to the server engine need a signed-in session")
        try:
            body = send_command(self.store, command, self.timeout_s, self._signer, **fields)
        except (redis.RedisError, OSError) as exc:
            raise TuiTraderError(f"The engine cannot be reached: the live store is unreachable "
                                 f"({type(exc).__name__})") \
                from None
        if not body.get("ok"):
            _raise(body)
        return body

    def start_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID, *,
                       confirm_live: bool = False) -> StartResult:
        extra = {"confirm_live": "LIVE"} if confirm_live else {}
        body = self._call("start", user_id=str(user_id), strategy_id=str(strategy_id), **extra)
        return StartResult(strategy_id, body.get("message", "running"))

    def stop_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID) -> None:
        self._call("stop", user_id=str(user_id), strategy_id=str(strategy_id))

    def kill_switch(self, user_id: uuid.UUID) -> KillReport:
        body = self._call("kill", user_id=str(user_id))
        return KillReport(int(body.get("strategies_stopped", 0)),
                          int(body.get("exit_orders", 0)), list(body.get("errors", [])))

    def health(self) -> EngineHealth:
        try:
            beat = self.store.hgetall(HEARTBEAT)
        except (redis.RedisError, OSError):
            return EngineHealth(UNREACHABLE, False, "live store unreachable")
        if not beat:
            return EngineHealth(UNREACHABLE, False, "no server engine heartbeat")
        try:
            state = engine_state(beat.get("state", ""))
        except ValueError:  # a heartbeat this console cannot read says nothing it can trust
            return EngineHealth(UNREACHABLE, False, "server engine heartbeat unreadable")
        return EngineHealth(state, beat.get("entries_allowed") == "1",
                            beat.get("detail", ""), beat.get("feed", ""))
