"""Fires each running strategy's BUY at buy_time and SELL at sell_time, IST, on the days whose
session holds both legs. `ClockSchedule` runs jobs when the engine's own clock reaches them
(the wall clock, or a simulated one); `ManualSchedule` runs them when told (tests, frozen
clocks, benchmarks). After a pair fires the next session's pair is planned."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ..domain.calendar import NseCalendar
from ..domain.clock import IST, Clock
from ..domain.enums import TriggerEvent
from ..domain.schedule import LegPlan, NoSessionAhead, plan_legs
from ..domain.strategy import StrategySpec

log = logging.getLogger(__name__)

LegSink = Callable[[StrategySpec, TriggerEvent, datetime], None]
# A leg that cannot be queued (the live store is down) is tried again this often: an exit
# for up to QUEUE_RETRY_FOR, a BUY only while it is on time (the executor's own limit).
QUEUE_RETRY_S = timedelta(seconds=20)
QUEUE_RETRY_FOR = timedelta(minutes=30)
BUY_RETRY_FOR = timedelta(minutes=2)


class JobRunner(Protocol):
    def add(self, job_id: str, run_at: datetime, fn: Callable[[], None]) -> None: ...
    def remove(self, job_id: str) -> None: ...
    def start(self) -> None: ...
    def shutdown(self) -> None: ...


class ManualSchedule:
    """Jobs run only when `run_due(now)` is called."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[datetime, Callable[[], None]]] = {}

    def add(self, job_id: str, run_at: datetime, fn: Callable[[], None]) -> None:
        with self._lock:
            self._jobs[job_id] = (run_at, fn)

    def remove(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def start(self) -> None:
        pass

    def shutdown(self) -> None:
        with self._lock:
            self._jobs.clear()

    def jobs(self) -> dict[str, datetime]:
        with self._lock:
            return {k: v[0] for k, v in self._jobs.items()}

    def run_due(self, now: datetime) -> int:
        with self._lock:
            due = sorted(((at, k, fn) for k, (at, fn) in self._jobs.items() if at <= now),
                         key=lambda item: item[0])
            for _, key, _ in due:
                del self._jobs[key]
        for _, _, fn in due:
            fn()
        return len(due)


class ClockSchedule(ManualSchedule):
    """Jobs run on a thread when `clock` reaches their time.

    The clock is the engine's own: the wall clock in production, a simulated one under
    TUI_TRADER_CLOCK_START, so legs fire at the clock's 09:30, not the wall's. The thread
    sleeps until the next job (scaled by the clock's speed) and never longer than
    `max_wait` of real time, so a clock that is moved or a job added meanwhile is seen. A
    job that is late (the machine slept) still runs: the executor decides whether a late BUY
    is stale, and a late SELL must still sell.
    """

    def __init__(self, clock: Clock, max_wait: float = 0.5) -> None:
        super().__init__()
        self.clock = clock
        self.max_wait = max_wait
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, job_id: str, run_at: datetime, fn: Callable[[], None]) -> None:
        super().add(job_id, run_at, fn)
        self._wake.set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="engine-schedule", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._thread = None
        super().shutdown()

    def _run(self) -> None:
        speed = float(getattr(self.clock, "speed", 1.0)) or 1.0
        while not self._stop.is_set():
            self._wake.clear()
            now = self.clock.now()
            with self._lock:
                due = sorted(((at, k) for k, (at, _) in self._jobs.items() if at <= now))
                jobs = [self._jobs.pop(k)[1] for _, k in due]
                upcoming = min((at for at, _ in self._jobs.values()), default=None)
            for fn in jobs:
                try:
                    fn()
                except Exception:  # one failing job must not stop the others
                    log.exception("scheduled job failed")
            if jobs:
                continue  # a job may have planned the next one: look again at once
            wait = self.max_wait
            if upcoming is not None:
                wait = min(wait, max((upcoming - now).total_seconds() / speed, 0.0))
            self._wake.wait(wait)


@dataclass
class Planned:
    plan: LegPlan
    buy_id: str
    sell_id: str


