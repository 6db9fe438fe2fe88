"""The sandbox's market: instruments, a seeded price process, quotes, the CSV and candles.

Live prices are a geometric random walk per instrument from its reference price (printed
tick-size rounded), one `random.Random` per instrument seeded from (seed, token), so a run
is reproducible step by step. They move only while the exchange is in session
(`TradingHours`). A stock's price prints only when it trades (by chance, each step), an
index's when its value moves; what printed is remembered until the ticker takes it
(`take_changed`), so the ticker sends a tick only when something changed.

Historical candles come from a separate, stateless function of time (layered value noise
around the reference price): any window of candles is the same whichever range a request
asks for, without walking from an epoch. They stay within NSE session hours on weekdays
(candles ignore exchange holidays).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from tui_trader.domain.clock import IST, ensure_utc
from tui_trader.domain.price_grid import round_to_tick
from tui_trader.domain.universe import ALL_INSTRUMENTS, ListedInstrument

from .config import SandboxConfig
from .errors import InputError
from .hours import TradingHours
from .wire import ist, num

INSTRUMENTS_HEADER = (
    "instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry",
    "strike", "tick_size", "lot_size", "instrument_type", "segment", "exchange",
)
KNOWN_EXCHANGES = ("NSE", "BSE", "NFO", "CDS", "BFO", "MCX", "BCD")
SESSION_OPEN = time(9, 15)
SESSION_CLOSE = time(15, 30)
SESSION_MINUTES = 375
INDEX_SEGMENT = 9  # instrument_token & 0xff for indices: not tradable


def is_index(instrument: ListedInstrument) -> bool:
    return instrument.token & 0xFF == INDEX_SEGMENT


@dataclass(slots=True)
class DepthLevel:
    price: Decimal
    quantity: int
    orders: int


@dataclass(slots=True)
class InstrumentState:
    """Live state of one instrument; mutated only under the market lock."""

    instrument: ListedInstrument
    rng: random.Random
    last_price: Decimal
    prev_close: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    volume: int = 0
    turnover: Decimal = Decimal(0)
    last_quantity: int = 0
    last_trade_time: datetime | None = None
    buy_quantity: int = 0
    sell_quantity: int = 0
    buy_depth: list[DepthLevel] = field(default_factory=list)
    sell_depth: list[DepthLevel] = field(default_factory=list)
    fair: float = 0.0  # the random walk's unrounded value

    @property
    def average_price(self) -> Decimal:
        if self.volume == 0:
            return self.last_price
        return round_to_tick(self.turnover / self.volume, Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class Quote:
    """An immutable copy of an instrument's state, safe to read outside the lock."""

    instrument: ListedInstrument
    last_price: Decimal
    prev_close: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    volume: int
    average_price: Decimal
    last_quantity: int
    last_trade_time: datetime | None
    buy_quantity: int
    sell_quantity: int
    buy_depth: tuple[DepthLevel, ...]
    sell_depth: tuple[DepthLevel, ...]
    timestamp: datetime

    @property
    def token(self) -> int:
        return self.instrument.token


