"""The Kite ticker: WebSocket connections, subscriptions and the binary tick packets.

Wire format (big-endian, unsigned; prices in paise), exactly what kiteconnect's
`KiteTicker._parse_binary` reads: a message is a 2-byte packet count, then per packet a
2-byte length and the packet. Equities: 8 bytes (ltp), 44 (quote), 184 (full: + last trade
time, OI fields, exchange time, 5 buy and 5 sell depth entries of qty I, price I, orders H
and 2 pad bytes). Indices (segment 9): 8 (ltp), 28 (quote: ltp, high, low, open, close,
change — note the order) and 32 (full: + exchange time). A 1-byte message is a heartbeat.

Everything here runs on the server's event loop. Each connection has its own outbound queue
and writer task, so ticks, order updates and heartbeats reach a client in the order they
were produced and a slow client never blocks the feed. The server never sends unsolicited
pongs (aiohttp only answers the client's pings), which would arm the client's 5 s pong
watchdog.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .auth import Session
from .config import SandboxConfig
from .market import Market, Quote, is_index
from .wire import paise

log = logging.getLogger(__name__)

MODES = ("ltp", "quote", "full")
HEARTBEAT = b"\x00"


# -- packets -----------------------------------------------------------------------------------


def _epoch(q: Quote) -> int:
    return int(q.timestamp.timestamp())


def pack_packet(q: Quote, mode: str) -> bytes:
    token = q.token
    ltp = paise(q.last_price)
    if mode == "ltp":
        return struct.pack(">II", token, ltp)
    if is_index(q.instrument):
        change = ltp - paise(q.prev_close)  # signed: the only field that may be negative
        body = struct.pack(">IIIIIIi", token, ltp, paise(q.high), paise(q.low),
                           paise(q.open), paise(q.prev_close), change)
        if mode == "full":
            body += struct.pack(">I", _epoch(q))
        return body
    body = struct.pack(
        ">IIIIIIIIIII", token, ltp, q.last_quantity, paise(q.average_price), q.volume,
        q.buy_quantity, q.sell_quantity, paise(q.open), paise(q.high), paise(q.low),
        paise(q.prev_close),
    )
    if mode != "full":
        return body
    last_trade = int(q.last_trade_time.timestamp()) if q.last_trade_time else _epoch(q)
    body += struct.pack(">IIIII", last_trade, 0, 0, 0, _epoch(q))
    for level in list(q.buy_depth)[:5] + list(q.sell_depth)[:5]:
        body += struct.pack(">IIH2x", level.quantity, paise(level.price), level.orders)
    # Keep the length exact even if a book had fewer than five levels a side.
    return body.ljust(184, b"\x00")


def pack_message(packets: Iterable[bytes]) -> bytes:
    items = list(packets)
    out = [struct.pack(">H", len(items))]
    for p in items:
        out.append(struct.pack(">H", len(p)))
        out.append(p)
    return b"".join(out)


# -- connections -------------------------------------------------------------------------------


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    session: Session
    subscriptions: dict[int, str] = field(default_factory=dict)
    queue: asyncio.Queue[bytes | str | None] = field(default_factory=asyncio.Queue)
    writer: asyncio.Task[None] | None = None

    def send(self, item: bytes | str) -> None:
        self.queue.put_nowait(item)


class TickerHub:
    def __init__(self, config: SandboxConfig, market: Market,
                 is_stalled: Callable[[], bool]) -> None:
        self._config = config
        self._market = market
        self._is_stalled = is_stalled
        self.connections: set[Connection] = set()
        self.connects = 0  # total accepted upgrades, for tests waiting on a reconnect

    def count_for(self, api_key: str) -> int:
        return sum(1 for c in self.connections if c.session.api_key == api_key)

    async def serve(self, request: web.Request, session: Session) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = Connection(ws, request.transport, session)  # type: ignore[arg-type]
        conn.writer = asyncio.ensure_future(self._write(conn))
        self.connections.add(conn)
        self.connects += 1
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self._on_text(conn, msg.data.decode("utf-8", "replace"))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.connections.discard(conn)
            conn.queue.put_nowait(None)
        return ws

    async def _write(self, conn: Connection) -> None:
        while True:
            item = await conn.queue.get()
            if item is None or conn.ws.closed:
                return
            try:
                if isinstance(item, bytes):
                    await conn.ws.send_bytes(item)
                else:
                    await conn.ws.send_str(item)
            except (ConnectionError, RuntimeError):
                return

    def _error(self, conn: Connection, message: str) -> None:
        conn.send(json.dumps({"type": "error", "data": message}))

    def _on_text(self, conn: Connection, text: str) -> None:
        try:
            msg = json.loads(text)
            action = msg["a"]
            value = msg["v"]
        except (ValueError, KeyError, TypeError):
            self._error(conn, "Invalid message")
            return
        if action == "subscribe":
            tokens = self._tokens(value)
            if tokens is None:
                self._error(conn, "Invalid subscription")
                return
            fresh = [t for t in tokens if t not in conn.subscriptions]
            if len(conn.subscriptions) + len(fresh) > self._config.max_ws_tokens:
                self._error(conn, f"Maximum {self._config.max_ws_tokens} instruments allowed "
                                  "per connection")
                return
            for t in fresh:
                conn.subscriptions[t] = "quote"  # Kite's default mode
            self._push(conn, tokens)
        elif action == "unsubscribe":
            for t in self._tokens(value) or []:
                conn.subscriptions.pop(t, None)
        elif action == "mode":
            if (not isinstance(value, list) or len(value) != 2 or value[0] not in MODES):
                self._error(conn, "Invalid mode")
                return
            tokens = [t for t in self._tokens(value[1]) or [] if t in conn.subscriptions]
            for t in tokens:
                conn.subscriptions[t] = value[0]
            self._push(conn, tokens)
        else:
            self._error(conn, f"Unknown action: {action}")

    def _tokens(self, value: Any) -> list[int] | None:
        if not isinstance(value, list):
            return None
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int):
                return None
            if self._market.by_token(v) is not None:  # Kite ignores unknown tokens
                out.append(v)
        return out

    def _push(self, conn: Connection, tokens: Iterable[int]) -> None:
        """Send the current state of `tokens` to one connection (after (re)subscribing)."""
        if self._is_stalled():
            return
        packets = [pack_packet(self._market.quote(t), conn.subscriptions[t])
                   for t in tokens if t in conn.subscriptions]
        if packets:
            conn.send(pack_message(packets))

    def broadcast_ticks(self, tokens: Iterable[int] | None = None) -> None:
        """A tick for each subscribed token (or only `tokens`) to every connection."""
        only = set(tokens) if tokens is not None else None
        quotes: dict[int, Quote] = {}
        cache: dict[tuple[int, str], bytes] = {}
        for conn in list(self.connections):
            packets = []
            for token, mode in conn.subscriptions.items():
                if only is not None and token not in only:
                    continue
                key = (token, mode)
                if key not in cache:
                    if token not in quotes:
                        quotes[token] = self._market.quote(token)
                    cache[key] = pack_packet(quotes[token], mode)
                packets.append(cache[key])
            if packets:
                conn.send(pack_message(packets))

    def heartbeat(self) -> None:
        for conn in list(self.connections):
            conn.send(HEARTBEAT)

    def order_update(self, user_id: str, payload: dict[str, Any]) -> None:
        text = json.dumps({"type": "order", "id": "", "data": payload})
        for conn in list(self.connections):
            if conn.session.user_id == user_id:
                conn.send(text)

    def drop_all(self) -> int:
        """Abort every socket without a close frame, as a network failure would."""
        dropped = 0
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
            self.connections.discard(conn)
            conn.queue.put_nowait(None)
            dropped += 1
        return dropped
