"""Fault switches tests flip to exercise the adapter's failure handling.

The switches only hold state; `app.py` (HTTP faults) and `server.py`/`ticker.py` (socket
faults) consult them. Counters are consumed one request at a time under a lock because
requests arrive on the server loop while tests flip switches from their own thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAILURE_PAGE = ("<html><head><title>{status} Service Unavailable</title></head>"
                "<body><center><h1>{status}</h1></center><hr><center>nginx</center></body>"
                "</html>")


@dataclass(slots=True)
class Failure:
    status: int
    body: str


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fail_left = 0
        self._fail_status = 503
        self._fail_prefix: str | None = None
        self._timeout_left = 0
        self._timeout_delay = 0.0
        self.stalled = False
        self.stall_heartbeats = True

    def fail_next(self, n: int, status: int = 503, path_prefix: str | None = None) -> None:
        with self._lock:
            self._fail_left = n
            self._fail_status = status
            self._fail_prefix = path_prefix

    def take_failure(self, path: str) -> Failure | None:
        """Consume one injected failure if this path is affected."""
        with self._lock:
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
