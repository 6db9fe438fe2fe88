"""Delivers alerts to external channels, off every order path.

`AlertDispatcher.submit` never blocks: it puts the alert on a bounded queue (full: the alert
is dropped and counted, never the caller delayed) and returns. One router thread takes each
alert, reads the user's mode for its kind (only ON goes out) and the user's channels, and
hands one copy to each channel's lane. A lane is a thread with its own bounded queue, so a
slow or dead channel holds up only itself: it retries each alert with a doubling backoff,
records every outcome on the channel's row (failing channels show in the Alerts screen),
and gives up on an alert after `attempts`, moving on to the next. Nothing here raises into
a caller; an unexpected error in a thread is logged and the thread goes on.

`send_now` is the one place apprise is called: one message to one URL, the reason for a
failure as one line with every secret masked.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ..domain.alerts import AlertKind, AlertMode
from ..security.redaction import redact
from ..security.secret import Secret
from .context import AppContext
from .notify_channels import (
    ChannelTarget,
    alert_modes,
    channel_targets,
    record_delivery,
    users_with_channels,
)

log = logging.getLogger(__name__)


def send_now(url: Secret, title: str, body: str) -> str | None:
    """Deliver one message; None when delivered, else why not (one line, no secret)."""
    import apprise

    sender = apprise.Apprise()
    if not sender.add(url.reveal()):
        return "not a usable channel address"
    try:
        result = sender.notify(body=body or title, title=title)
    except Exception as exc:  # apprise catches its own; a bug in a plugin must not escape
        return redact(f"{type(exc).__name__}: {exc}")[:200]
    if result:
        return None
    reasons = []
    try:
        for entry in result.logs():
            level = entry.level if isinstance(entry.level, int) else \
                logging.getLevelName(str(entry.level))
            if isinstance(level, int) and level >= logging.WARNING:
                reasons.append(str(entry.message))
    except Exception:  # an older apprise without result logs
        pass
    text = reasons[-1] if reasons else "the channel refused the message"
    return redact(" ".join(text.split()))[:200]


@dataclass(frozen=True)
class Alert:
    """One thing to tell a user (None: every user with a channel, e.g. engine down)."""

    user_id: uuid.UUID | None
    kind: AlertKind
    title: str
    body: str = ""


@dataclass
class DeliveryStats:
    submitted: int = 0
    dropped: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    given_up: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)


class _Lane:
    """One channel's queue and thread."""

    def __init__(self, dispatcher: AlertDispatcher, channel_id: uuid.UUID, label: str) -> None:
        self.channel_id = channel_id
        self.label = label
        self.queue: queue.Queue[tuple[Alert, ChannelTarget]] = queue.Queue(
            dispatcher.lane_capacity)
        self.thread = threading.Thread(target=dispatcher._run_lane, args=(self,),
                                       name=f"alerts-{label[:20]}", daemon=True)
        self.thread.start()


class AlertDispatcher:
    def __init__(self, ctx: AppContext, *, capacity: int = 1000, lane_capacity: int = 200,
                 attempts: int = 5, backoff: float = 2.0, max_backoff: float = 120.0,
                 send: Callable[[Secret, str, str], str | None] = send_now) -> None:
        self.ctx = ctx
        self.lane_capacity = lane_capacity
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._send = send
        self._queue: queue.Queue[Alert | None] = queue.Queue(capacity)
        self._lanes: dict[uuid.UUID, _Lane] = {}
        self._lanes_lock = threading.Lock()
        self._stop = threading.Event()
        self._router: threading.Thread | None = None
        self.stats = DeliveryStats()
        # Alerts and lane jobs not yet finished, so that a process about to exit can let
        # the last alerts (the engine's own "stopped") go out first: `drain`.
        self._busy = 0
        self._idle = threading.Condition()

    def start(self) -> None:
        self._router = threading.Thread(target=self._route, name="alerts-router", daemon=True)
        self._router.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        try:
            self._queue.put_nowait(None)  # wake the router
        except queue.Full:
            pass
        threads = [self._router] if self._router else []
        with self._lanes_lock:
            threads += [lane.thread for lane in self._lanes.values()]
        for thread in threads:
            thread.join(timeout)

    def drain(self, timeout: float) -> bool:
        """Wait (at most `timeout`) until every queued alert is delivered or given up."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy <= 0, timeout)

    def _more(self, count: int) -> None:
        with self._idle:
            self._busy += count
            if self._busy <= 0:
                self._idle.notify_all()

    def submit(self, alert: Alert) -> bool:
        """Queue an alert; False (dropped, counted) when the queue is full or stopped."""
        if self._stop.is_set():
            return False
        self._more(1)
        try:
            self._queue.put_nowait(alert)
        except queue.Full:
            self._more(-1)
            self.stats.add(dropped=1)
            log.warning("alert queue full: an alert (%s) was not sent out", alert.kind.value)
            return False
        self.stats.add(submitted=1)
        return True

    # -- the router ----------------------------------------------------------------------
    def _route(self) -> None:
        while not self._stop.is_set():
            alert = self._queue.get()
            if alert is None:
                continue
            try:
                self._fan_out(alert)
            except Exception:
                log.exception("routing an alert (%s) failed", alert.kind.value)
            finally:
                self._more(-1)

    def _fan_out(self, alert: Alert) -> None:
        users = [alert.user_id] if alert.user_id is not None else users_with_channels(self.ctx)
        for user_id in users:
            if alert_modes(self.ctx, user_id)[alert.kind] is not AlertMode.ON:
                continue
            for target in channel_targets(self.ctx, user_id):
                lane = self._lane(target)
                self._more(1)
                try:
                    lane.queue.put_nowait((alert, target))
                except queue.Full:
                    self._more(-1)
                    self.stats.add(dropped=1)
                    record_delivery(self.ctx, target.channel_id,
                                    "too many alerts waiting: some were not sent",
                                    self.ctx.clock.now())

    def _lane(self, target: ChannelTarget) -> _Lane:
        with self._lanes_lock:
            lane = self._lanes.get(target.channel_id)
            if lane is None:
                lane = self._lanes[target.channel_id] = _Lane(self, target.channel_id,
                                                              target.label)
            return lane

    # -- one channel's lane ----------------------------------------------------------------
    def _run_lane(self, lane: _Lane) -> None:
        while not self._stop.is_set():
            try:
                alert, target = lane.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                self._deliver(alert, target)
            except Exception:
                log.exception("delivering to channel '%s' failed", lane.label)
            finally:
                self._more(-1)

    def _deliver(self, alert: Alert, target: ChannelTarget) -> None:
        wait = self.backoff
        for attempt in range(1, self.attempts + 1):
            problem = self._send(target.url, alert.title, alert.body)
            record_delivery(self.ctx, target.channel_id, problem, self.ctx.clock.now())
            if problem is None:
                self.stats.add(delivered=1)
                return
            self.stats.add(failed_attempts=1)
            log.warning("alert to channel '%s' failed (attempt %d of %d): %s", target.label,
                        attempt, self.attempts, problem)
            if attempt == self.attempts or self._stop.wait(wait):
                break
            wait = min(wait * 2, self.max_backoff)
        self.stats.add(given_up=1)
