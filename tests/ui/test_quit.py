"""Quitting: the engine runs inside the console, so `q` with strategies running or positions
open asks first, saying how many; with nothing at stake it quits at once."""

from __future__ import annotations

from decimal import Decimal

from .conftest import log_in, settle, wait_until
from .test_strategies import GOOD


def _running_with_a_position(ctx, user, paper_account) -> None:
    """A running INFY strategy holding 10 shares, as SQL (the truth) records it."""
    from tui_trader.db.models import Position, Strategy
    from tui_trader.domain.enums import PositionStatus, StrategyStatus
    from tui_trader.services.strategies import StrategyService

    spec = StrategyService(ctx, user.id).create({**GOOD,
                                                 "broker_account_id": str(paper_account.id)})
    now = ctx.clock.now()
    with ctx.session() as s:
        s.get(Strategy, spec.id).status = StrategyStatus.RUNNING
        s.add(Position(user_id=user.id, strategy_id=spec.id, symbol="INFY", quantity=10,
                       average_price=Decimal("1520.00"), ltp=Decimal("1521.00"),
                       status=PositionStatus.OPEN, opened_at=now, updated_at=now))


async def test_q_with_a_running_strategy_and_an_open_position_asks_first(
        make_app, ctx, user, paper_account, fake_engine):
    _running_with_a_position(ctx, user, paper_account)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="the quit question")
        body = str(app.screen.query_one("#confirm-body").content)
        assert body.startswith("1 strategy running and 1 position open (INFY 10). The "
                               "engine runs inside this console: quitting stops it"), body
        await pilot.press("q")  # a second q does not stack another question
        await pilot.pause()
        assert len(app.screen_stack) == 2
        await pilot.press("n")
        await settle(pilot)
        assert app.return_code is None, "n keeps the console (and its engine) running"
        assert app.current_mode == "positions"
        await pilot.press("q")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="the quit question again")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.return_code is not None, what="quit")
        assert app.return_code == 0


async def test_q_with_nothing_running_quits_at_once(make_app, ctx, user, fake_engine):
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None, what="quit")
        assert app.screen.__class__.__name__ != "ConfirmScreen"


async def test_an_attached_console_quits_at_once_the_server_engine_keeps_trading(
        make_app, ui_settings, ctx, user, paper_account, fake_engine):
    _running_with_a_position(ctx, user, paper_account)
    ui_settings.engine_mode = "attach"
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        await pilot.press("q")
        await wait_until(pilot, lambda: app.return_code is not None, what="quit")


async def test_quitting_while_a_section_is_built_ahead_leaves_it_alone(
        make_app, ctx, user, fake_engine):
    """A section screen built ahead of its first visit (prebuild_sections) whose Mount
    arrives after the app began to shut down finds its widgets pruned: it must not touch
    them (it once raised NoMatches and failed the exit)."""
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        here = app.current_mode
        pending = [m for m in ("strategies", "orders", "brokers", "notifications")
                   if m != here]
        for mode in pending:  # switch away and back in one callback, then quit at once
            app.switch_mode(mode)
        app.switch_mode(here)
        app.exit()
        await wait_until(pilot, lambda: app.return_code is not None, what="quit")
    assert app.return_code == 0
