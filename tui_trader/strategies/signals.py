"""What a strategy kind says: a signal to enter long, enter short or exit, with the reason in
a trader's words, the instant and the price it was judged on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class Action(StrEnum):
    ENTER_LONG = "enter_long"
    ENTER_SHORT = "enter_short"  # the engine sends it only where the product allows shorts
    EXIT = "exit"


class Holding(StrEnum):
    """A strategy's position as the engine last told its kind."""

    FLAT = "flat"
    LONG = "long"
    SHORT = "short"


@dataclass(frozen=True, slots=True)
class Signal:
    action: Action
    reason: str  # "EMA 9 crossed above EMA 21"
    at: datetime  # UTC: the candle's close, the tick's or the clock's instant
    price: Decimal | None = None  # the close or tick it was judged on; None for time legs

    def as_json(self) -> dict[str, str | None]:
        return {"action": self.action.value, "reason": self.reason, "at": self.at.isoformat(),
                "price": None if self.price is None else str(self.price)}


def enter(holding: Holding, long: bool, reason: str, at: datetime,
          price: Decimal) -> list[Signal]:
    """The signals a kind gives on a long (or short) event: exit an opposite position, and
    enter unless already on that side."""
    want = Holding.LONG if long else Holding.SHORT
    if holding is want:
        return []
    out = [Signal(Action.EXIT, reason, at, price)] if holding is not Holding.FLAT else []
    out.append(Signal(Action.ENTER_LONG if long else Action.ENTER_SHORT, reason, at, price))
    return out
