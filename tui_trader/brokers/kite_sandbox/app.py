"""HTTP routes of the Kite Connect v3 API, plus the ticker upgrade at `/`, on one aiohttp app.

One middleware gives every response Kite's shape: `{"status":"success","data":...}` or
`{"status":"error","message":...,"error_type":...,"data":null}` with the HTTP code of the
error, and always a `Content-Type` (the client refuses a response without one). In order it
applies the injected failures, the `X-Kite-Version: 3` check, and the rate limits; each
authenticated handler then checks `Authorization: token api_key:access_token`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import hdrs, web

from .auth import Session
from .errors import GeneralError, InputError, KiteError, NotFoundError, RateLimitError
from .market import parse_kite_time
from .ratelimit import bucket_for
from .state import ReceivedOrder, SandboxState
from .ticker import TickerHub
from .wire import ist

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATE: web.AppKey[SandboxState] = web.AppKey("state", SandboxState)
HUB: web.AppKey[TickerHub] = web.AppKey("hub", TickerHub)
SCHEDULE = web.AppKey[Callable[[str], None]]("schedule_accept")
RECEIVED = web.RequestKey("received", ReceivedOrder)

EXCHANGES = ["NSE", "BSE", "NFO", "CDS", "BFO", "MCX", "BCD"]
PRODUCTS = ["CNC", "NRML", "MIS", "MTF", "BO", "CO"]
ORDER_TYPES = ["MARKET", "LIMIT", "SL", "SL-M"]
UNVERSIONED = ("/connect/",)  # the browser login page carries no API headers


def ok(data: Any) -> web.Response:
    return web.json_response({"status": "success", "data": data})


def error_response(exc: KiteError) -> web.Response:
    return web.json_response(
        {"status": "error", "message": exc.message, "error_type": exc.error_type,
         "data": None},
        status=exc.status,
    )


def _is_ws_upgrade(request: web.Request) -> bool:
    return request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


@web.middleware
async def kite_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    arrived_ns = time.perf_counter_ns()
    path = request.path
    if path == "/":
        return await handler(request)  # the ticker: its own auth, no envelopes
    try:
        failure = state.faults.take_failure(path)
        if failure is not None and failure.error is None:
            return web.Response(status=failure.status, text=failure.body,
                                content_type="text/html")
        if failure is not None and not failure.placed:
            assert failure.error is not None
            raise failure.error
        received = None
        if request.method == "POST" and path.startswith("/orders/"):
            form = await request.post()
            params = {k: v for k, v in form.items() if isinstance(v, str)}
            received = state.record_received(request.match_info.get("variety", path[8:]),
                                             params, arrived_ns)
            request[RECEIVED] = received
        if not path.startswith(UNVERSIONED) and request.headers.get("X-Kite-Version") != "3":
            raise InputError("Missing or invalid `X-Kite-Version` header: expected 3.")
        state.catch_up()  # the clock may have moved on since the last request
        bucket = bucket_for(request.method, path)
        if bucket is not None:
            key = _api_key_of(request) or request.remote or "anonymous"
            state.limiter.hit(key, bucket)
            if received is not None:
                state.limiter.hit_placement(key)
        response = await handler(request)
        if failure is not None:  # the order was placed; its answer is the injected error
            assert failure.error is not None
            raise failure.error
    except KiteError as exc:
        response = error_response(exc)
    except web.HTTPNotFound:
        response = error_response(NotFoundError("Route not found", status=404))
    except web.HTTPMethodNotAllowed:
        response = error_response(GeneralError("Method not allowed", status=405))
    except web.HTTPException:
        raise
    except Exception:  # a sandbox bug must still answer in Kite's shape
        log.exception("sandbox handler failed: %s %s", request.method, path)
        response = error_response(GeneralError("Internal server error"))
    received = request.get(RECEIVED)
    if received is not None:
        received.http_status = response.status
    return response


def _api_key_of(request: web.Request) -> str | None:
    auth = request.headers.get(hdrs.AUTHORIZATION, "")
    _, _, credentials = auth.partition(" ")
    key = credentials.partition(":")[0]
    return key or request.query.get("api_key") or None


def _session(request: web.Request) -> Session:
    return request.app[STATE].sessions.check_header(request.headers.get(hdrs.AUTHORIZATION))


async def _form(request: web.Request) -> dict[str, str]:
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


# -- login and session ---------------------------------------------------------------------------


async def connect_login(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    api_key = request.query.get("api_key", "")
    token = state.sessions.issue_request_token(api_key)
    params = [("request_token", token), ("action", "login"), ("type", "login"),
              ("status", "success")]
    extra = request.query.get("redirect_params")
    if extra:
        params.extend(parse_qsl(extra))
    parts = urlsplit(state.config.redirect_url)
    query = "&".join(filter(None, [parts.query, urlencode(params)]))
    location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    return web.Response(status=302, headers={hdrs.LOCATION: location},
                        text=f"Redirecting to {location}", content_type="text/plain")


def _profile(state: SandboxState) -> dict[str, Any]:
    c = state.config
    return {
        "user_id": c.user_id,
        "user_type": "individual",
        "email": c.email,
        "user_name": c.user_name,
        "user_shortname": c.user_shortname,
        "broker": "ZERODHA",
        "exchanges": EXCHANGES,
        "products": PRODUCTS,
        "order_types": ORDER_TYPES,
        "avatar_url": None,
        "meta": {"demat_consent": "physical"},
    }


async def session_token(request: web.Request) -> web.Response:
    state = request.app[STATE]
    form = await _form(request)
    session = state.sessions.exchange(form.get("api_key", ""), form.get("request_token", ""),
                                      form.get("checksum", ""))
    data = _profile(state)
    data.update({
        "api_key": session.api_key,
        "access_token": session.access_token,
        "public_token": session.public_token,
        "refresh_token": "",
        "enctoken": session.public_token,
        "login_time": ist(session.login_time),
    })
    return ok(data)


async def session_delete(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.sessions.invalidate(request.query.get("api_key"), request.query.get("access_token"))
    return ok(True)


async def profile(request: web.Request) -> web.Response:
    _session(request)
    return ok(_profile(request.app[STATE]))


async def margins(request: web.Request) -> web.Response:
    session = _session(request)
    segment = request.match_info.get("segment")
    return ok(request.app[STATE].portfolio.margins(session.user_id, segment))


# -- orders ----------------------------------------------------------------------------------------


async def place_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    session = _session(request)
    order = state.book.place(session.user_id, request.match_info["variety"],
                             await _form(request))
    received = request.get(RECEIVED)
    if received is not None:
        received.order_id = order.order_id
    request.app[SCHEDULE](order.order_id)
    delay = state.faults.take_timeout()
    if delay:
        # The order exists; only the answer is late, so the client times out (the case an
        # adapter must reconcile by listing orders).
        await _withhold_answer(request, delay)
    return ok({"order_id": order.order_id})


async def _withhold_answer(request: web.Request, longest_s: float) -> None:
    """Hold the answer until the client has hung up (it gave up waiting), at most
    `longest_s`. Waiting for the hang-up rather than a fixed time makes the late answer
    late for sure, however slowly a loaded machine schedules the client's thread."""
    loop = asyncio.get_running_loop()
    until = loop.time() + longest_s
    while loop.time() < until:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(0.01)