class LegScheduler:
    def __init__(self, runner: JobRunner, calendar: NseCalendar, clock: Clock,
                 sink: LegSink,
                 alert: Callable[[StrategySpec, TriggerEvent, str], None] | None = None,
                 no_session: Callable[[StrategySpec, str], None] | None = None) -> None:
        self.runner = runner
        self.calendar = calendar
        self.clock = clock
        self.sink = sink
        self.alert = alert  # tells the trader a leg could not be queued
        self.no_session = no_session  # tells the trader nothing more can be planned
        self._planned: dict[uuid.UUID, Planned] = {}
        self._lock = threading.Lock()

    def schedule(self, spec: StrategySpec) -> LegPlan | None:
        """Plan the strategy's next pair; None (and the trader is told) when no session
        ahead holds its legs, e.g. a Muhurat strategy once its evening has passed."""
        try:
            plan = plan_legs(self.calendar, self.clock.now(), spec.buy_time, spec.sell_time)
        except NoSessionAhead as exc:
            log.warning("%s: %s", spec.name, exc)
            with self._lock:
                self._planned.pop(spec.id, None)
            if self.no_session is not None:
                self.no_session(spec, exc.message)
            return None
        buy_id, sell_id = f"{spec.id}:BUY", f"{spec.id}:SELL"
        self.runner.add(buy_id, plan.buy_at, lambda: self._fire(spec, TriggerEvent.BUY))
        self.runner.add(sell_id, plan.sell_at, lambda: self._fire(spec, TriggerEvent.SELL))
        with self._lock:
            self._planned[spec.id] = Planned(plan, buy_id, sell_id)
        return plan

    def schedule_sell_only(self, spec: StrategySpec, at: datetime) -> None:
        """A restarted strategy that already holds today's position still sells today."""
        self.runner.add(f"{spec.id}:SELL-TODAY", at, lambda: self._fire_sell_only(spec))

    def _fire_sell_only(self, spec: StrategySpec) -> None:
        self._queue(spec, TriggerEvent.SELL, self.clock.now())

    def _queue(self, spec: StrategySpec, leg: TriggerEvent, planned: datetime,
               attempt: int = 1) -> None:
        """Hand the leg to the sink; if that fails (the live store is down), try again
        every QUEUE_RETRY_S: an exit for QUEUE_RETRY_FOR at most, a BUY while it is still
        on time. The event keeps its planned time, so its day and its age are the plan's.
        """
        if attempt > 1 and not self.is_planned(spec.id):
            return  # stopped meanwhile: its retry goes with it
        try:
            self.sink(spec, leg, planned)
            return
        except Exception as exc:
            log.exception("%s %s could not be queued (attempt %d)", spec.name, leg.value,
                          attempt)
            error = exc
        now = self.clock.now()
        if now - planned >= (BUY_RETRY_FOR if leg is TriggerEvent.BUY else QUEUE_RETRY_FOR):
            if self.alert is not None:
                self.alert(spec, leg, f"not queued after {attempt} attempts: {error}")
            return
        if attempt == 1 and self.alert is not None:
            self.alert(spec, leg, f"could not be queued ({error}); retrying every "
                                  f"{QUEUE_RETRY_S.total_seconds():.0f} s")
        with self._lock:  # not for a strategy stopped while the sink was failing
            if spec.id not in self._planned:
                return
            self.runner.add(f"{spec.id}:{leg.value}-RETRY", now + QUEUE_RETRY_S,
                            lambda: self._queue(spec, leg, planned, attempt + 1))

    def cancel(self, strategy_id: uuid.UUID) -> None:
        with self._lock:
            planned = self._planned.pop(strategy_id, None)
        for job in (f"{strategy_id}:BUY", f"{strategy_id}:SELL", f"{strategy_id}:SELL-TODAY",
                    f"{strategy_id}:BUY-RETRY", f"{strategy_id}:SELL-RETRY"):
            self.runner.remove(job)
        if planned is None:
            return

    def is_planned(self, strategy_id: uuid.UUID) -> bool:
        with self._lock:
            return strategy_id in self._planned

    def plan_for(self, strategy_id: uuid.UUID) -> LegPlan | None:
        planned = self._planned.get(strategy_id)
        return planned.plan if planned else None

    def _fire(self, spec: StrategySpec, leg: TriggerEvent) -> None:
        now = self.clock.now()
        if not self.calendar.is_trading_day(now.astimezone(IST).date()):
            log.info("%s %s skipped: not a trading day", spec.name, leg.value)
        else:
            self._queue(spec, leg, now)
        if leg is TriggerEvent.SELL and spec.id in self._planned:
            # The day's pair is done: plan the next trading day's.
            self.schedule(spec)
