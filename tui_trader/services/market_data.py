"""Market data from Kite into our tables: the instruments master (Kite's CSV dump) and
historical candles.

The CSV is parsed here rather than by `kiteconnect` (whose parser crashes on an empty numeric
cell): odd cells fall back to safe defaults, rows whose exchange or instrument type we do not
model are skipped and counted. Candles are upserted by their primary key (symbol, exchange,
timeframe, ts), so downloading the same range twice changes nothing.
"""

from __future__ import annotations

import csv
import io
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlmodel import func, select

from ..db.models.market import Candle, Instrument
from ..db.repositories.candles import CandleRepository
from ..db.repositories.instruments import InstrumentRepository
from ..domain.candle_chunks import Chunk, download_interval, plan_chunks
from ..domain.clock import IST, ensure_utc
from ..domain.enums import Exchange, InstrumentType, Timeframe
from ..domain.errors import ValidationError

if TYPE_CHECKING:
    from ..brokers.feeds.kite_ticker import KiteTickerFeed
    from .context import AppContext

log = logging.getLogger(__name__)

DEFAULT_TICK = Decimal("0.05")
_TYPES = {"EQ": InstrumentType.EQ, "FUT": InstrumentType.FUT, "CE": InstrumentType.CE,
          "PE": InstrumentType.PE, "INDEX": InstrumentType.INDEX}
_EXCHANGES = {e.value: e for e in Exchange}
HISTORICAL_PER_S = 3  # Kite's historical-data rate limit, requests a second


class DownloadCount(int):
    """How many rows were stored; `.skipped` says how many were left out and
    `.skipped_reasons` why (reason -> count)."""

    skipped: int
    skipped_reasons: dict[str, int]

    def __new__(cls, stored: int, skipped_reasons: dict[str, int] | None = None
                ) -> DownloadCount:
        obj = super().__new__(cls, stored)
        obj.skipped_reasons = dict(skipped_reasons or {})
        obj.skipped = sum(obj.skipped_reasons.values())
        return obj


def _dec(value: str | None) -> Decimal | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _int(value: str | None) -> int | None:
    number = _dec(value)
    if number is None or number != number.to_integral_value():
        return None
    return int(number)


