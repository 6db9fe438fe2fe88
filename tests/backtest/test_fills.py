"""The backtester's fill assumptions, candle by candle on hand-made data: market orders at
the next open or the signal's close, stops inside a candle and through a gap, targets as
limits, slippage in ticks, the tick grid, lots, charges and the entry cap."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tui_trader.backtest.runner import Backtest
from tui_trader.backtest.spec import FillAt
from tui_trader.domain.charges import TradeLeg, leg_charges
from tui_trader.domain.enums import InstrumentType, Product, Side
from tui_trader.domain.errors import ValidationError

from .conftest import D, flat_then_jump, hand_bars, spec

# EMA 2/3: falling closes keep the fast EMA below the slow one; the jump to 110 at candle 5
# crosses it above (the signal), so the entry is at candle 6.
FALL_THEN_JUMP = [100, 99, 98, 97, 96, 110]


def run(rows, **changes):
    return Backtest(spec(**changes), hand_bars(rows)).run()


def test_a_market_entry_fills_at_the_next_open_by_default():
    rows = flat_then_jump(FALL_THEN_JUMP) + [(111, 113, 110, 112), (112, 114, 111, 113)]
    result = run(rows)
    (trade,) = result.trades
    assert trade.entry_index == 6 and trade.entry_price == D("111")
    assert trade.entry_time == result.bars.start(6) and trade.exit_time is None
    assert trade.entry_reason == "EMA 2 crossed above EMA 3"


def test_at_close_the_entry_fills_at_the_signal_candles_close():
    rows = flat_then_jump(FALL_THEN_JUMP) + [(111, 113, 110, 112)]
    (trade,) = run(rows, fill=FillAt.CLOSE).trades
    assert trade.entry_index == 5 and trade.entry_price == D("110")
    assert trade.entry_time == hand_bars(rows).end(5)  # the 09:20 IST candle closes 09:21


def test_a_stop_reached_inside_a_candle_fills_at_the_stop():
    # entry 111 at candle 6; stop 5 % below, floored to the tick: 105.45
    rows = flat_then_jump(FALL_THEN_JUMP) + [(111, 112, 110, 111), (110, 111, 104, 108)]
    (trade,) = run(rows, exits={"stop_loss": D(5)}).trades
    assert (trade.exit_price, trade.exit_reason, trade.exit_index) == (D("105.45"), "stop", 7)


def test_a_gap_through_the_stop_fills_at_the_open():
    rows = flat_then_jump(FALL_THEN_JUMP) + [(111, 112, 110, 111), (101, 102, 100, 101)]
    (trade,) = run(rows, exits={"stop_loss": D(5)}).trades
    assert (trade.exit_price, trade.exit_reason) == (D("101"), "stop")
    assert trade.exit_time == hand_bars(rows).start(7)


def test_a_target_fills_as_a_limit_when_crossed_and_the_stop_wins_an_ambiguous_candle():
    rows = flat_then_jump(FALL_THEN_JUMP) + [(111, 112, 110, 111), (111, 117, 110, 115)]
    (trade,) = run(rows, exits={"stop_loss": D(5), "target": D(5)}).trades
    assert (trade.exit_price, trade.exit_reason) == (D("116.55"), "target")  # 111 x 1.05
    both = flat_then_jump(FALL_THEN_JUMP) + [(111, 112, 110, 111), (111, 117, 104, 115)]
    (trade,) = run(both, exits={"stop_loss": D(5), "target": D(5)}).trades
    assert trade.exit_reason == "stop"


def test_slippage_moves_fills_against_the_order_in_ticks():
    rows = flat_then_jump(FALL_THEN_JUMP) + [(111, 112, 110, 111), (110, 111, 104, 108)]
    (trade,) = run(rows, exits={"stop_loss": D(5)}, slippage_ticks=2).trades
    assert trade.entry_price == D("111.10")  # a buy pays two ticks more
    assert trade.exit_price == D("105.40")  # stop 105.50 (5 % of 111.10, floored), less 2


def test_fills_are_put_on_the_tick_grid_against_the_order():
    rows = flat_then_jump(FALL_THEN_JUMP) + [(111.03, 112, 110, 111)]
    (trade,) = run(rows).trades
    assert trade.entry_price == D("111.05")


def test_f_and_o_quantities_are_lots():
    rows = flat_then_jump(FALL_THEN_JUMP) + [(111, 113, 110, 112)]
    (trade,) = run(rows, quantity=2, lot_size=75, instrument_type=InstrumentType.FUT,
                   product=Product.NRML).trades
    assert trade.quantity == 150


def test_a_cnc_round_trip_closed_the_same_day_is_charged_as_intraday():
    rows = flat_then_jump(FALL_THEN_JUMP) + [(111, 112, 110, 111), (110, 111, 104, 108)]
    result = run(rows, exits={"stop_loss": D(5)}, charges=True, quantity=10)
    (trade,) = result.trades
    legs = [TradeLeg(trade.entry_time, Side.BUY, 10, D("111"), "MIS"),
            TradeLeg(trade.exit_time, Side.SELL, 10, D("105.45"), "MIS")]
    assert trade.charges == sum((leg_charges(leg).total for leg in legs), Decimal(0))
    assert result.summary.charges == trade.charges.quantize(D("0.01"))
    assert result.summary.net_pnl == (D("-55.50") - trade.charges).quantize(D("0.01"))


def test_entries_a_day_are_capped_only_when_asked():
    # up, down, up, down, up: three long entries on one day
    closes = [100, 99, 98, 97, 96, 110, 90, 80, 120, 70, 60, 130, 131, 132]
    assert len(run(flat_then_jump(closes)).trades) == 3
    capped = run(flat_then_jump(closes), exits={"stop_loss": D(99), "max_trades_per_day": 2})
    assert len(capped.trades) == 2
    assert capped.refusals["Trades a day: 2 taken today, the most allowed"] == 1


def test_cnc_never_sells_short_and_mis_does():
    closes = [100, 101, 102, 103, 104, 90, 91]
    assert run(flat_then_jump(closes)).trades == []
    (short,) = run(flat_then_jump(closes), product=Product.MIS).trades
    assert short.side is Side.SELL


@pytest.mark.parametrize(("changes", "field"), [
    ({"kind": "momentum"}, "kind"), ({"params": {"fast": 30, "slow": 3,
                                                 "timeframe": "minute"}}, "fast"),
    ({"params": {"fast": 2, "slow": 3, "timeframe": "15minute"}}, "interval"),
    ({"exits": {"stop_loss": D(150)}}, "stop_loss")])
def test_bad_settings_are_refused_naming_the_field(changes, field):
    rows = flat_then_jump(FALL_THEN_JUMP)
    with pytest.raises(ValidationError) as caught:
        Backtest(spec(**changes), hand_bars(rows))
    assert caught.value.field == field


def test_a_kind_that_keeps_time_buys_and_sells_at_its_times():
    from tui_trader.backtest.synthetic import minute_candles
    from tui_trader.domain.clock import IST

    bars = minute_candles(375 * 3, seed=2)
    run = spec(kind="scheduled", params={"buy_time": "09:30", "sell_time": "15:00"},
               exits={"stop_loss": D(50)}, product=Product.MIS)
    result = Backtest(run, bars).run()
    times = [(t.entry_time.astimezone(IST).strftime("%d %H:%M"),
              t.exit_time.astimezone(IST).strftime("%d %H:%M")) for t in result.trades]
    assert times == [("01 09:30", "01 15:00"), ("02 09:30", "02 15:00"),
                     ("03 09:30", "03 15:00")]
    # each at the open of the candle that starts at its time
    first = result.trades[0]
    assert first.entry_price == bars.bar(15).open and first.exit_price == bars.bar(345).open
