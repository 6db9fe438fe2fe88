"""What a strategy does next, and the last thing it did, in a trader's words ("buys Mon
09:30", "waiting for EMA 9 to cross 21", "watching stop 1,482.50"), for the strategies
table. Pure: every fact comes in as an argument (the clock's instant, the calendar), so the
words are computed here once and tested as plain functions; the widget only shows them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from ..domain.calendar import NseCalendar
from ..domain.clock import IST, ensure_utc
from ..domain.enums import StrategyKind
from ..domain.exit_rules import LevelMode
from ..domain.price_grid import ceil_to_tick, floor_to_tick
from ..domain.schedule import NoSessionAhead, plan_legs

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class StrategyFacts:
    """What the words are made from: the strategy's settings and where it stands."""

    kind: StrategyKind
    status: str  # "created", "running" or "stopped"
    params: Mapping[str, Any] = field(default_factory=dict)  # the kind's parameters
    exits: Mapping[str, Any] = field(default_factory=dict)  # the exit rules (stop, target)
    held: int = 0  # the open position's signed quantity (0: flat, < 0: short)
    entry: Decimal | None = None  # the open position's average price
    buy_time: time | None = None  # scheduled kinds
    sell_time: time | None = None
    stop_loss: Decimal | None = None  # a scheduled strategy's stop (a price)
    tick: Decimal = Decimal("0.05")


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _when(at: datetime, now: datetime) -> str:
    """'Mon 09:30' (IST), the day always said so a glance never mistakes tomorrow for
    today."""
    local = ensure_utc(at).astimezone(IST)
    return f"{local:%a %H:%M}"


def _number(raw: Any) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        return Decimal(str(raw))
    except ArithmeticError:
        return None


def stop_level(facts: StrategyFacts) -> str | None:
    """The open position's stop in words: a price ('1,482.50') where one is known, else
    the rule ('2 ATR below entry'); None when flat."""
    if facts.held == 0:
        return None
    long = facts.held > 0
    if facts.kind is StrategyKind.SCHEDULED:
        return _money(facts.stop_loss) if facts.stop_loss is not None else None
    mode = str(facts.exits.get("stop_mode") or LevelMode.PERCENT)
    amount = _number(facts.exits.get("stop_loss"))
    if amount is None:
        return None
    if mode == LevelMode.PRICE:
        return _money(amount)
    if mode == LevelMode.PERCENT and facts.entry is not None:
        if long:
            return _money(floor_to_tick(facts.entry * (1 - amount / HUNDRED), facts.tick))
        return _money(ceil_to_tick(facts.entry * (1 + amount / HUNDRED), facts.tick))
    side = "below" if long else "above"
    unit = "%" if mode == LevelMode.PERCENT else " ATR"
    return f"{amount.normalize():f}{unit} {side} entry"


def _target_level(facts: StrategyFacts) -> str | None:
    amount = _number(facts.exits.get("target"))
    if amount is None or facts.entry is None:
        return None
    mode = str(facts.exits.get("target_mode") or LevelMode.PERCENT)
    if mode == LevelMode.PRICE:
        return _money(amount)
    if mode == LevelMode.PERCENT:
        sign = 1 if facts.held > 0 else -1
        return _money(facts.entry * (1 + sign * amount / HUNDRED))
    return None


def _waiting(facts: StrategyFacts) -> str:
    """A flat strategy of a signal kind: what it waits for."""
    p = facts.params
    if facts.kind is StrategyKind.EMA_CROSSOVER:
        return f"waiting for EMA {p.get('fast', 9)} to cross {p.get('slow', 21)}"
    if facts.kind is StrategyKind.RSI_REVERSION:
        return (f"waiting for RSI {p.get('period', 14)} to leave "
                f"{float(p.get('oversold', 30)):g}-{float(p.get('overbought', 70)):g}")
    if facts.kind is StrategyKind.BREAKOUT:
        return f"waiting for a close beyond the {p.get('lookback', 20)}-candle range"
    if facts.kind is StrategyKind.SUPERTREND:
        return (f"waiting for Supertrend {p.get('atr_period', 10)}×"
                f"{float(p.get('multiplier', 3)):g} to flip")
    return "waiting for a signal"


def next_action(facts: StrategyFacts, now: datetime,
                calendar: NseCalendar | None = None) -> str:
    """The next planned action of a strategy, in words."""
    if facts.status == "created":
        return "not started"
    if facts.status != "running":
        return "stopped"
    if facts.held != 0:
        words = []
        stop = stop_level(facts)
        if stop is not None:
            words.append(f"watching stop {stop}")
        target = _target_level(facts)
        if target is not None:
            words.append(f"target {target}")
        return ", ".join(words) or "holding"
    if facts.kind is StrategyKind.SCHEDULED:
        if calendar is None or facts.buy_time is None or facts.sell_time is None:
            return "waiting for its buy time"
        try:
            plan = plan_legs(calendar, now, facts.buy_time, facts.sell_time)
        except NoSessionAhead:
            return (f"no session ahead holds {facts.buy_time:%H:%M}-"
                    f"{facts.sell_time:%H:%M}")
        return f"buys {_when(plan.buy_at, now)}"
    return _waiting(facts)


def last_signal(side: str, reason: str, at: datetime, price: Decimal | None,
                now: datetime) -> str:
    """The strategy's last order as a signal: 'BUY Mon 09:30 @ 1,520.00', a stop-loss
    exit as 'STOP Mon 09:52 @ 3,367.75'."""
    what = {"STOPLOSS": "STOP", "EXIT": "EXIT"}.get(reason, side)
    shown = f"{what} {_when(at, now)}"
    return f"{shown} @ {_money(price)}" if price is not None else shown
