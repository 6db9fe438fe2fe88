"""The day's snapshot built from stored figures (`snapshot_of`): what the engine reads from
SQL and the backtester from its book become the same `AccountSnapshot`."""

from __future__ import annotations

from decimal import Decimal as D

from tui_trader.domain.lifecycle import RiskState
from tui_trader.risk.account import FillPnl, HeldPosition, snapshot_of


def test_fills_and_held_positions_make_the_days_figures():
    snap = snapshot_of(
        [FillPnl("a", D("-300")), FillPnl("a", D("0")), FillPnl("b", D("120.50"))],
        [HeldPosition("a", "INFY", 10, D("1500"), D("1480")),  # 200 down, worth 14,800
         HeldPosition("b", "TCS", -5, D("3400"), None),  # a short not yet marked
         HeldPosition("c", "SBIN", 0, D("800"), D("810"))],  # flat: not open
        orders_today=7, state=RiskState.WARNING, broker_margin=D("50000"))
    assert snap.realized_pnl == D("-179.50") and snap.unrealized_pnl == D("-200")
    assert snap.loss == D("379.50")
    assert snap.strategy_loss("a") == D("500") and snap.strategy_loss("b") == 0
    assert snap.open_keys == {("a", "INFY"), ("b", "TCS")}
    assert snap.symbol_values == {"INFY": D("14800"), "TCS": D("17000")}
    assert (snap.orders_today, snap.state, snap.broker_margin) == (7, RiskState.WARNING,
                                                                    D("50000"))
    assert snap.peak_pnl == 0  # the peak is not stored: a losing day's peak is the start


def test_a_winning_day_peaks_where_it_stands():
    snap = snapshot_of([FillPnl("a", D("900"))], [], orders_today=2)
    assert snap.pnl == D("900") and snap.peak_pnl == D("900") and snap.loss == 0
    assert snap.drawdown_pct(D("100000")) == 0