class Market:
    """Instruments and their live prices. Thread-safe through the shared sandbox lock."""

    def __init__(self, config: SandboxConfig, lock: threading.RLock | None = None) -> None:
        self._config = config
        self._lock = lock or threading.RLock()
        self._hours = TradingHours(config.calendar)
        self.instruments: tuple[ListedInstrument, ...] = ALL_INSTRUMENTS
        self._by_symbol = {(i.exchange, i.symbol): i for i in self.instruments}
        self._by_token = {i.token: i for i in self.instruments}
        self._state: dict[int, InstrumentState] = {}
        # Shares that trade at each price print, per instrument (absent: as many as wanted),
        # and what is left of it at the current print.
        self._liquidity: dict[int, int] = {}
        self._available: dict[int, int] = {}
        self._changed: set[int] = set()  # printed since the ticker last looked
        self._day = self.now().astimezone(IST).date()
        for inst in self.instruments:
            rng = random.Random(f"{config.seed}:{inst.token}")
            price = round_to_tick(inst.ref_price, inst.tick_size)
            state = InstrumentState(inst, rng, price, price, price, price, price,
                                    fair=float(price))
            if not is_index(inst):
                # The session is already under way: some volume has traded at the open.
                state.volume = rng.randint(50_000, 500_000)
                state.turnover = price * state.volume
                state.last_quantity = rng.randint(1, 100)
                state.last_trade_time = self.now()
            self._refresh_book(state)
            self._state[inst.token] = state

    # -- look-ups ---------------------------------------------------------------------------

    def by_symbol(self, exchange: str, symbol: str) -> ListedInstrument | None:
        return self._by_symbol.get((exchange, symbol))

    def by_token(self, token: int) -> ListedInstrument | None:
        return self._by_token.get(token)

    def resolve(self, key: str) -> ListedInstrument | None:
        """"NSE:INFY", "INFY" or "408065" (a token) -> instrument."""
        if key.isdigit():
            return self.by_token(int(key))
        exchange, sep, symbol = key.partition(":")
        if not sep:
            exchange, symbol = "NSE", key
        return self.by_symbol(exchange, symbol)

    def now(self) -> datetime:
        return ensure_utc(self._config.clock.now())

    # -- live prices -------------------------------------------------------------------------

    def last_price(self, token: int) -> Decimal:
        with self._lock:
            return self._state[token].last_price

    def quote(self, token: int) -> Quote:
        with self._lock:
            s = self._state[token]
            return Quote(
                s.instrument, s.last_price, s.prev_close, s.open, s.high, s.low, s.volume,
                s.average_price, s.last_quantity, s.last_trade_time, s.buy_quantity,
                s.sell_quantity, tuple(s.buy_depth), tuple(s.sell_depth), self.now(),
            )

    def circuit_limits(self, token: int) -> tuple[Decimal, Decimal]:
        """(lower, upper): the day's price band around the previous close, on the tick grid."""
        with self._lock:
            s = self._state[token]
            band = s.prev_close * self._config.circuit_band
            tick = s.instrument.tick_size
            return (max(tick, round_to_tick(s.prev_close - band, tick)),
                    round_to_tick(s.prev_close + band, tick))

    def _roll_day(self) -> None:
        """On a new IST day yesterday's last price becomes the close and the day restarts."""
        today = self.now().astimezone(IST).date()
        if today == self._day:
            return
        self._day = today
        for s in self._state.values():
            s.prev_close = s.open = s.high = s.low = s.last_price
            s.volume, s.turnover, s.last_quantity = 0, Decimal(0), 0

    def step(self, dt_s: float | None = None) -> list[int]:
        """One random-walk step of `dt_s` seconds (default: the tick interval) for every
        instrument: a stock prints if it trades, an index if it moved. Returns the tokens
        whose price moved."""
        dt = self._config.tick_interval_s if dt_s is None else dt_s
        sigma = self._config.volatility * math.sqrt(max(dt, 0.0) / 60.0)
        with self._lock:
            self._roll_day()
        if sigma <= 0 or not self._hours.is_matching(self.now()):
            return []  # nothing trades outside the session
        moved: list[int] = []
        with self._lock:
            for token, s in self._state.items():
                tick = s.instrument.tick_size
                # The walk runs on an unrounded fair value; only the print is tick-rounded,
                # so a cheap stock never gets stuck on a tick by rounding.
                s.fair *= math.exp(s.rng.gauss(0.0, sigma))
                price = max(tick, round_to_tick(Decimal(repr(s.fair)), tick))
                if is_index(s.instrument):
                    qty = 0
                    if price == s.last_price:
                        continue
                elif s.rng.random() < self._config.trade_probability:
                    qty = s.rng.randint(1, 500)
                else:
                    continue  # no trade in this step: no print, no tick
                if price != s.last_price:
                    moved.append(token)
                self._print(s, price, qty)
        return moved

    def take_changed(self, only: set[int] | None = None) -> set[int]:
        """The tokens that printed since the last call (only those in `only`, if given),
        forgetting them."""
        with self._lock:
            taken = set(self._changed) if only is None else self._changed & only
            self._changed -= taken
            return taken

    def set_price(self, token: int, price: Decimal) -> Decimal:
        """Force the last traded price (tick-rounded); returns the price actually set."""
        with self._lock:
            self._roll_day()
            s = self._state[token]
            tick = s.instrument.tick_size
            rounded = round_to_tick(Decimal(price), tick)
            if rounded <= 0:
                raise ValueError(f"price must be positive, got {price}")
            s.fair = float(rounded)
            self._print(s, rounded, 0 if is_index(s.instrument) else 1)
            return rounded

    def set_liquidity(self, token: int, quantity: int | None) -> None:
        """At most `quantity` shares trade at each price print from now on (None: any
        amount), so orders can fill in parts and rest."""
        with self._lock:
            if quantity is None:
                self._liquidity.pop(token, None)
                self._available.pop(token, None)
            else:
                self._liquidity[token] = max(0, int(quantity))
                self._available[token] = self._liquidity[token]

    def available(self, token: int) -> int | None:
        """How many shares still trade at the current print (None: any amount)."""
        with self._lock:
            if token not in self._liquidity:
                return None
            return self._available.get(token, 0)

    def consume(self, token: int, quantity: int) -> None:
        """`quantity` shares traded at the current print (no more than `available`)."""
        with self._lock:
            if token in self._liquidity:
                self._available[token] -= quantity

    def _print(self, s: InstrumentState, price: Decimal, qty: int) -> None:
        token = s.instrument.token
        self._changed.add(token)
        if token in self._liquidity:
            self._available[token] = self._liquidity[token]
        s.last_price = price
        s.high = max(s.high, price)
        s.low = min(s.low, price)
        if qty:
            s.volume += qty
            s.turnover += price * qty
            s.last_quantity = qty
            s.last_trade_time = self.now()
        self._refresh_book(s)

    def _refresh_book(self, s: InstrumentState) -> None:
        if is_index(s.instrument):
            s.buy_depth, s.sell_depth = [], []
            return
        tick = s.instrument.tick_size
        rng = s.rng
        s.buy_depth = [
            DepthLevel(max(Decimal(0), s.last_price - tick * k), rng.randint(1, 2000),
                       rng.randint(1, 40))
            for k in range(1, 6)
        ]
        s.sell_depth = [
            DepthLevel(s.last_price + tick * k, rng.randint(1, 2000), rng.randint(1, 40))
            for k in range(1, 6)
        ]
        s.buy_quantity = sum(d.quantity for d in s.buy_depth) * 37
        s.sell_quantity = sum(d.quantity for d in s.sell_depth) * 37

    # -- REST payloads -----------------------------------------------------------------------

    def quote_payload(self, token: int, kind: str) -> dict[str, Any]:
        """`kind` is "quote", "ohlc" or "ltp" (the three /quote routes)."""
        q = self.quote(token)
        if kind == "ltp":
            return {"instrument_token": q.token, "last_price": num(q.last_price)}
        ohlc = {"open": num(q.open), "high": num(q.high), "low": num(q.low),
                "close": num(q.prev_close)}
        if kind == "ohlc":
            return {"instrument_token": q.token, "last_price": num(q.last_price), "ohlc": ohlc}
        lower, upper = self.circuit_limits(token)
        return {
            "instrument_token": q.token,
            "timestamp": ist(q.timestamp),
            "last_trade_time": ist(q.last_trade_time),
            "last_price": num(q.last_price),
            "last_quantity": q.last_quantity,
            "buy_quantity": q.buy_quantity,
            "sell_quantity": q.sell_quantity,
            "volume": q.volume,
            "average_price": num(q.average_price),
            "oi": 0,
            "oi_day_high": 0,
            "oi_day_low": 0,
            "net_change": num(q.last_price - q.prev_close),
            "lower_circuit_limit": num(lower),
            "upper_circuit_limit": num(upper),
            "ohlc": ohlc,
            "depth": {
                "buy": _depth(q.buy_depth),
                "sell": _depth(q.sell_depth),
            },
        }

    def instruments_csv(self, exchange: str | None = None) -> str:
        """The instruments master in Kite's column order; numeric cells are never empty."""
        if exchange is not None and exchange not in KNOWN_EXCHANGES:
            raise InputError(f"Invalid exchange: {exchange}")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(INSTRUMENTS_HEADER)
        for inst in self.instruments:
            if exchange is not None and inst.exchange != exchange:
                continue
            index = is_index(inst)
            writer.writerow([
                inst.token,
                inst.token >> 8,
                inst.symbol,
                inst.name,
                "0.0",  # Kite's dump carries no live price
                "",     # expiry: text, empty for cash instruments
                "0.0",
                str(inst.tick_size),
                inst.lot_size,
                "EQ",   # Kite lists indices as EQ in the INDICES segment
                "INDICES" if index else inst.exchange,
                inst.exchange,
            ])
        return out.getvalue()

    # -- historical candles ------------------------------------------------------------------

    def candles(self, token: int, interval: str, start: datetime, end: datetime,
                with_oi: bool = False) -> list[list[Any]]:
        inst = self.by_token(token)
        if inst is None:
            raise InputError("invalid token")
        return historical_candles(self._config.seed, inst, interval, start, end,
                                  self.now(), with_oi)


