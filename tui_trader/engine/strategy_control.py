"""Which strategies run: start one (after every check a start must pass), stop one, and
the kill switch (stop all of a user's and square off every open position). Also how a
running strategy is watched: its stop-loss armed from its runtime (or SQL), its legs
scheduled, and its runtime rebuilt from SQL when the live store lost it.

Every change goes to SQL first and then to the live store, the router and the scheduler;
a start that fails half way is undone, so SQL never says running while nothing watches.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import select

from ..brokers.feeds.base import Feed
from ..db.models import BrokerAccount, Order, Position, Strategy, User
from ..db.repositories.strategies import to_spec
from ..domain.clock import Clock
from ..domain.enums import (
    BrokerKind,
    ExecutionMode,
    IntentState,
    OrderReason,
    PositionStatus,
    RuntimePosition,
    StrategyStatus,
)
from ..domain.errors import NotFoundError, StateError, ValidationError
from ..domain.schedule import plan_legs, sell_today
from ..domain.stop_rule import KnownPrice, require_stop_below
from ..domain.strategy import RuntimeSnapshot, StrategySpec
from ..live.state import LiveState
from .control import EngineResources, KillReport, StartResult
from .directory import StrategyDirectory
from .events import StrategyStatusChanged
from .placement import Placement, trading_day
from .positions import PositionKeeper
from .publisher import EventPublisher
from .router import StopLossWatch, TickRouter
from .scheduler import LegScheduler

log = logging.getLogger(__name__)

ORDERS = Order.__table__
STRATEGIES = Strategy.__table__


class StrategyControl:
    def __init__(self, *, ctx: EngineResources, strategies: StrategyDirectory,
                 live: LiveState, router: TickRouter, positions: PositionKeeper,
                 scheduler: LegScheduler, placement: Placement, publisher: EventPublisher,
                 clock: Clock, killed: set[uuid.UUID], feed: Callable[[], Feed | None],
                 last_known_price: Callable[..., KnownPrice | None]) -> None:
        self.ctx = ctx
        self.strategies = strategies
        self.live = live
        self.router = router
        self.positions = positions
        self.scheduler = scheduler
        self.placement = placement
        self.publisher = publisher
        self.clock = clock
        self.killed = killed
        self._feed = feed
        self.last_known_price = last_known_price
        # One change of which strategies run at a time (consoles, the control channel).
        self.lock = threading.RLock()

    @property
    def feed(self) -> Feed | None:
        return self._feed()

    def start(self, user_id: uuid.UUID, strategy_id: uuid.UUID, *,
                       confirm_live: bool = False) -> StartResult:
        """Start a strategy. In-process callers have asked for a LIVE confirmation already
        (StrategyControl), so `confirm_live` is not checked here; the control channel's
        start checks it (`_remote_start`)."""
        with self.lock:
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
                self.live.activate(spec, self.runtime_from_sql(spec))
                if self.feed is not None:
                    self.feed.subscribe([spec.symbol])
                self.watch(spec)
            except Exception as exc:
                # Half started is not started: SQL must not say running while nothing
                # watches the strategy (and a retry must not be refused as "already running").
                log.warning("start of %s failed: %s", spec.id, exc)
                self.forget(spec.id, spec.symbol)
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

    def stop(self, user_id: uuid.UUID, strategy_id: uuid.UUID) -> None:
        with self.lock:
            with self.ctx.session() as s:
                row = s.get(Strategy, strategy_id)
                if row is None or row.user_id != user_id:
                    raise NotFoundError("strategy", strategy_id)
                row.status = StrategyStatus.STOPPED
                holding = self.positions.open_for_strategy(strategy_id) is not None
                row.status_reason = ("stopped with an open position (use the kill switch to "
                                     "square off)" if holding else "stopped")
                reason, symbol = row.status_reason, row.symbol
            self.forget(strategy_id, symbol)
            self.publisher.publish(StrategyStatusChanged(str(user_id), str(strategy_id),
                                                         "stopped", reason))

    def forget(self, strategy_id: uuid.UUID, symbol: str) -> None:
        self.scheduler.cancel(strategy_id)
        self.router.unwatch(strategy_id)
        self.strategies.remove(strategy_id)
        try:
            self.live.remove_strategy(strategy_id, symbol)
        except Exception:  # Redis down: SQL says stopped, and a rebuild will not restore it
            log.warning("live keys of %s not removed (live store unreachable)", strategy_id)

    def kill(self, user_id: uuid.UUID) -> KillReport:
        """Stop every strategy of the user and square off every open position. Goes straight
        to SQL and the broker, so it works with the feed or the live store down."""
        errors: list[str] = []
        stopped = 0
        with self.lock:
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
                self.forget(strategy_id, symbol)
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

    def remote_start(self, fields: dict[str, str]) -> dict:
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
        return {"message": self.start(user_id, strategy_id).message}

    def kill_body(self, user_id: uuid.UUID) -> dict:
        report = self.kill(user_id)
        return {"strategies_stopped": report.strategies_stopped,
                "exit_orders": report.exit_orders, "errors": report.errors}

    def runtime_from_sql(self, spec: StrategySpec) -> RuntimeSnapshot:
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

    def watch(self, spec: StrategySpec, position: RuntimePosition | None = None) -> None:
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

    def _simulated_feed(self) -> bool:
        """A stop-loss on a real account must never be judged on made-up prices."""
        from ..brokers.feeds.replay import ReplayFeed
        from ..brokers.feeds.simulated import SimulatedFeed

        return isinstance(self.feed, SimulatedFeed | ReplayFeed)
