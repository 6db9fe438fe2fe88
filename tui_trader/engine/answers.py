"""The broker's answers: each snapshot of an order (the call's own answer, a live update,
or what reconciling by tag finds) recorded with the position it moves in one transaction,
and what follows from it: the strategy moved, or its move undone when the broker refuses
after accepting, the trader told, a killed strategy's leftovers squared off.

`Answers` is the interface the rest of the engine uses (placement, the executor, the
reconciler); `BrokerAnswers` implements it. Placing orders and reading their answers change
apart: this module never sends an order itself (a killed strategy's leftovers go through
`square_off`, the placement path, and a refused scheduled exit is sent again through
`submit`, the order stream).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from ..brokers.base import Broker, BrokerOrder
from ..domain.clock import IST, Clock, ist_date
from ..domain.enums import (
    IntentState,
    OrderReason,
    OrderStatus,
    RuntimePosition,
    TriggerEvent,
)
from ..domain.errors import BrokerError
from ..domain.strategy import StrategySpec
from ..live.order_queue import OrderEvent
from ..live.state import LiveState
from .alerts import Alerts
from .directory import BrokerDirectory, StrategyDirectory
from .events import OrderStatusChanged
from .intents import IntentLedger
from .order_row import OrderRow
from .positions import OpenPosition, PositionKeeper
from .publisher import EventPublisher
from .router import TickRouter

log = logging.getLogger(__name__)


class ExitAlreadyWorking(BrokerError):
    """Today's exit of a position is at the broker already: no second one is sent."""


class Resolution(StrEnum):
    """What asking the broker about an intent found."""

    PLACED = "placed"
    REFUSED = "refused"
    NOT_FOUND = "not_found"


class Answers(Protocol):
    """What the rest of the engine asks of the broker's answers."""

    def apply_update(self, update: BrokerOrder) -> None: ...
    def refused(self, order_id: uuid.UUID) -> str | None: ...
    def resolve(self, order_id: uuid.UUID, broker: Broker | None = None) -> Resolution: ...
    def settle_refusal(self, order_id: uuid.UUID) -> None: ...
    def exit_again(self, spec: StrategySpec, reason: OrderReason, now: datetime) -> None: ...
    def force_runtime(self, spec: StrategySpec, position: RuntimePosition, order_id: str,
                      reason: OrderReason, owner: str | None) -> None: ...
    def watch_as(self, spec: StrategySpec, position: RuntimePosition) -> None: ...
    def publish_order(self, order_id: uuid.UUID, row: OrderRow | None = None) -> None: ...
    def square_off_killed(self, strategy_id: uuid.UUID) -> None: ...


