"""The exchange's price grid: prices move in steps of an instrument's tick size.

Rounding onto the grid and checking that a price is on it, for every place that makes or
checks a price (the matching core's protection prices, the sandbox's price walk, order
validation).
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal


def round_to_tick(price: Decimal, tick: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    if tick <= 0:
        return price
    steps = (price / tick).quantize(Decimal(1), rounding=rounding)
    return (steps * tick).quantize(tick)


def floor_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    return round_to_tick(price, tick, ROUND_FLOOR)


def ceil_to_tick(price: Decimal, tick: Decimal) -> Decimal:
    return round_to_tick(price, tick, ROUND_CEILING)


def is_tick_multiple(price: Decimal, tick: Decimal) -> bool:
    return tick <= 0 or price % tick == 0
