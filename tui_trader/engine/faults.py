"""Named steps of handling an order event, and the fault injector the engine calls at each.

The executor calls `faults.at(step)` as it passes each step; the default injector does
nothing. Tests pass their own to model the process dying at a step (`CrashAt` raises
`SimulatedCrash`, which the engine never catches) or the world changing at exactly that
moment (a lock lapsing during a broker call). The engine has no other test-only path.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum


class Step(StrEnum):
    """Where an order event is in its handling, in order."""

    TAKEN = "taken"  # read from the stream or handed over
    LOCKED = "locked"  # the strategy's lock won (or found busy)
    INTENT = "intent"  # the intent claimed in SQL, before the broker call
    CALLING = "calling"  # about to call the broker
    BROKER_CALLED = "broker_called"  # the broker answered (or raised)
    RECORDED = "recorded"  # the answer recorded with its position change
    COMPLETED = "completed"  # about to acknowledge the stream entry


# The steps a crash is tried at by the exactly-once test: one between each two writes.
CRASH_STEPS: tuple[Step, ...] = (Step.TAKEN, Step.LOCKED, Step.INTENT, Step.BROKER_CALLED,
                                 Step.RECORDED, Step.COMPLETED)


class SimulatedCrash(BaseException):
    """The process died at a step (raised by a test's injector; never caught by the engine,
    which then leaves everything as a real crash would)."""


class FaultInjector:
    """Called at every step; does nothing. Subclass (or use `OnStep`) to inject."""

    def at(self, step: Step) -> None:
        return None


NO_FAULTS = FaultInjector()


class CrashAt(FaultInjector):
    """Kills the 'process' the first time it reaches `step` (again after `rearm`)."""

    def __init__(self, step: Step | None) -> None:
        self.step = step
        self.fired = False

    def rearm(self, step: Step | None) -> None:
        self.step, self.fired = step, False

    def at(self, step: Step) -> None:
        if step == self.step and not self.fired:
            self.fired = True
            raise SimulatedCrash(step)


class OnStep(FaultInjector):
    """Runs `action(step)` at every step (it may raise any error, or change the world)."""

    def __init__(self, action: Callable[[Step], None]) -> None:
        self.action = action

    def at(self, step: Step) -> None:
        self.action(step)
