"""The engine's housekeeping pass, a few times a second: flush coalesced prices to the
live store, keep the latest prices in SQL now and then, let paper brokers match, mark and
flush positions, beat the heartbeat, run due jobs, reconcile, lift token blocks after a new
login, and notice the live store losing its data (or going away).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from ..brokers.feeds.base import Feed, Tick
from ..db.models import BrokerAccount
from ..db.repositories import InstrumentRepository
from ..domain.clock import Clock
from ..domain.enums import RuntimePosition
from ..domain.strategy import StrategySpec
from ..live.state import LiveState
from .config import EngineConfig
from .control import EngineResources
from .directory import BrokerDirectory, StrategyDirectory
from .gate import EntryGate
from .positions import PositionKeeper
from .router import PRICE_FLUSH_INTERVAL, TickRouter
from .scheduler import JobRunner

log = logging.getLogger(__name__)


class Maintenance:
    def __init__(self, *, ctx: EngineResources, live: LiveState, router: TickRouter,
                 positions: PositionKeeper, brokers: BrokerDirectory,
                 strategies: StrategyDirectory, gate: EntryGate, runner: JobRunner,
                 clock: Clock, config: EngineConfig, feed: Callable[[], Feed | None],
                 reconcile: Callable[..., int], beat: Callable[[], None],
                 on_live_store_empty: Callable[[], None],
                 on_live_store_unreachable: Callable[[], None],
                 on_live_store_whole: Callable[[], None] = lambda: None) -> None:
        self.ctx = ctx
        self.live = live
        self.router = router
        self.positions = positions
        self.brokers = brokers
        self.strategies = strategies
        self.gate = gate
        self.runner = runner
        self.clock = clock
        self.config = config
        self._feed = feed
        self.reconcile = reconcile
        self.beat = beat
        self.on_live_store_empty = on_live_store_empty
        self.on_live_store_unreachable = on_live_store_unreachable
        self.on_live_store_whole = on_live_store_whole
        self._last_reconcile: datetime | None = None
        self._last_price_flush = 0.0
        self._last_remembered = 0.0
        self._remembered: dict[str, Tick] = {}
        self._lapsed_token: dict[uuid.UUID, str | None] = {}

    @property
    def feed(self) -> Feed | None:
        return self._feed()

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.config.maintenance_interval_s):
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
            self.remember_prices()
        self.brokers.push_prices(self.router.last_price, now)
        self.positions.mark_prices(self.router.last_price)
        self.positions.flush(now)
        try:
            self.beat()
        except Exception:
            log.debug("heartbeat skipped: live store unreachable")
        runner = self.runner
        if hasattr(runner, "run_due"):
            runner.run_due(now)
        if self._last_reconcile is None or \
                now - self._last_reconcile >= self.config.reconcile_every:
            self._last_reconcile = now
            self.reconcile(older_than=now - self.config.reconcile_min_age)
        self._lift_token_blocks(now)
        try:
            if self.live.is_fresh():
                self.on_live_store_empty()
            else:
                self.on_live_store_whole()
        except Exception:
            self.on_live_store_unreachable()

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

    def remember_prices(self) -> None:
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

    def resume_market(self, feed: Feed) -> None:
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
