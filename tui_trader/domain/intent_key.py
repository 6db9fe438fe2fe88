"""An order intent's key: which strategy (or position), which leg, which trading day, and
which attempt. One intent per key is the engine's exactly-once guarantee: every event that
asks for the same leg on the same day maps to the same key, hence the same row and the same
client tag at the broker.

The key is a value, built from its parts and written as `owner:leg:day:seq` only where it
is stored (the `orders.intent_key` column) or turned into a client tag; nothing parses
that text back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

from .enums import OrderReason


class Leg(StrEnum):
    """BUY is the entry leg; SELL, STOPLOSS and EXIT all share the exit leg, so a stop-loss
    racing the scheduled sell (or the kill switch) maps to one intent and one order."""

    ENTRY = "ENTRY"
    EXIT = "EXIT"

    @classmethod
    def for_reason(cls, reason: OrderReason) -> Leg:
        return cls.ENTRY if reason is OrderReason.BUY else cls.EXIT


@dataclass(frozen=True, slots=True)
class IntentKey:
    owner: uuid.UUID  # the strategy, or the position for one no strategy owns
    leg: Leg
    day: date  # the IST trading day
    seq: int = 1  # the attempt: an exit refused (or ended short) is retried under seq + 1

    def __post_init__(self) -> None:
        if self.seq < 1:
            raise ValueError("an intent's attempt number starts at 1")

    @property
    def leg_key(self) -> tuple[uuid.UUID, Leg, date]:
        """The leg on its day, whatever the attempt: one handling places it at a time."""
        return (self.owner, self.leg, self.day)

    def next_attempt(self) -> IntentKey:
        return replace(self, seq=self.seq + 1)

    def __str__(self) -> str:
        return f"{self.owner}:{self.leg}:{self.day.isoformat()}:{self.seq}"