def _date(value: str | None) -> date | None:
    text = (value or "").strip()
    if len(text) < 10:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def parse_instruments_csv(text: str | bytes) -> tuple[list[Instrument], dict[str, int]]:
    """Kite's instruments CSV as `Instrument` rows (last duplicate wins) and skip reasons."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    skipped: dict[str, int] = {}

    def skip(reason: str) -> None:
        skipped[reason] = skipped.get(reason, 0) + 1

    rows: dict[tuple[Exchange, str], Instrument] = {}
    reader = csv.DictReader(io.StringIO(text.strip()))
    for raw in reader:
        try:
            instrument = _row_to_instrument(raw, skip)
        except Exception:  # one broken row must not stop the download
            skip("malformed row")
            continue
        if instrument is not None:
            rows[(instrument.exchange, instrument.symbol)] = instrument
    return list(rows.values()), skipped


def _row_to_instrument(raw: dict[str, Any], skip: Any) -> Instrument | None:
    token = _int(raw.get("instrument_token"))
    symbol = (raw.get("tradingsymbol") or "").strip()
    if token is None or token <= 0 or not symbol or len(symbol) > 40:
        skip("bad token or symbol")
        return None
    exchange = _EXCHANGES.get((raw.get("exchange") or "").strip().upper())
    if exchange is None:
        skip("unknown exchange")
        return None
    segment = (raw.get("segment") or "").strip().upper()
    kind_text = (raw.get("instrument_type") or "").strip().upper()
    kind = InstrumentType.INDEX if segment == "INDICES" else _TYPES.get(kind_text)
    if kind is None:
        skip(f"unknown instrument type {kind_text[:10] or '(empty)'}")
        return None
    tick = _dec(raw.get("tick_size"))
    lot = _int(raw.get("lot_size"))
    strike = _dec(raw.get("strike"))
    last = _dec(raw.get("last_price"))
    return Instrument(
        instrument_token=token, exchange_token=_int(raw.get("exchange_token")),
        symbol=symbol, name=(raw.get("name") or "").strip()[:120], exchange=exchange,
        segment=segment[:20], instrument_type=kind,
        tick_size=tick if tick is not None and tick > 0 else DEFAULT_TICK,
        lot_size=lot if lot is not None and lot > 0 else 1,
        expiry=_date(raw.get("expiry")),
        strike=strike if strike else None,
        last_price=last if last else None)


def _instruments_text(source: Any, exchange: str | None) -> str | bytes:
    if isinstance(source, str | bytes):
        return source
    if hasattr(source, "instruments_csv"):  # KiteBroker
        return source.instruments_csv(exchange)
    if hasattr(source, "_get"):  # a kiteconnect.KiteConnect: fetch the raw CSV
        if exchange:
            return source._get("market.instruments", url_args={"exchange": exchange})
        return source._get("market.instruments.all")
    raise TypeError("download_instruments needs a KiteBroker, a KiteConnect or CSV text")


def download_instruments(ctx: AppContext, kite_client_or_broker: Any, *,
                         exchange: str | None = None) -> DownloadCount:
    """Fetch Kite's instruments master and upsert it into `instruments`; returns the count
    stored (with `.skipped` / `.skipped_reasons`)."""
    rows, skipped = parse_instruments_csv(_instruments_text(kite_client_or_broker, exchange))
    with ctx.session() as s:
        stored = InstrumentRepository(s).upsert_many(rows)
    if skipped:
        log.info("instruments: stored %d, skipped %d (%s)", stored, sum(skipped.values()),
                 ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items())))
    return DownloadCount(stored, skipped)


def symbol_tokens(ctx: AppContext, exchange: str = "NSE") -> dict[str, int]:
    """{symbol: instrument_token} for one exchange, from the instruments table (what
    `KiteTickerFeed(symbol_tokens=...)` needs)."""
    with ctx.session() as s:
        rows = s.exec(select(Instrument.symbol, Instrument.instrument_token).where(
            Instrument.exchange == exchange)).all()
    return {symbol: int(token) for symbol, token in rows}


def instrument_symbols(ctx: AppContext, exchange: str = "NSE") -> list[str]:
    """Every symbol of one exchange in the instruments table, sorted (what the strategy
    form completes a symbol from)."""
    with ctx.session() as s:
        rows = s.exec(select(Instrument.symbol).where(Instrument.exchange == exchange)).all()
    return sorted(set(rows))


def kite_ticker_feed(ctx: AppContext, user_id: Any, account_id: Any,
                     **options: Any) -> KiteTickerFeed:
    """A live feed for one Kite broker account: credentials from the vault, tokens from the
    instruments table (NSE), the context's clock, and its calendar to tell a closed market
    from a stale feed. Not started."""
    from ..brokers.feeds.kite_ticker import KiteTickerFeed
    from ..domain.errors import BrokerError
    from .brokers import BrokerAccountService

    creds = BrokerAccountService(ctx, user_id).credentials(account_id)
    if creds.api_key is None or creds.access_token is None:
        raise BrokerError("Kite session expired: log in again")
    root = options.pop("root", None)
    api_root = creds.api_root or ctx.settings.kite_root
    if root is None and api_root:
        root = api_root.replace("http://", "ws://").replace("https://", "wss://")
        root = root.rstrip("/") + "/"
    options.setdefault("clock", ctx.clock)
    options.setdefault("is_market_open", ctx.calendar.is_open)
    options.setdefault("symbol_tokens", symbol_tokens(ctx))
    return KiteTickerFeed(creds.api_key, creds.access_token, root=root, **options)


# -- candles --------------------------------------------------------------------------------------


def _resolve(ctx: AppContext, symbol: str) -> tuple[str, str, int]:
    exchange, _, name = symbol.strip().upper().rpartition(":")
    exchange = exchange or "NSE"
    with ctx.session() as s:
        row = InstrumentRepository(s).get(name, exchange)
        if row is not None:
            return name, exchange, int(row.instrument_token)
    from ..domain.universe import BY_SYMBOL

    listed = BY_SYMBOL.get(name)
    if listed is not None and exchange == getattr(listed, "exchange", "NSE"):
        return name, exchange, listed.token
    raise ValidationError("symbol", f"{exchange}:{name} is not in the instruments list; "
                                    "download instruments first")


def _candle_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        stamp = value
    else:
        text = str(value).strip()
        if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
            text = f"{text[:-2]}:{text[-2:]}"  # "+0530" -> "+05:30"
        stamp = datetime.fromisoformat(text)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=IST)
    return ensure_utc(stamp)


def _money(value: Any) -> Decimal:
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError("not a finite price")
    return number


def _fetch_candles(broker: Any, token: int, from_: datetime, to: datetime,
                   interval: str) -> list[Any]:
    if hasattr(broker, "historical"):  # KiteBroker
        return broker.historical(token, from_, to, interval)
    fmt = "%Y-%m-%d %H:%M:%S"
    return broker.historical_data(token, ensure_utc(from_).astimezone(IST).strftime(fmt),
                                  ensure_utc(to).astimezone(IST).strftime(fmt), interval)


@dataclass(frozen=True, slots=True)
class _KiteCandle:
    """One checked candle from Kite (what CandleRepository.store takes)."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int | None


