"""LiveState: exact round trips, one-round-trip batches, symbol sets, stats, events, sentinel."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import uuid4

import pytest
from redis.connection import AbstractConnection

from tui_trader.domain.enums import RuntimePosition, TriggerEvent
from tui_trader.domain.strategy import RuntimeSnapshot
from tui_trader.live import keys
from tui_trader.live.state import CorruptLiveState, DailyStats


class RoundTrips:
    """Counts packets sent to the server: a pipeline is one, a plain command is one."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = AbstractConnection.send_packed_command

        def counting(conn, command, check_health=True):  # type: ignore[no-untyped-def]
            self.count += 1
            return original(conn, command, check_health)

        monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)


def test_strategy_round_trip_is_exact(state, spec_factory) -> None:
    spec = spec_factory(stop_loss=Decimal("3500.10"), broker_account_id=uuid4())
    state.put_strategy(spec)
    back = state.get_strategy(spec.id)
    assert back == spec
    assert str(back.stop_loss) == "3500.10"  # trailing zero kept: the string is the value
    assert state.get_strategy(uuid4()) is None
    assert state.running_strategy_ids() == {str(spec.id)}


def test_strategy_without_account_round_trips(state, spec_factory) -> None:
    spec = spec_factory(stop_loss=Decimal("1E+3"))
    state.put_strategy(spec)
    assert state.get_strategy(spec.id) == spec
    assert state.client.hget(keys.strategy(spec.id), "stop_loss") == "1000"


def test_runtime_round_trip_is_exact(state, spec) -> None:
    snapshot = RuntimeSnapshot(
        position=RuntimePosition.BOUGHT,
        last_price=Decimal("3520.75"),
        last_buy_order="230101000000001",
        last_sell_order=None,
        lock_state=False,
    )
    state.init_runtime(spec.id, snapshot)
    assert state.get_runtime(spec.id) == snapshot
    state.init_runtime(spec.id, RuntimeSnapshot())
    assert state.get_runtime(spec.id) == RuntimeSnapshot()
    assert state.get_runtime(uuid4()) is None


def test_corrupt_runtime_is_reported(state, spec) -> None:
    state.client.hset(keys.runtime(spec.id), "last_price", "1")
    with pytest.raises(CorruptLiveState) as info:
        state.get_runtime(spec.id)
    assert info.value.key == keys.runtime(spec.id)


def test_symbol_membership(state, spec_factory) -> None:
    a, b, c = spec_factory("TCS"), spec_factory("TCS"), spec_factory("INFY")
    for spec in (a, b, c):
        state.add_to_symbol(spec.symbol, spec.id)
    assert state.strategies_for_symbol("TCS") == {str(a.id), str(b.id)}
    state.remove_from_symbol("TCS", a.id)
    assert state.strategies_for_symbol("TCS") == {str(b.id)}
    assert state.strategies_for_symbols(["TCS", "INFY", "NONE"]) == {
        "TCS": {str(b.id)},
        "INFY": {str(c.id)},
        "NONE": set(),
    }


def test_remove_strategy_deletes_everything(state, spec_factory) -> None:
    keep, spec = spec_factory("TCS"), spec_factory("TCS")
    state.activate(keep)
    state.activate(spec)
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "t", 10_000).ok
    state.remove_strategy(spec.id, spec.symbol)
    assert state.get_strategy(spec.id) is None
    assert state.get_runtime(spec.id) is None
    assert not state.client.exists(keys.runtime_lock(spec.id))
    assert state.strategies_for_symbol("TCS") == {str(keep.id)}
    assert state.running_strategy_ids() == {str(keep.id)}


def test_set_prices_is_one_round_trip(state, monkeypatch) -> None:
    state.get_price("WARMUP")  # open the connection (handshake packets) before counting
    at = datetime(2025, 1, 2, 9, 15, 0, 123000, tzinfo=UTC)
    batch = {f"SYM{i}": (Decimal(f"{100 + i}.05"), at) for i in range(200)}
    trips = RoundTrips(monkeypatch)
    state.set_prices(batch)
    assert trips.count == 1
    assert state.get_price("SYM7") == (Decimal("107.05"), at)
    assert state.get_prices(["SYM1", "SYM2", "MISSING"]) == {
        "SYM1": (Decimal("101.05"), at),
        "SYM2": (Decimal("102.05"), at),
    }
    assert trips.count == 3  # one get_price, one batched get_prices


def test_price_time_is_utc_millisecond(state) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    at = datetime(2025, 1, 2, 9, 15, 0, 999999, tzinfo=ist)
    state.set_prices({"TCS": (Decimal("3521.20"), at)})
    price, when = state.get_price("TCS")
    assert price == Decimal("3521.20") and str(price) == "3521.20"
    assert when.tzinfo is UTC
    assert when == at.replace(microsecond=999000)
    assert state.client.hget("price:TCS", "timestamp") == str(
        int(datetime(2025, 1, 2, 3, 45, 0, 999000, tzinfo=UTC).timestamp() * 1000)
    )
    assert state.get_price("NOPE") is None


