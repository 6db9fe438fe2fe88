"""What the engine offers its callers (the console, the CLI, a remote control channel), and
what it needs from the process around it. Services implement the second; the engine never
imports services."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol

import redis
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ..domain.calendar import NseCalendar
from ..domain.clock import Clock
from ..domain.lifecycle import EngineState


@dataclass(frozen=True)
class StartResult:
    strategy_id: uuid.UUID
    message: str  # e.g. "next buy Mon 23 Nov 09:30 IST, sell 15:00 IST"


@dataclass(frozen=True)
class KillReport:
    strategies_stopped: int
    exit_orders: int
    errors: list[str] = field(default_factory=list)


# The console's view when it cannot hear from an engine at all (no heartbeat, the live store
# down): not a state any engine is in, so not an EngineState.
UNREACHABLE: Literal["unreachable"] = "unreachable"


@dataclass(frozen=True)
class EngineHealth:
    state: EngineState | Literal["unreachable"]
    entries_allowed: bool
    detail: str = ""
    feed: str = ""  # where prices come from: simulated | replay | kite | none ("" unknown)


class EngineResources(Protocol):
    """The connections an engine runs on (an AppContext provides them)."""

    db: Engine
    store: redis.Redis
    calendar: NseCalendar
    clock: Clock

    def session(self) -> AbstractContextManager[Session]: ...


__all__ = ["StartResult", "KillReport", "EngineHealth", "EngineResources", "EngineState",
           "UNREACHABLE", "Iterator"]