def _candle_rows(records: Iterable[Any]) -> tuple[list[_KiteCandle], int]:
    rows: dict[datetime, _KiteCandle] = {}
    bad = 0
    for rec in records:
        try:
            if isinstance(rec, dict):
                ts, o, h, lo, c = (rec["date"], rec["open"], rec["high"], rec["low"],
                                   rec["close"])
                volume, oi = rec.get("volume", 0), rec.get("oi")
            else:  # the raw ["ts", o, h, l, c, v(, oi)] form
                ts, o, h, lo, c, volume = rec[:6]
                oi = rec[6] if len(rec) > 6 else None
            candle = _KiteCandle(_candle_time(ts), _money(o), _money(h), _money(lo),
                                 _money(c), int(volume or 0),
                                 int(oi) if oi is not None else None)
            if candle.low > candle.high:
                raise ValueError("low above high")
        except (KeyError, TypeError, ValueError, InvalidOperation, IndexError):
            bad += 1
            continue
        rows[candle.ts] = candle
    return list(rows.values()), bad


class RequestPacer:
    """Keeps historical requests at most `per_second` apart on `clock` (Kite allows 3/s):
    `wait()` before each request sleeps for what is left of the gap. `sleep` is injectable so
    tests advance a frozen clock instead of sleeping."""

    def __init__(self, clock: Any, per_second: float = HISTORICAL_PER_S,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock, self._gap, self._sleep = clock, 1.0 / per_second, sleep
        self._last: datetime | None = None

    def wait(self) -> None:
        if self._last is not None:
            left = self._gap - (self._clock.now() - self._last).total_seconds()
            if left > 0:
                self._sleep(left)
        self._last = self._clock.now()


@dataclass(frozen=True)
class ChunkDone:
    """Progress of a chunked download: chunk `index + 1` of `total` is done (`skipped`:
    already stored, not fetched); `candles` written so far in this run."""

    index: int
    total: int
    candles: int
    skipped: bool


def _trading_days(ctx: AppContext, chunk: Chunk) -> list[date]:
    days, day = [], chunk.first_day
    while day <= chunk.last_day:
        if ctx.calendar.is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _chunk_stored(ctx: AppContext, name: str, exchange: str, timeframe: Timeframe,
                  chunk: Chunk) -> bool:
    """Whether a past run stored this chunk: it ended before now, the candles stored in its
    days reach from its first trading day to its last, and there are at least as many as
    trading days. Chunks are written whole (one transaction each), so that means the chunk
    is there; the count guards against two separate short downloads at its two ends."""
    if chunk.end >= ctx.clock.now():
        return False  # still growing: fetch again
    days = _trading_days(ctx, chunk)
    if not days:
        return True  # nothing to download
    low = datetime.combine(chunk.first_day, datetime.min.time(), tzinfo=IST)
    high = datetime.combine(chunk.last_day, datetime.max.time(), tzinfo=IST)
    with ctx.session() as s:
        first, last, count = s.exec(select(
                func.min(Candle.ts), func.max(Candle.ts), func.count()).where(
            Candle.symbol == name, Candle.exchange == exchange, Candle.timeframe == timeframe,
            Candle.ts >= ensure_utc(low), Candle.ts <= ensure_utc(high))).one()
    if first is None or last is None or count < len(days):
        return False
    as_day = lambda ts: _aware(ts).astimezone(IST).date()  # noqa: E731
    return as_day(first) <= days[0] and as_day(last) >= days[-1]


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)  # SQLite drops the zone


def store_candles(ctx: AppContext, broker: Any, symbol: str, from_: datetime, to: datetime,
                  interval: str | Timeframe, *, pace: Callable[[], None] | None = None,
                  progress: Callable[[ChunkDone], None] | None = None) -> int:
    """Download candles for `symbol` ("INFY" or "NSE:INFY") and upsert them into `candles`,
    in chunks Kite answers (domain.candle_chunks), `pace()` before each request (default:
    at most 3 a second on the context's clock), each chunk in its own transaction; chunks a
    past run stored whole are skipped, so an interrupted download resumes. Returns how many
    candles this run wrote (inserted or updated)."""
    timeframe = download_interval(interval)
    chunks = plan_chunks(from_, to, timeframe)  # refuses naive times and from after to
    name, exchange, token = _resolve(ctx, symbol)
    pace = pace or RequestPacer(ctx.clock).wait
    written = 0
    for chunk in chunks:
        skipped = _chunk_stored(ctx, name, exchange, timeframe, chunk)
        if not skipped:
            pace()
            records = _fetch_candles(broker, token, chunk.start, chunk.end, timeframe.value)
            rows, bad = _candle_rows(records)
            if bad:
                log.warning("candles %s:%s %s: %d malformed candle(s) skipped", exchange,
                            name, timeframe.value, bad)
            with ctx.session() as s:  # one transaction a chunk: an interrupt leaves whole ones
                count = CandleRepository(s).store(name, exchange, timeframe, rows)
            written += count.inserted + count.updated
        if progress is not None:
            progress(ChunkDone(chunk.index, len(chunks), written, skipped))
    return written


__all__ = ["DownloadCount", "download_instruments", "kite_ticker_feed", "parse_instruments_csv",
           "store_candles", "symbol_tokens", "ChunkDone", "RequestPacer"]
