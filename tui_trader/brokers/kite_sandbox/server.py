"""`KiteSandbox`: runs the app on its own asyncio loop in a background thread.

HTTP and the ticker WebSocket share one port on 127.0.0.1 (the sandbox never listens on
other interfaces). The loop thread also runs the feed: every `tick_interval_s` it steps the
price process, matches resting orders and GTTs, and ticks what changed (nothing changed,
nothing sent; while the feed is stalled, changes wait for it to resume); every
`heartbeat_interval_s` it sends heartbeats. Test-facing methods are thread-safe: state
changes happen under the state lock, socket work is handed to the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType
from typing import Any, TextIO, TypeVar

from aiohttp import web

from .app import build_app
from .config import RateLimits, SandboxConfig
from .state import ReceivedOrder, SandboxState
from .ticker import TickerHub

log = logging.getLogger(__name__)
T = TypeVar("T")
HOST = "127.0.0.1"


class KiteSandbox:
    """A local Kite Connect v3 server (REST + ticker) for tests and offline practice."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.state = SandboxState(config)
        self.hub = TickerHub(config, self.state.market, lambda: self.state.faults.stalled)
        self.state.book.add_listener(self._on_order_event)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self._port: int | None = None

    # -- life cycle ------------------------------------------------------------------------------

    def start(self, port: int = 0) -> int:
        """Listen on 127.0.0.1:`port` (0 = a free port); returns the port."""
        if self._thread is not None:
            raise RuntimeError("sandbox already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            sock.close()
            raise
        sock.listen(128)
        sock.setblocking(False)
        self._port = sock.getsockname()[1]
        started = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(target=self._run, args=(sock, started, failure),
                                        name=f"kite-sandbox:{self._port}", daemon=True)
        self._thread.start()
        started.wait(10)
        if failure:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError("Kite sandbox failed to start") from failure[0]
        assert self._port is not None
        return self._port

    def _run(self, sock: socket.socket, started: threading.Event,
             failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._startup(sock))
        except BaseException as exc:  # reported to start()'s caller
            failure.append(exc)
            sock.close()
            started.set()
            loop.close()
            return
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())  # candle workers
            loop.close()

    async def _startup(self, sock: socket.socket) -> None:
        app = build_app(self.state, self.hub, self._schedule_accept)
        # A short shutdown timeout: a handler sleeping for timeout_next_orders must not hold
        # up stop().
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.25)
        await self._runner.setup()
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._feed_task = asyncio.ensure_future(self._feed())

    def stop(self) -> None:
        """Close every socket and the listener; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                fut.result(timeout=10)
            except (concurrent.futures.TimeoutError, RuntimeError):
                log.warning("Kite sandbox did not shut down cleanly")
            loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._loop = None

    async def _shutdown(self) -> None:
        if self._feed_task is not None:
            self._feed_task.cancel()
        self.hub.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()

    def __enter__(self) -> KiteSandbox:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("sandbox not started")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/"

    @property
    def login_url(self) -> str:
        return f"{self.url}/connect/login?api_key={self.config.api_key}&v=3"

    # -- loop plumbing ---------------------------------------------------------------------------

    def _on_loop(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def _call(self, fn: Callable[[], T]) -> T | None:
        """Run `fn` on the server loop and wait for it (directly if not started)."""
        loop = self._loop
        if loop is None or self._on_loop():
            return fn()
        if not loop.is_running():
            return None
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(timeout=10)

    def _post(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(fn, *args)
            except RuntimeError:  # loop closing
                pass

    def _on_order_event(self, user_id: str, payload: dict[str, Any]) -> None:
        # Called under the state lock from whichever thread changed the order; the ticker
        # lives on the loop, and call_soon_threadsafe keeps the updates in order.
        self._post(self.hub.order_update, user_id, payload)

    def _schedule_accept(self, order_id: str) -> None:
        latency = self.config.order_latency_s
        if latency <= 0 or self._loop is None:
            self.state.book.accept(order_id)
        else:
            self._loop.call_later(latency, self.state.book.accept, order_id)

    async def _feed(self) -> None:
        loop = asyncio.get_running_loop()
        interval = max(0.01, self.config.tick_interval_s)
        beat = max(0.05, self.config.heartbeat_interval_s)
        next_tick = loop.time() + interval
        next_beat = loop.time() + beat
        faults = self.state.faults
        while True:
            await asyncio.sleep(max(0.0, min(next_tick, next_beat) - loop.time()))
            now = loop.time()
            if now >= next_tick:
                try:
                    with self.state.lock:
                        self.state.market.step()
                        self.state.after_price_change()
                    if not faults.stalled:
                        changed = self.state.market.take_changed()
                        if changed:
                            self.hub.broadcast_ticks(changed)
                except Exception:  # the feed must survive a bad step
                    log.exception("sandbox feed step failed")
                next_tick = max(next_tick + interval, now)
            if now >= next_beat:
                if not faults.stalled or faults.stall_heartbeats:
                    self.hub.heartbeat()
                next_beat = max(next_beat + beat, now)

    # -- helpers for tests and scripts ----------------------------------------------------------

    def issue_request_token(self) -> str:
        """What the login redirect would carry, without the redirect."""
        return self.state.sessions.issue_request_token(self.config.api_key)

    def issue_access_token(self) -> str:
        """A valid access token for the sandbox user, without the login dance."""
        return self.state.sessions.create_session().access_token

    def price(self, symbol: str) -> Decimal:
        inst = self._instrument(symbol)
        return self.state.market.last_price(inst.token)

    def order(self, order_id: str) -> dict[str, Any] | None:
        with self.state.lock:
            order = self.state.book.orders.get(order_id)
            return order.to_dict() if order else None

    def add_order_listener(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """`listener(user_id, order)` on every order update the ticker sends (only what Kite
        announces: fills, cancellations, rejections, triggers, modifications). Runs under
        the state lock on whichever thread made the change: hand off, don't block."""
        self.state.book.add_listener(listener)

    @property
    def received_orders(self) -> list[ReceivedOrder]:
        """Every POST /orders/{variety} received, in arrival order (a copy)."""
        return self.state.received_orders

    @property
    def on_order_received(self) -> Callable[[ReceivedOrder], None] | None:
        return self.state.on_order_received

    @on_order_received.setter
    def on_order_received(self, callback: Callable[[ReceivedOrder], None] | None) -> None:
        """Called on the server loop as each order POST arrives (keep it quick)."""
        self.state.on_order_received = callback

    @property
    def ticker_connections(self) -> int:
        return len(self.hub.connections)

    @property
    def ticker_connects(self) -> int:
        """Upgrades accepted so far: grows by one on each (re)connect."""
        return self.hub.connects

    def _instrument(self, symbol: str) -> Any:
        inst = self.state.market.resolve(symbol)
        if inst is None:
            raise KeyError(f"unknown instrument {symbol!r}")
        return inst

    # -- fault switches ----------------------------------------------------------------------------

    def set_price(self, symbol: str, price: Decimal | str | float | int) -> Decimal:
        """Force the last price of "INFY" / "NSE:INFY" / a token string; matches at once."""
        inst = self._instrument(symbol)
        return self._set_token_price(inst.token, Decimal(str(price)))

    def _set_token_price(self, token: int, price: Decimal) -> Decimal:
        with self.state.lock:
            actual = self.state.market.set_price(token, price)
            self.state.after_price_change(token)
        return actual

    def push_tick(self, token: int, price: Decimal | str | float | int | None = None) -> None:
        """Set a price (optional) and send that token's tick to subscribers now (while the
        feed is stalled, when it resumes). Done on the server loop, so no step of the
        price walk comes between the price and its tick."""
        def run() -> None:
            if price is not None:
                self._set_token_price(token, Decimal(str(price)))
            if not self.state.faults.stalled:
                self.state.market.take_changed({token})  # sent now, not again next cycle
                self.hub.broadcast_ticks([token])

        self._call(run)

    def drop_sockets(self) -> int:
        """Abort every ticker socket (no close frame); returns how many were dropped."""
        return self._call(self.hub.drop_all) or 0

    def stall_feed(self, on: bool, heartbeats: bool = True) -> None:
        """A silent-but-open feed: sockets stay open (heartbeats still flow unless
        heartbeats=False) but no tick is sent, however prices move, until switched off."""
        self.state.faults.stall(on, heartbeats)

    def timeout_next_orders(self, n: int, delay_s: float) -> None:
        """The next `n` placements are accepted, then answered only once the client hung
        up (it timed out), or after `delay_s` if it waits that long."""
        self.state.faults.timeout_next_orders(n, delay_s)

    def fail_next(self, n: int, status: int = 503, path_prefix: str | None = None) -> None:
        """The next `n` REST requests (optionally only under `path_prefix`) get `status`
        with an HTML body, as a proxy in front of Kite would answer."""
        self.state.faults.fail_next(n, status, path_prefix)

    def answer_next(self, n: int, error_type: str, *, status: int | None = None,
                    message: str | None = None, path_prefix: str | None = None,
                    placed: bool = False) -> None:
        """The next `n` REST requests (optionally only under `path_prefix`) get Kite's JSON
        error envelope with `error_type` (OrderException, MarginException, HoldingException,
        UserException, PermissionException, DataException, NetworkException,
        GeneralException...) and its usual HTTP status unless `status` is given. With
        `placed`, an order POST is carried out first: the order exists, its answer says
        otherwise (the case an adapter must reconcile)."""
        self.state.faults.answer_next(n, error_type, status=status, message=message,
                                      path_prefix=path_prefix, placed=placed)

    def revoke_tokens(self) -> None:
        """Every access token issued so far answers 403 TokenException from now on."""
        self.state.sessions.revoke_all()

    def set_partial_fills(self, on: bool) -> None:
        self.state.book.partial_fills = on

    def set_liquidity(self, symbol: str, quantity: int | None) -> None:
        """At most `quantity` shares of `symbol` trade at each price print (None: any
        amount): orders then fill in parts and rest until the price prints again."""
        self.state.market.set_liquidity(self._instrument(symbol).token, quantity)

    def set_reject_unprotected_market(self, on: bool) -> None:
        self.state.book.reject_unprotected_market = on

    def set_rate_limits(self, limits: RateLimits) -> None:
        self.state.limiter.limits = limits
        self.config.rate_limits = limits


def serve_forever(config: SandboxConfig, port: int = 8000, *,
                  out: TextIO | None = None) -> None:
    """Run a sandbox on 127.0.0.1:`port` (0 = any free port) until Ctrl-C; this is what the
    `tui-trader kite-sandbox` command calls."""
    stream = out or sys.stdout
    sandbox = KiteSandbox(config)
    stopped = threading.Event()
    try:
        # Everything after start() sits inside the try, so a Ctrl-C at any moment still
        # stops the server cleanly.
        sandbox.start(port)
        print(
            f"Kite Connect sandbox listening on {sandbox.url} (ticker {sandbox.ws_url})\n"
            f"  api_key: {config.api_key}   user: {config.user_id}\n"
            f"  login:   {sandbox.login_url}\n"
            f"  point the client at it: KiteConnect(api_key, root=\"{sandbox.url}\"), "
            f"KiteTicker(api_key, access_token, root=\"{sandbox.ws_url}\")\n"
            f"Press Ctrl-C to stop.",
            file=stream, flush=True,
        )
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("\nStopping the Kite sandbox...", file=stream, flush=True)
    finally:
        sandbox.stop()
