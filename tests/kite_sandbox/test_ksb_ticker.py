"""The ticker WebSocket with the real KiteTicker (one per session) and aiohttp's client."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Callable

import aiohttp
import pytest

from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.domain.universe import BY_SYMBOL

from .conftest import API_KEY, TickerEnv

TOKEN = {s: BY_SYMBOL[s].token for s in ("RELIANCE", "HDFCBANK", "ICICIBANK", "LT", "MARUTI",
                                          "NIFTY 50", "NIFTY BANK", "ONGC", "TITAN")}


@pytest.fixture
def env(ticker_env: TickerEnv) -> TickerEnv:
    ticker_env.sandbox.stall_feed(False)
    ticker_env.drain()
    return ticker_env


def test_subscribe_defaults_to_quote_mode(env: TickerEnv) -> None:
    token = TOKEN["RELIANCE"]
    env.call(env.kws.subscribe, [token])
    env.sandbox.push_tick(token, "1501.25")
    tick = env.wait_tick(lambda t: t["instrument_token"] == token
                         and t["last_price"] == 1501.25)
    assert tick["mode"] == "quote"
    assert tick["ohlc"]["close"] == 1495.60
    assert tick["volume_traded"] > 0
    env.call(env.kws.unsubscribe, [token])


def test_full_and_ltp_modes(env: TickerEnv) -> None:
    full, ltp = TOKEN["HDFCBANK"], TOKEN["ICICIBANK"]
    env.call(env.kws.subscribe, [full, ltp])
    env.call(env.kws.set_mode, env.kws.MODE_FULL, [full])
    env.call(env.kws.set_mode, env.kws.MODE_LTP, [ltp])
    env.sandbox.push_tick(full, "1003.15")
    env.sandbox.push_tick(ltp, "1390.05")
    tick = env.wait_tick(lambda t: t["instrument_token"] == full and t["mode"] == "full"
                         and t["last_price"] == 1003.15)
    assert [d["price"] for d in tick["depth"]["buy"]][:2] == [1003.10, 1003.05]
    assert [d["price"] for d in tick["depth"]["sell"]][:2] == [1003.20, 1003.25]
    assert tick["exchange_timestamp"] is not None
    tick = env.wait_tick(lambda t: t["instrument_token"] == ltp and t["mode"] == "ltp"
                         and t["last_price"] == 1390.05)
    assert set(tick) == {"tradable", "mode", "instrument_token", "last_price"}
    env.call(env.kws.unsubscribe, [full, ltp])


def test_index_ticks(env: TickerEnv) -> None:
    nifty, bank = TOKEN["NIFTY 50"], TOKEN["NIFTY BANK"]
    env.call(env.kws.subscribe, [nifty, bank])
    env.call(env.kws.set_mode, env.kws.MODE_FULL, [bank])
    tick = env.wait_tick(lambda t: t["instrument_token"] == bank and t["mode"] == "full")
    assert "exchange_timestamp" in tick
    env.sandbox.push_tick(nifty, "26100.55")
    tick = env.wait_tick(lambda t: t["instrument_token"] == nifty
                         and t["last_price"] == 26100.55)
    assert tick["mode"] == "quote" and tick["tradable"] is False
    assert tick["change"] == pytest.approx((26100.55 - 26050) * 100 / 26050)
    env.call(env.kws.unsubscribe, [nifty, bank])


def test_ticks_only_when_something_changes(env: TickerEnv) -> None:
    quiet, busy = TOKEN["LT"], TOKEN["ONGC"]
    env.call(env.kws.subscribe, [quiet, busy])
    env.wait_tick(lambda t: t["instrument_token"] == quiet)  # the state on subscribing
    seen: list[dict] = []

    def busy_at(price: float) -> Callable[[dict], bool]:
        def match(tick: dict) -> bool:
            seen.append(tick)
            return tick["instrument_token"] == busy and tick["last_price"] == price
        return match

    # Two prints of the busy one, each seen before the next is made: at least one whole
    # feed cycle passes, and the quiet one (nothing traded) sends nothing in it.
    env.sandbox.set_price("ONGC", "250.05")
    env.wait_tick(busy_at(250.05))
    env.sandbox.set_price("ONGC", "250.10")
    env.wait_tick(busy_at(250.10))
    assert all(t["instrument_token"] != quiet for t in seen)
    env.sandbox.set_price("LT", "3981.05")  # a trade: its tick follows, unprompted
    env.wait_tick(lambda t: t["instrument_token"] == quiet and t["last_price"] == 3981.05)
    env.call(env.kws.unsubscribe, [quiet, busy])


def test_order_updates_are_sent_only_when_kite_sends_them(env: TickerEnv) -> None:
    kite = env.kite
    env.sandbox.set_price("MARUTI", "15850")
    resting = kite.place_order("regular", "NSE", "MARUTI", "BUY", 1, "CNC", "LIMIT",
                               price=15000, tag="tkr1")
    kite.modify_order("regular", resting, price=15010)
    kite.cancel_order("regular", resting)
    # Nothing on placement (nor on its interim states): the modification is the first
    # update, and a cancellation is announced once, when it is done.
    assert env.wait_order(resting, "CANCELLED") == ["UPDATE", "CANCELLED"]
    filled = kite.place_order("regular", "NSE", "MARUTI", "SELL", 1, "MIS", "MARKET",
                              market_protection=-1)
    assert env.wait_order(filled, "COMPLETE") == ["COMPLETE"]
    refused = kite.place_order("regular", "NSE", "MARUTI", "BUY", 1, "CNC", "LIMIT",
                               price="15000.03")  # off the tick grid: the RMS rejects it
    assert env.wait_order(refused, "REJECTED") == ["REJECTED"]


def test_stalled_feed_sends_no_ticks_but_heartbeats(env: TickerEnv) -> None:
    token = TOKEN["ONGC"]
    env.call(env.kws.subscribe, [token])
    env.wait_tick(lambda t: t["instrument_token"] == token)
    env.sandbox.stall_feed(True)
    for _ in range(10):  # a message already in flight may still land; then silence
        try:
            env.ticks.get(timeout=0.5)
        except queue.Empty:
            break
    else:
        raise AssertionError("ticks kept arriving while the feed was stalled")
    env.sandbox.push_tick(token, "250")  # suppressed while stalled
    with pytest.raises(AssertionError):
        env.wait_tick(lambda t: t["instrument_token"] == token, timeout=0.5)
    while not env.heartbeats.empty():
        env.heartbeats.get_nowait()
    env.heartbeats.get(timeout=3)  # the socket is alive: heartbeats continue
    assert env.sandbox.ticker_connections == 1
    env.sandbox.stall_feed(False)
    env.wait_tick(lambda t: t["instrument_token"] == token and t["last_price"] == 250.0)
    env.call(env.kws.unsubscribe, [token])


def test_dropped_socket_reconnects_and_resubscribes(env: TickerEnv) -> None:
    token = TOKEN["TITAN"]
    env.call(env.kws.subscribe, [token])
    env.call(env.kws.set_mode, env.kws.MODE_FULL, [token])
    env.wait_tick(lambda t: t["instrument_token"] == token and t["mode"] == "full")
    while not env.connects.empty():
        env.connects.get_nowait()
    assert env.sandbox.drop_sockets() == 1
    env.connects.get(timeout=20)  # KiteTicker's back-off starts around a second or two
    env.drain()
    env.sandbox.push_tick(token, "3750.15")
    tick = env.wait_tick(lambda t: t["instrument_token"] == token and t["mode"] == "full"
                         and t["last_price"] == 3750.15, timeout=10)
    assert tick["depth"]["buy"]
    env.call(env.kws.unsubscribe, [token])


async def _upgrade_status(url: str) -> int:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url):
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


def test_bad_token_upgrade_is_403(sandbox: KiteSandbox) -> None:
    good = sandbox.issue_access_token()
    base = sandbox.ws_url
    assert asyncio.run(_upgrade_status(f"{base}?api_key={API_KEY}&access_token=nope")) == 403
    assert asyncio.run(_upgrade_status(f"{base}?api_key=other&access_token={good}")) == 403
    assert asyncio.run(_upgrade_status(base)) == 403
    assert asyncio.run(_upgrade_status(f"{base}?api_key={API_KEY}&access_token={good}")) == 101
    sandbox.revoke_tokens()
    assert asyncio.run(_upgrade_status(f"{base}?api_key={API_KEY}&access_token={good}")) == 403


def test_connection_cap_per_api_key(make_sandbox: Callable[..., KiteSandbox]) -> None:
    sandbox = make_sandbox(max_ws_connections=2)
    url = f"{sandbox.ws_url}?api_key={API_KEY}&access_token={sandbox.issue_access_token()}"

    async def scenario() -> tuple[int, list[bytes]]:
        async with aiohttp.ClientSession() as session:
            first = await session.ws_connect(url)
            second = await session.ws_connect(url)
            try:
                await session.ws_connect(url)
                status = 101
            except aiohttp.WSServerHandshakeError as exc:
                status = exc.status
            await first.send_str('{"a": "subscribe", "v": [408065]}')
            await first.send_str('{"a": "mode", "v": ["ltp", [408065]]}')
            frames = [(await first.receive(timeout=5)).data for _ in range(2)]
            await first.send_str("not json")
            error = await first.receive(timeout=5)
            while error.type == aiohttp.WSMsgType.BINARY:
                error = await first.receive(timeout=5)
            frames.append(error.data.encode())
            await first.close()
            await second.close()
            return status, frames

    status, frames = asyncio.run(scenario())
    assert status == 429
    assert len(frames[0]) == 2 + 2 + 44 and len(frames[1]) == 2 + 2 + 8
    assert b'"type": "error"' in frames[2]
