"""Every message the engine sends a trader, worded in one place.

Each method is one situation: it picks the notification's kind and severity and says what
happened and what (if anything) the trader must do. The parts of the engine decide *that*
the trader is told; this module owns *what* they are told. Titles name the strategy (or the
symbol when no strategy is left) first, so a list of them reads as a log.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from decimal import Decimal

from ..domain.clock import IST, Clock
from ..domain.enums import NotificationKind, OrderReason, OrderStatus, Severity, TriggerEvent
from ..domain.strategy import StrategySpec
from .order_row import OrderRow
from .publisher import Notifier

_SQUARE_OFF_YOURSELF = "(K, the kill switch, or at the broker)"


class Alerts:
    def __init__(self, notifier: Notifier, clock: Clock) -> None:
        self.notifier = notifier
        self.clock = clock

    def _say(self, user_id: uuid.UUID, kind: NotificationKind, severity: Severity, title: str,
             body: str, now: datetime | None = None) -> None:
        self.notifier.notify(user_id, kind, severity, title, body,
                             now if now is not None else self.clock.now())

    # -- entries not placed -----------------------------------------------------------------
    def event_skipped(self, spec: StrategySpec, event: TriggerEvent, why: str) -> None:
        self._say(spec.user_id, NotificationKind.SYSTEM, Severity.WARNING,
                  f"{spec.name}: {event.value} skipped", f"Not placed: {why}.")

    def buy_too_late(self, spec: StrategySpec, planned: datetime, late_s: float) -> None:
        at = planned.astimezone(IST)
        self._say(spec.user_id, NotificationKind.SYSTEM, Severity.WARNING,
                  f"{spec.name}: BUY of {at:%a %d %b %H:%M} IST not placed",
                  f"The engine took it {late_s / 60:.0f} min late (it was not running): the "
                  f"moment has passed.")

    def buy_at_the_stop(self, spec: StrategySpec, rule: str) -> None:
        self._say(spec.user_id, NotificationKind.SYSTEM, Severity.WARNING,
                  f"{spec.name}: BUY not placed, price at the stop-loss",
                  f"Stop-loss {rule}. Nothing was bought; the strategy tries again at its "
                  f"next BUY (stop it and lower the stop-loss if the price has moved for "
                  f"good).")

    def entry_denied(self, spec: StrategySpec, symbol: str, quantity: int,
                     why: str) -> None:
        """An entry the user's risk rules refused: nothing was sent to the broker."""
        self._say(spec.user_id, NotificationKind.RISK, Severity.WARNING,
                  f"{spec.name}: BUY {symbol} {quantity} denied",
                  f"{why}. Nothing was sent to the broker; the strategy buys again on its "
                  f"next trading day (change the limits with the risk settings).")

    def stopped_while_buying(self, spec: StrategySpec, quantity: int, symbol: str) -> None:
        self._say(spec.user_id, NotificationKind.RISK, Severity.CRITICAL,
                  f"{spec.name}: stopped while its BUY was at the broker",
                  f"{quantity} {symbol} bought and not watched by any stop-loss. Square off "
                  f"with K (the kill switch) or start the strategy again.")

    # -- refusals ---------------------------------------------------------------------------
    def exits_exhausted(self, spec: StrategySpec, attempts: int, message: str) -> None:
        self._say(spec.user_id, NotificationKind.RISK, Severity.CRITICAL,
                  f"{spec.name}: exit refused {attempts} times, position open",
                  f"{message}. The engine stops trying today: square off {spec.symbol} "
                  f"yourself {_SQUARE_OFF_YOURSELF}.")

    def no_more_exits(self, spec: StrategySpec, held: int) -> None:
        self._say(spec.user_id, NotificationKind.RISK, Severity.CRITICAL,
                  f"{spec.name}: no more exits today, position open",
                  f"Today's exit attempts are used and {held} {spec.symbol} are still held: "
                  f"square off yourself {_SQUARE_OFF_YOURSELF}.")

    def token_lapsed(self, spec: StrategySpec, event: TriggerEvent, message: str) -> None:
        self._say(spec.user_id, NotificationKind.TOKEN_EXPIRY, Severity.CRITICAL,
                  "Broker session expired: log in again",
                  f"{spec.name}: {event.value} not placed. {message}. No new orders for this "
                  f"account until you log in from the Brokers screen; positions are still "
                  f"watched.")

    def order_rejected(self, spec: StrategySpec, event: TriggerEvent, message: str,
                       retry_after_s: float | None, on_next_tick: bool) -> None:
        """`retry_after_s`: a scheduled exit is tried again after that long; `on_next_tick`:
        a stop-loss is tried again by the next tick through the stop."""
        again = ""
        if retry_after_s is not None:
            again = f" Trying again in {retry_after_s:.0f} s."
        elif on_next_tick:
            again = " Trying again on the next tick through the stop."
        self._say(spec.user_id, NotificationKind.REJECTION, Severity.ERROR,
                  f"{spec.name}: {event.value} order rejected",
                  message + "." + again if again else message)

    def refused_found_later(self, user_id: uuid.UUID, name: str, reason: str,
                            message: str) -> None:
        """An intent the broker turned out to have refused (found by reconciling)."""
        self._say(user_id, NotificationKind.REJECTION, Severity.ERROR,
                  f"{name}: {reason} order rejected", message)

    def refused_after_acceptance(self, user_id: uuid.UUID, name: str, reason: OrderReason,
                                 status: OrderStatus, filled: int, quantity: int,
                                 message: str | None, still_open: bool,
                                 now: datetime) -> None:
        partly = f" ({filled} of {quantity} filled)" if filled else ""
        self._say(user_id, NotificationKind.REJECTION, Severity.ERROR,
                  f"{name}: {reason.value} order {status.value.lower()} by the broker{partly}",
                  (message or "") + (" The position is still open and watched."
                                     if still_open else ""), now)

    def not_placed_after_grace(self, user_id: uuid.UUID, symbol: str, reason: str,
                               message: str, now: datetime) -> None:
        self._say(user_id, NotificationKind.REJECTION, Severity.ERROR,
                  f"{symbol}: {reason} order not placed", message, now)

    @staticmethod
    def lost_answer_message(client_tag: str, grace_s: int) -> str:
        return (f"the broker has no order with tag {client_tag} {grace_s} s after a lost "
                f"answer: not placed")

    # -- fills and positions ----------------------------------------------------------------
    def filled(self, user_id: uuid.UUID, name: str, reason: OrderReason, side: str,
               filled: int, symbol: str, average_price: Decimal | None, now: datetime) -> None:
        stoploss = reason is OrderReason.STOPLOSS
        title = (f"{name}: stop-loss hit, sold {filled} {symbol}" if stoploss else
                 f"{name}: {side.lower()} {filled} {symbol} filled")
        # A stop-loss hit is a loss taken: it is a warning, not one fill among others.
        self._say(user_id, NotificationKind.STOPLOSS if stoploss else NotificationKind.FILL,
                  Severity.WARNING if stoploss else Severity.INFO, title,
                  f"at {average_price}", now)

    def bought_after_exit(self, spec: StrategySpec, held: int, past_sell: bool,
                          now: datetime) -> None:
        self._say(spec.user_id, NotificationKind.RISK, Severity.WARNING,
                  f"{spec.name}: more {spec.symbol} bought after the exit",
                  f"The rest of the BUY filled after the strategy had sold: {held} held, "
                  + ("being sold now (past the sell time)." if past_sell
                     else "watched by the stop-loss again."), now)

    def open_after_kill(self, user_id: uuid.UUID, symbol: str, quantity: int,
                        error: Exception) -> None:
        self._say(user_id, NotificationKind.RISK, Severity.CRITICAL,
                  f"{symbol}: still open after the kill switch",
                  f"{quantity} held; squaring it off failed: {error}. Close it at the broker.")

    # -- accounts ---------------------------------------------------------------------------
    def account_unusable(self, row: OrderRow, message: str, now: datetime) -> None:
        self._say(row.user_id, NotificationKind.SYSTEM, Severity.ERROR,
                  "Broker account unusable",
                  f"{message}. The {row.symbol} {row.reason} order {row.client_tag} "
                  f"is checked with the broker once it is fixed; nothing else of yours is "
                  f"held up.", now)

    # -- the schedule -----------------------------------------------------------------------
    def missed_buy(self, spec: StrategySpec, what: str, upcoming: str, now: datetime) -> None:
        self._say(spec.user_id, NotificationKind.SYSTEM, Severity.WARNING,
                  f"{spec.name}: {what} missed",
                  f"No engine was running at the time (the console was closed), so nothing "
                  f"was bought then; {upcoming}.", now)

    @staticmethod
    def missed_what(days: list[date], buy_time: time) -> str:
        last = days[-1]
        if len(days) == 1:
            return f"BUY of {last:%a %d %b} {buy_time:%H:%M} IST"
        return f"{len(days)} BUYs, the last on {last:%a %d %b} {buy_time:%H:%M} IST"

    def leg_delayed(self, spec: StrategySpec, leg: TriggerEvent, why: str) -> None:
        self._say(spec.user_id, NotificationKind.SYSTEM, Severity.WARNING,
                  f"{spec.name}: {leg.value} at {spec.symbol} delayed", why)

    def nothing_planned(self, spec: StrategySpec, why: str) -> None:
        self._say(spec.user_id, NotificationKind.SYSTEM, Severity.WARNING,
                  f"{spec.name}: nothing more planned", why)
