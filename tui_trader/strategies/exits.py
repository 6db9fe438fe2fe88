"""The exits common to every kind, evaluated for an open position (the engine calls this,
not the kinds): the stop-loss, the target, the trailing stop and the MIS time exit.

`ExitEvaluator.open` turns the rules into price levels at entry (percent and ATR levels
rounded onto the tick grid away from the entry: a stop is never tighter, a target never
nearer, than asked) and refuses a stop on the wrong side of the entry with the one stop rule
(domain.stop_rule), naming the field as the screen does. `on_price` moves the trailing stop
and says whether a price closes the position; `on_time` says whether the clock does.
An `OpenTrade` is JSON-able, so a position's levels survive a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..domain.calendar import MARKET_CLOSE, NseCalendar
from ..domain.clock import IST, ensure_utc, ist_datetime
from ..domain.enums import Product, Side
from ..domain.errors import ValidationError
from ..domain.exit_rules import ExitRules, LevelMode
from ..domain.price_grid import ceil_to_tick, floor_to_tick
from ..domain.stop_rule import ENTRY, KnownPrice, stop_rule_broken

HUNDRED = Decimal(100)


@dataclass
class OpenTrade:
    side: Side  # BUY: a long, SELL: a short
    entry: Decimal
    opened_at: datetime
    stop: Decimal
    target: Decimal | None = None
    best: Decimal | None = None  # the best price since entry (trailing)
    atr: Decimal | None = None  # the ATR at entry (ATR levels)
    trailed: bool = False  # the stop has been moved by the trailing rule

    def as_json(self) -> dict[str, Any]:
        return {"side": self.side.value, "entry": str(self.entry),
                "opened_at": self.opened_at.isoformat(), "stop": str(self.stop),
                "target": _text(self.target), "best": _text(self.best), "atr": _text(self.atr),
                "trailed": self.trailed}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> OpenTrade:
        return cls(Side(raw["side"]), Decimal(raw["entry"]),
                   datetime.fromisoformat(raw["opened_at"]), Decimal(raw["stop"]),
                   _number(raw["target"]), _number(raw["best"]), _number(raw["atr"]),
                   bool(raw["trailed"]))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _number(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(frozen=True)
class ExitDecision:
    rule: str  # "stop", "trailing", "target" or "time"
    message: str  # "stop-loss 1,482.50 hit at 1,481.00"
    at: datetime
    price: Decimal | None = None


class ExitEvaluator:
    """One strategy's exit rules, applied to its open trades."""

    def __init__(self, rules: ExitRules, product: Product, symbol: str, *,
                 tick: Decimal = Decimal("0.05"), calendar: NseCalendar | None = None) -> None:
        self.rules = rules
        self.product = product
        self.symbol = symbol
        self.tick = tick
        self.calendar = calendar

    # -- at entry ---------------------------------------------------------------------------

    def open(self, side: Side, entry: Decimal, at: datetime,
             atr: float | Decimal | None = None) -> OpenTrade:
        """The levels of a position entered at `entry`; ValidationError (named as the field
        is labelled) when a level would close it at once."""
        rules = self.rules
        atr_value = None if atr is None else Decimal(str(atr))
        long = side is Side.BUY
        stop = self._level("stop_loss", rules.stop_mode, rules.stop_loss, entry, atr_value,
                           toward_loss=True, long=long)
        rule = stop_rule_broken(stop, KnownPrice(self.symbol, entry, ENTRY), side)
        if rule is not None:
            raise ValidationError("stop_loss", rule)
        target = None
        if rules.target is not None:
            target = self._level("target", rules.target_mode, rules.target, entry, atr_value,
                                 toward_loss=False, long=long)
            if (long and target <= entry) or (not long and target >= entry):
                where = "above" if long else "below"
                raise ValidationError("target", f"must be {where} {self.symbol}'s entry price "
                                                f"{entry:,.2f}; {target:,.2f} would close the "
                                                f"position at once")
        if rules.trailing is not None and rules.trailing_mode is LevelMode.ATR and \
                atr_value is None:
            raise ValidationError("trailing", self._no_atr())
        return OpenTrade(side, entry, ensure_utc(at), stop, target, entry, atr_value)

    def check_start(self, side: Side, known: KnownPrice | None) -> str | None:
        """A price stop checked when the strategy starts, against the best price known
        then (live, else the last close or the master's last price): the rule it breaks,
        as a field message, or None."""
        if self.rules.stop_mode is not LevelMode.PRICE:
            return None
        return stop_rule_broken(self.rules.stop_loss, known, side)

    def _no_atr(self) -> str:
        return f"needs the ATR of {self.rules.atr_period} candles, not known yet"

    def _level(self, field: str, mode: LevelMode, value: Decimal, entry: Decimal,
               atr: Decimal | None, *, toward_loss: bool, long: bool) -> Decimal:
        if mode is LevelMode.PRICE:
            return value
        if mode is LevelMode.PERCENT:
            distance = entry * value / HUNDRED
        elif atr is None:
            raise ValidationError(field, self._no_atr())
        else:
            distance = atr * value
        if long == toward_loss:  # a long's stop and a short's target lie below the entry
            return floor_to_tick(entry - distance, self.tick)
        return ceil_to_tick(entry + distance, self.tick)

    # -- while open -------------------------------------------------------------------------

    def on_price(self, trade: OpenTrade, price: Decimal, at: datetime) -> ExitDecision | None:
        """Move the trailing stop with `price`, then: does `price` (or the clock) close the
        trade?"""
        long = trade.side is Side.BUY
        self._trail(trade, price, long)
        if (long and price <= trade.stop) or (not long and price >= trade.stop):
            rule = "trailing" if trade.trailed else "stop"
            what = "trailing stop" if trade.trailed else "stop-loss"
            return ExitDecision(rule, f"{what} {trade.stop:,.2f} hit at {price:,.2f}", at, price)
        if trade.target is not None and \
                ((long and price >= trade.target) or (not long and price <= trade.target)):
            return ExitDecision("target", f"target {trade.target:,.2f} reached at "
                                          f"{price:,.2f}", at, price)
        return self.on_time(trade, at)

    def _trail(self, trade: OpenTrade, price: Decimal, long: bool) -> None:
        rules = self.rules
        best = trade.best if trade.best is not None else trade.entry
        best = max(best, price) if long else min(best, price)
        trade.best = best
        if rules.trailing is None:
            return
        if rules.trailing_mode is LevelMode.ATR:
            distance = (trade.atr or Decimal(0)) * rules.trailing
        else:
            distance = best * rules.trailing / HUNDRED
        if long:
            level = floor_to_tick(best - distance, self.tick)
            if level > trade.stop:
                trade.stop, trade.trailed = level, True
        else:
            level = ceil_to_tick(best + distance, self.tick)
            if level < trade.stop:
                trade.stop, trade.trailed = level, True

    def on_time(self, trade: OpenTrade, now: datetime) -> ExitDecision | None:
        """The MIS time exit: due once the clock reaches the day's square-off."""
        square_off = self.square_off_at(ensure_utc(now).astimezone(IST).date())
        if square_off is not None and now >= square_off:
            local = square_off.astimezone(IST)
            return ExitDecision("time", f"MIS square-off at {local:%H:%M} IST", now)
        return None

    def square_off_at(self, day: date) -> datetime | None:
        """When MIS positions are closed on `day`: the rule's time on a regular day; in a
        special session (Muhurat) as long before its close as the rule is before 15:30.
        None for CNC/NRML or without a time exit."""
        if self.product is not Product.MIS or self.rules.square_off is None:
            return None
        at = ist_datetime(day, self.rules.square_off)
        session = self.calendar.session(day) if self.calendar is not None else None
        if session is not None and session.special:
            before_close = ist_datetime(day, MARKET_CLOSE) - at
            return max(session.close_at() - before_close, session.open_at() +
                       timedelta(minutes=1))
        return at

