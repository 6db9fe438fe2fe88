"""`KiteTickerFeed`: live ticks (and order updates) from Kite's WebSocket via the official
`KiteTicker`, as `Tick` batches for the engine.

Threading: KiteTicker runs on Twisted's reactor in a daemon thread, and its callbacks run on
that thread. They only put what arrived on a thread-safe queue; a pump thread of ours turns
it into `Tick` batches for the sink, passes order updates on, and runs the staleness
watchdog. Calls into the client (subscribe, mode, close) are posted to the reactor thread.

The reactor cannot be restarted within a process, so it is started at most once (a module
guard) and never stopped: a feed that starts while a reactor is already running connects on
it; if a reactor was stopped by someone else, `start()` refuses with a clear error.
`stop()` closes this feed's socket (never the reactor).

Reconnects are KiteTicker's own (exponential back-off, and it re-subscribes the tokens it
holds when the socket comes back); on every open we also diff our wanted subscriptions
against the client's, which is a no-op after its own re-subscribe.

Staleness: while anything is subscribed, no tick for `stale_after_s` (real seconds) makes
`is_stale()` true and calls `on_stale(True)`; the next tick calls `on_stale(False)`. Kite
ticks an instrument only when something about it changes, so a closed market is quiet,
not stale: given `is_market_open`, the watchdog rests while it says closed and gives the
feed its grace period again at the open. Ticks
with unknown tokens or unusable prices, and packets the client cannot parse, are counted and
dropped.
"""

from __future__ import annotations

import logging
import math
import queue
import struct
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ...domain.clock import Clock, SystemClock
from ...domain.errors import BrokerError, ValidationError
from ...security.secret import Secret
from .base import Tick, TickSink

log = logging.getLogger(__name__)

MODES = ("ltp", "quote", "full")
_reactor_lock = threading.Lock()
_reactor_launched = False


class FeedUnavailable(BrokerError):
    """The ticker cannot run in this process (its reactor was stopped)."""


@dataclass
class TickerCounters:
    ticks: int = 0
    batches: int = 0
    malformed: int = 0
    unknown_token: int = 0
    order_updates: int = 0
    connects: int = 0
    closes: int = 0
    reconnect_attempts: int = 0
    stale_episodes: int = 0
    server_errors: int = 0
    subscription_changes: int = 0  # messages our own sync sent (not KiteTicker's resubscribe)


def _reactor() -> Any:
    from twisted.internet import reactor

    return reactor


def run_on_reactor(kws: Any, threaded: bool = True) -> None:
    """Connect `kws` on the process's one Twisted reactor: start it the first time, reuse it
    afterwards, refuse cleanly if it was stopped. Never stops it."""
    global _reactor_launched
    reactor = _reactor()
    with _reactor_lock:
        if getattr(reactor, "_startedBefore", False) and getattr(reactor, "_stopped", False):
            raise FeedUnavailable("the Kite ticker's reactor was stopped in this process; "
                                  "restart the application to get live ticks again")
        if reactor.running or _reactor_launched or getattr(reactor, "_startedBefore", False):
            # Running (or starting): connect on its thread; calls queued before it runs are
            # processed once it does.
            reactor.callFromThread(kws.connect, threaded=threaded)
            return
        kws.connect(threaded=threaded)
        _reactor_launched = True


