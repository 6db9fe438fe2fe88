"""The one path an order takes to the broker: claim its intent in SQL, call the broker
with the intent's client tag, and record what came back. Every order the engine sends goes
through `Placement.send` — a strategy's legs (via `place`) and the kill switch's square-off
(`square_off`) alike — so the rules that keep orders exactly-once live in one place:

- the intent is claimed (durable) before the broker is called, and a call whose outcome
  is unknown is never re-sent: it is resolved by asking the broker for its tag;
- one leg (strategy, leg, day) is placed by one handling at a time in this process;
- an intent whose call is on its way is `in_flight` (the reconciler leaves it be).

What happens after a refusal (retry, give up, tell the trader) is the exit policy's call;
what an answer moves (order, position, runtime) is the broker answers'.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from ..brokers.base import (
    Broker,
    BrokerOrder,
    BrokerUnavailable,
    OrderRejected,
    OrderRequest,
    OutcomeUnknown,
    TokenExpired,
)
from ..domain.clock import Clock, ist_date
from ..domain.enums import (
    ExecutionMode,
    IntentState,
    OrderKind,
    OrderReason,
    OrderStatus,
    Side,
    TriggerEvent,
)
from ..domain.errors import BrokerError
from ..domain.intent_key import IntentKey, Leg
from ..domain.strategy import StrategySpec
from ..live.order_queue import OrderEvent, QueuedEvent
from ..live.scripts import CompleteStatus, next_position, order_field_for
from ..live.state import LiveState
from .alerts import Alerts
from .answers import Answers, ExitAlreadyWorking, Resolution
from .directory import BrokerDirectory
from .exit_policy import ExitPolicy
from .faults import FaultInjector, Step
from .gate import EntryGate
from .intents import Claim, IntentDraft, IntentLedger
from .positions import OpenPosition, PositionKeeper
from .risk_check import Judged, RiskCheck
from .router import TickRouter

log = logging.getLogger(__name__)

trading_day = ist_date  # the IST date of a moment: the day an intent belongs to

REASON_FOR = {TriggerEvent.BUY: OrderReason.BUY, TriggerEvent.SELL: OrderReason.SELL,
              TriggerEvent.STOPLOSS: OrderReason.STOPLOSS, TriggerEvent.EXIT: OrderReason.EXIT}


class Outcome(StrEnum):
    PLACED = "placed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    HELD = "held"
    REJECTED = "rejected"
    RETRY = "retry"  # refused exit, tried again later
    UNKNOWN = "unknown"
    MALFORMED = "malformed"
    DENIED = "denied"  # an entry the user's risk rules refused: never sent


@dataclass(slots=True)
class Placed:
    """A broker call that went through; its bookkeeping (record, position, runtime, ack) is
    still to do, after the rest of the batch's calls."""

    spec: StrategySpec
    event: OrderEvent
    owner: str
    result: BrokerOrder
    claim: Claim
    queued: QueuedEvent | None = None
    # The leg this call holds until its answer is recorded (key, token).
    leg: tuple[tuple, object] | None = None


