"""The first-run demo account: a user, a paper broker account and two sample strategies;
and the practice day's own pair of samples.

Runs in a worker; everything goes through the services, so the same rules apply as in the
forms. Each sample's stop-loss sits 2% under its symbol's last known price when the demo is
made (the instruments' reference prices on a fresh install), on the 0.05 tick grid: well
clear of a quiet day's noise, and never at or above the price it would buy at.

A practice day runs its samples in the session's first 45 minutes (a minute of wall time
at the default 60x), with tighter stops (1% and 0.5% under the day's opening price), so a
newcomer sees both BUYs fill, P&L move, a stop-loss fire on the default practice market and
the other position sold at its time.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..services.context import AppContext
    from ..services.views import LoginResult

DEMO_EMAIL = "demo@tui-trader.local"

SAMPLE_STRATEGIES = (
    {"name": "INFY morning", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:15",
     "quantity": "10", "mode": "PAPER"},
    {"name": "TCS intraday", "symbol": "TCS", "buy_time": "09:45", "sell_time": "15:10",
     "quantity": "5", "mode": "PAPER"},
)
STOP_BELOW = Decimal("0.02")  # the samples' stop-loss: 2% under the price
TICK = Decimal("0.05")

# (sample, its stop-loss as a fraction under the opening price)
PRACTICE_SAMPLES = (
    ({"name": "INFY morning", "symbol": "INFY", "buy_time": "09:16", "sell_time": "09:50",
      "quantity": "10", "mode": "PAPER"}, Decimal("0.01")),
    ({"name": "TCS intraday", "symbol": "TCS", "buy_time": "09:17", "sell_time": "10:00",
      "quantity": "5", "mode": "PAPER"}, Decimal("0.005")),
)


def sample_stop(price: Decimal, below: Decimal = STOP_BELOW) -> Decimal:
    """`below` (a fraction, 2% by default) under `price`, rounded down onto the tick grid."""
    return (price * (1 - below) / TICK).to_integral_value(ROUND_FLOOR) * TICK


def create_demo(ctx: AppContext, email: str, password: str, name: str | None) -> LoginResult:
    from ..domain.universe import BY_SYMBOL
    from ..services.auth import AuthService
    from ..services.brokers import BrokerAccountService
    from ..services.strategies import StrategyService

    auth = AuthService(ctx)
    auth.sign_up(email or DEMO_EMAIL, password, name or "Demo trader")
    result = auth.login(email or DEMO_EMAIL, password)
    account = BrokerAccountService(ctx, result.user.id).add_paper("Paper")
    strategies = StrategyService(ctx, result.user.id)
    for sample in SAMPLE_STRATEGIES:
        known = strategies.last_known_price(sample["symbol"])
        price = known.price if known is not None else BY_SYMBOL[sample["symbol"]].ref_price
        strategies.create({**sample, "stop_loss": str(sample_stop(price)),
                           "broker_account_id": str(account.id)})
    return result
