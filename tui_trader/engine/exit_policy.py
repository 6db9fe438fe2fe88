"""What happens after the broker refuses an order: whether an exit is tried again, when,
and when the engine gives up for the day and tells the trader to act.

Entries are never retried (the moment has passed). A refused exit keeps the stop watching;
a scheduled exit (SELL, EXIT) is held and tried again after `exit_retry_s`, a stop-loss by
the next tick through the stop. At most `max_exit_attempts` refusals a day; the kill
switch may make one more attempt than the strategy's own exits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from ..domain.enums import TriggerEvent
from .config import EngineConfig
from .intents import IntentLedger


@dataclass(frozen=True, slots=True)
class AfterRefusal:
    attempts: int  # refusals of the day's exits so far (0 for an entry)
    exhausted: bool  # the day's exit attempts are used up
    retry: bool  # keep watching: the next trigger tries again
    retry_after_s: float | None  # a scheduled exit is held and tried again after this long


class ExitPolicy:
    def __init__(self, config: EngineConfig, ledger: IntentLedger) -> None:
        self.config = config
        self.ledger = ledger

    @property
    def max_attempts(self) -> int:
        """Exit attempts a strategy's own exits may make in a day."""
        return self.config.max_exit_attempts

    @property
    def kill_switch_attempts(self) -> int:
        """The kill switch may try once more than the strategy's exits did."""
        return self.config.max_exit_attempts + 1

    def after_refusal(self, event: TriggerEvent, strategy_id: uuid.UUID, day: date, *,
                      token_lapsed: bool) -> AfterRefusal:
        """With a lapsed session nothing can go out: no retry now (watching resumes when
        the user logs in)."""
        if event is TriggerEvent.BUY:
            return AfterRefusal(0, False, False, None)
        attempts = self.ledger.exit_refusals(strategy_id, day)
        exhausted = attempts >= self.config.max_exit_attempts
        retry = not token_lapsed and not exhausted
        scheduled = retry and event is not TriggerEvent.STOPLOSS
        return AfterRefusal(attempts, exhausted, retry,
                            self.config.exit_retry_s if scheduled else None)
