"""The engine as one object: `start()` / `stop()`, run as a thread inside the console or as
`tui-trader engine` on a server — the same code either way.

Start is fail-closed: no new entries until live state is rebuilt (if Redis came back empty)
and every unresolved intent is reconciled with the broker. While running, a maintenance
loop flushes coalesced prices, marks positions, lets paper brokers match, runs due jobs,
retries unknown outcomes, and watches for Redis losing its data.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import select

from ..brokers.base import AccountUnusable, BrokerError
from ..brokers.feeds.base import Feed, Tick
from ..brokers.paper import PaperBroker
from ..db.models import BrokerAccount, Order, Position, Strategy, User
from ..db.repositories import InstrumentRepository
from ..db.repositories.strategies import running_strategies, to_spec
from ..domain.enums import (
    BrokerKind,
    ExecutionMode,
    IntentState,
    OrderReason,
    OrderStatus,
    PositionStatus,
    RuntimePosition,
    StrategyStatus,
    TriggerEvent,
)
from ..domain.errors import NotFoundError, StateError, ValidationError
from ..domain.schedule import (
    MISSED_NOTE,
    NoSessionAhead,
    missed_buys,
    plan_legs,
    sell_today,
    upcoming_note,
)
from ..domain.stop_rule import LIVE, KnownPrice, require_stop_below
from ..domain.strategy import RuntimeSnapshot, StrategySpec
from ..domain.universe import BY_SYMBOL
from ..live.order_queue import OrderEvent, OrderQueue
from ..live.rebuild import rebuild_from
from ..live.state import LiveState
from .alerts import Alerts
from .answers import BrokerAnswers, Resolution
from .command_auth import CommandAuthority
from .config import DEFAULT, EngineConfig
from .control import EngineHealth, EngineResources, KillReport, StartResult
from .directory import BrokerDirectory, LiveBrokerFactory, StrategyDirectory
from .events import EngineStatus, StrategyStatusChanged
from .executor import OrderExecutor
from .exit_policy import ExitPolicy
from .faults import NO_FAULTS, FaultInjector
from .gate import EntryGate
from .intents import IntentLedger
from .placement import Placement, trading_day
from .positions import PositionKeeper
from .publisher import EventPublisher, Notifier
from .remote import ControlListener
from .router import PRICE_FLUSH_INTERVAL, StopLossWatch, TickRouter
from .scheduler import ClockSchedule, JobRunner, LegScheduler

log = logging.getLogger(__name__)

NOTHING_PLANNED = "nothing planned: no session ahead holds its buy and sell times"
STRATEGIES = Strategy.__table__
ORDERS = Order.__table__


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


class EmbeddedEngine:
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
        self.brokers = BrokerDirectory(self.clock, self._on_broker_update, live_factory,
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
            killed=self.killed)
        self.executor = OrderExecutor(
            ledger=self.ledger, live=self.live, queue=self.queue,
            strategies=self.strategies, positions=self.positions, placement=self.placement,
            answers=self.answers, alerts=self.alerts, clock=self.clock, gate=self.gate,
            config=config, faults=faults, killed=self.killed,
            known_price=self.last_known_price)
        self.scheduler = LegScheduler(runner or ClockSchedule(self.clock), ctx.calendar,
                                      self.clock, self._on_leg, alert=self._leg_not_queued,
                                      no_session=self._no_session_ahead)
        # Commands from consoles elsewhere: only a signed-in session of the user they act
        # for may give them (command_auth).
        self.control = ControlListener(ctx.store, self.consumer, {
            "start": self._remote_start,
            "stop": lambda f: self.stop_strategy(uuid.UUID(f["user_id"]),
                                                 uuid.UUID(f["strategy_id"])) or {},
            "kill": lambda f: self._kill_body(uuid.UUID(f["user_id"])),
        }, authorise=CommandAuthority(ctx.db, ctx.store, self.clock).check)
        self._last_reconcile: datetime | None = None
        self.state = "stopped"
        self.detail = ""
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._control_lock = threading.RLock()
        self._last_price_flush = 0.0
        self._last_remembered = 0.0
        self._remembered: dict[str, Tick] = {}
        self._lapsed_token: dict[uuid.UUID, str | None] = {}
        # (user, account) of intents set aside because the account cannot be used.
        self._unusable: dict[tuple[uuid.UUID, uuid.UUID | None], str] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, *, threads: bool = True) -> None:
        """Recover, reconcile, then run. With threads=False nothing runs in the background
        (tests drive `executor.drain()`, `maintain()` and the feed by hand)."""
        self._set_state("starting", "loading strategies")
        self._stop.clear()
        self.restore()
        self.scheduler.runner.start()
        if self.feed is not None:
            self._resume_market(self.feed)
            self.feed.subscribe(self.router.symbols() | self.positions.symbols())
            self.feed.start(self.on_ticks)
        if threads:
            self._spawn("executor", lambda: self.executor.run(self._stop))
            self._spawn("maintenance", self._maintenance_loop)
            self._spawn("control", self._control_loop)
        self.gate.allowed = True
        self.gate.reason = ""
        self._set_state("running", "")

    def stop(self) -> None:
        self._stop.set()
        if self.feed is not None:
            self.feed.stop()
        self._remember_prices()
        self.scheduler.runner.shutdown()
        for thread in self._threads:
            thread.join(timeout=self.config.thread_join_s)
        self._threads.clear()
        self.brokers.close()
        self.ledger.close()
        self._set_state("stopped", "")

    def _resume_market(self, feed: Feed) -> None:
        """A simulated market goes on from the last prices kept (a restart must not
        send paper P&L back to the reference prices); a real feed has its own."""
        if not hasattr(feed, "resume_from"):
            return
        try:
            with self.ctx.session() as s:
                prices = InstrumentRepository(s).last_prices()
        except Exception:  # the database blinked: the reference prices will do
            log.warning("last prices not read; the simulated market starts afresh",
                        exc_info=True)
            return
        feed.resume_from(prices)

    def _remember_prices(self) -> None:
        """Keep the latest price of every symbol that moved as the instruments' last
        price: what the next start's simulated market goes on from, and what a stop-loss
        set at night is judged against. Prices of a replayed past are not kept."""
        if self._replayed_feed():
            return
        self._last_remembered = time.monotonic()
        ticks = self.router.last_ticks()
        changed = {s: t for s, t in ticks.items() if self._remembered.get(s) is not t}
        if not changed:
            return
        try:
            with self.ctx.session() as s:
                InstrumentRepository(s).remember_prices(
                    {symbol: (t.price, t.ts) for symbol, t in changed.items()})
        except Exception:  # the next pass tries again
            log.warning("last prices not kept", exc_info=True)
            return
        self._remembered.update(changed)

    def _replayed_feed(self) -> bool:
        from ..brokers.feeds.replay import ReplayFeed

        return isinstance(self.feed, ReplayFeed)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=f"engine-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _set_state(self, state: str, detail: str) -> None:
        self.state, self.detail = state, detail
        self.publisher.publish(EngineStatus(user_id="*", state=state,
                                            entries_allowed=self.gate.allowed, detail=detail))

    def health(self) -> EngineHealth:
        return EngineHealth(self.state, self.gate.allowed, self.detail, self.feed_name())

    def restore(self) -> None:
        """Rebuild live state if Redis lost it, load running strategies, reconcile."""
        self.gate.allowed = False
        self.gate.reason = "reconciling with the broker"
        self._set_state("reconciling", "reconciling open intents")
        specs = self._load_running()
        self.queue.ensure_group()
        if self.live.is_fresh():
            rebuild_from(self.live, [(s, self._runtime_from_sql(s)) for s in specs])
            log.log(logging.WARNING if specs else logging.INFO,
                    "live store was empty: rebuilt %d running strategies from SQL", len(specs))
        self.positions.load_open()
        positions = self.live.runtime_positions([s.id for s in specs])
        for spec in specs:
            self._watch(spec, positions.get(spec.id))
        self._update_status_lines(specs)
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

    def _update_status_lines(self, specs: list[StrategySpec]) -> None:
        """Bring each restored strategy's status line up to date: when it buys next, or,
        for one whose BUY time came while no engine ran (the console was closed), that it
        was missed: said once, in an alert and in the status line, instead of moving the
        strategy on to its next day without a word. A missed-BUY line stays until the
        strategy's next BUY."""
        if not specs:
            return
        now = self.clock.now()
        with self.ctx.db.connect() as conn:
            rows = {r.id: r for r in conn.execute(sa.select(
                STRATEGIES.c.id, STRATEGIES.c.last_run, STRATEGIES.c.status_reason).where(
                STRATEGIES.c.id.in_([spec.id for spec in specs]))).all()}
        for spec in specs:
            row = rows.get(spec.id)
            if row is None:
                continue
            days = self._missed_buys(spec, row.last_run, now)
            if days:
                self._tell_missed_buy(spec, days, now)
            elif not (row.status_reason or "").startswith(MISSED_NOTE):
                plan = self.scheduler.plan_for(spec.id)
                note = upcoming_note(plan.day, spec.buy_time, spec.sell_time) if plan else ""
                if note and note != row.status_reason:
                    self._set_status_line(spec.id, note)

    def _set_status_line(self, strategy_id: uuid.UUID, note: str, **values) -> None:
        with self.ctx.db.begin() as conn:
            conn.execute(STRATEGIES.update().where(STRATEGIES.c.id == strategy_id).values(
                status_reason=note[:200], **values))

    def _missed_buys(self, spec: StrategySpec, since: datetime | None, now: datetime) -> list:
        if since is None or self.positions.open_for_strategy(spec.id) is not None:
            return []  # holding a position, its BUY would not have been placed anyway
        days = missed_buys(self.ctx.calendar, since, now, spec.buy_time)
        if days:  # a day whose BUY was placed was not missed (whatever last_run says)
            days = [d for d in days if d not in self._days_bought(spec.id, days[0])]
        return days

    def _tell_missed_buy(self, spec: StrategySpec, days: list, now: datetime) -> None:
        what = self.alerts.missed_what(days, spec.buy_time)
        plan = self.scheduler.plan_for(spec.id)
        upcoming = (f"next buy {plan.day:%a %d %b} {spec.buy_time:%H:%M} IST" if plan
                    else "no next buy planned")
        note = f"{MISSED_NOTE}{what} (console closed); {upcoming}"
        self._set_status_line(spec.id, note, last_run=now)  # told once: handled now
        self.alerts.missed_buy(spec, what, upcoming, now)
        self.publisher.publish(StrategyStatusChanged(str(spec.user_id), str(spec.id),
                                                     "running", note))

    def _days_bought(self, strategy_id: uuid.UUID, since) -> set:
        """The trading days since `since` on which the strategy's BUY has an order."""
        with self.ctx.db.connect() as conn:
            return set(conn.execute(sa.select(ORDERS.c.trading_day).where(
                ORDERS.c.strategy_id == strategy_id, ORDERS.c.reason == OrderReason.BUY,
                ORDERS.c.trading_day >= since)).scalars())

    def _runtime_from_sql(self, spec: StrategySpec) -> RuntimeSnapshot:
        """SQL is the truth: an open position means bought; a done exit today means sold."""
        day = trading_day(self.clock.now())
        with self.ctx.db.connect() as conn:
            open_pos = conn.execute(sa.select(Position.__table__.c.id).where(
                Position.__table__.c.strategy_id == spec.id,
                Position.__table__.c.status == PositionStatus.OPEN)).first()
            rows = conn.execute(sa.select(ORDERS.c.reason, ORDERS.c.broker_order_id,
                                          ORDERS.c.intent_state).where(
                ORDERS.c.strategy_id == spec.id, ORDERS.c.trading_day == day)).all()
        buy = next((r.broker_order_id for r in rows if r.reason == OrderReason.BUY), None)
        sell = next((r.broker_order_id for r in rows if r.reason != OrderReason.BUY
                     and r.intent_state in (IntentState.SENT, IntentState.DONE)), None)
        if open_pos is not None:
            position = RuntimePosition.BOUGHT
        elif sell is not None:
            position = RuntimePosition.SOLD
        else:
            position = RuntimePosition.NONE
        return RuntimeSnapshot(position=position, last_buy_order=buy, last_sell_order=sell)

    def _watch(self, spec: StrategySpec, position: RuntimePosition | None = None) -> None:
        if position is None:
            runtime = self.live.get_runtime(spec.id)
            position = runtime.position if runtime is not None else None
        # Held in SQL counts too: a runtime that lost a refusal's undo still gets watched.
        armed = position is RuntimePosition.BOUGHT or \
            self.positions.open_for_strategy(spec.id) is not None
        self.router.watch(StopLossWatch(spec.id, spec.user_id, spec.symbol, spec.stop_loss,
                                        armed=armed))
        self.scheduler.schedule(spec)
        if armed:
            at = sell_today(self.ctx.calendar, self.clock.now(), spec.sell_time)
            if at is not None:
                self.scheduler.schedule_sell_only(spec, at)

    def reconcile(self, older_than: datetime | None = None) -> int:
        """Settle intents whose outcome is not known by asking their broker.

        Found at the broker: adopted. FIRING and not found: the process died before the call
        left, and its stream entry is still pending, so it is re-armed to fire again. UNKNOWN
        and not found: a broker may list a timed-out order late, so it is asked again on
        every pass; only after `config.unknown_grace` is it declared not placed — never re-sent.
        """
        settled = 0
        now = self.clock.now()
        for row in self.ledger.unresolved(older_than):
            if row["intent_state"] == IntentState.SENT and row["status"] in ("FILLED",):
                continue
            try:
                settled += self._reconcile_row(row, now)
            except Exception:
                # One bad row must not stop the others (nor the engine's start).
                log.exception("reconcile of order %s (user %s, broker account %s) failed; "
                              "the other intents go on", row["client_tag"], row["user_id"],
                              row["broker_account_id"])
        return settled

    def _reconcile_row(self, row, now: datetime) -> int:
        """Settle one unresolved intent (see `reconcile`); 1 when it was settled."""
        try:
            broker = self.brokers.for_account(row["user_id"], row["broker_account_id"])
            found = broker.orders_by_tag(row["client_tag"])
        except AccountUnusable as exc:
            self._set_aside(row, exc, now)
            return 0
        except BrokerError as exc:
            # Built, or at least opened: whatever is wrong now (no session, a network
            # error) is not the account itself.
            self._usable_again(row["user_id"], row["broker_account_id"])
            log.warning("reconcile %s postponed: %s", row["client_tag"], exc)
            return 0
        self._usable_again(row["user_id"], row["broker_account_id"])
        if found:
            refused = self.answers.resolve(row["id"], broker) is Resolution.REFUSED
            # A SENT one moved its strategy on acceptance: the broker update applied in
            # `resolve` has undone that and said so. FIRING or UNKNOWN ones moved nothing
            # yet: the refusal is settled here.
            if refused and row["intent_state"] != IntentState.SENT:
                self.answers.settle_refusal(row["id"])
            return 1
        if row["intent_state"] == IntentState.FIRING and \
                row["id"] not in self.placement.in_flight and \
                now - row["updated_at"] >= self.config.unknown_grace:
            # Only long after any call could still be on its way (a slow Kite call, a
            # rate-limit wait): re-arming an intent in flight would let a second exit claim
            # it.
            self.ledger.rearm(row["id"], now, "reconciled: broker has no such order; re-armed")
            return 1
        if row["intent_state"] == IntentState.UNKNOWN and \
                now - row["updated_at"] >= self.config.unknown_grace:
            self._declare_not_placed(row, now)
            return 1
        return 0

    def _set_aside(self, row, exc: AccountUnusable, now: datetime) -> None:
        """An intent on an account that cannot be used (credentials that do not decrypt, or
        not its user's account) waits until the account is fixed. New entries through a
        broken account are held; a foreign one is not blocked (its owner trades on). The
        user is told once, naming the account."""
        key = (row["user_id"], row["broker_account_id"])
        if key in self._unusable:
            return
        self._unusable[key] = exc.message
        if not exc.foreign:
            self.gate.blocked_accounts[row["broker_account_id"]] = exc.message
        log.error("order %s of user %s left unreconciled: %s", row["client_tag"],
                  row["user_id"], exc.message)
        self.alerts.account_unusable(row, exc.message, now)

    def _usable_again(self, user_id: uuid.UUID, account_id: uuid.UUID | None) -> None:
        reason = self._unusable.pop((user_id, account_id), None)
        if reason is not None and self.gate.blocked_accounts.get(account_id) == reason:
            self.gate.blocked_accounts.pop(account_id, None)
            log.info("broker account %s is usable again: entries allowed", account_id)

    def _declare_not_placed(self, row, now: datetime) -> None:
        message = self.alerts.lost_answer_message(
            row["client_tag"], int(self.config.unknown_grace.total_seconds()))
        self.ledger.mark_failed(row["id"], now, message, status=OrderStatus.CANCELLED)
        spec = self.strategies.get(row["strategy_id"]) if row["strategy_id"] else None
        if spec is not None:
            if row["event_id"]:
                self.live.locks.release(spec.id, row["event_id"])
            if row["reason"] != OrderReason.BUY:
                self.router.set_armed(spec.id, True)  # still holding: keep watching
            # A scheduled exit is still wanted: send it again, under the next attempt.
            self.answers.exit_again(spec, OrderReason(row["reason"]), now)
        self.alerts.not_placed_after_grace(row["user_id"], row["symbol"], row["reason"],
                                           message, now)

    # -- the feed and the legs -------------------------------------------------------------
    def on_ticks(self, batch: list[Tick]) -> None:
        self.router.on_batch(batch)

    def _on_stoploss(self, watch: StopLossWatch, price, ts: datetime) -> None:
        self.executor.submit(OrderEvent(strategy_id=watch.strategy_id, user_id=watch.user_id,
                                      event=TriggerEvent.STOPLOSS, symbol=watch.symbol,
                                      trigger_price=price, created_at=self.clock.now()))

    def _on_leg(self, spec: StrategySpec, leg: TriggerEvent, now: datetime) -> None:
        if leg is TriggerEvent.BUY:
            self._buy_handled(spec, now)
            self._new_trading_day(spec)
        self.executor.submit(OrderEvent(strategy_id=spec.id, user_id=spec.user_id, event=leg,
                                      symbol=spec.symbol, trigger_price=None, created_at=now))

    def _leg_not_queued(self, spec: StrategySpec, leg: TriggerEvent, why: str) -> None:
        self.alerts.leg_delayed(spec, leg, why)

    def _no_session_ahead(self, spec: StrategySpec, why: str) -> None:
        """Nothing more can be planned (its special session has passed, say): the strategy
        stays running, so a position it holds is still watched, and the trader is told."""
        reason = NOTHING_PLANNED
        try:
            with self.ctx.session() as s:
                row = s.get(Strategy, spec.id)
                if row is not None:
                    row.status_reason = reason
        except Exception:  # the notice below still reaches the trader
            log.warning("status of %s not updated", spec.id, exc_info=True)
        self.alerts.nothing_planned(spec, why)
        self.publisher.publish(StrategyStatusChanged(str(spec.user_id), str(spec.id),
                                                     "running", reason))

    def _buy_handled(self, spec: StrategySpec, at: datetime) -> None:
        """The strategy's `last_run` is when its BUY was last taken in hand (or it was
        started): a BUY time after it, found at the next start, was missed. Its status line
        moves on to the next day's BUY."""
        try:
            plan = plan_legs(self.ctx.calendar, at, spec.buy_time, spec.sell_time)
            self._set_status_line(spec.id, upcoming_note(plan.day, spec.buy_time,
                                                         spec.sell_time, special=plan.special),
                                  last_run=at)
        except NoSessionAhead:  # the scheduler tells the trader nothing more is planned
            self._set_status_line(spec.id, NOTHING_PLANNED, last_run=at)
        except Exception:  # the database blinked: at worst a later start reports a miss
            log.warning("last run of %s not recorded", spec.name, exc_info=True)

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

    def _on_broker_update(self, update) -> None:
        try:
            self.executor.on_broker_update(update)
        except Exception:
            log.exception("broker update %s not applied", update.broker_order_id)

    def _remote_start(self, fields: dict[str, str]) -> dict:
        """A start from the control channel: a LIVE strategy needs the trader's typed
        confirmation to have come with it, as it does in the console."""
        user_id, strategy_id = uuid.UUID(fields["user_id"]), uuid.UUID(fields["strategy_id"])
        with self.ctx.db.connect() as conn:
            mode = conn.execute(sa.select(STRATEGIES.c.execution_mode).where(
                STRATEGIES.c.id == strategy_id, STRATEGIES.c.user_id == user_id)).scalar()
        if mode is None:
            raise NotFoundError("strategy", strategy_id)
        if mode == ExecutionMode.LIVE and fields.get("confirm_live") != "LIVE":
            raise ValidationError("mode", "LIVE strategies place real orders: confirm to "
                                          "start")
        return {"message": self.start_strategy(user_id, strategy_id).message}

    def _kill_body(self, user_id: uuid.UUID) -> dict:
        report = self.kill_switch(user_id)
        return {"strategies_stopped": report.strategies_stopped,
                "exit_orders": report.exit_orders, "errors": report.errors}

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

    # -- maintenance -----------------------------------------------------------------------
    def _maintenance_loop(self) -> None:
        while not self._stop.wait(self.config.maintenance_interval_s):
            try:
                self.maintain()
            except Exception:
                log.exception("maintenance pass failed; continuing")

    def maintain(self) -> None:
        now = self.clock.now()
        if time.monotonic() - self._last_price_flush >= PRICE_FLUSH_INTERVAL:
            self._last_price_flush = time.monotonic()
            prices = self.router.take_dirty_prices()
            if prices:
                try:
                    self.live.set_prices(prices)
                except Exception:
                    log.debug("price flush skipped: live store unreachable")
        if time.monotonic() - self._last_remembered >= self.config.remember_prices_every_s:
            self._remember_prices()
        self.brokers.push_prices(self.router.last_price, now)
        self.positions.mark_prices(self.router.last_price)
        self.positions.flush(now)
        try:
            self.control.beat(self.state, self.gate.allowed, self.detail, self.feed_name())
        except Exception:
            log.debug("heartbeat skipped: live store unreachable")
        runner = self.scheduler.runner
        if hasattr(runner, "run_due"):
            runner.run_due(now)
        if self._last_reconcile is None or \
                now - self._last_reconcile >= self.config.reconcile_every:
            self._last_reconcile = now
            self.reconcile(older_than=now - self.config.reconcile_min_age)
        self._lift_token_blocks(now)
        try:
            if self.live.is_fresh():
                self.restore()
                self.gate.allowed = True
                self._set_state("running", "live store was rebuilt from SQL")
        except Exception:
            self.gate.allowed = False
            self.gate.reason = "live store unreachable"
            self._set_state("degraded", "live store unreachable: no new entries")

    def _lift_token_blocks(self, now: datetime) -> None:
        """A user who logged in again since the lapse (a different token stored, in date)
        may trade again; the notification at the lapse told them to."""
        lapsed = list(self.gate.token_lapsed_at)
        if not lapsed:
            return
        table = BrokerAccount.__table__
        with self.ctx.db.connect() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.access_token_enc,
                                          table.c.token_expires_at).where(
                table.c.id.in_(lapsed))).all()
        for row in rows:
            # The ciphertext seen when the lapse was first noticed; a new login changes it.
            seen = self._lapsed_token.setdefault(row.id, row.access_token_enc)
            if row.access_token_enc != seen and row.token_expires_at is not None and \
                    row.token_expires_at > now:
                self.gate.blocked_accounts.pop(row.id, None)
                self.gate.token_lapsed_at.pop(row.id, None)
                self._lapsed_token.pop(row.id, None)
                log.info("broker account %s logged in again: entries allowed", row.id)
                # Exits refused while the session was lapsed may go out now: watch again
                # (a price already through the stop fires at once).
                for spec in self.strategies.all():
                    watch = self.router.get(spec.id)
                    if spec.broker_account_id == row.id and watch is not None and \
                            not watch.armed and self._holds(spec):
                        self.router.arm(spec.id)

    def _holds(self, spec: StrategySpec) -> bool:
        try:
            runtime = self.live.get_runtime(spec.id)
        except Exception:  # live store unreachable: the next maintenance pass tries again
            return False
        return runtime is not None and runtime.position is RuntimePosition.BOUGHT

    # -- control (EngineControl) -----------------------------------------------------------
    def start_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID, *,
                       confirm_live: bool = False) -> StartResult:
        """Start a strategy. In-process callers have asked for a LIVE confirmation already
        (StrategyControl), so `confirm_live` is not checked here; the control channel's
        start checks it (`_remote_start`)."""
        with self._control_lock:
            with self.ctx.session() as s:
                row = s.get(Strategy, strategy_id)
                if row is None or row.user_id != user_id:
                    raise NotFoundError("strategy", strategy_id)
                if row.status == StrategyStatus.RUNNING and strategy_id in \
                        {x.id for x in self.strategies.all()}:
                    raise StateError("The strategy is already running")
                self.killed.discard(strategy_id)  # started again: trades again
                # Nights and weekends have no live price: the stored one judges the stop.
                require_stop_below(row.stop_loss,
                                   self.last_known_price(row.symbol, row.exchange, s))
                if row.execution_mode == ExecutionMode.LIVE:
                    self._require_live_account(s, row)
                if row.execution_mode == ExecutionMode.LIVE and self._simulated_feed():
                    raise StateError("LIVE strategies need live market data, and this "
                                     "engine runs on the simulated feed (use `tui-trader "
                                     "engine --feed kite`)")
                if row.execution_mode == ExecutionMode.LIVE and \
                        self.ctx.settings.clock_start is not None:
                    raise StateError("LIVE strategies trade on the real clock, and this "
                                     "engine runs on a simulated one (TUI_TRADER_CLOCK_START)")
                # Refused before anything changes when no session ahead holds its legs (a
                # Muhurat strategy whose evening has passed).
                plan_legs(self.ctx.calendar, self.clock.now(), row.buy_time, row.sell_time)
                row.status = StrategyStatus.RUNNING
                row.last_run = self.clock.now()
                s.flush()
                spec = to_spec(row)
                owner = s.get(User, user_id)
                email = owner.email if owner else ""
            try:
                self.strategies.put(spec)
                self.live.put_user(user_id, email, broker_connected=True)
                self.live.activate(spec, self._runtime_from_sql(spec))
                if self.feed is not None:
                    self.feed.subscribe([spec.symbol])
                self._watch(spec)
            except Exception as exc:
                # Half started is not started: SQL must not say running while nothing
                # watches the strategy (and a retry must not be refused as "already running").
                log.warning("start of %s failed: %s", spec.id, exc)
                self._forget(spec.id, spec.symbol)
                with self.ctx.session() as s:
                    row = s.get(Strategy, spec.id)
                    row.status = StrategyStatus.STOPPED
                    row.status_reason = "start failed: live store unreachable"
                raise StateError("The strategy could not start (the live store is "
                                 "unreachable); nothing changed, try again") from None
            plan = self.scheduler.plan_for(spec.id)
            note = plan.note if plan else "running"
            with self.ctx.session() as s:
                s.get(Strategy, spec.id).status_reason = note[:200]
            self.publisher.publish(StrategyStatusChanged(str(user_id), str(spec.id), "running",
                                                         note))
            return StartResult(spec.id, note)

    @staticmethod
    def _require_live_account(s, row: Strategy) -> None:
        """A LIVE strategy trades only through its own, active Kite account: one removed
        since (the strategy's link is cleared) or switched off is refused here, not at
        the first order."""
        account = s.get(BrokerAccount, row.broker_account_id) \
            if row.broker_account_id is not None else None
        if account is None or account.user_id != row.user_id:
            raise ValidationError("broker_account_id", "its Kite account was removed: edit "
                                                       "the strategy and choose another")
        if account.broker != BrokerKind.KITE or not account.is_active:
            raise ValidationError("broker_account_id", f"'{account.label}' is not an active "
                                                       f"Zerodha Kite account")

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
        with self._control_lock:
            old = self.feed
            if old is feed:
                return
            if old is not None:
                old.stop()
            self.router.forget_prices()
            self.feed = feed
            feed.subscribe(self.router.symbols() | self.positions.symbols())
            if self.state not in ("stopped",):
                feed.start(self.on_ticks)
        log.info("market data now from %s", type(feed).__name__)

    def feed_name(self) -> str:
        """What the status bar shows: simulated, replay, kite or none."""
        if self.feed is None:
            return "none"
        name = type(self.feed).__name__.removesuffix("Feed").removesuffix("Ticker")
        return name.lower() or "feed"

    def _simulated_feed(self) -> bool:
        """A stop-loss on a real account must never be judged on made-up prices."""
        from ..brokers.feeds.replay import ReplayFeed
        from ..brokers.feeds.simulated import SimulatedFeed

        return isinstance(self.feed, SimulatedFeed | ReplayFeed)

    def stop_strategy(self, user_id: uuid.UUID, strategy_id: uuid.UUID) -> None:
        with self._control_lock:
            with self.ctx.session() as s:
                row = s.get(Strategy, strategy_id)
                if row is None or row.user_id != user_id:
                    raise NotFoundError("strategy", strategy_id)
                row.status = StrategyStatus.STOPPED
                holding = self.positions.open_for_strategy(strategy_id) is not None
                row.status_reason = ("stopped with an open position (use the kill switch to "
                                     "square off)" if holding else "stopped")
                reason, symbol = row.status_reason, row.symbol
            self._forget(strategy_id, symbol)
            self.publisher.publish(StrategyStatusChanged(str(user_id), str(strategy_id),
                                                         "stopped", reason))

    def _forget(self, strategy_id: uuid.UUID, symbol: str) -> None:
        self.scheduler.cancel(strategy_id)
        self.router.unwatch(strategy_id)
        self.strategies.remove(strategy_id)
        try:
            self.live.remove_strategy(strategy_id, symbol)
        except Exception:  # Redis down: SQL says stopped, and a rebuild will not restore it
            log.warning("live keys of %s not removed (live store unreachable)", strategy_id)

    def kill_switch(self, user_id: uuid.UUID) -> KillReport:
        """Stop every strategy of the user and square off every open position. Goes straight
        to SQL and the broker, so it works with the feed or the live store down."""
        errors: list[str] = []
        stopped = 0
        with self._control_lock:
            with self.ctx.session() as s:
                rows = s.exec(select(Strategy).where(
                    Strategy.user_id == user_id,
                    Strategy.status == StrategyStatus.RUNNING)).all()
                for row in rows:
                    row.status = StrategyStatus.STOPPED
                    row.status_reason = "stopped by the kill switch"
                targets = [(r.id, r.symbol) for r in rows]
            # Before they are forgotten: an order of theirs still at the broker (a BUY in
            # flight) is squared off when it fills.
            self.killed.update(strategy_id for strategy_id, _ in targets)
            for strategy_id, symbol in targets:
                self._forget(strategy_id, symbol)
                stopped += 1
                self.publisher.publish(StrategyStatusChanged(str(user_id), str(strategy_id),
                                                             "stopped", "kill switch"))
            exits = 0
            for pos in self.positions.open_for_user(user_id):
                try:
                    if self.placement.square_off(pos):
                        exits += 1
                except Exception as exc:
                    errors.append(f"{pos.symbol}: {exc}")
        return KillReport(stopped, exits, errors)
