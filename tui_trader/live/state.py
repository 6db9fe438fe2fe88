"""`LiveState`: the typed facade over the live store that the engine and services use.

Owns the encoding of every live hash (user, strategy, runtime, price, daily stats) as flat
strings, the batching of hot-path writes into single round trips, and the sentinel that
tells an engine Redis came back empty. Money is `Decimal` in and out and is stored as its
exact decimal string; timestamps are UTC-aware in and out. (Events to the consoles are
typed: `domain.events`, published by the engine's `EventPublisher`.)

Key names come from `live.keys`; the lock/position transitions are `self.locks`
(`live.scripts.PositionLocks`). A LiveState is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import redis

from tui_trader.domain.clock import utc_now
from tui_trader.domain.enums import (
    ExecutionMode,
    RuntimePosition,
    StrategyKind,
    StrategyStatus,
)
from tui_trader.domain.strategy import RuntimeSnapshot, StrategySpec

from . import keys
from .scripts import PositionLocks, load_lua

__all__ = [
    "DAILY_STATS_TTL_S",
    "CorruptLiveState",
    "DailyStats",
    "LiveState",
    "LiveUser",
]

Id = UUID | str

# Daily stats outlive their day a little (a weekend plus a holiday) so the UI can still show
# "last session" figures; SQL's strategy_performance is the history.
DAILY_STATS_TTL_S = 5 * 24 * 3600

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class CorruptLiveState(ValueError):
    """A live hash exists but cannot be decoded (written by something else, or truncated)."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key


@dataclass(frozen=True, slots=True)
class LiveUser:
    user_id: UUID
    email: str
    broker_connected: bool
    status: str = "active"


@dataclass(frozen=True, slots=True)
class DailyStats:
    day: date
    trades: int = 0
    wins: int = 0
    losses: int = 0
    pnl: Decimal = Decimal("0")


