"""Fault switches tests flip to exercise the adapter's failure handling: HTML pages from a
proxy, Kite's own error envelopes (any error type, before or after the order is placed),
late answers, a silent feed.

The switches only hold state; `app.py` (HTTP faults) and `server.py`/`ticker.py` (socket
faults) consult them. Counters are consumed one request at a time under a lock because
requests arrive on the server loop while tests flip switches from their own thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .errors import ERRORS, KiteError

FAILURE_PAGE = ("<html><head><title>{status} Service Unavailable</title></head>"
                "<body><center><h1>{status}</h1></center><hr><center>nginx</center></body>"
                "</html>")


@dataclass(slots=True)
class Failure:
    """An HTML page (`body`) from a proxy, or Kite's error envelope (`error`)."""

    status: int
    body: str = ""
    error: KiteError | None = None
    placed: bool = False  # an order POST is carried out first; only its answer is lost


@dataclass(slots=True)
class _Answers:
    left: int
    status: int | None
    error_type: str
    message: str | None
    prefix: str | None
    placed: bool


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fail_left = 0
        self._fail_status = 503
        self._fail_prefix: str | None = None
        self._answers: _Answers | None = None
        self._timeout_left = 0
        self._timeout_delay = 0.0
        self.stalled = False
        self.stall_heartbeats = True

    def fail_next(self, n: int, status: int = 503, path_prefix: str | None = None) -> None:
        with self._lock:
            self._fail_left = n
            self._fail_status = status
            self._fail_prefix = path_prefix

    def answer_next(self, n: int, error_type: str, *, status: int | None = None,
                    message: str | None = None, path_prefix: str | None = None,
                    placed: bool = False) -> None:
        if error_type not in ERRORS:
            raise ValueError(f"unknown Kite error type {error_type!r}")
        with self._lock:
            self._answers = _Answers(n, status, error_type, message, path_prefix, placed)

    def take_failure(self, path: str) -> Failure | None:
        """Consume one injected failure if this path is affected."""
        with self._lock:
            answers = self._answers
            if answers is not None and answers.left > 0 and \
                    (answers.prefix is None or path.startswith(answers.prefix)):
                answers.left -= 1
                error = ERRORS[answers.error_type](
                    answers.message or f"{answers.error_type} injected by the sandbox.",
                    status=answers.status)
                return Failure(error.status, error=error, placed=answers.placed)
            if self._fail_left <= 0:
                return None
            if self._fail_prefix is not None and not path.startswith(self._fail_prefix):
                return None
            self._fail_left -= 1
            return Failure(self._fail_status, FAILURE_PAGE.format(status=self._fail_status))

    def timeout_next_orders(self, n: int, delay_s: float) -> None:
        with self._lock:
            self._timeout_left = n
            self._timeout_delay = delay_s

    def take_timeout(self) -> float | None:
        with self._lock:
            if self._timeout_left <= 0:
                return None
            self._timeout_left -= 1
            return self._timeout_delay

    def stall(self, on: bool, heartbeats: bool = True) -> None:
        self.stalled = on
        self.stall_heartbeats = heartbeats
