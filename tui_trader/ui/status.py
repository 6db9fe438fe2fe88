"""What the status bar shows, as one immutable value the app replaces when anything changes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatusInfo:
    market: str = "NSE --:--:-- IST"
    market_open: bool | None = None
    market_next: str = ""  # "opens Mon 09:15", or a special session's close
    calendar_note: str = ""  # past the NSE calendar's end: trading days are a guess
    engine: str = "starting"
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
    def engine_level(self) -> str:
        """'ok', 'warn' or 'bad': how the engine state should be styled."""
        if self.engine == "running" and self.entries_allowed:
            return "ok"
        if self.engine in ("starting", "reconciling", "degraded", "running"):
            return "warn"
        return "bad"