class LiveState:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.locks = PositionLocks(client)
        self._daily_stats = client.register_script(load_lua("daily_stats"))

    # -- users ---------------------------------------------------------------------------

    def put_user(
        self, user_id: Id, email: str, broker_connected: bool, status: str = "active"
    ) -> None:
        self.client.hset(keys.user(user_id), mapping=_user_fields(email, broker_connected, status))

    def get_user(self, user_id: Id) -> LiveUser | None:
        key = keys.user(user_id)
        raw = self.client.hgetall(key)
        if not raw:
            return None
        try:
            return LiveUser(
                user_id=UUID(str(user_id)),
                email=raw["email"],
                broker_connected=_flag(raw.get("broker_connected", "0")),
                status=raw.get("status", "active"),
            )
        except (KeyError, ValueError) as exc:
            raise CorruptLiveState(key, f"undecodable user ({exc})") from None

    # -- strategies ----------------------------------------------------------------------

    def put_strategy(self, spec: StrategySpec) -> None:
        """Write `strategy:{id}` (static config) and index it as running. One round trip."""
        with self.client.pipeline(transaction=True) as pipe:
            _queue_strategy(pipe, spec)
            pipe.execute()

    def activate(self, spec: StrategySpec, snapshot: RuntimeSnapshot | None = None) -> None:
        """START in one MULTI: strategy hash, runtime hash, symbol membership, running index."""
        with self.client.pipeline(transaction=True) as pipe:
            _queue_strategy(pipe, spec)
            _queue_runtime(pipe, spec.id, snapshot or RuntimeSnapshot(), only_if_absent=False)
            pipe.sadd(keys.symbol_strategies(spec.symbol), str(spec.id))
            pipe.execute()

    def get_strategy(self, strategy_id: Id) -> StrategySpec | None:
        key = keys.strategy(strategy_id)
        raw = self.client.hgetall(key)
        if not raw:
            return None
        return _decode_strategy(key, raw)

    def remove_strategy(self, strategy_id: Id, symbol: str) -> None:
        """STOP: delete strategy, runtime and lock and drop the symbol membership, in one MULTI.

        An executor still holding the lock then gets LOST_LOCK from `complete` and writes
        nothing, so a stopped strategy is never resurrected by a late fill.
        """
        sid = str(strategy_id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(keys.strategy(sid), keys.runtime(sid), keys.runtime_lock(sid))
            pipe.srem(keys.symbol_strategies(symbol), sid)
            pipe.srem(keys.RUNNING_STRATEGIES, sid)
            pipe.execute()

    def running_strategy_ids(self) -> set[str]:
        return set(self.client.smembers(keys.RUNNING_STRATEGIES))

    # -- runtime -------------------------------------------------------------------------

    def init_runtime(self, strategy_id: Id, snapshot: RuntimeSnapshot) -> None:
        """Overwrite `runtime:{id}` with `snapshot` (the lock key is left alone)."""
        with self.client.pipeline(transaction=False) as pipe:
            _queue_runtime(pipe, strategy_id, snapshot, only_if_absent=False)
            pipe.execute()

    def move_runtime(self, strategy_id: Id, to: RuntimePosition, order_field: str | None = None,
                     order_id: str | None = None) -> RuntimePosition | None:
        """Correct a strategy's runtime position along its lifecycle table (see
        `PositionLocks.move`); the position before, or None if it is not running."""
        return self.locks.move(strategy_id, to, order_field, order_id)

    def runtime_order(self, strategy_id: Id, order_field: str) -> str | None:
        """The broker order id the runtime last moved on, for `last_buy_order` or
        `last_sell_order`."""
        if order_field not in ("last_buy_order", "last_sell_order"):
            raise ValueError(f"not a runtime order field: {order_field!r}")
        return self.client.hget(keys.runtime(strategy_id), order_field) or None

    def runtime_positions(self, ids: Iterable[Id]) -> dict[Id, RuntimePosition | None]:
        """Each strategy's runtime position (None: no runtime) in one round trip."""
        ids = list(ids)
        with self.client.pipeline(transaction=False) as pipe:
            for ident in ids:
                pipe.hget(keys.runtime(ident), "position")
            found = pipe.execute()
        return {ident: RuntimePosition(value) if value else None
                for ident, value in zip(ids, found, strict=True)}

    def get_runtime(self, strategy_id: Id) -> RuntimeSnapshot | None:
        key = keys.runtime(strategy_id)
        raw = self.client.hgetall(key)
        if not raw:
            return None
        return _decode_runtime(key, raw)

    # -- symbol membership ---------------------------------------------------------------

    def add_to_symbol(self, symbol: str, strategy_id: Id) -> None:
        self.client.sadd(keys.symbol_strategies(symbol), str(strategy_id))

    def remove_from_symbol(self, symbol: str, strategy_id: Id) -> None:
        self.client.srem(keys.symbol_strategies(symbol), str(strategy_id))

    def strategies_for_symbol(self, symbol: str) -> set[str]:
        return set(self.client.smembers(keys.symbol_strategies(symbol)))

    def strategies_for_symbols(self, symbols: Iterable[str]) -> dict[str, set[str]]:
        """`strategies_for_symbol` for a whole tick batch, in one round trip."""
        wanted = list(dict.fromkeys(symbols))
        if not wanted:
            return {}
        with self.client.pipeline(transaction=False) as pipe:
            for symbol in wanted:
                pipe.smembers(keys.symbol_strategies(symbol))
            replies = pipe.execute()
        return {symbol: set(members) for symbol, members in zip(wanted, replies, strict=True)}

    # -- prices --------------------------------------------------------------------------

    def set_prices(self, batch: Mapping[str, tuple[Decimal, datetime]]) -> None:
        """Write `price:{symbol}` for a whole tick batch in ONE round trip (no MULTI: each
        symbol's hash is independent, and readers only ever need one symbol consistent)."""
        if not batch:
            return
        with self.client.pipeline(transaction=False) as pipe:
            for symbol, (price, at) in batch.items():
                pipe.hset(
                    keys.price(symbol),
                    mapping={"price": _money(price), "timestamp": _epoch_ms(at)},
                )
            pipe.execute()

    def get_price(self, symbol: str) -> tuple[Decimal, datetime] | None:
        """Last price and its time (millisecond precision, UTC)."""
        key = keys.price(symbol)
        price, stamp = self.client.hmget(key, ["price", "timestamp"])
        return _decode_price(key, price, stamp)

    def get_prices(self, symbols: Iterable[str]) -> dict[str, tuple[Decimal, datetime]]:
        """`get_price` for many symbols in one round trip; unknown symbols are left out."""
        wanted = list(dict.fromkeys(symbols))
        if not wanted:
            return {}
        with self.client.pipeline(transaction=False) as pipe:
            for symbol in wanted:
                pipe.hmget(keys.price(symbol), ["price", "timestamp"])
            replies = pipe.execute()
        out: dict[str, tuple[Decimal, datetime]] = {}
        for symbol, (price, stamp) in zip(wanted, replies, strict=True):
            decoded = _decode_price(keys.price(symbol), price, stamp)
            if decoded is not None:
                out[symbol] = decoded
        return out

    # -- daily stats ---------------------------------------------------------------------

    def incr_daily_stats(
        self,
        strategy_id: Id,
        day: date,
        trades: int = 0,
        wins: int = 0,
        losses: int = 0,
        pnl: Decimal = Decimal("0"),
    ) -> DailyStats | None:
        """Add to the strategy's counters for IST trading day `day`; returns the new totals.

        Atomic and exact (P&L is added as a decimal string inside Lua). The first increment of
        a newer day resets the counters; an increment for an older day than the stored one is
        refused and returns None (the caller records it in SQL only).
        """
        if isinstance(pnl, float) or not isinstance(pnl, Decimal | int):
            raise TypeError("pnl must be a Decimal")
        reply = self._daily_stats(
            keys=[keys.daily_stats(strategy_id)],
            args=[
                day.isoformat(),
                int(trades),
                int(wins),
                int(losses),
                _money(Decimal(pnl)),
                DAILY_STATS_TTL_S,
            ],
        )
        if reply[0] == "STALE":
            return None
        _, stored_day, n_trades, n_wins, n_losses, total = reply
        return DailyStats(
            day=date.fromisoformat(stored_day),
            trades=int(n_trades),
            wins=int(n_wins),
            losses=int(n_losses),
            pnl=Decimal(total),
        )

    def get_daily_stats(self, strategy_id: Id, day: date) -> DailyStats:
        """The counters for `day`; zeros if nothing was recorded that day (yet)."""
        key = keys.daily_stats(strategy_id)
        raw = self.client.hgetall(key)
        if raw.get("day") != day.isoformat():
            return DailyStats(day=day)
        try:
            return DailyStats(
                day=day,
                trades=int(raw.get("trades", 0)),
                wins=int(raw.get("wins", 0)),
                losses=int(raw.get("losses", 0)),
                pnl=Decimal(raw.get("pnl", "0")),
            )
        except (ValueError, InvalidOperation) as exc:
            raise CorruptLiveState(key, f"undecodable stats ({exc})") from None

    # -- freshness -----------------------------------------------------------------------

    def mark_alive(self) -> None:
        """Write the sentinel: this Redis holds our complete live state."""
        self.client.set(keys.SENTINEL, utc_now().isoformat())

    def is_fresh(self) -> bool:
        """True if the sentinel is missing: Redis is new, was flushed, or restarted without
        persistence, and the live state must be rebuilt from SQL."""
        return not self.client.exists(keys.SENTINEL)

    # -- rebuild support -----------------------------------------------------------------

    def restore(
        self,
        items: Iterable[tuple[StrategySpec, RuntimeSnapshot]],
        users: Iterable[LiveUser] = (),
    ) -> int:
        """Write many strategies (and users) in pipelined batches; runtime hashes are only
        created where absent, so a racing engine's newer transitions are never overwritten.
        Idempotent. Used by `live.rebuild`; returns the number of strategies written."""
        count = 0
        pipe = self.client.pipeline(transaction=False)
        try:
            for user in users:
                pipe.hset(
                    keys.user(user.user_id),
                    mapping=_user_fields(user.email, user.broker_connected, user.status),
                )
            for spec, snapshot in items:
                _queue_strategy(pipe, spec)
                _queue_runtime(pipe, spec.id, snapshot, only_if_absent=True)
                pipe.sadd(keys.symbol_strategies(spec.symbol), str(spec.id))
                count += 1
                if len(pipe) >= _RESTORE_BATCH:
                    pipe.execute()
            pipe.execute()
        finally:
            pipe.reset()
        return count


# Commands per pipelined round trip during a rebuild: large enough to amortise latency,
# small enough not to stall the server or balloon client memory.
_RESTORE_BATCH = 2_000


# -- encoding helpers --------------------------------------------------------------------


def _user_fields(email: str, broker_connected: bool, status: str) -> dict[str, str]:
    return {"email": email, "status": status, "broker_connected": "1" if broker_connected else "0"}


def _queue_strategy(pipe: Any, spec: StrategySpec) -> None:
    sid = str(spec.id)
    pipe.hset(keys.strategy(sid), mapping=_strategy_fields(spec))
    pipe.sadd(keys.RUNNING_STRATEGIES, sid)


def _strategy_fields(spec: StrategySpec) -> dict[str, str]:
    return {
        "id": str(spec.id),
        "user_id": str(spec.user_id),
        "name": spec.name,
        "kind": StrategyKind(spec.kind).value,
        "symbol": spec.symbol,
        "exchange": spec.exchange,
        "buy_time": spec.buy_time.isoformat(),
        "sell_time": spec.sell_time.isoformat(),
        "stop_loss": _money(spec.stop_loss),
        "quantity": str(int(spec.quantity)),
        "mode": ExecutionMode(spec.mode).value,
        "status": StrategyStatus(spec.status).value,
        # Always written (empty for none) so a re-put never leaves a stale account behind.
        "broker_account_id": "" if spec.broker_account_id is None else str(spec.broker_account_id),
    }


def _decode_strategy(key: str, raw: Mapping[str, str]) -> StrategySpec:
    try:
        account = raw.get("broker_account_id", "")
        return StrategySpec(
            id=UUID(raw["id"]),
            user_id=UUID(raw["user_id"]),
            name=raw["name"],
            kind=StrategyKind(raw["kind"]),
            symbol=raw["symbol"],
            exchange=raw["exchange"],
            buy_time=time.fromisoformat(raw["buy_time"]),
            sell_time=time.fromisoformat(raw["sell_time"]),
            stop_loss=Decimal(raw["stop_loss"]),
            quantity=int(raw["quantity"]),
            mode=ExecutionMode(raw["mode"]),
            status=StrategyStatus(raw["status"]),
            broker_account_id=UUID(account) if account else None,
        )
    except KeyError as exc:
        raise CorruptLiveState(key, f"missing field {exc.args[0]}") from None
    except (ValueError, InvalidOperation) as exc:
        raise CorruptLiveState(key, f"undecodable strategy ({exc})") from None


def _runtime_fields(snapshot: RuntimeSnapshot) -> dict[str, str]:
    return {
        "position": RuntimePosition(snapshot.position).value,
        "last_price": "" if snapshot.last_price is None else _money(snapshot.last_price),
        "last_buy_order": snapshot.last_buy_order or "",
        "last_sell_order": snapshot.last_sell_order or "",
        "lock_state": "1" if snapshot.lock_state else "0",
    }


def _queue_runtime(
    pipe: Any, strategy_id: Id, snapshot: RuntimeSnapshot, *, only_if_absent: bool
) -> None:
    key = keys.runtime(strategy_id)
    fields = _runtime_fields(snapshot)
    if only_if_absent:
        # HSETNX per field: fields already there (a live engine's state) win over SQL's copy.
        for name, value in fields.items():
            pipe.hsetnx(key, name, value)
    else:
        pipe.hset(key, mapping=fields)


def _decode_runtime(key: str, raw: Mapping[str, str]) -> RuntimeSnapshot:
    try:
        price = raw.get("last_price", "")
        return RuntimeSnapshot(
            position=RuntimePosition(raw["position"]),
            last_price=Decimal(price) if price else None,
            last_buy_order=raw.get("last_buy_order") or None,
            last_sell_order=raw.get("last_sell_order") or None,
            lock_state=_flag(raw.get("lock_state", "0")),
        )
    except KeyError as exc:
        raise CorruptLiveState(key, f"missing field {exc.args[0]}") from None
    except (ValueError, InvalidOperation) as exc:
        raise CorruptLiveState(key, f"undecodable runtime ({exc})") from None


def _decode_price(
    key: str, price: str | None, stamp: str | None
) -> tuple[Decimal, datetime] | None:
    if price is None or stamp is None:
        return None
    try:
        return Decimal(price), _EPOCH + int(stamp) * _MS
    except (ValueError, InvalidOperation) as exc:
        raise CorruptLiveState(key, f"undecodable price ({exc})") from None


def _money(value: Decimal) -> str:
    """Exact plain-notation string of a finite Decimal ('1E+2' -> '100')."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"expected a finite Decimal, got {value!r}")
    return format(value, "f")


def _epoch_ms(at: datetime) -> int:
    # Integer timedelta division is exact; `at.timestamp() * 1000` can be off by one ms.
    # Subtracting from an aware epoch also refuses naive datetimes (TypeError).
    return (at - _EPOCH) // _MS


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true")