async def modify_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    _session(request)
    order = state.book.modify(request.match_info["order_id"], await _form(request))
    return ok({"order_id": order.order_id})


async def cancel_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    _session(request)
    order = state.book.cancel(request.match_info["order_id"])
    return ok({"order_id": order.order_id})


async def list_orders(request: web.Request) -> web.Response:
    session = _session(request)
    return ok(request.app[STATE].book.list_orders(session.user_id))


async def order_history(request: web.Request) -> web.Response:
    session = _session(request)
    return ok(request.app[STATE].book.history(session.user_id, request.match_info["order_id"]))


async def order_trades(request: web.Request) -> web.Response:
    session = _session(request)
    return ok(request.app[STATE].book.order_trades(session.user_id,
                                                   request.match_info["order_id"]))


async def list_trades(request: web.Request) -> web.Response:
    session = _session(request)
    return ok(request.app[STATE].book.list_trades(session.user_id))


# -- portfolio -----------------------------------------------------------------------------------


async def positions(request: web.Request) -> web.Response:
    session = _session(request)
    return ok(request.app[STATE].portfolio.positions(session.user_id))


async def holdings(request: web.Request) -> web.Response:
    _session(request)
    return ok(request.app[STATE].portfolio.holdings())


# -- market data ---------------------------------------------------------------------------------


async def instruments(request: web.Request) -> web.Response:
    _session(request)
    exchange = request.match_info.get("exchange")
    body = request.app[STATE].market.instruments_csv(exchange)
    return web.Response(text=body, content_type="text/csv", charset="utf-8")


QUOTE_LIMITS = {"quote": 500, "ohlc": 1000, "ltp": 1000}