class Placement:
    def __init__(self, *, ledger: IntentLedger, live: LiveState, brokers: BrokerDirectory,
                 positions: PositionKeeper, router: TickRouter, gate: EntryGate,
                 answers: Answers, alerts: Alerts, policy: ExitPolicy, clock: Clock,
                 faults: FaultInjector, killed: set[uuid.UUID],
                 risk: RiskCheck | None = None) -> None:
        self.ledger = ledger
        self.live = live
        self.brokers = brokers
        self.positions = positions
        self.router = router
        self.gate = gate
        self.answers = answers
        self.alerts = alerts
        self.policy = policy
        self.clock = clock
        self.faults = faults
        self.killed = killed
        # The user's risk rules, judged for every entry after its claim, before its call.
        self.risk = risk
        # Observes each strategy leg just before it is sent (benchmarks time the stop-loss
        # path with it; tests act at that moment). The kill switch's exits are not shown.
        self.on_broker_call: Callable[[OrderRequest], None] | None = None
        # Intents whose broker call is on its way right now (the reconciler leaves them be).
        self.in_flight: set[uuid.UUID] = set()
        # Legs (strategy, leg, day) being placed by this process, with the handling placing
        # each: a second event for the same leg waits for the first one's answer instead of
        # taking its FIRING intent for one a dead process left (and sending it again).
        self._legs: dict[tuple, object] = {}
        self._legs_lock = threading.Lock()

    # -- the one call ------------------------------------------------------------------------
    def send(self, broker: Broker, request: OrderRequest, *,
             fallback_price: Decimal | None = None, strategy_leg: bool = True) -> BrokerOrder:
        """Send one order whose intent is claimed. A paper broker first matches against the
        engine's latest price (else `fallback_price`). A strategy's leg is shown to
        `on_broker_call` first."""
        if hasattr(broker, "on_tick"):
            price = self.router.last_price(request.symbol) or fallback_price
            if price is not None:
                broker.on_tick(request.symbol, price, self.clock.now())
        self.faults.at(Step.CALLING)
        if strategy_leg and self.on_broker_call is not None:
            self.on_broker_call(request)
        return broker.place_order(request)

    # -- a strategy's leg --------------------------------------------------------------------
    def place(self, spec: StrategySpec, event: OrderEvent, draft: IntentDraft,
              owner: str) -> Outcome | Placed:
        """Claim and place, unless another handling in this process is placing the same leg
        right now (then HELD: it must not take that claim for a dead one's)."""
        # One token per handling, not per event: the same event handled twice at once (a
        # recovery racing a retry) must not pass either.
        leg = (draft.key.leg_key, object())  # strategy, leg, day: all attempts
        with self._legs_lock:
            holder = self._legs.setdefault(leg[0], leg[1])
        if holder is not leg[1]:
            return Outcome.HELD
        outcome: Outcome | Placed = Outcome.UNKNOWN
        try:
            outcome = self._claim_and_place(spec, event, draft, owner)
            if isinstance(outcome, Placed):
                outcome.leg = leg  # released once its answer is recorded
            return outcome
        finally:
            if not isinstance(outcome, Placed):
                self.release_leg(leg)

    @property
    def idle(self) -> bool:
        """No call on its way and no leg held."""
        return not self.in_flight and not self._legs

    def release_leg(self, leg: tuple[tuple, object] | None) -> None:
        if leg is None:
            return
        with self._legs_lock:
            if self._legs.get(leg[0]) is leg[1]:
                del self._legs[leg[0]]

    def recorded(self, placed: Placed) -> None:
        """Its answer is recorded (or left to the event's retry): no longer in flight."""
        self.in_flight.discard(placed.claim.order_id)
        self.release_leg(placed.leg)

    def _claim_and_place(self, spec: StrategySpec, event: OrderEvent, draft: IntentDraft,
                         owner: str) -> Outcome | Placed:
        now = self.clock.now()
        if draft.reason is OrderReason.BUY:
            claim = self.ledger.claim(draft, now)
        else:  # an exit the broker refused is tried again, a bounded number of times a day
            draft, claim = self.ledger.claim_next_attempt(
                draft, now, self.policy.max_attempts,
                held=lambda: self.positions.held_in_sql(strategy_id=spec.id))
        self.faults.at(Step.INTENT)
        if not claim.won:
            return self._already_claimed(spec, event, draft, claim, owner)
        try:
            broker = self.brokers.for_spec(spec)
        except TokenExpired as exc:
            if spec.broker_account_id is not None:
                self.gate.block_for_token(spec.broker_account_id, self.clock.now())
            return self.failed(spec, event, claim, owner, str(exc), token_lapsed=True)
        except BrokerError as exc:
            return self.failed(spec, event, claim, owner, str(exc))
        return self._call(broker, spec, event, draft, claim, owner)

    def _call(self, broker: Broker, spec: StrategySpec, event: OrderEvent,
              draft: IntentDraft, claim: Claim, owner: str) -> Outcome | Placed:
        if draft.reason is OrderReason.BUY and self.risk is not None:
            # Every entry's call, a re-fired one after a crash included, is judged first.
            judged = self.risk.judge(spec, draft.quantity, draft.trading_day, claim.order_id)
            if judged is not None:
                return self._denied(spec, draft, claim, owner, judged)
        request = OrderRequest(client_tag=claim.client_tag, symbol=draft.symbol,
                               side=draft.side, kind=draft.kind, quantity=draft.quantity,
                               exchange=draft.exchange)
        self.in_flight.add(claim.order_id)  # until its answer is recorded
        outcome: Outcome | Placed = Outcome.UNKNOWN
        try:
            outcome = self._send_leg(broker, request, spec, event, claim, owner)
            return outcome
        finally:
            if not isinstance(outcome, Placed):
                self.in_flight.discard(claim.order_id)

    def _send_leg(self, broker: Broker, request: OrderRequest, spec: StrategySpec,
                  event: OrderEvent, claim: Claim, owner: str) -> Outcome | Placed:
        try:
            result = self.send(broker, request)
        except OrderRejected as exc:
            self.faults.at(Step.BROKER_CALLED)
            if exc.order is not None:
                self.answers.apply_update(exc.order)
            return self.failed(spec, event, claim, owner, exc.message, rejected=True)
        except OutcomeUnknown as exc:
            self.faults.at(Step.BROKER_CALLED)
            return self._unknown(broker, spec, event, claim, owner, exc.message)
        except TokenExpired as exc:
            self.faults.at(Step.BROKER_CALLED)
            if spec.broker_account_id is not None:
                self.gate.block_for_token(spec.broker_account_id, self.clock.now())
            return self.failed(spec, event, claim, owner, exc.message, token_lapsed=True)
        except (BrokerUnavailable, BrokerError) as exc:
            self.faults.at(Step.BROKER_CALLED)
            return self.failed(spec, event, claim, owner, exc.message)
        self.faults.at(Step.BROKER_CALLED)
        return Placed(spec, event, owner, result, claim)

    def complete(self, spec: StrategySpec, event: OrderEvent, owner: str,
                 broker_order_id: str) -> None:
        """The order went out: move the runtime (bought/sold) and free the lock."""
        position = next_position(event.event)
        done = self.live.locks.complete(spec.id, owner, position, order_field_for(event.event),
                                        broker_order_id)
        if done is CompleteStatus.LOST_LOCK:
            # The lock aged out during a slow call: the order went out all the same, so the
            # runtime must say so, or the exit would later be refused as "not bought".
            log.warning("lock of %s lapsed during its order; runtime set from the result",
                        spec.name)
            self.answers.force_runtime(spec, position, broker_order_id,
                                       REASON_FOR[event.event], None)
            return
        self.answers.watch_as(spec, position)

    def failed(self, spec: StrategySpec, event: OrderEvent, claim: Claim, owner: str,
               message: str, *, rejected: bool = False, token_lapsed: bool = False
               ) -> Outcome:
        """Not placed (refused, or never sent): the intent ends, the lock is freed, the
        trader is told, and the exit policy says whether it is tried again (RETRY)."""
        now = self.clock.now()
        row = self.ledger.get(claim.order_id)
        if row.intent_state != IntentState.DONE:
            self.ledger.mark_failed(claim.order_id, now, message)
        self.live.locks.release(spec.id, owner)
        if spec.id in self.killed and event.event is not TriggerEvent.BUY:
            # The kill switch stopped it while this exit was at the broker: no stop watches
            # any more, so the kill switch's own exit goes now (the next attempt).
            self.answers.publish_order(claim.order_id)
            self.answers.square_off_killed(spec.id)
            return Outcome.REJECTED
        after = self.policy.after_refusal(event.event, spec.id, row.trading_day,
                                          token_lapsed=token_lapsed)
        if after.retry:
            # The exit was refused: keep watching, the next trigger tries again.
            self.router.set_armed(spec.id, True)
        if after.exhausted and not token_lapsed:
            self.alerts.exits_exhausted(spec, after.attempts, message)
        if token_lapsed:
            self.alerts.token_lapsed(spec, event.event, message)
        else:
            self.alerts.order_rejected(spec, event.event, message, after.retry_after_s,
                                       on_next_tick=after.retry)
        self.answers.publish_order(claim.order_id)
        return Outcome.RETRY if after.retry_after_s is not None else Outcome.REJECTED

    def _denied(self, spec: StrategySpec, draft: IntentDraft, claim: Claim, owner: str,
                judged: Judged) -> Outcome:
        """An entry the risk rules refuse: never sent. Its intent ends FAILED (status
        REJECTED, the denial in its raw answer), so the strategy's BUY of the day is over and
        not tried again; the denial is a `risk_events` row, and the trader is told why."""
        now = self.clock.now()
        denial = judged.denial
        message = f"denied by the risk rules: {denial.message}"
        self.ledger.mark_failed(claim.order_id, now, message, raw={"risk_denial": {
            "rule": denial.rule.value,
            "observed": str(denial.observed) if denial.observed is not None else None,
            "limit": str(denial.limit) if denial.limit is not None else None}})
        assert self.risk is not None
        self.risk.record(spec, judged, claim.order_id, now)
        self.live.locks.release(spec.id, owner)
        self.alerts.entry_denied(spec, draft.symbol, draft.quantity, denial.message)
        self.answers.publish_order(claim.order_id)
        return Outcome.DENIED

    def _unknown(self, broker: Broker, spec: StrategySpec, event: OrderEvent, claim: Claim,
                 owner: str, message: str) -> Outcome:
        self.ledger.mark_unknown(claim.order_id, self.clock.now(),
                                 f"outcome unknown: {message}")
        self.answers.publish_order(claim.order_id)
        # Ask once now; the reconciler keeps asking while it stays unknown.
        found = self.answers.resolve(claim.order_id, broker)
        if found is Resolution.PLACED:
            return Outcome.PLACED
        if found is Resolution.REFUSED:
            return self.failed(spec, event, claim, owner,
                               self.answers.refused(claim.order_id) or "refused by the broker",
                               rejected=True)
        return Outcome.UNKNOWN

    def _already_claimed(self, spec: StrategySpec, event: OrderEvent, draft: IntentDraft,
                         claim: Claim, owner: str) -> Outcome | Placed:
        if event.event is not TriggerEvent.BUY and claim.is_over:
            held = self.positions.held_in_sql(strategy_id=spec.id)
            if held > 0:
                # The day's exits are used up (refused too often, or every sequence taken)
                # and shares are still held: saying "sold" or nothing would leave them to
                # no one. Tell the trader to act.
                self.live.locks.release(spec.id, owner)
                self.alerts.no_more_exits(spec, held)
                return Outcome.DUPLICATE
        if claim.never_placed:  # refused: nothing moved, the position stays as it was
            self.live.locks.release(spec.id, owner)
            return Outcome.DUPLICATE
        if claim.state in (IntentState.SENT, IntentState.DONE):
            row = self.ledger.get(claim.order_id)
            self.complete(spec, event, owner, row.broker_order_id or "")
            return Outcome.DUPLICATE
        # FIRING or UNKNOWN: a previous attempt died mid-call. Ask the broker, never resend.
        broker = self.brokers.for_spec(spec)
        found = broker.orders_by_tag(claim.client_tag)
        if found:
            self.answers.apply_update(found[-1])
            refused = self.answers.refused(claim.order_id)
            if refused is not None:  # there, but refused: nothing moved
                return self.failed(spec, event, claim, owner, refused, rejected=True)
            self.complete(spec, event, owner, found[-1].broker_order_id)
            return Outcome.DUPLICATE
        if claim.state is IntentState.UNKNOWN:
            # The answer was lost once already; a broker may list it late. The reconciler
            # keeps asking and decides; this event never re-sends it.
            return Outcome.UNKNOWN
        self.ledger.rearm(claim.order_id, self.clock.now(),
                          "broker has no order with this tag: re-armed")
        again = self.ledger.claim(draft, self.clock.now())
        if not again.won:
            self.live.locks.release(spec.id, owner)
            return Outcome.DUPLICATE
        return self._call(broker, spec, event, draft, again, owner)

    # -- the kill switch's exit --------------------------------------------------------------
    def square_off(self, pos: OpenPosition) -> bool:
        """One market exit for an open position, at the broker that holds it (the account of
        the order that opened it: a LIVE position is closed at Kite, a paper one on paper).
        False when nothing is held; raises with the reason when it cannot go out."""
        now = self.clock.now()
        owner = pos.strategy_id or pos.id
        held = self.positions.held_in_sql(position_id=pos.id)  # memory may lag a fill
        if held == 0:
            return False
        account = self.ledger.account_of_position(pos.strategy_id, pos.symbol)
        day = trading_day(now)
        draft = IntentDraft(
            user_id=pos.user_id, strategy_id=pos.strategy_id, broker_account_id=account,
            key=IntentKey(owner, Leg.EXIT, day), event_id=None,
            trading_day=day, symbol=pos.symbol, exchange=pos.exchange,
            side=Side.SELL if pos.quantity > 0 else Side.BUY, kind=OrderKind.MARKET,
            reason=OrderReason.EXIT, quantity=held)
        # An earlier exit that is over (refused, or filled before more was bought) does not
        # stop the kill switch: the next attempt closes what is held.
        draft, claim = self.ledger.claim_next_attempt(
            draft, now, self.policy.kill_switch_attempts,
            held=lambda: self.positions.held_in_sql(position_id=pos.id))
        if not claim.won:
            if not claim.is_over:  # working (or its outcome unknown): never a second one
                raise ExitAlreadyWorking(f"an exit is already {claim.status.value.lower()} "
                                         f"at the broker; not sending another")
            if self.positions.held_in_sql(position_id=pos.id) == 0:
                return False  # closed meanwhile (a stop-loss got there first)
            refusals = self.ledger.exit_refusals(owner, day)
            raise BrokerError(f"no more exits today (refused {refusals} times); square "
                              f"off {pos.symbol} at the broker")
        try:
            broker = self.brokers.for_account(pos.user_id, account)
        except BrokerError as exc:
            self.ledger.mark_failed(claim.order_id, now, exc.message)
            raise
        request = OrderRequest(client_tag=claim.client_tag, symbol=pos.symbol,
                               side=draft.side, kind=OrderKind.MARKET,
                               quantity=draft.quantity, exchange=pos.exchange)
        try:
            result = self.send(broker, request, fallback_price=pos.ltp, strategy_leg=False)
        except OutcomeUnknown as exc:
            # It may well be at the broker: never "failed" (pressing K again would send a
            # second exit). The reconciler settles it by its tag.
            self.ledger.mark_unknown(claim.order_id, now, f"outcome unknown: {exc.message}")
            raise BrokerError(f"exit sent, outcome unknown ({exc.message}): being checked "
                              f"with the broker, do not send another") from None
        except BrokerError as exc:
            self.ledger.mark_failed(claim.order_id, now, exc.message)
            raise
        self.answers.apply_update(result)
        if result.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED) and \
                not result.filled_quantity:
            raise BrokerError(f"exit refused by the broker: {result.message or 'rejected'}")
        return True


def draft_for(spec: StrategySpec, event: OrderEvent, positions: PositionKeeper
              ) -> IntentDraft:
    """The intent an event asks for: a BUY of the strategy's quantity, or an exit of what
    is actually held (a partial fill, say; nothing held means nothing to sell)."""
    reason = REASON_FOR[event.event]
    day = trading_day(event.created_at)
    symbol, exchange, side, quantity = spec.symbol, spec.exchange, Side.BUY, spec.quantity
    if reason is not OrderReason.BUY:
        held = positions.open_for_strategy(spec.id)
        if held is None or held.quantity == 0:
            quantity = 0
        else:
            symbol, exchange = held.symbol, held.exchange
            side = Side.SELL if held.quantity > 0 else Side.BUY
            quantity = abs(held.quantity)
    return IntentDraft(
        user_id=spec.user_id, strategy_id=spec.id,
        broker_account_id=spec.broker_account_id if spec.mode is ExecutionMode.LIVE else None,
        key=IntentKey(spec.id, Leg.for_reason(reason), day), event_id=event.event_id,
        trading_day=day, symbol=symbol, exchange=exchange, side=side,
        kind=OrderKind.MARKET, reason=reason, quantity=quantity)

