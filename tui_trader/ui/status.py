"""What the status bar shows, as one immutable value the app replaces when anything changes."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.lifecycle import EngineState

# Engine states that are on their way to (or back from) running: not yet an alarm.
_WARN = frozenset({EngineState.STARTING, EngineState.RECONCILING, EngineState.ENTRIES_BLOCKED,
                   EngineState.RUNNING, EngineState.STOPPING})


@dataclass(frozen=True)
class StatusInfo:
    market: str = "NSE --:--:-- IST"
    market_open: bool | None = None
    market_next: str = ""  # "opens Mon 09:15", or a special session's close
    calendar_note: str = ""  # past the NSE calendar's end: trading days are a guess
    # An EngineState, or the console's own view when it hears no engine ("unreachable",
    # "offline").
    engine: str = EngineState.STARTING
    engine_detail: str = ""
    entries_allowed: bool = False
    feed: str = ""  # where the engine's prices come from: simulated, replay, kite
    store: str = ""
    events_ok: bool | None = None  # None: not listening (signed out)
    events_detail: str = ""
    unread: int = 0
    user: str = ""
    practice: str = ""  # "PRACTICE 2026-12-04 ×60" while a practice day runs

    @property
    def engine_text(self) -> str:
        """The engine's state as the bar shows it: entries blocked say why."""
        if self.engine == EngineState.ENTRIES_BLOCKED and self.engine_detail:
            return f"{EngineState.ENTRIES_BLOCKED.value}: {self.engine_detail}"
        return str(self.engine)

    @property
    def engine_level(self) -> str:
        """'ok', 'warn' or 'bad': how the engine state should be styled."""
        if self.engine == EngineState.RUNNING and self.entries_allowed:
            return "ok"
        if self.engine in _WARN:
            return "warn"
        return "bad"
