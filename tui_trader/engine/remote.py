"""The control channel between consoles and a server engine, over the live store.

Commands (start, stop, kill) are entries on the `control:engine` stream, read by the
`engines` consumer group, so exactly one engine handles each; the answer is pushed to
`control:reply:{request_id}`, which the console waits on. Each engine also writes a
heartbeat hash `engine:heartbeat` (short TTL) that consoles read for the status bar.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis

from ..domain.errors import TuiTraderError, ValidationError

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


class ControlListener:
    """Engine side: takes commands off the stream and answers each one."""

    def __init__(self, store: redis.Redis, consumer: str,
                 handlers: dict[str, Callable[[dict[str, str]], dict[str, Any]]]) -> None:
        self.store = store
        self.consumer = consumer
        self.handlers = handlers
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
        if request_id:
            key = reply_key(request_id)
            pipe = self.store.pipeline(transaction=False)
            pipe.rpush(key, json.dumps(body))
            pipe.expire(key, REPLY_TTL_S)
            pipe.execute()

    def beat(self, state: str, entries_allowed: bool, detail: str, feed: str = "") -> None:
        pipe = self.store.pipeline(transaction=False)
        pipe.hset(HEARTBEAT, mapping={"state": state, "entries_allowed": int(entries_allowed),
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
                 **fields: str) -> dict[str, Any]:
    """Console side: send one command and wait for its answer. A command not answered in
    time is withdrawn, and carries a deadline past which no engine carries it out."""
    request_id = uuid.uuid4().hex
    entry = store.xadd(CONTROL_STREAM, {"command": command, "request_id": request_id,
                                        "deadline": f"{time.time() + timeout_s:.3f}",
                                        **fields},
                       maxlen=10_000, approximate=True)
    answer = store.blpop([reply_key(request_id)], timeout=timeout_s)
    if answer is None:
        store.xdel(CONTROL_STREAM, entry)
        raise TuiTraderError("No answer from the server engine (is `tui-trader "
                             "engine` running and using the same Redis?)")
    return json.loads(answer[1])
