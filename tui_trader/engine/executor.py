"""Takes order events from `queue:orders` and turns each into exactly one broker order.

Per event: win the strategy's lock (Redis, the fast path), then hand it to the placement
path (claim the intent in SQL, call the broker with a tag derived from the intent), record
the answer and every status change, move `runtime:{id}`, apply fills to the position,
publish, and only then acknowledge the stream entry. A crash at any step leaves the entry
pending; the next executor re-reads it and every step above is safe to repeat.

This module owns the stream side: the hand-over inbox, the loop, held entries and their
retries, adoption of entries a dead engine left, and what to make of each event before it
is placed (not running, too late, gate closed, stop at the price, lock busy, nothing held).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..brokers.base import BrokerOrder
from ..domain.clock import Clock
from ..domain.enums import IntentState, RuntimePosition, TriggerEvent
from ..domain.stop_rule import KnownPrice, stop_rule_broken
from ..domain.strategy import StrategySpec
from ..live.order_queue import OrderEvent, OrderQueue, QueuedEvent
from ..live.scripts import AcquireResult, AcquireStatus
from ..live.state import LiveState
from .alerts import Alerts
from .answers import Answers, _snapshot_key
from .config import EngineConfig
from .directory import StrategyDirectory
from .faults import FaultInjector, SimulatedCrash, Step
from .gate import EntryGate
from .intents import IntentLedger
from .placement import Outcome, Placed, Placement, draft_for
from .positions import PositionKeeper

log = logging.getLogger(__name__)


@dataclass
class ExecutorCounters:
    events: int = 0
    placed: int = 0
    duplicates: int = 0
    ignored: int = 0
    rejected: int = 0
    denied: int = 0  # entries the risk rules refused (never sent)
    unknown: int = 0
    malformed: int = 0
    held: int = 0
    errors: int = 0


class OrderExecutor:
    def __init__(self, *, ledger: IntentLedger, live: LiveState, queue: OrderQueue,
                 strategies: StrategyDirectory, positions: PositionKeeper,
                 placement: Placement, answers: Answers, alerts: Alerts, clock: Clock,
                 gate: EntryGate, config: EngineConfig, faults: FaultInjector,
                 killed: set, known_price: Callable[[str, str], KnownPrice | None]
                 ) -> None:
        self.ledger = ledger
        self.live = live
        self.queue = queue
        self.strategies = strategies
        self.positions = positions
        self.placement = placement
        self.answers = answers
        self.alerts = alerts
        self.clock = clock
        self.gate = gate
        self.config = config
        self.faults = faults
        # Strategies the kill switch stopped (shared with it and the broker answers).
        self.killed = killed
        # The price a BUY's stop-loss is judged against at the moment of the BUY.
        self.known_price = known_price
        self.counters = ExecutorCounters()
        self._held: dict[str, tuple[float, QueuedEvent]] = {}
        # Entries this process published and took in the same round trip, with the lock
        # result when it was taken there too. Appended by any thread, drained by the loop.
        self._inbox: deque[tuple[QueuedEvent, AcquireResult | None]] = deque()
        self._wake = threading.Event()
        # Broker updates announced from inside a call this executor is making (the paper
        # broker fills synchronously) wait for the batch's bookkeeping instead of running
        # between two exits.
        self._firing_thread: int | None = None
        self._deferred: list[BrokerOrder] = []
        # Set by another thread (the live store came back empty): the loop re-takes this
        # consumer's unfinished entries itself, so no entry is handled on two threads.
        self._recovery_requested = threading.Event()
        self.running = False
        # Held by whichever thread is handling entries (the loop, or a submitter firing its
        # own stop-loss); `_turn_holder` is that thread.
        self._turn = threading.RLock()
        self._turn_holder: int | None = None

    @property
    def held_count(self) -> int:
        """Entries held for a retry (a busy strategy, a refused scheduled exit)."""
        return len(self._held)

    def wake(self) -> None:
        """Cut the loop's current wait short (from any thread)."""
        self._wake.set()

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
        if not self._fire_here():
            self._wake.set()
        return taken.entry_id

    def _fire_here(self) -> bool:
        """Handle the inbox on this (the submitting) thread when the loop is running and
        idle: waking another thread costs a scheduler round trip, which on a loaded machine
        is the largest part of a stop-loss's worst cases. Never nested inside a handling on
        this thread (what that submits joins its batch, as before), and never while another
        thread handles: then the loop is woken instead. A failure is the loop's to retry."""
        if not (self.running and self.config.fire_on_submitting_thread) or \
                self._turn_holder == threading.get_ident() or \
                not self._turn.acquire(blocking=False):
            return False
        try:
            self._turn_holder = threading.get_ident()
            try:
                self._drain_inbox()
            except SimulatedCrash:
                raise
            except Exception:
                self.counters.errors += 1
                log.exception("executor error; the unfinished entries are retried")
                self._recovery_requested.set()
                self._wake.set()
        finally:
            self._turn_holder = None
            self._turn.release()
        return True

    @contextmanager
    def _turn_taken(self) -> Iterator[None]:
        """One handling at a time, whichever thread it runs on (re-entrant: a handling may
        run a round of its own, as tests do from inside a broker call)."""
        with self._turn:
            outer, self._turn_holder = self._turn_holder, threading.get_ident()
            try:
                yield
            finally:
                self._turn_holder = outer

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
                    with self._turn_taken():
                        self.retry_dropped()
                    dropped, backoff = False, first_backoff
                if time.monotonic() >= next_adopt:
                    next_adopt = time.monotonic() + self.config.adopt_interval_s
                    with self._turn_taken():
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
        with self._turn_taken():
            self._wake.clear()
            now = time.monotonic()
            due = [(queued, None) for entry_id, (at, queued) in list(self._held.items())
                   if at <= now or retry_held_now]
            for queued, _ in due:
                del self._held[queued.entry_id]
            done = self.process_batch(due) + self._drain_inbox()
        # Looking at the stream (for other processes' events) does not take the turn: a
        # stop-loss submitted meanwhile is fired on its own thread instead of waiting.
        read = self.queue.read(count=self.config.read_batch)
        if read:
            with self._turn_taken():
                done += self.process_batch([(q, None) for q in read])
        if done == 0:
            wait = block_ms if not self._held else \
                min(block_ms, int(self.config.hold_retry_s * 1000))
            if self._wake.wait(max(wait, 1) / 1000):
                with self._turn_taken():
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
                self.placement.recorded(item)

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
                    self.answers.apply_update(item.result)
                finally:  # recorded, or left to the event's retry: no longer in flight
                    self.placement.recorded(item)
                applied.add(_snapshot_key(item.result))
                self.faults.at(Step.RECORDED)
                assert item.queued is not None
                refused = self.answers.refused(item.claim.order_id)
                if refused is not None:
                    # Accepted, then refused (Kite answers an RMS rejection with an order id
                    # and status REJECTED): nothing moved, so it is a failure, not a fill.
                    outcome = self.placement.failed(item.spec, item.event, item.claim,
                                                    item.owner, refused, rejected=True)
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
                    self.placement.complete(item.spec, item.event, item.owner,
                                            item.result.broker_order_id)
                    item = self._finish(item.queued, Outcome.PLACED)
            outcomes.append(item)
        deferred, self._deferred = self._deferred, []
        for update in deferred:
            if _snapshot_key(update) not in applied:  # the call's own answer said the same
                self.answers.apply_update(update)
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
            self.alerts.stopped_while_buying(spec, held.quantity, held.symbol)

    def on_broker_update(self, update: BrokerOrder) -> None:
        """A broker's own announcement (fill, status change): applied now, unless it comes
        from inside a call this executor is making, then with the batch's bookkeeping."""
        if self._firing_thread == threading.get_ident():
            self._deferred.append(update)
        else:
            self.answers.apply_update(update)

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
                self.alerts.buy_too_late(spec, event.created_at, late)
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
        draft = draft_for(spec, event, self.positions)
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
            if existing is not None and existing.intent_state in (
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
                self.placement.complete(spec, event, owner, latest.broker_order_id or "")
                return self._finish(queued, Outcome.DUPLICATE)
            self.live.locks.release(spec.id, owner)
            log.info("%s for %s ignored: no open position to close", event.event.value,
                     spec.name)
            return self._finish(queued, Outcome.IGNORED)
        outcome = self.placement.place(spec, event, draft, owner)
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
        self.alerts.buy_at_the_stop(spec, rule)
        return True

    def _finish(self, queued: QueuedEvent, outcome: Outcome) -> Outcome:
        self.faults.at(Step.COMPLETED)
        self.queue.ack(queued.entry_id)
        name = {Outcome.PLACED: "placed", Outcome.DUPLICATE: "duplicates",
                Outcome.IGNORED: "ignored", Outcome.REJECTED: "rejected",
                Outcome.UNKNOWN: "unknown", Outcome.DENIED: "denied"}.get(outcome)
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
        self.alerts.event_skipped(spec, queued.event.event, why)
        return self._finish(queued, Outcome.IGNORED)