def test_set_prices_refuses_naive_times_and_floats(state) -> None:
    with pytest.raises(TypeError):
        state.set_prices({"TCS": (Decimal("1"), datetime(2025, 1, 2, 9, 15))})
    with pytest.raises(ValueError):
        state.set_prices({"TCS": (1.5, datetime.now(UTC))})  # type: ignore[dict-item]


def test_daily_pnl_stays_exact_over_1000_increments(state, spec) -> None:
    day = date(2025, 1, 2)
    for _ in range(1000):
        state.incr_daily_stats(spec.id, day, trades=1, wins=1, pnl=Decimal("0.05"))
    stats = state.get_daily_stats(spec.id, day)
    assert stats == DailyStats(day=day, trades=1000, wins=1000, losses=0, pnl=Decimal("50.00"))
    assert state.client.hget(keys.daily_stats(spec.id), "pnl") == "50.00"


def test_daily_pnl_matches_python_decimal_for_mixed_signs_and_scales(state, spec) -> None:
    rng = random.Random(20250102)
    day = date(2025, 1, 2)
    expected = Decimal("0")
    for _ in range(300):
        delta = Decimal(rng.randint(-10**7, 10**7)).scaleb(-rng.randint(0, 6))
        expected += delta
        stats = state.incr_daily_stats(spec.id, day, pnl=delta)
        assert stats.pnl == expected, (delta, stats.pnl, expected)
    # an exact zero after mixed signs is "0", not "-0"
    stats = state.incr_daily_stats(spec.id, day, pnl=-expected)
    assert stats.pnl == 0 and not stats.pnl.is_signed()


def test_daily_stats_roll_over_by_day(state, spec) -> None:
    monday, tuesday = date(2025, 1, 6), date(2025, 1, 7)
    state.incr_daily_stats(spec.id, monday, trades=2, losses=1, pnl=Decimal("-12.5"))
    assert state.get_daily_stats(spec.id, monday).pnl == Decimal("-12.5")
    after = state.incr_daily_stats(spec.id, tuesday, trades=1, wins=1, pnl=Decimal("3"))
    assert after == DailyStats(day=tuesday, trades=1, wins=1, losses=0, pnl=Decimal("3"))
    assert state.get_daily_stats(spec.id, monday) == DailyStats(day=monday)  # gone
    assert state.incr_daily_stats(spec.id, monday, trades=1) is None  # late, refused
    assert state.get_daily_stats(spec.id, tuesday).trades == 1
    assert 0 < state.client.ttl(keys.daily_stats(spec.id))
    with pytest.raises(TypeError):
        state.incr_daily_stats(spec.id, tuesday, pnl=0.05)  # type: ignore[arg-type]


def test_sentinel(state) -> None:
    assert state.is_fresh()
    state.mark_alive()
    assert not state.is_fresh()
    state.client.flushdb()  # what a restart without persistence looks like
    assert state.is_fresh()


def test_runtime_moves_only_along_its_lifecycle_table(state, spec) -> None:
    """Corrections outside a lock (from SQL or a broker answer) go through `move_runtime`,
    which the RUNTIME table guards atomically in the store."""
    from tui_trader.domain.lifecycle import IllegalTransition

    assert state.move_runtime(spec.id, RuntimePosition.BOUGHT) is None  # not running
    assert state.get_runtime(spec.id) is None  # ...and nothing brought it back
    state.init_runtime(spec.id, RuntimeSnapshot(position=RuntimePosition.NONE))
    with pytest.raises(IllegalTransition, match="strategy runtime: none -> sold"):
        state.move_runtime(spec.id, RuntimePosition.SOLD, "last_sell_order", "X1")
    assert state.get_runtime(spec.id).position is RuntimePosition.NONE
    assert state.runtime_order(spec.id, "last_sell_order") is None
    assert state.move_runtime(spec.id, RuntimePosition.BOUGHT, "last_buy_order", "B1") is \
        RuntimePosition.NONE
    assert state.runtime_order(spec.id, "last_buy_order") == "B1"
    other = uuid4()
    assert state.runtime_positions([spec.id, other]) == {spec.id: RuntimePosition.BOUGHT,
                                                         other: None}


def test_a_locked_transition_is_checked_against_the_table_too(state, spec) -> None:
    from tui_trader.domain.lifecycle import IllegalTransition

    state.init_runtime(spec.id, RuntimeSnapshot(position=RuntimePosition.NONE))
    # SELL requires bought, so the lock is taken only for a BUY here; completing that BUY
    # as "sold" (none -> sold) is not a move of the table.
    assert state.locks.acquire(spec.id, TriggerEvent.BUY, "owner-1", 5_000).ok
    with pytest.raises(IllegalTransition):
        state.locks.complete(spec.id, "owner-1", RuntimePosition.SOLD, None, None)
    assert state.get_runtime(spec.id).position is RuntimePosition.NONE