def _quote_handler(kind: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        _session(request)
        market = request.app[STATE].market
        keys = request.query.getall("i", [])
        if len(keys) > QUOTE_LIMITS[kind]:
            raise InputError(f"Too many instruments: at most {QUOTE_LIMITS[kind]}.")
        data = {}
        for key in keys:
            inst = market.resolve(key)
            if inst is not None:  # Kite silently leaves unknown instruments out
                data[key] = market.quote_payload(inst.token, kind)
        return ok(data)

    return handler


async def historical(request: web.Request) -> web.Response:
    _session(request)
    market = request.app[STATE].market
    try:
        token = int(request.match_info["token"])
    except ValueError:
        raise InputError("Invalid instrument token.") from None
    if market.by_token(token) is None:
        raise InputError("Invalid instrument token.")
    start = parse_kite_time(request.query.get("from"), "from")
    end = parse_kite_time(request.query.get("to"), "to")
    with_oi = request.query.get("oi", "0") in ("1", "true")
    # Long minute ranges take a second or so to generate: keep the loop (and the ticker)
    # responsive by building them on a worker thread.
    candles = await asyncio.to_thread(market.candles, token, request.match_info["interval"],
                                      start, end, with_oi)
    return ok({"candles": candles})


# -- GTT -------------------------------------------------------------------------------------------


def _trigger_id(request: web.Request) -> int:
    try:
        return int(request.match_info["trigger_id"])
    except ValueError:
        raise InputError("Invalid trigger id.") from None


async def gtt_list(request: web.Request) -> web.Response:
    session = _session(request)
    return ok(request.app[STATE].gtts.triggers(session.user_id))


async def gtt_place(request: web.Request) -> web.Response:
    session = _session(request)
    trigger_id = request.app[STATE].gtts.create(session.user_id, await _form(request))
    return ok({"trigger_id": trigger_id})


async def gtt_get(request: web.Request) -> web.Response:
    session = _session(request)
    return ok(request.app[STATE].gtts.get(session.user_id, _trigger_id(request)))


async def gtt_modify(request: web.Request) -> web.Response:
    session = _session(request)
    trigger_id = request.app[STATE].gtts.modify(session.user_id, _trigger_id(request),
                                                await _form(request))
    return ok({"trigger_id": trigger_id})


async def gtt_delete(request: web.Request) -> web.Response:
    session = _session(request)
    trigger_id = request.app[STATE].gtts.delete(session.user_id, _trigger_id(request))
    return ok({"trigger_id": trigger_id})


# -- ticker upgrade ------------------------------------------------------------------------------


async def root(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    hub = request.app[HUB]
    if not _is_ws_upgrade(request):
        return web.Response(text="tui-trader Kite Connect sandbox\n", content_type="text/plain")
    try:
        session = state.sessions.check(request.query.get("api_key"),
                                       request.query.get("access_token"))
        if hub.count_for(session.api_key) >= state.config.max_ws_connections:
            raise RateLimitError("Maximum ticker connections per API key reached.")
    except KiteError as exc:
        # Refused on the upgrade itself, as Kite does: the client sees the HTTP status.
        return error_response(exc)
    return await hub.serve(request, session)


def build_app(state: SandboxState, hub: TickerHub,
              schedule_accept: Callable[[str], None]) -> web.Application:
    app = web.Application(middlewares=[kite_middleware], client_max_size=4 * 1024 * 1024)
    app[STATE] = state
    app[HUB] = hub
    app[SCHEDULE] = schedule_accept
    r = app.router
    r.add_get("/", root)
    r.add_get("/connect/login", connect_login)
    r.add_post("/session/token", session_token)
    r.add_delete("/session/token", session_delete)
    r.add_get("/user/profile", profile)
    r.add_get("/user/margins", margins)
    r.add_get("/user/margins/{segment}", margins)
    r.add_get("/orders", list_orders)
    r.add_post("/orders/{variety}", place_order)
    r.add_get("/orders/{order_id}", order_history)
    r.add_put("/orders/{variety}/{order_id}", modify_order)
    r.add_delete("/orders/{variety}/{order_id}", cancel_order)
    r.add_get("/orders/{order_id}/trades", order_trades)
    r.add_get("/trades", list_trades)
    r.add_get("/portfolio/positions", positions)
    r.add_get("/portfolio/holdings", holdings)
    r.add_get("/instruments", instruments)
    r.add_get("/instruments/historical/{token}/{interval}", historical)
    r.add_get("/instruments/{exchange}", instruments)
    r.add_get("/quote", _quote_handler("quote"))
    r.add_get("/quote/ohlc", _quote_handler("ohlc"))
    r.add_get("/quote/ltp", _quote_handler("ltp"))
    r.add_get("/gtt/triggers", gtt_list)
    r.add_post("/gtt/triggers", gtt_place)
    r.add_get("/gtt/triggers/{trigger_id}", gtt_get)
    r.add_put("/gtt/triggers/{trigger_id}", gtt_modify)
    r.add_delete("/gtt/triggers/{trigger_id}", gtt_delete)
    return app
