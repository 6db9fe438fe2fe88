"""Takes order events from `queue:orders` and turns each into exactly one broker order.

Per event: win the strategy's lock (Redis, the fast path), claim the intent in SQL (the real
guard), write the intent before calling the broker, call it with a client tag derived from the
intent, record the answer and every status change, move `runtime:{id}`, apply fills to the
position, publish, and only then acknowledge the stream entry. A crash at any step leaves the
entry pending; the next executor re-reads it and every step above is safe to repeat. A broker
call whose outcome is unknown is never re-sent: it is resolved by asking the broker by tag.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
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
from ..domain.calendar import NseCalendar
from ..domain.clock import IST, Clock, ist_date
from ..domain.enums import (
    IntentState,
    NotificationKind,
    OrderKind,
    OrderReason,
    RuntimePosition,
    Severity,
    Side,
    TriggerEvent,
)
from ..domain.errors import BrokerError
from ..domain.stop_rule import KnownPrice, stop_rule_broken
from ..domain.strategy import StrategySpec
from ..live.order_queue import OrderEvent, OrderQueue, QueuedEvent
from ..live.scripts import (
    AcquireResult,
    AcquireStatus,
    CompleteStatus,
    next_position,
    order_field_for,
)
from ..live.state import LiveState
from .answers import BrokerAnswers, Resolution, _snapshot_key
from .config import DEFAULT, EngineConfig
from .directory import BrokerDirectory, StrategyDirectory
from .faults import NO_FAULTS, FaultInjector, SimulatedCrash, Step
from .intents import Claim, IntentDraft, IntentLedger, intent_key, leg_for
from .positions import OpenPosition, PositionKeeper
from .publisher import EventPublisher, Notifier
from .router import TickRouter

log = logging.getLogger(__name__)

class Outcome(StrEnum):
    PLACED = "placed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    HELD = "held"
    REJECTED = "rejected"
    RETRY = "retry"  # refused exit, tried again later
    UNKNOWN = "unknown"
    MALFORMED = "malformed"


@dataclass
class ExecutorCounters:
    events: int = 0
    placed: int = 0
    duplicates: int = 0
    ignored: int = 0
    rejected: int = 0
    unknown: int = 0
    malformed: int = 0
    held: int = 0
    errors: int = 0


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
    # The leg this call holds in the executor until its answer is recorded (key, token).
    leg: tuple[str, object] | None = None


REASON_FOR = {TriggerEvent.BUY: OrderReason.BUY, TriggerEvent.SELL: OrderReason.SELL,
              TriggerEvent.STOPLOSS: OrderReason.STOPLOSS, TriggerEvent.EXIT: OrderReason.EXIT}


trading_day = ist_date  # the IST date of a moment: the day an intent belongs to


@dataclass
class EntryGate:
    """Whether new entries (BUY) may be placed now, and why not."""

    allowed: bool = False
    reason: str = "engine starting: reconciling with the broker"
    blocked_accounts: dict[uuid.UUID, str] = field(default_factory=dict)
    token_lapsed_at: dict[uuid.UUID, datetime] = field(default_factory=dict)

    def block_for_token(self, account_id: uuid.UUID, at: datetime) -> None:
        self.blocked_accounts[account_id] = "broker token lapsed: log in again"
        self.token_lapsed_at.setdefault(account_id, at)

    def check(self, spec: StrategySpec) -> str | None:
        if not self.allowed:
            return self.reason
        if spec.broker_account_id is not None and spec.broker_account_id in \
                self.blocked_accounts:
            return self.blocked_accounts[spec.broker_account_id]
        return None


class OrderExecutor(BrokerAnswers):
    def __init__(self, *, ledger: IntentLedger, live: LiveState, queue: OrderQueue,
                 brokers: BrokerDirectory, strategies: StrategyDirectory,
                 positions: PositionKeeper, router: TickRouter, publisher: EventPublisher,
                 notifier: Notifier, clock: Clock, calendar: NseCalendar, gate: EntryGate,
                 config: EngineConfig = DEFAULT, faults: FaultInjector = NO_FAULTS,
                 on_broker_call: Callable[[OrderRequest], None] | None = None,
                 known_price: Callable[[str, str], KnownPrice | None] | None = None
                 ) -> None:
        self.ledger = ledger
        self.live = live
        self.queue = queue
        self.brokers = brokers
        self.strategies = strategies
        self.positions = positions
        self.router = router
        self.publisher = publisher
        self.notifier = notifier
        self.clock = clock
        self.calendar = calendar
        self.gate = gate
        self.config = config
        self.faults = faults
        self.on_broker_call = on_broker_call
        self.counters = ExecutorCounters()
        # The price a BUY's stop-loss is judged against at the moment of the BUY.
        self.known_price = known_price or (lambda symbol, exchange: None)
        self._held: dict[str, tuple[float, QueuedEvent]] = {}
        self._update_lock = threading.RLock()
        # Entries this process published and took in the same round trip, with the lock
        # result when it was taken there too. Appended by any thread, drained by the loop.
        self._inbox: deque[tuple[QueuedEvent, AcquireResult | None]] = deque()
        self._wake = threading.Event()
        # Broker updates announced from inside a call this executor is making (the paper
        # broker fills synchronously) wait for the batch's bookkeeping instead of running
        # between two exits.
        self._firing_thread: int | None = None
        self._deferred: list[BrokerOrder] = []
        # Intents whose broker call is on its way right now (the reconciler leaves them be).
        self.in_flight: set[uuid.UUID] = set()
        # Legs (strategy, leg, day) being placed by this process, with the event placing
        # each: a second event for the same leg waits for the first one's answer instead of
        # taking its FIRING intent for one a dead process left (and sending it again).
        self._firing: dict[str, object] = {}
        self._firing_lock = threading.Lock()
        # Set by another thread (the live store came back empty): the loop re-takes this
        # consumer's unfinished entries itself, so no entry is handled on two threads.
        self._recovery_requested = threading.Event()
        self.running = False
        # Strategies the kill switch stopped: whatever their orders still at the broker buy
        # is squared off by `square_off` (the engine's) as soon as it fills.
        self.killed: set[uuid.UUID] = set()
        self.square_off: Callable[[OpenPosition], object] | None = None

    # -- publishing ------------------------------------------------------------------------
    def submit(self, event: OrderEvent) -> str:
        """Put a trigger on `queue:orders` and hand it straight to this executor.

        One round trip appends the entry, delivers it to this executor's consumer (so a crash
        from here on leaves it pending, recovered at restart) and, for an exit, takes the
        strategy's lock for it. The executor thread is woken in-process rather than through
        a blocked stream read. Exits only: a BUY must pass the entry gate first."""
        pre_lock = event.event is not TriggerEvent.BUY
        taken = self.queue.publish_and_take(
            event, count=self.config.read_batch,
            lock_ttl_ms=self.config.lock_ttl_ms if pre_lock else None)
        for queued in taken.entries:
            self._inbox.append((queued, taken.acquired if queued.entry_id == taken.entry_id
                                else None))
        self._wake.set()
        return taken.entry_id

    # -- the loop --------------------------------------------------------------------------
    def run(self, stop: threading.Event, block_ms: int | None = None) -> None:
        block_ms = self.config.poll_ms if block_ms is None else block_ms
        next_adopt = time.monotonic() + self.config.adopt_interval_s
        self.running = True
        try:
            self._loop(stop, block_ms, next_adopt)
        finally:
            self.running = False

    def request_recovery(self) -> None:
        """Ask the running loop to re-take this consumer's unfinished entries (from any
        thread); without a running loop, recover here and now."""
        if not self.running:
            self.recover()
            return
        self._recovery_requested.set()
        self._wake.set()

    def _loop(self, stop: threading.Event, block_ms: int, next_adopt: float) -> None:
        dropped = False
        first_backoff, last_backoff = self.config.error_backoff_s
        backoff = first_backoff
        while not stop.is_set():
            try:
                if self._recovery_requested.is_set():
                    self._recovery_requested.clear()
                    dropped = True  # retry_dropped: every unfinished entry, once
                if dropped:
                    self.retry_dropped()
                    dropped, backoff = False, first_backoff
                if time.monotonic() >= next_adopt:
                    next_adopt = time.monotonic() + self.config.adopt_interval_s
                    self.adopt_abandoned()
                self.run_once(block_ms)
            except SimulatedCrash:
                raise
            except Exception:
                self.counters.errors += 1
                log.exception("executor error; the unfinished entries are retried")
                dropped = True
                stop.wait(backoff)
                backoff = min(backoff * 2, last_backoff)

    def adopt_abandoned(self, min_idle_ms: int | None = None) -> int:
        """Take over entries another consumer read and never finished (an engine that died
        and did not come back under its name), idle at least `min_idle_ms` (default: the
        configured staleness)."""
        idle = self.config.claim_stale_ms if min_idle_ms is None else min_idle_ms
        return self._process_idle(
            self.queue.claim_stale(min_idle_ms=idle,
                                  count=self.config.adopt_batch),
            "adopting %d order events an engine left unfinished")

    def retry_dropped(self) -> int:
        """Process again the entries this consumer took but never finished because handling
        failed part-way (the database blinked, a bug): without this they would wait in the
        pending list until a restart. Every step is safe to repeat."""
        return self._process_idle(self.queue.pending_own(count=self.config.recover_batch),
                                  "retrying %d unfinished order events")

    def _process_idle(self, entries: list[QueuedEvent], message: str) -> int:
        """On the executor's thread only, and never an entry it still holds (held for a
        retry, or handed over and not yet taken): one event is never handled twice at once."""
        busy = set(self._held) | {queued.entry_id for queued, _ in list(self._inbox)}
        items = [(queued, None) for queued in entries if queued.entry_id not in busy]
        if items:
            log.info(message, len(items))
        return self.process_batch(items)

    def run_once(self, block_ms: int | None = None, *, retry_held_now: bool = False) -> int:
        """Process what is due: held entries, handed-over entries, then new stream entries.
        With nothing to do, waits up to `block_ms` for a hand-over (never spins: the
        embedded store cannot block on a stream read)."""
        block_ms = self.config.poll_ms if block_ms is None else block_ms
        self._wake.clear()
        now = time.monotonic()
        due = [(queued, None) for entry_id, (at, queued) in list(self._held.items())
               if at <= now or retry_held_now]
        for queued, _ in due:
            del self._held[queued.entry_id]
        done = self.process_batch(due) + self._drain_inbox()
        read = self.queue.read(count=self.config.read_batch)
        done += self.process_batch([(q, None) for q in read])
        if done == 0:
            wait = block_ms if not self._held else \
                min(block_ms, int(self.config.hold_retry_s * 1000))
            if self._wake.wait(max(wait, 1) / 1000):
                done += self._drain_inbox()
        return done

    def _drain_inbox(self) -> int:
        """Fire everything handed over, including what arrives while firing, then do the
        bookkeeping of all of it."""
        inbox = self._inbox

        def handed_over():
            while inbox:
                yield inbox.popleft()

        fired = self._fire_all(handed_over())
        self._settle(fired)
        return len(fired)

    def _fire_all(self, items: Iterable[tuple[QueuedEvent, AcquireResult | None]]
                  ) -> list[Outcome | Placed]:
        """Each entry's broker call, in order. If one fails, the calls already made are
        recorded (or at least their legs freed) before the failure goes on up."""
        fired: list[Outcome | Placed] = []
        try:
            for queued, acquired in items:
                fired.append(self._fire_entry(queued, acquired))
        except SimulatedCrash:  # the process "died": nothing more happens in it
            self._abandon(fired)
            raise
        except Exception:
            self._settle_after_failure(fired)
            raise
        return fired

    def _settle_after_failure(self, fired: list[Outcome | Placed]) -> None:
        """Firing a later entry of the batch failed: record the calls already made, so no
        answer is lost, and free their legs whatever happens (left held, their retries
        would wait forever). Their entries stay pending if recording fails too."""
        try:
            self._settle(fired)
        except Exception:
            log.exception("recording a batch's answers failed; their events are retried")
        finally:
            self._abandon(fired)

    def _abandon(self, items: list[Outcome | Placed]) -> None:
        for item in items:
            if isinstance(item, Placed):
                self.in_flight.discard(item.claim.order_id)
                self._release_leg(item.leg)

    def recover(self) -> int:
        """Re-process this consumer's unacknowledged entries and claim dead consumers'."""
        count = 0
        for queued in self.queue.pending_own(count=self.config.recover_batch):
            self.process(queued)
            count += 1
        for queued in self.queue.claim_stale(min_idle_ms=self.config.claim_stale_ms,
                                             count=self.config.recover_batch):
            self.process(queued)
            count += 1
        return count

    def drain(self, max_rounds: int = 100) -> None:
        """Process until nothing is pending or held (tests and benchmarks)."""
        for _ in range(max_rounds):
            if self.run_once(block_ms=1, retry_held_now=True) == 0 and not self._held:
                return

    # -- events ----------------------------------------------------------------------------
    def process(self, queued: QueuedEvent, acquired: AcquireResult | None = None) -> Outcome:
        """Handle one entry start to finish. `acquired` is the lock result when `submit`
        already took the lock for this very event (same owner token)."""
        outcome = self._settle([self._fire_entry(queued, acquired)])
        return outcome[0]

    def process_batch(self, items: list[tuple[QueuedEvent, AcquireResult | None]]) -> int:
        """Make every entry's broker call first, then do their bookkeeping. In a burst (a
        fall through many stop-losses at once) the last exit reaches the broker after N
        claims and calls, not after N calls and N records. Each entry stays pending until
        its own bookkeeping is done, so a crash anywhere recovers exactly as for one."""
        if not items:
            return 0
        self._settle(self._fire_all(items))
        return len(items)

    def _settle(self, fired: list[Outcome | Placed]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        try:
            return self._settle_each(fired, outcomes)
        except BaseException:
            # Whatever failed, the calls not yet recorded must not keep their legs.
            self._abandon(fired[len(outcomes):])
            raise

    def _settle_each(self, fired: list[Outcome | Placed], outcomes: list[Outcome]
                     ) -> list[Outcome]:
        applied = set()
        for item in fired:
            if isinstance(item, Placed):
                try:
                    self.apply_update(item.result)
                finally:  # recorded, or left to the event's retry: no longer in flight
                    self.in_flight.discard(item.claim.order_id)
                    self._release_leg(item.leg)
                applied.add(_snapshot_key(item.result))
                self.faults.at(Step.RECORDED)
                assert item.queued is not None
                refused = self._refused(item.claim.order_id)
                if refused is not None:
                    # Accepted, then refused (Kite answers an RMS rejection with an order id
                    # and status REJECTED): nothing moved, so it is a failure, not a fill.
                    outcome = self._failed(item.spec, item.event, item.claim, item.owner,
                                           refused, rejected=True)
                    if outcome is Outcome.RETRY:
                        self.counters.rejected += 1
                        item = self._hold(item.queued, self.config.exit_retry_s)
                    else:
                        item = self._finish(item.queued, outcome)
                elif self.strategies.get(item.spec.id) is None:
                    # Stopped (or killed) while its order was at the broker: no runtime to
                    # move any more (writing one would bring a stopped strategy back).
                    self._placed_for_stopped(item)
                    item = self._finish(item.queued, Outcome.PLACED)
                else:
                    self._complete(item.spec, item.event, item.owner,
                                   item.result.broker_order_id)
                    item = self._finish(item.queued, Outcome.PLACED)
            outcomes.append(item)
        deferred, self._deferred = self._deferred, []
        for update in deferred:
            if _snapshot_key(update) not in applied:  # the call's own answer said the same
                self.apply_update(update)
        return outcomes

    def _placed_for_stopped(self, item: Placed) -> None:
        """An order of a strategy stopped while it was at the broker. A BUY that bought
        something leaves a position no strategy watches: the kill switch squares it off
        (see `apply_update`); a plain stop leaves it to the trader, who is told loudly."""
        spec = item.spec
        self.live.locks.release(spec.id, item.owner)
        if item.event.event is not TriggerEvent.BUY or spec.id in self.killed:
            return
        held = self.positions.open_for_strategy(spec.id)
        if held is not None:
            self.notifier.notify(spec.user_id, NotificationKind.RISK, Severity.CRITICAL,
                                 f"{spec.name}: stopped while its BUY was at the broker",
                                 f"{held.quantity} {held.symbol} bought and not watched by "
                                 f"any stop-loss. Square off with K (the kill switch) or "
                                 f"start the strategy again.", self.clock.now())

    def on_broker_update(self, update: BrokerOrder) -> None:
        """A broker's own announcement (fill, status change): applied now, unless it comes
        from inside a call this executor is making, then with the batch's bookkeeping."""
        if self._firing_thread == threading.get_ident():
            self._deferred.append(update)
        else:
            self.apply_update(update)

    def _fire_entry(self, queued: QueuedEvent,
                    acquired: AcquireResult | None) -> Outcome | Placed:
        self._firing_thread = threading.get_ident()
        try:
            return self._take(queued, acquired)
        finally:
            self._firing_thread = None

    def _take(self, queued: QueuedEvent, acquired: AcquireResult | None) -> Outcome | Placed:
        self.counters.events += 1
        self.faults.at(Step.TAKEN)
        if queued.malformed:
            self.counters.malformed += 1
            try:
                _ = queued.event
            except Exception as exc:  # MalformedEvent carries the reason
                log.warning("dropped a malformed order event: %s", exc)
            self.queue.ack(queued.entry_id)
            return Outcome.MALFORMED
        event = queued.event
        spec = self.strategies.get(event.strategy_id)
        if spec is None:
            if acquired is not None and acquired.ok:
                self.live.locks.release(event.strategy_id, event.event_id)
            log.info("%s for strategy %s ignored: it is not running", event.event.value,
                     event.strategy_id)
            return self._finish(queued, Outcome.IGNORED)
        if event.event is TriggerEvent.BUY:
            late = (self.clock.now() - event.created_at).total_seconds()
            if late > self.config.entry_max_age_s:
                at = event.created_at.astimezone(IST)
                self.notifier.notify(spec.user_id, NotificationKind.SYSTEM, Severity.WARNING,
                                     f"{spec.name}: BUY of {at:%a %d %b %H:%M} IST not placed",
                                     f"The engine took it {late / 60:.0f} min late (it was "
                                     f"not running): the moment has passed.", self.clock.now())
                return self._finish(queued, Outcome.IGNORED)
            blocked = self.gate.check(spec)
            if blocked is not None:
                return self._hold_or_drop(queued, spec, blocked)
            if self._stop_not_below_price(spec):
                return self._finish(queued, Outcome.IGNORED)
        owner = event.event_id
        if acquired is None:
            acquired = self.live.locks.acquire(spec.id, event.event, owner,
                                               self.config.lock_ttl_ms)
        self.faults.at(Step.LOCKED)
        if acquired.status is AcquireStatus.BUSY:
            return self._hold(queued)
        if acquired.status is AcquireStatus.MISSING:
            return self._hold_or_drop(queued, spec, "live state missing (rebuilding)")
        draft = self._draft(spec, event)
        if acquired.status is AcquireStatus.NOT_ALLOWED:
            if event.event is not TriggerEvent.BUY and \
                    acquired.position is RuntimePosition.SOLD and \
                    self.positions.held_in_sql(strategy_id=spec.id) > 0 and \
                    not self.ledger.exit_working(spec.id, draft.trading_day):
                # The runtime says sold, yet SQL holds the position and no exit of today is
                # at the broker: a refusal's undo was lost (the live store failed right
                # then). SQL is the truth: put the runtime right once, and this very event
                # goes on to exit (re-arming the stop here would fire another event).
                log.warning("%s: runtime said sold with %d %s held; set back to bought",
                            spec.name, draft.quantity, draft.symbol)
                self.live.move_runtime(spec.id, RuntimePosition.BOUGHT)
                acquired = self.live.locks.acquire(spec.id, event.event, owner,
                                                   self.config.lock_ttl_ms)
                if acquired.status is AcquireStatus.BUSY:
                    return self._hold(queued)
        if acquired.status is AcquireStatus.NOT_ALLOWED:
            existing = self.ledger.by_tag(draft.client_tag)
            if existing is not None and existing["intent_state"] in (
                    IntentState.SENT, IntentState.DONE, IntentState.UNKNOWN):
                return self._finish(queued, Outcome.DUPLICATE)
            log.info("%s for %s ignored: position is %s", event.event.value, spec.name,
                     acquired.position.value if acquired.position else "unknown")
            return self._finish(queued, Outcome.IGNORED)
        if draft.quantity == 0:
            latest = self.ledger.filled_exit_since_entry(spec.id)
            if latest is not None:
                # The exit went through and was recorded, but the process died before the
                # runtime moved: move it now, or the strategy stays "bought" for good.
                log.info("%s for %s: its exit is already filled; runtime set to sold",
                         event.event.value, spec.name)
                self._complete(spec, event, owner, latest["broker_order_id"] or "")
                return self._finish(queued, Outcome.DUPLICATE)
            self.live.locks.release(spec.id, owner)
            log.info("%s for %s ignored: no open position to close", event.event.value,
                     spec.name)
            return self._finish(queued, Outcome.IGNORED)
        outcome = self._fire(spec, event, draft, owner)
        if isinstance(outcome, Placed):
            outcome.queued = queued
            return outcome
        if outcome is Outcome.HELD:  # the same leg is being placed: its answer decides
            return self._hold(queued)
        if outcome is Outcome.RETRY:  # stays pending: a crash meanwhile recovers it too
            self.counters.rejected += 1
            return self._hold(queued, self.config.exit_retry_s)
        return self._finish(queued, outcome)

    def _stop_not_below_price(self, spec: StrategySpec) -> bool:
        """A BUY whose stop-loss is at or above the price now would be sold at once: it
        is not placed, and the trader is told (the strategy keeps its next day)."""
        known = self.known_price(spec.symbol, spec.exchange)
        rule = stop_rule_broken(spec.stop_loss, known)
        if rule is None:
            return False
        self.notifier.notify(spec.user_id, NotificationKind.SYSTEM, Severity.WARNING,
                             f"{spec.name}: BUY not placed, price at the stop-loss",
                             f"Stop-loss {rule}. Nothing was bought; the strategy "
                             f"tries again at its next BUY (stop it and lower the "
                             f"stop-loss if the price has moved for good).",
                             self.clock.now())
        return True

    def _finish(self, queued: QueuedEvent, outcome: Outcome) -> Outcome:
        self.faults.at(Step.COMPLETED)
        self.queue.ack(queued.entry_id)
        name = {Outcome.PLACED: "placed", Outcome.DUPLICATE: "duplicates",
                Outcome.IGNORED: "ignored", Outcome.REJECTED: "rejected",
                Outcome.UNKNOWN: "unknown"}.get(outcome)
        if name:
            setattr(self.counters, name, getattr(self.counters, name) + 1)
        return outcome

    def _hold(self, queued: QueuedEvent, delay: float | None = None) -> Outcome:
        delay = self.config.hold_retry_s if delay is None else delay
        self.counters.held += 1
        self._held[queued.entry_id] = (time.monotonic() + delay, queued)
        return Outcome.HELD

    def _hold_or_drop(self, queued: QueuedEvent, spec: StrategySpec, why: str) -> Outcome:
        age = (self.clock.now() - queued.event.created_at).total_seconds()
        if age < self.config.hold_max_age_s:
            return self._hold(queued)
        self.notifier.notify(spec.user_id, NotificationKind.SYSTEM, Severity.WARNING,
                             f"{spec.name}: {queued.event.event.value} skipped",
                             f"Not placed: {why}.", self.clock.now())
        return self._finish(queued, Outcome.IGNORED)

    def _draft(self, spec: StrategySpec, event: OrderEvent) -> IntentDraft:
        reason = REASON_FOR[event.event]
        day = trading_day(event.created_at)
        symbol, exchange, side, quantity = spec.symbol, spec.exchange, Side.BUY, spec.quantity
        if reason is not OrderReason.BUY:
            # An exit closes what is actually held (a partial fill, say), not what the
            # strategy would have bought; nothing held means nothing to sell.
            held = self.positions.open_for_strategy(spec.id)
            if held is None or held.quantity == 0:
                quantity = 0
            else:
                symbol, exchange = held.symbol, held.exchange
                side = Side.SELL if held.quantity > 0 else Side.BUY
                quantity = abs(held.quantity)
        return IntentDraft(
            user_id=spec.user_id, strategy_id=spec.id,
            broker_account_id=spec.broker_account_id if spec.mode.value == "LIVE" else None,
            key=intent_key(spec.id, leg_for(reason), day), event_id=event.event_id,
            trading_day=day, symbol=symbol, exchange=exchange, side=side,
            kind=OrderKind.MARKET, reason=reason, quantity=quantity)

    # -- firing ----------------------------------------------------------------------------
    def _fire(self, spec: StrategySpec, event: OrderEvent, draft: IntentDraft,
              owner: str) -> Outcome | Placed:
        """Claim and place, unless another event of this process is placing the same leg
        right now (then this one waits: it must not take that claim for a dead one's)."""
        # One token per handling, not per event: the same event handled twice at once (a
        # recovery racing a retry) must not pass either.
        leg = (draft.key.rsplit(":", 1)[0], object())  # strategy, leg, day: all attempts
        with self._firing_lock:
            holder = self._firing.setdefault(leg[0], leg[1])
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
                self._release_leg(leg)

    def _release_leg(self, leg: tuple[str, object] | None) -> None:
        if leg is None:
            return
        with self._firing_lock:
            if self._firing.get(leg[0]) is leg[1]:
                del self._firing[leg[0]]

    def _claim_and_place(self, spec: StrategySpec, event: OrderEvent, draft: IntentDraft,
                         owner: str) -> Outcome | Placed:
        now = self.clock.now()
        if draft.reason is OrderReason.BUY:
            claim = self.ledger.claim(draft, now)
        else:  # an exit the broker refused is tried again, a bounded number of times a day
            draft, claim = self.ledger.claim_next_attempt(
                draft, now, self.config.max_exit_attempts,
                held=lambda: self.positions.held_in_sql(strategy_id=spec.id))
        self.faults.at(Step.INTENT)
        if not claim.won:
            return self._already_claimed(spec, event, draft, claim, owner)
        try:
            broker = self.brokers.for_spec(spec)
        except TokenExpired as exc:
            if spec.broker_account_id is not None:
                self.gate.block_for_token(spec.broker_account_id, self.clock.now())
            return self._failed(spec, event, claim, owner, str(exc), token_lapsed=True)
        except BrokerError as exc:
            return self._failed(spec, event, claim, owner, str(exc))
        return self._call_broker(broker, spec, event, draft, claim, owner)

    def _call_broker(self, broker: Broker, spec: StrategySpec, event: OrderEvent,
                     draft: IntentDraft, claim: Claim, owner: str) -> Outcome | Placed:
        request = OrderRequest(client_tag=claim.client_tag, symbol=draft.symbol,
                               side=draft.side, kind=draft.kind, quantity=draft.quantity,
                               exchange=draft.exchange)
        if hasattr(broker, "on_tick"):  # paper: match against the engine's latest price
            price = self.router.last_price(draft.symbol)
            if price is not None:
                broker.on_tick(draft.symbol, price, self.clock.now())
        self.faults.at(Step.CALLING)
        if self.on_broker_call is not None:
            self.on_broker_call(request)
        self.in_flight.add(claim.order_id)  # until its answer is recorded
        outcome: Outcome | Placed = Outcome.UNKNOWN
        try:
            outcome = self._place(broker, request, spec, event, claim, owner)
            return outcome
        finally:
            if not isinstance(outcome, Placed):
                self.in_flight.discard(claim.order_id)

    def _place(self, broker: Broker, request: OrderRequest, spec: StrategySpec,
               event: OrderEvent, claim: Claim, owner: str) -> Outcome | Placed:
        try:
            result = broker.place_order(request)
        except OrderRejected as exc:
            self.faults.at(Step.BROKER_CALLED)
            if exc.order is not None:
                self.apply_update(exc.order)
            return self._failed(spec, event, claim, owner, exc.message, rejected=True)
        except OutcomeUnknown as exc:
            self.faults.at(Step.BROKER_CALLED)
            return self._unknown(broker, spec, event, claim, owner, exc.message)
        except TokenExpired as exc:
            self.faults.at(Step.BROKER_CALLED)
            if spec.broker_account_id is not None:
                self.gate.block_for_token(spec.broker_account_id, self.clock.now())
            return self._failed(spec, event, claim, owner, exc.message, token_lapsed=True)
        except (BrokerUnavailable, BrokerError) as exc:
            self.faults.at(Step.BROKER_CALLED)
            return self._failed(spec, event, claim, owner, exc.message)
        self.faults.at(Step.BROKER_CALLED)
        return Placed(spec, event, owner, result, claim)

    def _complete(self, spec: StrategySpec, event: OrderEvent, owner: str,
                  broker_order_id: str) -> None:
        position = next_position(event.event)
        done = self.live.locks.complete(spec.id, owner, position, order_field_for(event.event),
                                        broker_order_id)
        if done is CompleteStatus.LOST_LOCK:
            # The lock aged out during a slow call: the order went out all the same, so the
            # runtime must say so, or the exit would later be refused as "not bought".
            log.warning("lock of %s lapsed during its order; runtime set from the result",
                        spec.name)
            self._force_runtime(spec, position, broker_order_id, REASON_FOR[event.event],
                                None)
            return
        self._watch_as(spec, position)

    def _watch_as(self, spec: StrategySpec, position: RuntimePosition) -> None:
        """Watch the stop-loss of a bought position (firing at once if the price is already
        through it); stop watching anything else."""
        if position is RuntimePosition.BOUGHT:
            self.router.arm(spec.id)
        else:
            self.router.set_armed(spec.id, False)

    def _failed(self, spec: StrategySpec, event: OrderEvent, claim: Claim, owner: str,
                message: str, *, rejected: bool = False, token_lapsed: bool = False
                ) -> Outcome:
        now = self.clock.now()
        row = self.ledger.get(claim.order_id)
        if row["intent_state"] != IntentState.DONE:
            self.ledger.mark_failed(claim.order_id, now, message)
        self.live.locks.release(spec.id, owner)
        if spec.id in self.killed and event.event is not TriggerEvent.BUY:
            # The kill switch stopped it while this exit was at the broker: no stop watches
            # any more, so the kill switch's own exit goes now (the next attempt).
            self._publish_order(claim.order_id)
            self._square_off_killed(spec.id)
            return Outcome.REJECTED
        attempt = 0 if event.event is TriggerEvent.BUY else \
            self.ledger.exit_refusals(spec.id, row["trading_day"])
        exhausted = event.event is not TriggerEvent.BUY and \
            attempt >= self.config.max_exit_attempts
        retry = event.event is not TriggerEvent.BUY and not token_lapsed and not exhausted
        if retry:
            # The exit was refused: keep watching, the next trigger tries again. (With a
            # lapsed session nothing can go out: watching resumes when the user logs in.)
            self.router.set_armed(spec.id, True)
        if exhausted and not token_lapsed:
            self.notifier.notify(spec.user_id, NotificationKind.RISK, Severity.CRITICAL,
                                 f"{spec.name}: exit refused {attempt} times, position open",
                                 f"{message}. The engine stops trying today: square off "
                                 f"{spec.symbol} yourself (K, the kill switch, or at the "
                                 f"broker).", now)
        if token_lapsed:
            self.notifier.notify(spec.user_id, NotificationKind.TOKEN_EXPIRY, Severity.CRITICAL,
                                 "Broker session expired: log in again",
                                 f"{spec.name}: {event.event.value} not placed. {message}. "
                                 f"No new orders for this account until you log in from "
                                 f"the Brokers screen; positions are still watched.", now)
        else:
            again = ""
            if retry and event.event is not TriggerEvent.STOPLOSS:
                again = f" Trying again in {self.config.exit_retry_s:.0f} s."
            elif retry:
                again = " Trying again on the next tick through the stop."
            self.notifier.notify(spec.user_id, NotificationKind.REJECTION, Severity.ERROR,
                                 f"{spec.name}: {event.event.value} order rejected",
                                 message + "." + again if again else message, now)
        self._publish_order(claim.order_id)
        if retry and event.event is not TriggerEvent.STOPLOSS:
            return Outcome.RETRY
        return Outcome.REJECTED

    def _unknown(self, broker: Broker, spec: StrategySpec, event: OrderEvent, claim: Claim,
                 owner: str, message: str) -> Outcome:
        now = self.clock.now()
        self.ledger.mark_unknown(claim.order_id, now, f"outcome unknown: {message}")
        self._publish_order(claim.order_id)
        # Ask once now; the reconciler keeps asking while it stays unknown.
        found = self.resolve(claim.order_id, broker)
        if found is Resolution.PLACED:
            return Outcome.PLACED
        if found is Resolution.REFUSED:
            return self._failed(spec, event, claim, owner,
                                self._refused(claim.order_id) or "refused by the broker",
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
                self.notifier.notify(spec.user_id, NotificationKind.RISK, Severity.CRITICAL,
                                     f"{spec.name}: no more exits today, position open",
                                     f"Today's exit attempts are used and {held} "
                                     f"{spec.symbol} are still held: square off yourself "
                                     f"(K, the kill switch, or at the broker).",
                                     self.clock.now())
                return Outcome.DUPLICATE
        if claim.never_placed:  # refused: nothing moved, the position stays as it was
            self.live.locks.release(spec.id, owner)
            return Outcome.DUPLICATE
        if claim.state in (IntentState.SENT, IntentState.DONE):
            row = self.ledger.get(claim.order_id)
            self._complete(spec, event, owner, row["broker_order_id"] or "")
            return Outcome.DUPLICATE
        # FIRING or UNKNOWN: a previous attempt died mid-call. Ask the broker, never resend.
        broker = self.brokers.for_spec(spec)
        found = broker.orders_by_tag(claim.client_tag)
        if found:
            self.apply_update(found[-1])
            refused = self._refused(claim.order_id)
            if refused is not None:  # there, but refused: nothing moved
                return self._failed(spec, event, claim, owner, refused, rejected=True)
            self._complete(spec, event, owner, found[-1].broker_order_id)
            return Outcome.DUPLICATE
        if claim.state is IntentState.UNKNOWN:
            # The answer was lost once already; a broker may list it late. The reconciler
            # keeps asking and decides; this event never re-sends it.
            return Outcome.UNKNOWN
        self.ledger.rearm(claim.order_id, self.clock.now(),
                          "broker has no order with this tag: re-armed")
        again = self.ledger.claim(draft, self.clock.now())
        if not again.won:
            return self._hold_retry_later(spec, owner)
        return self._call_broker(broker, spec, event, draft, again, owner)

    def _hold_retry_later(self, spec: StrategySpec, owner: str) -> Outcome:
        self.live.locks.release(spec.id, owner)
        return Outcome.DUPLICATE
