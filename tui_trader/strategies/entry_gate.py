"""Whether a kind's entry signal may become an order, by the rules common to every kind: the
product (CNC cannot sell short; no MIS entry after the square-off), the cap on entries a day
and the re-entry rule after an exit. The day's counts are JSON-able state the engine keeps
per strategy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..domain.clock import IST, ensure_utc
from ..domain.enums import Product, Timeframe
from ..domain.exit_rules import ExitRules, ReEntry
from ..domain.timeframes import nominal_span
from .exits import ExitEvaluator
from .signals import Action, Signal


@dataclass
class DayCount:
    """A strategy's entries and last exit on its current trading day (IST)."""

    day: date | None = None
    entries: int = 0
    last_exit_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"day": self.day.isoformat() if self.day else None, "entries": self.entries,
                "last_exit_at": self.last_exit_at.isoformat() if self.last_exit_at else None}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> DayCount:
        return cls(date.fromisoformat(raw["day"]) if raw.get("day") else None,
                   int(raw.get("entries", 0)),
                   datetime.fromisoformat(raw["last_exit_at"]) if raw.get("last_exit_at")
                   else None)

    def on(self, day: date) -> DayCount:
        """The counts for `day`: a new day starts from nothing."""
        return self if self.day == day else DayCount(day)


class EntryGate:
    def __init__(self, rules: ExitRules, product: Product, timeframe: Timeframe | None,
                 exits: ExitEvaluator) -> None:
        self.rules = rules
        self.product = product
        self.timeframe = timeframe
        self.exits = exits

    def refusal(self, counts: DayCount, signal: Signal, now: datetime) -> str | None:
        """Why `signal` may not enter now (one line), or None when it may."""
        if signal.action is Action.EXIT:
            return None
        if signal.action is Action.ENTER_SHORT and self.product is Product.CNC:
            return "CNC is delivery: it cannot sell short (use MIS or NRML)"
        local = ensure_utc(now).astimezone(IST)
        square_off = self.exits.square_off_at(local.date())
        if square_off is not None and now >= square_off:
            return (f"after the {square_off.astimezone(IST):%H:%M} IST square-off MIS entries "
                    f"wait for the next session")
        today = counts.on(local.date())
        if today.entries >= self.rules.max_trades_per_day:
            return f"Trades a day: {today.entries} taken today, the most allowed"
        exit_at = today.last_exit_at
        if exit_at is None:
            return None
        told = exit_at.astimezone(IST)
        if self.rules.reentry is ReEntry.NEVER:
            return f"Re-entry: never after an exit the same day (exited {told:%H:%M} IST)"
        if signal.at < exit_at:
            return f"Re-entry: waiting for a signal after the exit at {told:%H:%M} IST"
        if self.rules.reentry is ReEntry.COOLDOWN and self.timeframe is not None:
            until = exit_at + nominal_span(self.timeframe) * self.rules.cooldown_candles
            if signal.at < until:
                return (f"Re-entry: cool-down of {self.rules.cooldown_candles} candles after "
                        f"the exit at {told:%H:%M} IST (until {until.astimezone(IST):%H:%M})")
        return None

    @staticmethod
    def entered(counts: DayCount, at: datetime) -> DayCount:
        today = counts.on(ensure_utc(at).astimezone(IST).date())
        return DayCount(today.day, today.entries + 1, today.last_exit_at)

    @staticmethod
    def exited(counts: DayCount, at: datetime) -> DayCount:
        today = counts.on(ensure_utc(at).astimezone(IST).date())
        return DayCount(today.day, today.entries, ensure_utc(at))
