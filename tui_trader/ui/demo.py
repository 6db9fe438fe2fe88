"""The first-run demo account: a user, a paper broker account and two sample strategies.

Runs in a worker; everything goes through the services, so the same rules apply as in the
forms. Sample stop-losses sit about 2% under the instruments' reference prices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..services.context import AppContext
    from ..services.views import LoginResult

DEMO_EMAIL = "demo@tui-trader.local"

SAMPLE_STRATEGIES = (
    {"name": "INFY morning", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:15",
     "stop_loss": "1490.00", "quantity": "10", "mode": "PAPER"},
    {"name": "TCS intraday", "symbol": "TCS", "buy_time": "09:45", "sell_time": "15:10",
     "stop_loss": "3340.00", "quantity": "5", "mode": "PAPER"},
)


def create_demo(ctx: AppContext, email: str, password: str, name: str | None) -> LoginResult:
    from ..services.auth import AuthService
    from ..services.brokers import BrokerAccountService
    from ..services.strategies import StrategyService

    auth = AuthService(ctx)
    auth.sign_up(email or DEMO_EMAIL, password, name or "Demo trader")
    result = auth.login(email or DEMO_EMAIL, password)
    account = BrokerAccountService(ctx, result.user.id).add_paper("Paper")
    strategies = StrategyService(ctx, result.user.id)
    for sample in SAMPLE_STRATEGIES:
        strategies.create({**sample, "broker_account_id": str(account.id)})
    return result