def _depth(levels: tuple[DepthLevel, ...]) -> list[dict[str, Any]]:
    if not levels:
        return [{"price": 0, "quantity": 0, "orders": 0} for _ in range(5)]
    return [{"price": num(d.price), "quantity": d.quantity, "orders": d.orders} for d in levels]


# -- candles ---------------------------------------------------------------------------------

INTERVAL_MINUTES = {
    "minute": 1, "3minute": 3, "5minute": 5, "10minute": 10, "15minute": 15,
    "30minute": 30, "60minute": 60, "day": SESSION_MINUTES,
}
# Kite's maximum span (days) per request for each interval.
INTERVAL_MAX_DAYS = {
    "minute": 60, "3minute": 100, "5minute": 100, "10minute": 100, "15minute": 200,
    "30minute": 200, "60minute": 400, "day": 2000,
}
# (period in minutes, amplitude of log-price) for the layered value noise.
_OCTAVES = ((43_200, 0.12), (7_200, 0.04), (1_440, 0.018), (120, 0.006), (15, 0.0025),
            (3, 0.0012))


@lru_cache(maxsize=262_144)
def _lattice(seed: int, token: int, octave: int, knot: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{token}:{octave}:{knot}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / float(1 << 63) - 1.0


@lru_cache(maxsize=65_536)  # a candle's close is the next one's open: evaluate once
def _log_offset(seed: int, token: int, minute: float) -> float:
    total = 0.0
    for octave, (period, amplitude) in enumerate(_OCTAVES):
        x = minute / period
        knot = math.floor(x)
        frac = x - knot
        frac = frac * frac * (3 - 2 * frac)  # smoothstep: no kinks at knots
        a = _lattice(seed, token, octave, knot)
        b = _lattice(seed, token, octave, knot + 1)
        total += amplitude * (a + (b - a) * frac)
    return total


def _price_at(seed: int, inst: ListedInstrument, at: datetime) -> float:
    minute = ensure_utc(at).timestamp() / 60.0
    return float(inst.ref_price) * math.exp(_log_offset(seed, inst.token, minute))


def parse_kite_time(value: str | None, field_name: str) -> datetime:
    """"YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD" in IST (the client sends naive IST strings)."""
    if not value:
        raise InputError(f"Missing `{field_name}`.")
    text = value.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(text, fmt)  # noqa: DTZ007 - tz attached next line
        except ValueError:
            continue
        return ensure_utc(parsed.replace(tzinfo=IST))
    raise InputError(f"Invalid `{field_name}`: {value}")


def _candle_stamp(at: datetime) -> str:
    return ensure_utc(at).astimezone(IST).strftime("%Y-%m-%dT%H:%M:%S+0530")


def historical_candles(seed: int, inst: ListedInstrument, interval: str, start: datetime,
                       end: datetime, now: datetime, with_oi: bool) -> list[list[Any]]:
    if interval not in INTERVAL_MINUTES:
        raise InputError(f"Invalid interval: {interval}")
    start, end = ensure_utc(start), ensure_utc(end)
    if start > end:
        raise InputError("`from` date must be before `to` date.")
    if end - start > timedelta(days=INTERVAL_MAX_DAYS[interval]):
        raise InputError(f"interval exceeds max limit: {INTERVAL_MAX_DAYS[interval]} days")
    tick = float(inst.tick_size) or 0.05
    index = is_index(inst)
    out: list[list[Any]] = []
    first_day = start.astimezone(IST).date()
    last_day = end.astimezone(IST).date()
    day = first_day
    while day <= last_day:
        if day.weekday() < 5:
            out.extend(_day_candles(seed, inst, interval, day, start, end, now, tick, index,
                                    with_oi))
        day += timedelta(days=1)
    return out


def _day_candles(seed: int, inst: ListedInstrument, interval: str, day: date,
                 start: datetime, end: datetime, now: datetime, tick: float, index: bool,
                 with_oi: bool) -> list[list[Any]]:
    open_at = datetime.combine(day, SESSION_OPEN, tzinfo=IST)
    close_at = datetime.combine(day, SESSION_CLOSE, tzinfo=IST)
    out: list[list[Any]] = []
    if interval == "day":
        stamp = datetime.combine(day, time(0, 0), tzinfo=IST)
        if not (start.astimezone(IST).date() <= day <= end.astimezone(IST).date()):
            return out
        if open_at > now:
            return out
        out.append(_candle(seed, inst, stamp, open_at, min(close_at, now), SESSION_MINUTES,
                           tick, index, with_oi))
        return out
    step = timedelta(minutes=INTERVAL_MINUTES[interval])
    t = open_at
    while t < close_at:
        if t > end or t > now:
            break
        if t >= start:
            t_end = min(t + step, close_at, max(now, t))
            minutes = max(1, int((t_end - t).total_seconds() // 60))
            out.append(_candle(seed, inst, t, t, t_end, minutes, tick, index, with_oi))
        t += step
    return out


def _candle(seed: int, inst: ListedInstrument, stamp: datetime, t0: datetime, t1: datetime,
            minutes: int, tick: float, index: bool, with_oi: bool) -> list[Any]:
    samples = min(minutes, 12)
    prices = [_price_at(seed, inst, t0 + (t1 - t0) * (k / samples)) for k in range(samples + 1)]

    def snap(p: float) -> float:
        return round(round(p / tick) * tick, 2)

    o, c = snap(prices[0]), snap(prices[-1])
    wick = 1 + 0.0004 * (_lattice(seed, inst.token, 99, int(t0.timestamp())) + 1)
    h = max(o, c, snap(max(prices) * wick))
    low = min(o, c, snap(min(prices) / wick))
    if index:
        volume = 0
    else:
        u = _lattice(seed, inst.token, 98, int(t0.timestamp())) + 1.0  # 0..2
        volume = int(4_000_000 * minutes / SESSION_MINUTES * (0.5 + u))
    candle: list[Any] = [_candle_stamp(stamp), o, h, low, c, volume]
    if with_oi:
        candle.append(0)
    return candle
