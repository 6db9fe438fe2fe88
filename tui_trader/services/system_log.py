"""Warnings and errors kept in `system_logs`, for the Logs screen, and read back filtered.

`SystemLogHandler` is a logging handler for WARNING and above. `emit` never blocks and never
touches the database: it redacts the record (the same redactor every handler has, plus the
registered secrets on the final text), applies the rate limit, and puts a row on a bounded
queue; a writer thread stores rows in batches. The rate limit is per message template (the
logger and the unformatted message): at most `burst` rows a `window`, then the rest are
counted and the next row stored says how many were suppressed. So one broken feed logging the
same warning a thousand times a second costs a handful of rows, not the database.

A row's component is where it came from: `engine.executor` for tui_trader.engine.executor,
the top-level name for a library (`apprise`, `kiteconnect`). Records of the writer itself and
of the database driver are not stored (a database that is down must not feed itself).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ..db.models import SystemLog
from ..domain.enums import Severity
from ..security.redaction import SecretRedactor, default_redactor, redact
from .context import AppContext

log = logging.getLogger(__name__)
SYSTEM_LOGS = SystemLog.__table__
_SKIPPED = ("sqlalchemy", "psycopg", __name__)
LEVELS = {logging.WARNING: Severity.WARNING, logging.ERROR: Severity.ERROR,
          logging.CRITICAL: Severity.CRITICAL}


def component_of(logger_name: str) -> str:
    parts = logger_name.split(".")
    if parts[0] == "tui_trader" and len(parts) > 1:
        return ".".join(parts[1:3])[:40]
    return parts[0][:40]


def severity_of(levelno: int) -> Severity:
    if levelno >= logging.CRITICAL:
        return Severity.CRITICAL
    return Severity.ERROR if levelno >= logging.ERROR else Severity.WARNING


class SystemLogHandler(logging.Handler):
    def __init__(self, ctx: AppContext, *, burst: int = 5, window: float = 60.0,
                 capacity: int = 2000, redactor: SecretRedactor | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(level=logging.WARNING)
        self._monotonic = monotonic
        self.ctx = ctx
        self.burst = burst
        self.window = window
        self.addFilter(redactor or default_redactor)
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(capacity)
        self._limits: dict[tuple[str, str], list[float]] = {}  # key -> [window start, count]
        self._suppressed: dict[tuple[str, str], int] = {}
        self._limit_lock = threading.Lock()
        self._stop = threading.Event()
        self._flushed = threading.Condition()
        self._pending = 0
        self.stored = 0
        self.dropped = 0
        self._writer = threading.Thread(target=self._write_loop, name="system-log",
                                        daemon=True)
        self._writer.start()

    # -- the logging side (any thread) ------------------------------------------------------
    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.name.startswith(_SKIPPED) or \
                    threading.current_thread() is self._writer:
                return
            key = (record.name, str(record.msg)[:200])
            suppressed = self._admit(key)
            if suppressed is None:
                return
            row = self._row(record, suppressed)
            with self._flushed:
                self._pending += 1
            try:
                self._queue.put_nowait(row)
            except queue.Full:
                with self._flushed:
                    self._pending -= 1
                    self._flushed.notify_all()
                self.dropped += 1
        except Exception:  # logging must never raise into the code that logged
            self.handleError(record)

    def _admit(self, key: tuple[str, str]) -> int | None:
        """None: over the limit (counted); else how many were suppressed before this one."""
        now = self._monotonic()
        with self._limit_lock:
            start_count = self._limits.get(key)
            if start_count is None or now - start_count[0] >= self.window:
                if len(self._limits) > 10_000:  # many distinct messages: forget old windows
                    self._limits.clear()
                start_count = self._limits[key] = [now, 0]
            if start_count[1] >= self.burst:
                self._suppressed[key] = self._suppressed.get(key, 0) + 1
                return None
            start_count[1] += 1
            return self._suppressed.pop(key, 0)

    def _row(self, record: logging.LogRecord, suppressed: int) -> dict[str, Any]:
        message = redact(record.getMessage())
        data: dict[str, Any] = {"logger": record.name[:100]}
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            data["error"] = redact(f"{type(exc).__name__}: {exc}")[:300]
        if suppressed:
            data["suppressed"] = suppressed
        return {"id": uuid.uuid4(), "component": component_of(record.name),
                "level": severity_of(record.levelno), "message": message[:1000], "data": data,
                "created_at": datetime.fromtimestamp(record.created, UTC)}

    # -- the writer thread ------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            row = self._queue.get()
            if row is None:
                return
            batch = [row]
            while len(batch) < 100:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._store(batch)
                    return
                batch.append(more)
            self._store(batch)

    def _store(self, batch: list[dict[str, Any]]) -> None:
        try:
            with self.ctx.db.begin() as conn:
                conn.execute(SYSTEM_LOGS.insert(), batch)
            self.stored += len(batch)
        except Exception:
            self.dropped += len(batch)  # the database is down: these are lost, not retried
        finally:
            with self._flushed:
                self._pending -= len(batch)
                self._flushed.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued row is stored (or dropped); False at the deadline."""
        with self._flushed:
            return self._flushed.wait_for(lambda: self._pending <= 0, timeout)

    def close(self) -> None:
        self.flush(2.0)
        self._queue.put(None)
        self._writer.join(2.0)
        super().close()


def install_system_log(ctx: AppContext, **options: Any) -> SystemLogHandler:
    """Attach a handler to the root logger (one per process: an earlier one is closed)."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, SystemLogHandler)]:
        root.removeHandler(old)
        old.close()
    handler = SystemLogHandler(ctx, **options)
    root.addHandler(handler)
    if root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    return handler


def uninstall_system_log(handler: SystemLogHandler) -> None:
    logging.getLogger().removeHandler(handler)
    handler.close()


@dataclass(frozen=True)
class LogView:
    created_at: datetime
    component: str
    level: Severity
    message: str
    data: dict[str, Any]


_ORDER = [Severity.INFO, Severity.WARNING, Severity.ERROR, Severity.CRITICAL]


def system_logs(ctx: AppContext, *, level: Severity | None = None, component: str = "",
                limit: int = 500) -> list[LogView]:
    """Newest first: rows at `level` or worse, from components starting with `component`."""
    query = sa.select(SYSTEM_LOGS).order_by(SYSTEM_LOGS.c.created_at.desc()).limit(limit)
    if level is not None:
        query = query.where(SYSTEM_LOGS.c.level.in_(_ORDER[_ORDER.index(level):]))
    if component:
        escaped = component.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(SYSTEM_LOGS.c.component.like(escaped + "%", escape="\\"))
    with ctx.db.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [LogView(created_at=r["created_at"], component=r["component"],
                    level=Severity(r["level"]), message=r["message"],
                    data=dict(r["data"] or {})) for r in rows]


def log_components(ctx: AppContext) -> list[str]:
    with ctx.db.connect() as conn:
        return sorted(conn.execute(sa.select(SYSTEM_LOGS.c.component).distinct()).scalars())
