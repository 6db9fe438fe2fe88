"""The exits common to every strategy kind, as a trader sets them: a mandatory stop-loss (a
price, a percentage of the entry, or a multiple of the ATR at entry), an optional target and
trailing stop, the time MIS positions are squared off, a cap on entries a day and the rule
for entering again after an exit. The engine evaluates them (strategies.exits), not the
kinds; the catalog gives each kind its defaults."""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from enum import StrEnum

from .settings_schema import SettingsModel, setting

DEFAULT_SQUARE_OFF = time(15, 15)
# Zerodha squares MIS equity positions off itself from 15:20 (with a charge): ours comes first.
BROKER_SQUARE_OFF = time(15, 20)
SESSION_OPEN = time(9, 15)


class LevelMode(StrEnum):
    """How a stop, target or trailing distance is given."""

    PRICE = "price"  # an absolute price
    PERCENT = "percent"  # a percentage of the entry price
    ATR = "atr"  # a multiple of the average true range at entry


class ReEntry(StrEnum):
    """When a strategy may enter again after an exit, the same day."""

    NEVER = "never"  # one round a day
    NEW_SIGNAL = "new_signal"  # on a signal from a candle that closed after the exit
    COOLDOWN = "cooldown"  # as NEW_SIGNAL, and `cooldown_candles` candles after the exit


class ExitRules(SettingsModel):
    stop_mode: LevelMode = setting(
        LevelMode.PERCENT, help="How the stop-loss is given: a price, a percentage of the "
                                "entry price, or a multiple of the ATR at entry")
    stop_loss: Decimal = setting(
        help="Where the position is closed at a loss (a long's stop sits below its entry, "
             "a short's above)", gt=0, step=0.05)
    target_mode: LevelMode = setting(LevelMode.PERCENT,
                                     help="How the target is given (as the stop-loss)")
    target: Decimal | None = setting(
        None, help="Where the position is closed at a profit; empty: no target", gt=0,
        step=0.05, updatable=True)
    trailing_mode: LevelMode = setting(
        LevelMode.PERCENT, help="How far the trailing stop follows the best price: a "
                                "percentage, or a multiple of the ATR at entry")
    trailing: Decimal | None = setting(
        None, help="The stop follows the best price since entry at this distance and never "
                   "moves back; empty: no trailing stop", gt=0, step=0.05, updatable=True)
    atr_period: int = setting(14, help="Candles in the ATR that ATR stops and targets use",
                              ge=2, le=100, unit="candles")
    square_off: time | None = setting(
        DEFAULT_SQUARE_OFF, help="MIS positions are closed at this time (IST), before the "
                                 "broker's own square-off; empty: no time exit",
        updatable=True)
    max_trades_per_day: int = setting(2, help="Entries allowed in one day", ge=1, le=50,
                                      unit="entries", updatable=True)
    reentry: ReEntry = setting(ReEntry.NEW_SIGNAL,
                               help="After an exit: never again that day, on a new signal, "
                                    "or on a new signal after a cool-down", updatable=True)
    cooldown_candles: int = setting(0, help="Candles to wait after an exit (cool-down "
                                            "re-entry)", ge=0, le=100, unit="candles",
                                    updatable=True)

    def broken_rules(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        if self.stop_mode is LevelMode.PERCENT and self.stop_loss >= 100:
            errors["stop_loss"] = "must be below 100 % of the entry price"
        if self.trailing is not None and self.trailing_mode is LevelMode.PRICE:
            errors["trailing_mode"] = "must be percent or atr: a trailing stop keeps a " \
                                      "distance, not a price"
        if self.trailing is not None and self.trailing_mode is LevelMode.PERCENT and \
                self.trailing >= 100:
            errors["trailing"] = "must be below 100 % of the best price"
        if self.square_off is not None and not SESSION_OPEN < self.square_off < \
                BROKER_SQUARE_OFF:
            errors["square_off"] = (f"must be after {SESSION_OPEN:%H:%M} and before "
                                    f"{BROKER_SQUARE_OFF:%H:%M} IST, when the broker squares "
                                    f"MIS positions off itself")
        if self.reentry is ReEntry.COOLDOWN and self.cooldown_candles == 0:
            errors["cooldown_candles"] = "must be at least 1 candle for a cool-down re-entry"
        return errors