class KiteTickerFeed:
    """The `Feed` protocol over Kite's ticker WebSocket."""

    def __init__(self, api_key: Secret | str, access_token: Secret | str, *,
                 root: str | None = None, symbol_tokens: Mapping[str, int],
                 clock: Clock | None = None,
                 on_order_update: Callable[[dict[str, Any]], None] | None = None,
                 stale_after_s: float = 5.0,
                 on_stale: Callable[[bool], None] | None = None,
                 is_market_open: Callable[[datetime], bool] | None = None,
                 mode: str = "quote",
                 reconnect_max_delay: int = 5,
                 reconnect_max_tries: int = 300,
                 monotonic: Callable[[], float] = time.monotonic,
                 poll_s: float = 0.05) -> None:
        if mode not in MODES:
            raise ValidationError("mode", "must be ltp, quote or full")
        self._api_key = Secret(api_key)
        self._access_token = Secret(access_token)
        self.root = root
        self.tokens: dict[str, int] = {str(s): int(t) for s, t in symbol_tokens.items()}
        self.symbols_by_token: dict[int, str] = {t: s for s, t in self.tokens.items()}
        self.clock: Clock = clock or SystemClock()
        self.on_order_update = on_order_update
        self.on_stale = on_stale
        self.is_market_open = is_market_open
        self.stale_after_s = stale_after_s
        self.mode = mode
        self.reconnect_max_delay = reconnect_max_delay
        self.reconnect_max_tries = reconnect_max_tries
        self._monotonic = monotonic
        self._poll_s = poll_s
        self.counters = TickerCounters()
        self._lock = threading.Lock()
        self._wanted: set[str] = set()
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._sink: TickSink | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._kws: Any = None
        self._connected = threading.Event()
        self._seq = 0
        self._last_tick_at: datetime | None = None
        self._last_tick_mono: float | None = None
        self._watch_from = monotonic()
        self._stale = False

    def __repr__(self) -> str:
        return (f"KiteTickerFeed(root={self.root!r}, subscribed={len(self._wanted)}, "
                f"connected={self.connected})")

    # -- Feed protocol -----------------------------------------------------------------------
    def subscribe(self, symbols: Iterable[str]) -> None:
        names = set(symbols)
        unknown = sorted(s for s in names if s not in self.tokens)
        if unknown:
            log.warning("Kite ticker: no instrument token for %s; not subscribed",
                        ", ".join(unknown[:10]))
        with self._lock:
            was_empty = not self._wanted
            self._wanted |= names - set(unknown)
            if was_empty and self._wanted:
                self._watch_from = self._monotonic()  # a grace period for the first tick
        self._post_sync()

    def unsubscribe(self, symbols: Iterable[str]) -> None:
        with self._lock:
            self._wanted -= set(symbols)
        self._post_sync()

    def set_mode(self, mode: str) -> None:
        """Switch every subscription to "ltp", "quote" or "full" (applied on the reactor)."""
        if mode not in MODES:
            raise ValidationError("mode", "must be ltp, quote or full")
        self.mode = mode
        self._post_sync()

    def subscribed(self) -> set[str]:
        with self._lock:
            return set(self._wanted)

    def start(self, sink: TickSink) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise BrokerError("Kite ticker feed is already running; stop it first")
        from kiteconnect import KiteTicker  # lazy: Twisted is heavy

        self._sink = sink
        self._stopping.clear()
        self._connected.clear()
        self._watch_from = self._monotonic()
        kws = KiteTicker(self._api_key.reveal(), self._access_token.reveal(), root=self.root,
                         reconnect_max_tries=self.reconnect_max_tries,
                         reconnect_max_delay=self.reconnect_max_delay)
        self._install_parser(kws)
        kws.on_ticks = self._on_ticks
        kws.on_open = self._on_open
        kws.on_close = self._on_close
        kws.on_error = self._on_error
        kws.on_reconnect = self._on_reconnect
        kws.on_noreconnect = self._on_noreconnect
        kws.on_order_update = self._on_order_update
        self._kws = kws
        self._thread = threading.Thread(target=self._pump, name="kite-ticker-pump",
                                        daemon=True)
        self._thread.start()
        try:
            run_on_reactor(kws)
        except BaseException:
            self._stopping.set()
            self._thread.join(2)
            raise

    def stop(self) -> None:
        """Close this feed's socket and stop delivering; the reactor keeps running."""
        self._stopping.set()
        kws, self._kws = self._kws, None
        if kws is not None:
            try:
                _reactor().callFromThread(self._close_socket, kws)
            except Exception:  # the reactor may be gone at interpreter exit
                log.debug("Kite ticker: close could not be posted")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        self._connected.clear()

    def restart_with_token(self, access_token: Secret | str) -> None:
        """After a new login: the ticker URL carries the token, so reconnect with the new one
        (same sink, same subscriptions; the reactor is reused)."""
        sink = self._sink
        if sink is None:
            raise BrokerError("Kite ticker feed was never started")
        self.stop()
        self._access_token = Secret(access_token)
        self.start(sink)

    def uses_token(self, access_token: Secret | str) -> bool:
        """Whether the socket is opened with this access token (compared, never shown)."""
        return Secret(access_token).reveal() == self._access_token.reveal()

    def is_alive(self) -> bool:
        return (self._thread is not None and self._thread.is_alive()
                and not self._stopping.is_set())

    def last_tick_at(self) -> datetime | None:
        return self._last_tick_at

    # -- status ------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def is_stale(self) -> bool:
        """True while subscribed, the market open, and no tick arrived for `stale_after_s`."""
        if self.is_market_open is not None and not self.is_market_open(self.clock.now()):
            with self._lock:
                self._watch_from = self._monotonic()  # a fresh grace period at the open
            return False
        with self._lock:
            if not self._wanted or self._stopping.is_set():
                return False
            since = self._last_tick_mono if self._last_tick_mono is not None \
                and self._last_tick_mono > self._watch_from else self._watch_from
        return self._monotonic() - since > self.stale_after_s

    # -- reactor-thread callbacks (keep them short: hand off) --------------------------------
    def _install_parser(self, kws: Any) -> None:
        """Parse packet by packet so one bad packet costs one tick, and count the bad ones."""
        original = kws._parse_binary

        def parse(payload: bytes) -> list[dict[str, Any]]:
            try:
                packets = kws._split_packets(payload)
            except Exception:
                self.counters.malformed += 1
                return []
            out: list[dict[str, Any]] = []
            for packet in packets:
                try:
                    parsed = original(struct.pack(">HH", 1, len(packet)) + packet)
                except Exception:
                    parsed = []
                if not parsed:
                    self.counters.malformed += 1
                out.extend(parsed)
            return out

        kws._parse_binary = parse

    def _on_ticks(self, _ws: Any, ticks: list[dict[str, Any]]) -> None:
        if ticks and not self._stopping.is_set():
            self._queue.put(("ticks", ticks))

    def _on_order_update(self, _ws: Any, data: dict[str, Any]) -> None:
        if not self._stopping.is_set():
            self._queue.put(("order", data))

    def _on_open(self, ws: Any) -> None:
        self.counters.connects += 1
        self._connected.set()
        log.info("Kite ticker connected")
        self._sync(ws)

    def _on_close(self, _ws: Any, code: Any, _reason: Any) -> None:
        self.counters.closes += 1
        self._connected.clear()

    def _on_error(self, _ws: Any, code: Any, reason: Any) -> None:
        if code == 0:  # a {"type":"error"} text message: the socket is still open
            self.counters.server_errors += 1
            log.warning("Kite ticker: server says %s", str(reason)[:200])
            return
        self._connected.clear()

    def _on_reconnect(self, _ws: Any, attempts: int) -> None:
        self.counters.reconnect_attempts += 1
        log.warning("Kite ticker: reconnecting (attempt %s)", attempts)

    def _on_noreconnect(self, _ws: Any) -> None:
        log.error("Kite ticker: gave up reconnecting; live ticks stopped")

    @staticmethod
    def _close_socket(kws: Any) -> None:
        try:
            kws.close()  # close(), never stop(): the reactor must live on
        except Exception:
            log.debug("Kite ticker: close failed", exc_info=True)

    def _post_sync(self) -> None:
        kws = self._kws
        if kws is None:
            return
        try:
            _reactor().callFromThread(self._sync, kws)
        except Exception:
            log.debug("Kite ticker: subscription change could not be posted")

    def _sync(self, kws: Any) -> None:
        """On the reactor thread: make the client's subscriptions match what we want."""
        if kws is not self._kws or not kws.is_connected():
            return  # applied on the next open
        with self._lock:
            wanted = {self.tokens[s] for s in self._wanted}
        have = dict(kws.subscribed_tokens)
        add = sorted(t for t in wanted if t not in have)
        drop = sorted(t for t in have if t not in wanted)
        wrong_mode = sorted(t for t in wanted if t in have and have[t] != self.mode)
        if drop or add or wrong_mode:
            self.counters.subscription_changes += 1
        try:
            if drop:
                kws.unsubscribe(drop)
            if add:
                kws.subscribe(add)
            if add or wrong_mode:
                kws.set_mode(self.mode, add + wrong_mode)
        except Exception:
            log.warning("Kite ticker: subscription update failed; retried on reconnect")

    # -- the pump thread -------------------------------------------------------------------
    def _pump(self) -> None:
        while not self._stopping.is_set():
            try:
                kind, payload = self._queue.get(timeout=self._poll_s)
            except queue.Empty:
                self._watch()
                continue
            raw_ticks: list[dict[str, Any]] = []
            orders: list[dict[str, Any]] = []
            while True:  # coalesce whatever is already waiting into one batch
                if kind == "ticks":
                    raw_ticks.extend(payload)
                else:
                    orders.append(payload)
                try:
                    kind, payload = self._queue.get_nowait()
                except queue.Empty:
                    break
            if raw_ticks:
                self._deliver(raw_ticks)
            for data in orders:
                self._order(data)
            self._watch()

    def _convert(self, raw: dict[str, Any], now: datetime) -> Tick | None:
        try:
            token = int(raw["instrument_token"])
        except (KeyError, TypeError, ValueError):
            self.counters.malformed += 1
            return None
        symbol = self.symbols_by_token.get(token)
        if symbol is None:
            self.counters.unknown_token += 1
            return None
        value = raw.get("last_price")
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or \
                (isinstance(value, float) and not math.isfinite(value)):
            self.counters.malformed += 1
            return None
        try:
            price = Decimal(str(value))
        except InvalidOperation:
            self.counters.malformed += 1
            return None
        if price <= 0:
            self.counters.malformed += 1
            return None
        try:
            volume = max(0, int(raw.get("last_traded_quantity") or 0))
        except (TypeError, ValueError):
            volume = 0
        self._seq += 1
        return Tick(symbol, price, now, volume, self._seq)

    def _deliver(self, raw_ticks: list[dict[str, Any]]) -> None:
        now = self.clock.now()
        with self._lock:
            wanted = set(self._wanted)
        batch: list[Tick] = []
        for raw in raw_ticks:
            tick = self._convert(raw, now)
            if tick is not None and tick.symbol in wanted:
                batch.append(tick)
        if not batch:
            return
        with self._lock:
            self._last_tick_at = now
            self._last_tick_mono = self._monotonic()
        self.counters.ticks += len(batch)
        self.counters.batches += 1
        sink = self._sink
        if sink is not None and not self._stopping.is_set():
            try:
                sink(batch)
            except Exception:
                log.exception("Kite ticker: the tick sink raised; feed continues")

    def _order(self, data: dict[str, Any]) -> None:
        self.counters.order_updates += 1
        callback = self.on_order_update
        if callback is None or self._stopping.is_set():
            return
        try:
            callback(data)
        except Exception:
            log.exception("Kite ticker: the order update handler raised")

    def _watch(self) -> None:
        stale = self.is_stale()
        if stale == self._stale:
            return
        self._stale = stale
        if stale:
            self.counters.stale_episodes += 1
            log.warning("Kite ticker: no ticks for %.0fs; market data is stale",
                        self.stale_after_s)
        else:
            log.info("Kite ticker: ticks resumed")
        if self.on_stale is not None:
            try:
                self.on_stale(stale)
            except Exception:
                log.exception("Kite ticker: on_stale raised")


def block_entries_while_stale(gate: Any, account_id: Any,
                              reason: str = "market data stale: no ticks from Kite"
                              ) -> Callable[[bool], None]:
    """An `on_stale` callback that blocks new entries for `account_id` on the engine's
    `EntryGate` while the feed is stale, and lifts only its own block when ticks resume."""

    def on_stale(stale: bool) -> None:
        blocked = gate.blocked_accounts
        if stale:
            blocked.setdefault(account_id, reason)
        elif blocked.get(account_id) == reason:
            blocked.pop(account_id, None)

    return on_stale


__all__ = ["FeedUnavailable", "KiteTickerFeed", "TickerCounters", "block_entries_while_stale",
           "run_on_reactor"]
