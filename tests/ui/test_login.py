"""Journeys at the door: first-run sign-up, demo account, log in, wrong password, lockout,
bad input at each field, log out."""

from __future__ import annotations

from textual.widgets import Input

from .conftest import PASSWORD, booted, field_error, log_in, settle, type_into, wait_until


async def test_first_run_offers_sign_up_and_creates_the_first_user(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await booted(pilot)
        assert app.screen.signup, "a fresh install starts on sign-up"
        await type_into(pilot, "#input-email", "first@example.com")
        await type_into(pilot, "#input-name", "First Trader")
        await type_into(pilot, "#input-password", "a-long-password")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.user_session is not None, what="sign-up")
        assert app.current_mode == "positions"
        assert app.user_session.user.email == "first@example.com"
        assert app.status.user == "first@example.com"


async def open_demo(pilot) -> None:
    await booted(pilot)
    await type_into(pilot, "#input-password", "demo-password")
    await pilot.press("f3")
    await wait_until(pilot, lambda: pilot.app.user_session is not None, what="demo")
    await settle(pilot)


async def test_demo_account_brings_a_paper_broker_and_two_strategies(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_demo(pilot)
        session = app.user_session
        assert session.user.email == "demo@tui-trader.local"
        assert [a.broker.value for a in session.brokers.list()] == ["paper"]
        assert sorted(s.symbol for s in session.strategies.list()) == ["INFY", "TCS"]


async def test_demo_without_a_password_asks_for_one_and_stays_ready(make_app):
    from textual.widgets import Label

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await booted(pilot)
        await pilot.press("f3")
        await wait_until(pilot, lambda: field_error(app, "password"), what="inline error")
        assert "demo account" in field_error(app, "password")
        assert len(field_error(app, "password")) <= 44  # fits the field at 80 columns
        banner = str(app.screen.query_one("#login-banner", Label).render())
        assert "Working" not in banner and "password" in banner
        assert app.user_session is None
        await type_into(pilot, "#input-password", "demo-password")
        await pilot.press("f3")
        await wait_until(pilot, lambda: app.user_session is not None, what="demo")


async def test_log_in(make_app, user):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await booted(pilot)
        assert not app.screen.signup
        await log_in(pilot)
        assert app.current_mode == "positions"


async def test_wrong_password_shows_at_the_field_and_keeps_what_was_typed(make_app, user):
    from textual.widgets import Label

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await booted(pilot)
        await type_into(pilot, "#input-email", "asha@example.com")
        await type_into(pilot, "#input-password", "not-the-password")
        await pilot.press("enter")
        await wait_until(pilot, lambda: field_error(app, "password"), what="inline error")
        assert field_error(app, "password") == "email or password is incorrect"
        banner = str(app.screen.query_one("#login-banner", Label).render())
        assert banner == "4 attempts left before this email locks for 15 minutes"
        assert app.user_session is None
        assert app.screen.query_one("#input-email", Input).value == "asha@example.com"
        assert app.screen.query_one("#input-password", Input).password, "masked"


def _banner(app) -> str:
    return str(app.screen.query_one("#login-banner").render())


async def test_lockout_counts_down_and_ends(make_app, user, ctx):
    """The banner ticks with the clock (frozen here, moved by the test) and says when the
    address may try again; the right password opens nothing while locked."""
    from datetime import timedelta

    app = make_app(ctx=ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await booted(pilot)
        await type_into(pilot, "#input-email", "asha@example.com")
        for left in range(ctx.settings.max_failed_logins - 1, 0, -1):
            await type_into(pilot, "#input-password", "wrong-wrong")
            await pilot.press("enter")
            await settle(pilot)
            assert _banner(app).startswith(f"{left} attempt")
        await type_into(pilot, "#input-password", "wrong-wrong")
        await pilot.press("enter")
        await wait_until(pilot, lambda: "try again in 15m 00s" in _banner(app),
                         what=lambda: f"the lock's countdown, banner {_banner(app)!r}")
        assert _banner(app) == "Locked after repeated failed logins: try again in 15m 00s"
        ctx.clock.advance(timedelta(seconds=61))
        await wait_until(pilot, lambda: "try again in 13m 59s" in _banner(app),
                         what=lambda: f"the countdown to tick, banner {_banner(app)!r}")
        ctx.clock.advance(timedelta(minutes=10))
        await wait_until(pilot, lambda: "try again in 3m 59s" in _banner(app),
                         what=lambda: f"the countdown to tick, banner {_banner(app)!r}")
        await type_into(pilot, "#input-password", PASSWORD)
        await pilot.press("enter")
        await wait_until(pilot, lambda: "try again in 3m 59s" in _banner(app),
                         what=lambda: f"still locked, banner {_banner(app)!r}")
        assert app.user_session is None, "the right password does not open a locked address"
        ctx.clock.advance(timedelta(minutes=4))
        await wait_until(pilot, lambda: "lock has ended" in _banner(app),
                         what=lambda: f"the lock to end, banner {_banner(app)!r}")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.user_session is not None, what="log in")


async def test_sign_up_messages_at_each_field(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await booted(pilot)
        await type_into(pilot, "#input-email", "not-an-email")
        await type_into(pilot, "#input-password", "short")
        await pilot.press("enter")
        await wait_until(pilot, lambda: field_error(app, "email"), what="email error")
        assert "valid address" in field_error(app, "email")
        await type_into(pilot, "#input-email", "ok@example.com")
        await type_into(pilot, "#input-password", "short")
        await pilot.press("enter")
        await settle(pilot)
        await wait_until(pilot, lambda: field_error(app, "password"), what="password error")
        assert "at least 8" in field_error(app, "password")
        pasted = "ok2@example.com"
        await type_into(pilot, "#input-email", pasted)
        app.screen.query_one("#input-name", Input).value = "bad\x07name"
        await type_into(pilot, "#input-password", "long-enough-1")
        await pilot.press("enter")
        await wait_until(pilot, lambda: field_error(app, "name"), what="name error")
        assert "control characters" in field_error(app, "name")
        assert app.user_session is None


async def test_submit_before_start_up_finishes_runs_when_ready(make_app, user):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        # Typed and submitted at once: the database may still be connecting.
        await type_into(pilot, "#input-email", "asha@example.com")
        await type_into(pilot, "#input-password", PASSWORD)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.user_session is not None, what="queued sign-in")


async def test_log_out_returns_to_the_login_screen(make_app, user):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("L")
        await wait_until(pilot, lambda: app.current_mode == "login", what="log out")
        await settle(pilot)
        assert app.user_session is None
        assert app.screen.query_one("#input-password", Input).value == ""
        await log_in(pilot)
        assert app.current_mode == "positions"


async def test_the_signed_in_session_ends_when_it_expires(make_app, ctx, user, fake_engine):
    """TUI_TRADER_SESSION_HOURS holds in the console too: a console left open past it asks
    for the password again."""
    from datetime import timedelta

    app = make_app(ctx=ctx, engine=fake_engine, health_interval=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        assert app.user_session is not None
        ctx.clock.advance(timedelta(hours=ctx.settings.session_hours, minutes=1))
        await wait_until(pilot, lambda: any("expired" in text for text in app.notices_seen),
                         what="told why")
        assert app.user_session is None and app.current_mode == "login"


async def test_a_common_password_is_refused_at_the_field(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await booted(pilot)
        await type_into(pilot, "#input-email", "new@example.com")
        await type_into(pilot, "#input-password", "Password2024!")
        await pilot.press("enter")
        await wait_until(pilot, lambda: field_error(app, "password"), what="password error")
        assert field_error(app, "password") == "is a common password; choose another"
        assert len(field_error(app, "password")) <= 44  # fits the field at 80 columns
        assert app.user_session is None


async def test_demo_stops_sit_two_percent_under_the_last_known_prices(make_app, ctx,
                                                                       fake_engine):
    """Wherever the market stands when the demo is made (here TCS moved to 3,000 since the
    reference 3,410.25), each sample stop sits 2% under it (before: fixed stops, which a
    market that had moved put above the price)."""
    from decimal import Decimal

    from sqlmodel import select

    from tui_trader.db.models import Instrument
    from tui_trader.domain.universe import BY_SYMBOL

    with ctx.session() as s:
        s.exec(select(Instrument).where(Instrument.symbol == "TCS")).one().last_price = \
            Decimal("3000.00")
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_demo(pilot)
        stops = {s.symbol: s.stop_loss for s in app.user_session.strategies.list()}
    assert stops == {"INFY": Decimal("1489.95"), "TCS": Decimal("2940.00")}
    assert stops["INFY"] < BY_SYMBOL["INFY"].ref_price * Decimal("0.985")
