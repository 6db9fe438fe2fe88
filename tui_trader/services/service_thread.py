"""`ServiceThread`: the start/stop of a background part that loops on its own daemon thread
until told to stop (the alerts relay, the daily prune). A subclass writes `_run`, waiting
with `self._stop.wait(seconds)` so that `stop` ends it at once."""

from __future__ import annotations

import threading


class ServiceThread:
    thread_name = "service"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        raise NotImplementedError
