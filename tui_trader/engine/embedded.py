"""The engine as one object: `start()` / `stop()`, run as a thread inside the console or as
`tui-trader engine` on a server — the same code either way.

Start is fail-closed: no new entries until live state is rebuilt (if Redis came back empty)
and every unresolved intent is reconciled with the broker. While running, a maintenance
loop flushes coalesced prices, marks positions, lets paper brokers match, runs due jobs,
retries unknown outcomes, and watches for Redis losing its data.
"""

from __future__ import annotations

import gc
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..brokers.feeds.base import Feed, Tick
from ..brokers.paper import PaperBroker
from ..db.repositories import InstrumentRepository
from ..db.repositories.strategies import running_strategies
from ..domain.enums import (
    RuntimePosition,
    TriggerEvent,
)
from ..domain.lifecycle import ENGINE, EngineState
from ..domain.stop_rule import LIVE, KnownPrice
from ..domain.strategy import StrategySpec
from ..domain.universe import BY_SYMBOL
from ..live.order_queue import OrderEvent, OrderQueue
from ..live.rebuild import rebuild_from
from ..live.state import LiveState
from .alerts import Alerts
from .answers import BrokerAnswers
from .command_auth import CommandAuthority
from .config import DEFAULT, EngineConfig
from .control import EngineHealth, EngineResources, KillReport, StartResult
from .directory import BrokerDirectory, LiveBrokerFactory, StrategyDirectory
from .events import EngineStatus
from .executor import OrderExecutor
from .exit_policy import ExitPolicy
from .faults import NO_FAULTS, FaultInjector
from .gate import EntryGate
from .intents import IntentLedger
from .maintenance import Maintenance
from .placement import Placement
from .positions import PositionKeeper
from .publisher import EventPublisher, Notifier
from .reconciler import Reconciler
from .remote import ControlListener
from .risk_check import RiskCheck
from .router import StopLossWatch, TickRouter
from .scheduler import ClockSchedule, JobRunner, LegScheduler
from .status_notes import StatusNotes
from .strategy_control import StrategyControl

log = logging.getLogger(__name__)

# Why entries are blocked while the live store does not answer (the gate's reason too).
STORE_LOST = "live store unreachable"



def stable_consumer(ctx: EngineResources) -> str:
    """This engine's name in the order stream's consumer group, the same across restarts
    (kept in the data dir), so entries it took and never finished are found again by the
    next start instead of waiting for another engine to adopt them."""
    host = socket.gethostname()
    settings = getattr(ctx, "settings", None)
    data_dir = getattr(settings, "data_dir", None)
    if data_dir is None:
        return f"{host}-{uuid.uuid4().hex[:6]}"
    path = Path(data_dir) / "engine-id"
    try:
        engine_id = path.read_text(encoding="utf-8").strip()
    except OSError:
        engine_id = ""
    if not engine_id:
        engine_id = uuid.uuid4().hex[:8]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(engine_id + "\n", encoding="utf-8")
        except OSError:  # read-only data dir: a fresh name, adopted by claim_stale later
            log.warning("engine id not saved in %s", path)
    return f"{host}-{engine_id}"


_frozen = threading.Lock()
_frozen_done = False


def _freeze_heap_once() -> None:
    """See `EngineConfig.gc_freeze_at_start`. Once per process: what later starts create
    (an engine started again) is short-lived enough to be collected as usual."""
    global _frozen_done
    with _frozen:
        if _frozen_done:
            return
        _frozen_done = True
        gc.collect()
        gc.freeze()


