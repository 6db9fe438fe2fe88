"""A position of a strategy made after sign-in names its strategy as soon as it arrives
(before: the Strategy cell stayed empty until `r` read everything again)."""

from __future__ import annotations

from decimal import Decimal

from tui_trader.domain.events import PositionChanged
from tui_trader.ui.messages import EngineEventsBatch

from .conftest import log_in, settle, table_text, wait_until
from .test_strategies import GOOD


async def test_a_new_strategys_position_shows_its_name_without_a_refresh(make_app, ctx, user,
                                                                        fake_engine):
    from tui_trader.services.strategies import StrategyService

    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await log_in(pilot)
        spec = StrategyService(ctx, user.id).create({**GOOD, "name": "Made after sign-in"})
        app.post_message(EngineEventsBatch([PositionChanged(
            user_id=str(user.id), position_id="p1", strategy_id=str(spec.id), symbol="INFY",
            quantity=10, average_price=Decimal("1520"), ltp=Decimal("1521"),
            unrealized_pnl=Decimal("10"), realized_pnl=Decimal(0), status="OPEN")]))
        await settle(pilot)
        await wait_until(pilot, lambda: table_text(app, "#positions-table")[0][-1]
                         == "Made after sign-in", what="the strategy named",
                         timeout=5)
