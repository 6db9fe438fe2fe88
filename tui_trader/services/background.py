"""The jobs an engine process runs beside the engine, started and stopped together: the
system log (warnings and errors to `system_logs`), alerts to external channels (the relay
from the engine's events and the dispatcher), and the daily retention prune.

`tui-trader engine` and a console running its engine in-process start them; a console
attached to a server engine starts the system log only (the server does the rest). Each
part is optional and fails alone: a part that cannot start is logged and skipped.
"""

from __future__ import annotations

import logging
from typing import Any

from .context import AppContext

log = logging.getLogger(__name__)


class BackgroundJobs:
    def __init__(self, ctx: AppContext, *, alerts: bool = True, retention: bool = True,
                 system_log: bool = True) -> None:
        self.ctx = ctx
        self.wanted = {"system_log": system_log, "alerts": alerts, "retention": retention}
        self.system_log: Any = None
        self.dispatcher: Any = None
        self.relay: Any = None
        self.pruner: Any = None

    def start(self) -> BackgroundJobs:
        if self.wanted["system_log"]:
            self._try("system log", self._start_system_log)
        if self.wanted["alerts"]:
            self._try("alerts", self._start_alerts)
        if self.wanted["retention"]:
            self._try("daily prune", self._start_retention)
        return self

    def _try(self, what: str, start) -> None:
        try:
            start()
        except Exception:
            log.exception("%s not started", what)

    def _start_system_log(self) -> None:
        from .system_log import install_system_log

        self.system_log = install_system_log(self.ctx)

    def _start_alerts(self) -> None:
        from .notify_delivery import AlertDispatcher
        from .notify_relay import NotificationRelay

        self.dispatcher = AlertDispatcher(self.ctx)
        self.dispatcher.start()
        self.relay = NotificationRelay(self.ctx.store, self.dispatcher)
        self.relay.start()

    def _start_retention(self) -> None:
        from .maintenance import DailyPrune

        self.pruner = DailyPrune(self.ctx)
        self.pruner.start()

    def stop(self, drain: float = 5.0) -> None:
        """The relay first, once it has taken what was published (the engine's "stopped"
        included); then delivery gets up to `drain` seconds to finish; then the pruner; the
        system log last, so the others' last words are kept."""
        try:
            if self.relay is not None:
                self.relay.close(timeout=min(drain, 2.0))
            if self.dispatcher is not None:
                self.dispatcher.drain(drain)
        except Exception:
            log.exception("letting the last alerts out failed")
        for part in (self.relay, self.dispatcher, self.pruner):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    log.exception("stopping %s failed", type(part).__name__)
        if self.system_log is not None:
            from .system_log import uninstall_system_log

            uninstall_system_log(self.system_log)
        self.relay = self.dispatcher = self.pruner = self.system_log = None
