"""The reference the backtester is checked against: backtrader itself (a test-only
dependency) running the EMA crossover as the issue states it: long only, bt.indicators.EMA
fast and slow with bt.indicators.CrossOver, buy one lot when flat and the fast EMA crosses
above, close when it crosses below, market orders filled at the next bar's open."""

from __future__ import annotations

from datetime import datetime

import backtrader as bt
import numpy as np

from tui_trader.domain.clock import IST


class ColumnFeed(bt.feeds.DataBase):
    """Bars from columns in memory (IST wall times, as backtrader keeps naive times)."""

    params = (("rows", None),)

    def start(self):
        super().start()
        self._next = 0

    def _load(self):
        rows = self.p.rows
        if self._next >= len(rows):
            return False
        at, o, h, lo, c, v = rows[self._next]
        self._next += 1
        line = self.lines
        line.datetime[0] = bt.date2num(at)
        line.open[0], line.high[0], line.low[0], line.close[0] = o, h, lo, c
        line.volume[0], line.openinterest[0] = v, 0.0
        return True


class EmaCross(bt.Strategy):
    params = (("fast", 9), ("slow", 21), ("size", 1))

    def __init__(self):
        fast = bt.indicators.EMA(self.data.close, period=self.p.fast)
        slow = bt.indicators.EMA(self.data.close, period=self.p.slow)
        self.cross = bt.indicators.CrossOver(fast, slow)
        self.fills = []

    def next(self):
        if not self.position:
            if self.cross[0] > 0:
                self.buy(size=self.p.size)
        elif self.cross[0] < 0:
            self.close()

    def notify_order(self, order):
        if order.status == order.Completed:
            at = bt.num2date(order.executed.dt).replace(tzinfo=IST)
            self.fills.append((at, order.executed.price, order.executed.size))


def rows_of(starts_ns: np.ndarray, open_, high, low, close, volume) -> list[tuple]:
    naive = [datetime.fromtimestamp(int(ns) / 1e9, IST).replace(tzinfo=None)
             for ns in starts_ns]
    return list(zip(naive, open_.tolist(), high.tolist(), low.tolist(), close.tolist(),
                    volume.tolist(), strict=True))


def run(rows: list[tuple], fast: int = 9, slow: int = 21, size: int = 1):
    """(round trips, the strategy): each trip (entry time, entry price, exit time or None,
    exit price or None, quantity), times IST-aware."""
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(ColumnFeed(rows=rows))
    cerebro.addstrategy(EmaCross, fast=fast, slow=slow, size=size)
    cerebro.broker.setcash(1e12)
    strategy = cerebro.run()[0]
    return trips(strategy.fills), strategy


def trips(fills) -> list[tuple]:
    out = []
    for k in range(0, len(fills), 2):
        entry = fills[k]
        exit_ = fills[k + 1] if k + 1 < len(fills) else None
        out.append((entry[0], round(entry[1], 2), exit_[0] if exit_ else None,
                    round(exit_[1], 2) if exit_ else None, int(entry[2])))
    return out