class BrokerAnswers:
    """Applies broker snapshots and settles what they say (see the module docstring).

    `killed` is the kill switch's set of stopped strategies (shared with it); `submit` puts
    an order event on the stream; `square_off` is the placement path's one exit of a
    position (raising `ExitAlreadyWorking` when one is at the broker already)."""

    def __init__(self, *, ledger: IntentLedger, live: LiveState, brokers: BrokerDirectory,
                 strategies: StrategyDirectory, positions: PositionKeeper, router: TickRouter,
                 publisher: EventPublisher, alerts: Alerts, clock: Clock,
                 killed: set[uuid.UUID], submit: Callable[[OrderEvent], object],
                 square_off: Callable[[OpenPosition], object]) -> None:
        self.ledger = ledger
        self.live = live
        self.brokers = brokers
        self.strategies = strategies
        self.positions = positions
        self.router = router
        self.publisher = publisher
        self.alerts = alerts
        self.clock = clock
        self.killed = killed
        self.submit = submit
        self.square_off = square_off
        # One snapshot at a time: the broker's listener thread and the executor both apply.
        self._update_lock = threading.RLock()

    def refused(self, order_id: uuid.UUID) -> str | None:
        """Why the broker refused this order, if it did: rejected or cancelled unfilled, or,
        for an exit, with part of the position still held."""
        row = self.ledger.get(order_id)
        if _short_of(row, row.status, row.filled_quantity):
            why = row.error or f"{str(row.status).lower()} by the broker"
            if row.filled_quantity:
                why += f" after {row.filled_quantity} of {row.quantity} filled"
            return why
        return None

    # -- broker answers --------------------------------------------------------------------
    def resolve(self, order_id: uuid.UUID, broker: Broker | None = None) -> Resolution:
        """Settle an UNKNOWN or FIRING intent by asking the broker for its tag.

        PLACED: it is at the broker and working or filled: the strategy moves as if the
        answer had come back. REFUSED: the broker has it, rejected (or cancelled unfilled):
        nothing moved, and `refusal` says why; the caller deals with it. NOT_FOUND: not
        there (yet)."""
        row = self.ledger.get(order_id)
        broker = broker or self.brokers.for_account(row.user_id, row.broker_account_id)
        try:
            found = broker.orders_by_tag(row.client_tag)
        except BrokerError as exc:
            log.warning("reconcile of %s postponed: %s", row.client_tag, exc)
            return Resolution.NOT_FOUND
        if not found:
            return Resolution.NOT_FOUND
        self.apply_update(found[-1])
        if self.refused(order_id) is not None:
            return Resolution.REFUSED
        spec = self.strategies.get(row.strategy_id) if row.strategy_id else None
        # Move the strategy unless it already moved on this very order (then the reconciler
        # only refreshes the order: moving again would undo what followed, e.g. re-arm a
        # stop after the exit it fired).
        if spec is not None and \
                self._moved_for(spec, row, found[-1].broker_order_id) is False:
            reason = row.reason
            position = RuntimePosition.BOUGHT if reason is OrderReason.BUY else \
                RuntimePosition.SOLD
            self.force_runtime(spec, position, found[-1].broker_order_id, reason,
                                row.event_id)
        return Resolution.PLACED

    def settle_refusal(self, order_id: uuid.UUID) -> None:
        """An intent the broker turned out to have refused, found with no event in hand
        (the reconciler): free the strategy, keep watching a held position, tell the
        trader."""
        row = self.ledger.get(order_id)
        message = self.refused(order_id) or "refused by the broker"
        spec = self.strategies.get(row.strategy_id) if row.strategy_id else None
        if spec is not None:
            if row.event_id:
                self.live.locks.release(spec.id, row.event_id)
            reason = row.reason
            if reason is not OrderReason.BUY:
                self.router.arm(spec.id)  # still holding: the stop watches again
            self.exit_again(spec, reason, self.clock.now())  # a scheduled exit goes again
        self.alerts.refused_found_later(row.user_id, spec.name if spec else row.symbol,
                                        row.reason, message)

    def exit_again(self, spec: StrategySpec, reason: OrderReason, now: datetime) -> None:
        """A scheduled exit (SELL, EXIT) that did not go through is still wanted: it goes on
        the stream again, to be placed under the next attempt. A stop-loss is not: the
        next tick through the stop fires it."""
        if reason not in (OrderReason.SELL, OrderReason.EXIT):
            return
        self.submit(OrderEvent(
            strategy_id=spec.id, user_id=spec.user_id,
            event=TriggerEvent.SELL if reason is OrderReason.SELL else TriggerEvent.EXIT,
            symbol=spec.symbol, trigger_price=None, created_at=now))

    def watch_as(self, spec: StrategySpec, position: RuntimePosition) -> None:
        """Watch the stop-loss of a bought position (firing at once if the price is already
        through it); stop watching anything else."""
        if position is RuntimePosition.BOUGHT:
            self.router.arm(spec.id)
        else:
            self.router.set_armed(spec.id, False)

    def force_runtime(self, spec: StrategySpec, position: RuntimePosition, order_id: str,
                       reason: OrderReason, owner: str | None) -> None:
        """Move the runtime to what the broker says happened; release the lock only if it
        is still this intent's (another event may hold it by now)."""
        field_name = "last_buy_order" if reason is OrderReason.BUY else "last_sell_order"
        self.live.move_runtime(spec.id, position, field_name, order_id)
        if owner:
            self.live.locks.release(spec.id, owner)
        self.watch_as(spec, position)

    def apply_update(self, update: BrokerOrder) -> None:
        """Apply a broker snapshot (return value, listener or reconciliation): idempotent."""
        with self._update_lock:
            row = self.ledger.by_tag(update.client_tag)
            if row is None:
                log.warning("broker update for unknown tag %s ignored", update.client_tag)
                return
            now = self.clock.now()
            staged = None
            # The order's record and the position's change commit together: a fill is
            # applied whole or not at all, and a retry after a failure applies it once.
            with self.ledger.engine.begin() as conn:
                delta, before_status, merged = self.ledger.record(row.id, update, now, conn)
                if delta > 0:
                    # The row as it was before this snapshot, read under the row lock.
                    price = _delta_price(merged.average_price_before,
                                         merged.filled_before, update.average_price,
                                         update.filled_quantity, delta)
                    staged = self.positions.stage_fill(
                        conn, user_id=row.user_id, strategy_id=row.strategy_id,
                        symbol=row.symbol, exchange=row.exchange,
                        side=row.side, quantity=delta, price=price,
                        order_id=row.id, now=now)
            followed_up = False
            if staged is not None:
                outcome = self.positions.settle(staged)
                if outcome.closed and row.strategy_id is not None:
                    self._record_trade(row, outcome.realized, now)
                if row.strategy_id in self.killed and not outcome.closed:
                    # Still open after a fill of a killed strategy's order: a BUY that was
                    # at the broker bought more, or an exit closed only part of it.
                    self.square_off_killed(row.strategy_id)
                    followed_up = True
                elif not outcome.closed and row.strategy_id is not None and (
                        row.reason is OrderReason.BUY
                        or update.status is OrderStatus.FILLED):
                    # More bought after the strategy sold, or its exit filled while more
                    # was being bought: what is still held must not go unwatched.
                    self._watch_what_is_still_held(row, now)
            status = update.status
            if status != before_status or delta > 0:
                self.publish_order(row.id, merged.row)
                if not followed_up:
                    self._notify_status(row, update, before_status)

    def _watch_what_is_still_held(self, row: OrderRow, now: datetime) -> None:
        """The rest of a BUY that filled in parts arrived after (or while) the strategy
        sold what it had: the shares still held are watched by the stop again (sold at once
        if the price is through it), and after the day's sell time they are sold now."""
        spec = self.strategies.get(row.strategy_id)
        if spec is None:
            return
        try:
            runtime = self.live.get_runtime(spec.id)
        except Exception:  # live store unreachable: the next exit event corrects from SQL
            return
        if runtime is None or runtime.position is not RuntimePosition.SOLD or \
                self.ledger.exit_working(spec.id, row.trading_day):
            return
        held = self.positions.held_in_sql(strategy_id=spec.id)
        if held == 0:
            return
        self.live.move_runtime(spec.id, RuntimePosition.BOUGHT)
        past_sell = now.astimezone(IST).time() >= spec.sell_time
        self.alerts.bought_after_exit(spec, held, past_sell, now)
        self.router.arm(spec.id)
        if past_sell:
            self.submit(OrderEvent(strategy_id=spec.id, user_id=spec.user_id,
                                   event=TriggerEvent.SELL, symbol=spec.symbol,
                                   trigger_price=None, created_at=now))

    def square_off_killed(self, strategy_id: uuid.UUID) -> None:
        """A position of a strategy the kill switch stopped is open again or still: a BUY
        at the broker when K was pressed filled, or an exit that was there was refused.
        Close it, or tell the trader loudly why it could not be."""
        held = self.positions.open_for_strategy(strategy_id)
        if held is None:
            return
        try:
            self.square_off(held)
        except ExitAlreadyWorking:
            return  # the kill switch's own exit (or a stop-loss) is at the broker already
        except Exception as exc:
            self.alerts.open_after_kill(held.user_id, held.symbol, held.quantity, exc)

    def _record_trade(self, row: OrderRow, realized: Decimal, now: datetime) -> None:
        try:
            self.live.incr_daily_stats(row.strategy_id, ist_date(now), trades=1,
                                       wins=1 if realized > 0 else 0,
                                       losses=1 if realized < 0 else 0, pnl=realized)
        except Exception:  # stats are a convenience; the SQL position is the record
            log.warning("daily stats not updated for %s", row.strategy_id)

    def _notify_status(self, row: OrderRow, update: BrokerOrder,
                       before: OrderStatus | None) -> None:
        if update.status == before:
            return
        spec = self.strategies.get(row.strategy_id) if row.strategy_id else None
        name = spec.name if spec else row.symbol
        now = self.clock.now()
        if update.status is OrderStatus.FILLED:
            self.alerts.filled(row.user_id, name, row.reason, row.side,
                               update.filled_quantity, row.symbol, update.average_price,
                               now)
        elif spec is None and row.strategy_id in self.killed and \
                row.intent_state == IntentState.SENT and \
                row.reason is not OrderReason.BUY and \
                _short_of(row, update.status, update.filled_quantity) and \
                before is not None and not before.is_final:
            # An exit of a strategy the kill switch stopped, refused after acceptance (one
            # refused in its call's own answer is its caller's to handle): the kill
            # switch's exit goes instead.
            self.square_off_killed(row.strategy_id)
        elif _short_of(row, update.status, update.filled_quantity) and before is not None \
                and not before.is_final and spec is not None:
            # Refused after the strategy had moved on its acceptance: tell the trader, undo
            # the move, and for an exit keep the position covered (watch the stop again,
            # and try a scheduled exit again under the next attempt).
            moved = self._moved_for(spec, row, update.broker_order_id)
            if moved is False:
                return  # refused in the call's own answer: its caller deals with it
            reason = row.reason
            back = RuntimePosition.NONE if reason is OrderReason.BUY else RuntimePosition.BOUGHT
            # First: whatever fails below, the trader hears of it.
            self.alerts.refused_after_acceptance(
                row.user_id, name, reason, update.status, update.filled_quantity,
                row.quantity, update.message, back is RuntimePosition.BOUGHT, now)
            try:
                self.live.move_runtime(spec.id, back)
            except Exception:  # the next exit event (or a restart) puts it right from SQL
                log.warning("runtime of %s not set back to %s (live store unreachable)",
                            spec.name, back.value)
            if back is RuntimePosition.BOUGHT:
                self.router.arm(spec.id)
                self.exit_again(spec, reason, now)
            else:
                self.router.set_armed(spec.id, False)

    def _moved_for(self, spec: StrategySpec, row: OrderRow, broker_order_id: str) -> bool | None:
        """Whether the strategy's runtime moved on this order's acceptance (None: the live
        store cannot say)."""
        field_name = "last_buy_order" if row.reason is OrderReason.BUY \
            else "last_sell_order"
        try:
            return self.live.runtime_order(spec.id, field_name) == broker_order_id
        except Exception:  # live store unreachable: SQL settles the runtime later
            return None

    def publish_order(self, order_id: uuid.UUID, row: OrderRow | None = None) -> None:
        row = row or self.ledger.get(order_id)
        self.publisher.publish(OrderStatusChanged(
            user_id=str(row.user_id), order_id=str(row.id),
            strategy_id=str(row.strategy_id) if row.strategy_id else None,
            symbol=row.symbol, side=str(row.side), reason=str(row.reason),
            status=str(row.status), quantity=row.quantity,
            filled_quantity=row.filled_quantity, average_price=row.average_price,
            message=row.error))


def _short_of(row: OrderRow, status: OrderStatus, filled: int) -> bool:
    """The broker is done with this order (rejected, cancelled) and it left something to
    do: an entry that bought nothing, or an exit that did not close all it was for."""
    if status not in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
        return False
    if row.reason is OrderReason.BUY:
        return filled == 0
    return filled < row.quantity


def _snapshot_key(update: BrokerOrder) -> tuple:
    return (update.broker_order_id, update.status, update.filled_quantity,
            update.average_price)


def _delta_price(before_avg: Decimal | None, before_filled: int, after_avg: Decimal | None,
                 after_filled: int, delta: int) -> Decimal:
    """The price of the newly filled quantity, from the average before and after."""
    if after_avg is None:
        raise ValueError("a fill without an average price")
    if not before_filled or before_avg is None:
        return after_avg
    total = after_avg * after_filled - before_avg * before_filled
    return (total / delta).quantize(Decimal("0.0001"))