class EmbeddedEngine:
    """Lifecycle and wiring: builds the parts, starts and stops their threads, restores
    and reconciles before entries open, and answers the EngineControl calls."""

    def __init__(self, ctx: EngineResources, *, feed: Feed | None = None,
                 runner: JobRunner | None = None, consumer: str | None = None,
                 live_factory: LiveBrokerFactory | None = None,
                 config: EngineConfig = DEFAULT, faults: FaultInjector = NO_FAULTS,
                 paper_factory: Callable[[uuid.UUID], PaperBroker] | None = None) -> None:
        self.config = config
        self.ctx = ctx
        self.clock = ctx.clock
        self.feed = feed
        self.live = LiveState(ctx.store)
        self.consumer = consumer or stable_consumer(ctx)
        self.queue = OrderQueue(ctx.store, consumer=self.consumer)
        self.publisher = EventPublisher(ctx.store)
        self.notifier = Notifier(ctx.db, self.publisher)
        self.ledger = IntentLedger(ctx.db)
        self.strategies = StrategyDirectory()
        self.gate = EntryGate()
        self.router = TickRouter(self._on_stoploss, known_symbols=BY_SYMBOL)
        self.positions = PositionKeeper(ctx.db, self.publisher.publish)
        self.brokers = BrokerDirectory(self.clock, self.on_broker_update, live_factory,
                                       paper_factory)
        self.alerts = Alerts(self.notifier, self.clock)
        # Strategies the kill switch stopped: whatever their orders still at the broker buy
        # is squared off as soon as it fills.
        self.killed: set[uuid.UUID] = set()
        self.answers = BrokerAnswers(
            ledger=self.ledger, live=self.live, brokers=self.brokers,
            strategies=self.strategies, positions=self.positions, router=self.router,
            publisher=self.publisher, alerts=self.alerts, clock=self.clock,
            killed=self.killed, submit=lambda event: self.executor.submit(event),
            square_off=lambda pos: self.placement.square_off(pos))
        self.placement = Placement(
            ledger=self.ledger, live=self.live, brokers=self.brokers,
            positions=self.positions, router=self.router, gate=self.gate,
            answers=self.answers, alerts=self.alerts,
            policy=ExitPolicy(config, self.ledger), clock=self.clock, faults=faults,
            killed=self.killed,
            risk=RiskCheck(ctx.db, ctx.calendar, self.last_known_price))
        self.executor = OrderExecutor(
            ledger=self.ledger, live=self.live, queue=self.queue,
            strategies=self.strategies, positions=self.positions, placement=self.placement,
            answers=self.answers, alerts=self.alerts, clock=self.clock, gate=self.gate,
            config=config, faults=faults, killed=self.killed,
            known_price=self.last_known_price)
        self.notes = StatusNotes(ctx=ctx, positions=self.positions, publisher=self.publisher,
                                 alerts=self.alerts, clock=self.clock,
                                 plan_for=lambda strategy_id: self.scheduler.plan_for(
                                     strategy_id))
        self.scheduler = LegScheduler(runner or ClockSchedule(self.clock), ctx.calendar,
                                      self.clock, self._on_leg, alert=self.notes.leg_not_queued,
                                      no_session=self.notes.no_session_ahead)
        self.reconciler = Reconciler(
            ledger=self.ledger, brokers=self.brokers, answers=self.answers,
            placement=self.placement, strategies=self.strategies, live=self.live,
            router=self.router, gate=self.gate, alerts=self.alerts, clock=self.clock,
            config=config)
        self.control_strategies = StrategyControl(
            ctx=ctx, strategies=self.strategies, live=self.live, router=self.router,
            positions=self.positions, scheduler=self.scheduler, placement=self.placement,
            publisher=self.publisher, clock=self.clock, killed=self.killed,
            feed=lambda: self.feed, last_known_price=self.last_known_price)
        self.maintenance = Maintenance(
            ctx=ctx, live=self.live, router=self.router, positions=self.positions,
            brokers=self.brokers, strategies=self.strategies, gate=self.gate,
            runner=self.scheduler.runner, clock=self.clock, config=config,
            feed=lambda: self.feed, reconcile=self.reconcile, beat=self._beat,
            on_live_store_empty=self._live_store_rebuilt,
            on_live_store_unreachable=self._live_store_lost,
            on_live_store_whole=self._live_store_back)
        control = self.control_strategies
        # Commands from consoles elsewhere: only a signed-in session of the user they act
        # for may give them (command_auth).
        self.control = ControlListener(ctx.store, self.consumer, {
            "start": control.remote_start,
            "stop": lambda f: self.stop_strategy(uuid.UUID(f["user_id"]),
                                                 uuid.UUID(f["strategy_id"])) or {},
            "kill": lambda f: control.kill_body(uuid.UUID(f["user_id"])),
        }, authorise=CommandAuthority(ctx.db, ctx.store, self.clock).check)
        # None until the first start: a new engine is in no state of its lifecycle yet (its
        # health says stopped); every move after that goes through `_move`.
        self._state: EngineState | None = None
        self.detail = ""
        self._state_lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, *, threads: bool = True) -> None:
        """Recover, reconcile, then run. With threads=False nothing runs in the background
        (tests drive `executor.drain()`, `maintain()` and the feed by hand)."""
        self._move(EngineState.STARTING, "loading strategies")
        self._stop.clear()
        self.restore()
        self.scheduler.runner.start()
        if self.feed is not None:
            self.maintenance.resume_market(self.feed)
            self.feed.subscribe(self.router.symbols() | self.positions.symbols())
            self.feed.start(self.on_ticks)
        if threads:
            self._spawn("executor", lambda: self.executor.run(self._stop))
            self._spawn("maintenance", lambda: self.maintenance.run(self._stop))
            self._spawn("control", self._control_loop)
        self.gate.allowed = True
        self.gate.reason = ""
        if self.config.gc_freeze_at_start:
            _freeze_heap_once()
        self._move(EngineState.RUNNING, "")

    def stop(self) -> None:
        """Stop every thread; STOPPING is published first, STOPPED when they have ended.
        Stopping an engine that never started, or has stopped, only closes what is open."""
        self._stop.set()  # first: a background pass that sees it no longer moves the state
        moving = self.state is not EngineState.STOPPED
        if moving:
            self._move(EngineState.STOPPING, "stopping")
        if self.feed is not None:
            self.feed.stop()
        self.maintenance.remember_prices()
        self.scheduler.runner.shutdown()
        for thread in self._threads:
            thread.join(timeout=self.config.thread_join_s)
        self._threads.clear()
        self.brokers.close()
        self.ledger.close()
        if moving:
            self._move(EngineState.STOPPED, "")

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"engine-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    @property
    def state(self) -> EngineState:
        return self._state if self._state is not None else EngineState.STOPPED

    def _move(self, state: EngineState, detail: str, *, unless_stopping: bool = False) -> bool:
        """The one write of the engine's state: checked against `ENGINE` (IllegalTransition
        for a move it does not list, nothing changed), then published to every console.
        `unless_stopping`: a background thread's move, skipped (False) once stop() began."""
        with self._state_lock:
            if unless_stopping and self._stop.is_set():
                return False
            ENGINE.check(self._state, state)
            self._state, self.detail = state, detail
            event = EngineStatus(user_id="*", state=state,
                                 entries_allowed=self._entries_allowed(), detail=detail)
        self.publisher.publish(event)
        try:  # attached consoles read the heartbeat: tell them now, not at the next pass
            self._beat()
        except Exception:
            log.debug("heartbeat skipped: live store unreachable")
        return True

    def _entries_allowed(self) -> bool:
        # A stopping engine takes nothing new, whatever its gate last said.
        return self.gate.allowed and self.state not in (EngineState.STOPPING,
                                                        EngineState.STOPPED)

    def health(self) -> EngineHealth:
        return EngineHealth(self.state, self._entries_allowed(), self.detail, self.feed_name())

    def restore(self) -> None:
        """Rebuild live state if Redis lost it, load running strategies, reconcile."""
        self.gate.allowed = False
        self.gate.reason = "reconciling with the broker"
        self._move(EngineState.RECONCILING, "reconciling open intents")
        specs = self._load_running()
        self.queue.ensure_group()
        if self.live.is_fresh():
            runtime = self.control_strategies.runtime_from_sql
            rebuild_from(self.live, [(s, runtime(s)) for s in specs])
            log.log(logging.WARNING if specs else logging.INFO,
                    "live store was empty: rebuilt %d running strategies from SQL", len(specs))
        self.positions.load_open()
        positions = self.live.runtime_positions([s.id for s in specs])
        for spec in specs:
            self.control_strategies.watch(spec, positions.get(spec.id))
        self.notes.update(specs)
        self.reconcile()
        # Reconciled: work already queued (and unacknowledged) may now go through.
        self.gate.allowed = True
        self.gate.reason = ""
        # On the executor's own thread when it runs: an entry is never handled on two.
        self.executor.request_recovery()
        self.live.mark_alive()

    def _load_running(self) -> list[StrategySpec]:
        with self.ctx.session() as s:
            specs = running_strategies(s)
        for spec in specs:
            self.strategies.put(spec)
        return specs

    def _beat(self) -> None:
        self.control.beat(self.state, self._entries_allowed(), self.detail, self.feed_name())

    def _live_store_rebuilt(self) -> None:
        """The live store came back empty: rebuilt from SQL and settled again."""
        self._resettle("live store was rebuilt from SQL")

    def _live_store_back(self) -> None:
        """The live store answers again with its data whole: if that is what blocked
        entries, settle again (entries may have waited in the stream) and reopen them."""
        if self.state is EngineState.ENTRIES_BLOCKED and \
                self.gate.reason == STORE_LOST:
            self._resettle("live store reachable again")

    def _resettle(self, detail: str) -> None:
        if self._stop.is_set():  # stopping: the last maintenance pass leaves the state be
            return
        self.restore()
        self.gate.allowed = True
        self._move(EngineState.RUNNING, detail, unless_stopping=True)

    def _live_store_lost(self) -> None:
        """Entries blocked (exits still go) until the live store is back."""
        self.gate.close(STORE_LOST)
        self._move(EngineState.ENTRIES_BLOCKED, STORE_LOST, unless_stopping=True)

    def maintain(self) -> None:
        """One housekeeping pass (the maintenance thread runs it; tests call it)."""
        self.maintenance.maintain()

    def reconcile(self, older_than: datetime | None = None) -> int:
        """Settle intents whose outcome is not known by asking their broker."""
        return self.reconciler.reconcile(older_than)

    # -- the feed and the legs -------------------------------------------------------------
    def on_ticks(self, batch: list[Tick]) -> None:
        self.router.on_batch(batch)

    def _on_stoploss(self, watch: StopLossWatch, price, ts: datetime) -> None:
        self.executor.submit(OrderEvent(strategy_id=watch.strategy_id, user_id=watch.user_id,
                                      event=TriggerEvent.STOPLOSS, symbol=watch.symbol,
                                      trigger_price=price, created_at=self.clock.now()))

    def _on_leg(self, spec: StrategySpec, leg: TriggerEvent, now: datetime) -> None:
        if leg is TriggerEvent.BUY:
            self.notes.buy_handled(spec, now)
            self._new_trading_day(spec)
        self.executor.submit(OrderEvent(strategy_id=spec.id, user_id=spec.user_id, event=leg,
                                      symbol=spec.symbol, trigger_price=None, created_at=now))

    def _new_trading_day(self, spec: StrategySpec) -> None:
        """The day's BUY starts a new round: a strategy that sold on an earlier day is
        ready to buy again (the BUY requires `none`). Not if a position is still open, and
        never today's own exit: the BUY leg fires once a day, before that day's exit."""
        try:
            runtime = self.live.get_runtime(spec.id)
        except Exception:  # live store unreachable: the BUY is held until it is back
            return
        if runtime is None or runtime.position is not RuntimePosition.SOLD:
            return
        if self.positions.open_for_strategy(spec.id) is None:
            self.live.move_runtime(spec.id, RuntimePosition.NONE)

    def on_broker_update(self, update) -> None:
        """A broker's own announcement of an order (its listener thread)."""
        try:
            self.executor.on_broker_update(update)
        except Exception:
            log.exception("broker update %s not applied", update.broker_order_id)

    def _control_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if self.control.poll(block_ms=self.config.control_block_ms) == 0:
                    # Real Redis blocked for the whole wait; the embedded store answers an
                    # empty read at once, so wait out the rest here instead of spinning.
                    rest = self.config.control_block_ms / 1000 - (time.monotonic() - started)
                    if rest > 0:
                        self._stop.wait(rest)
            except Exception:
                log.warning("control channel unavailable; retrying")
                self._stop.wait(1.0)

    # -- control (EngineControl) -----------------------------------------------------------
    def start_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID, *,
                       confirm_live: bool = False) -> StartResult:
        """In-process callers have asked for a LIVE confirmation already (StrategyControl),
        so `confirm_live` is not checked here; the control channel's start checks it."""
        return self.control_strategies.start(user_id, strategy_id)

    def stop_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID) -> None:
        self.control_strategies.stop(user_id, strategy_id)

    def kill_switch(self, user_id: uuid.UUID) -> KillReport:
        return self.control_strategies.kill(user_id)

    def last_known_price(self, symbol: str, exchange: str = "NSE",
                         session=None) -> KnownPrice | None:
        """The price a stop-loss is judged against: the feed's latest tick, else the
        newest stored price (last candle close or the instruments master's)."""
        live = self.router.last_price(symbol)
        if live is not None:
            return KnownPrice(symbol, live, LIVE, self.clock.now())
        if session is not None:
            return InstrumentRepository(session).last_known_price(symbol, exchange)
        with self.ctx.session() as s:
            return InstrumentRepository(s).last_known_price(symbol, exchange)

    def use_feed(self, feed: Feed) -> None:
        """Take market data from `feed` from now on (the console moves from the simulated
        feed to a broker's live ticker once its user has a broker session). Running
        strategies keep running and their subscriptions move across; prices seen on the old
        feed are forgotten, so nothing is judged on them once real ones flow."""
        with self.control_strategies.lock:
            old = self.feed
            if old is feed:
                return
            if old is not None:
                old.stop()
            self.router.forget_prices()
            self.feed = feed
            feed.subscribe(self.router.symbols() | self.positions.symbols())
            if self.state not in (EngineState.STOPPING, EngineState.STOPPED):
                feed.start(self.on_ticks)
        log.info("market data now from %s", type(feed).__name__)

    def feed_name(self) -> str:
        """What the status bar shows: simulated, replay, kite or none."""
        if self.feed is None:
            return "none"
        name = type(self.feed).__name__.removesuffix("Feed").removesuffix("Ticker")
        return name.lower() or "feed"
