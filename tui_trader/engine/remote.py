"""The control channel between consoles and a server engine, over the live store.

Commands (start, stop, kill) are entries on the `control:engine` stream, read by the
`engines` consumer group, so exactly one engine handles each; the answer is pushed to
`control:reply:{request_id}`, which the console waits on. Each engine also writes a
heartbeat hash `engine:heartbeat` (short TTL) that consoles read for the status bar.

Every command is signed by a signed-in session of the user it acts for: it names the session
(`session`, a user_sessions id) and carries an HMAC-SHA256 of all its fields (`signature`)
keyed with the hash the database keeps of that session's token. Neither the token nor the
key travels over the live store, so someone who can read and write the stream can neither
forge a command nor replay one (each request id is accepted once, before its deadline). The
engine checks it all (engine/command_auth.py) before anything is carried out; a command that
fails is refused, answered as such, and logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

from ..domain.errors import AuthError, TuiTraderError, ValidationError
from ..domain.lifecycle import EngineState

log = logging.getLogger(__name__)

CONTROL_STREAM = "control:engine"
CONTROL_GROUP = "engines"
HEARTBEAT = "engine:heartbeat"
HEARTBEAT_TTL_S = 5
REPLY_TTL_S = 60


# Clocks of the console and the server engine may differ a little.
DEADLINE_GRACE_S = 2.0


def reply_key(request_id: str) -> str:
    return f"control:reply:{request_id}"


def command_signature(key: str, fields: Mapping[str, str]) -> str:
    """HMAC-SHA256 over every field but the signature, in one unambiguous encoding."""
    payload = json.dumps(sorted((k, v) for k, v in fields.items() if k != "signature"),
                         separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key.encode("ascii"), payload.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class SessionSigner:
    """Signs a console's commands as one signed-in session."""

    session_id: str
    key: str = field(repr=False)  # the session token's hash (security.session_tokens)

    def sign(self, fields: Mapping[str, str]) -> dict[str, str]:
        signed = {**fields, "session": self.session_id}
        signed["signature"] = command_signature(self.key, signed)
        return signed


class ControlListener:
    """Engine side: takes commands off the stream and answers each one."""

    def __init__(self, store: redis.Redis, consumer: str,
                 handlers: dict[str, Callable[[dict[str, str]], dict[str, Any]]],
                 authorise: Callable[[dict[str, str]], None] | None = None) -> None:
        """`authorise` raises AuthError for a command that may not be carried out."""
        self.store = store
        self.consumer = consumer
        self.handlers = handlers
        self.authorise = authorise
        self.ensure_group()

    def ensure_group(self) -> None:
        try:
            self.store.xgroup_create(CONTROL_STREAM, CONTROL_GROUP, id="$", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def poll(self, block_ms: int | None = None) -> int:
        try:
            reply = self.store.xreadgroup(CONTROL_GROUP, self.consumer, {CONTROL_STREAM: ">"},
                                          count=20, block=block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" in str(exc):
                self.ensure_group()
                return 0
            raise
        handled = 0
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                self._answer(fields)
                self.store.xack(CONTROL_STREAM, CONTROL_GROUP, entry_id)
                handled += 1
        return handled

    def _answer(self, fields: dict[str, str]) -> None:
        request_id = fields.get("request_id", "")
        handler = self.handlers.get(fields.get("command", ""))
        if _expired(fields):
            # The console gave up on it (and told the trader it failed): carrying it out now,
            # maybe hours later after a restart, would surprise them.
            log.warning("control command %s expired unanswered; not carried out",
                        fields.get("command"))
            return
        body: dict[str, Any]
        try:
            if self.authorise is not None:
                self.authorise(fields)
        except AuthError as exc:
            log.warning("control command %r for user %r refused: %s",
                        fields.get("command", "")[:20], fields.get("user_id", "")[:40], exc)
            body = {"ok": False, "error": str(exc), "kind": "AuthError"}
        else:
            body = self._carry_out(fields, handler)
        if request_id:
            key = reply_key(request_id)
            pipe = self.store.pipeline(transaction=False)
            pipe.rpush(key, json.dumps(body))
            pipe.expire(key, REPLY_TTL_S)
            pipe.execute()

    def _carry_out(self, fields: dict[str, str],
                   handler: Callable[[dict[str, str]], dict[str, Any]] | None
                   ) -> dict[str, Any]:
        if handler is None:
            body: dict[str, Any] = {"ok": False, "error": "The engine does not know this "
                                                          "command"}
        else:
            try:
                body = {"ok": True, **handler(fields)}
            except TuiTraderError as exc:
                body = {"ok": False, "error": str(exc), "kind": type(exc).__name__}
                if isinstance(exc, ValidationError):  # the console shows it at its field
                    body.update(field=exc.field, rule=exc.rule)
            except Exception as exc:  # the console gets one line; the log keeps the rest
                log.exception("control command %s failed", fields.get("command"))
                body = {"ok": False, "error": f"The engine failed ({type(exc).__name__})"}
        return body

    def beat(self, state: EngineState, entries_allowed: bool, detail: str,
             feed: str = "") -> None:
        pipe = self.store.pipeline(transaction=False)
        pipe.hset(HEARTBEAT, mapping={"state": state.value,
                                      "entries_allowed": int(entries_allowed),
                                      "detail": detail, "consumer": self.consumer,
                                      "feed": feed})
        pipe.expire(HEARTBEAT, HEARTBEAT_TTL_S)
        pipe.execute()


def _expired(fields: dict[str, str]) -> bool:
    try:
        deadline = float(fields.get("deadline", "") or "inf")
    except ValueError:
        return True
    return time.time() > deadline + DEADLINE_GRACE_S


def send_command(store: redis.Redis, command: str, timeout_s: float = 5.0,
                 signer: SessionSigner | None = None, **fields: str) -> dict[str, Any]:
    """Console side: send one command (signed by `signer`'s session) and wait for its
    answer. A command not answered in time is withdrawn, and carries a deadline past which
    no engine carries it out."""
    request_id = uuid.uuid4().hex
    entry_fields = {"command": command, "request_id": request_id,
                    "deadline": f"{time.time() + timeout_s:.3f}", **fields}
    if signer is not None:
        entry_fields = signer.sign(entry_fields)
    entry = store.xadd(CONTROL_STREAM, entry_fields, maxlen=10_000, approximate=True)
    answer = store.blpop([reply_key(request_id)], timeout=timeout_s)
    if answer is None:
        store.xdel(CONTROL_STREAM, entry)
        raise TuiTraderError("No answer from the server engine (is `tui-trader "
                             "engine` running and using the same Redis?)")
    return json.loads(answer[1])
