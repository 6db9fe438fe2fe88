"""Broker accounts: add paper (the journey), Kite with masked secrets and messages at the
fields, test connection, the SSH-friendly Kite login, removal behind a confirmation."""

from __future__ import annotations

from textual.widgets import Input

from .conftest import field_error, log_in, settle, table_text, type_into, wait_until


async def _open_brokers(pilot):
    await log_in(pilot)
    await pilot.press("4")
    await settle(pilot)
    assert pilot.app.current_mode == "brokers"


async def test_add_a_paper_broker(make_app, user):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_brokers(pilot)
        assert table_text(app, "#brokers-table") == []
        await pilot.press("a")
        await settle(pilot)
        await type_into(pilot, "#input-label", "My paper")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "BrokersScreen",
                         what="form closed")
        await settle(pilot)
        rows = table_text(app, "#brokers-table")
        assert rows == [["My paper", "Paper", "-", "not needed"]]
        await pilot.press("t")
        await settle(pilot)
        assert any("Paper: OK" in text for text in app.notices_seen)


async def test_kite_form_masks_secrets_and_says_what_is_wrong_at_each_field(make_app, user):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_brokers(pilot)
        await pilot.press("a")
        await settle(pilot)
        form = app.screen
        form.query_one("#input-kind").value = "kite"
        await pilot.pause()
        assert form.query_one("#input-api_key", Input).password
        assert form.query_one("#input-api_secret", Input).password
        await type_into(pilot, "#input-api_key", "bad key!")
        await type_into(pilot, "#input-api_root", "ftp://nope")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert field_error(app, "api_key") == "must be letters and digits only"
        assert field_error(app, "api_secret") == "is required"
        assert "http://" in field_error(app, "api_root")
        assert app.user_session.brokers.list() == [], "nothing saved"
        await type_into(pilot, "#input-api_key", "kitekey1234")
        await type_into(pilot, "#input-api_secret", "s3cret-value")
        await type_into(pilot, "#input-api_root", "http://127.0.0.1:5010")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "BrokersScreen",
                         what="form closed")
        await settle(pilot)
        (row,) = table_text(app, "#brokers-table")
        assert row[:3] == ["Zerodha Kite", "Zerodha Kite", "••••1234"]
        assert row[3].startswith("none")
        assert "s3cret" not in str(row)


async def test_a_kite_account_added_by_keyboard_alone_even_typed_in_one_burst(make_app, user):
    """Over SSH keys can arrive in one packet: "Zerodha<Tab>key<Tab>secret" must still land
    field by field (Tab is taken before the focused input sees the next characters)."""
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_brokers(pilot)
        await pilot.press("a")
        await settle(pilot)
        assert app.focused.id == "input-kind"  # the first choice when adding
        await pilot.press("enter", "down", "enter")
        await settle(pilot)
        assert app.screen.kind == "kite"
        # One burst, no settling in between: what a pasted or fast line over SSH looks like.
        await pilot.press("tab", *"Zerodha", "tab", *"kiteapikey1", "tab", *"kitesecret9")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "BrokersScreen",
                         what="form closed")
        await settle(pilot)
        rows = table_text(app, "#brokers-table")
        assert rows[0][:3] == ["Zerodha", "Zerodha Kite", "••••key1"], rows


async def test_kite_login_shows_the_url_and_checks_the_paste(make_app, ctx, user):
    from tui_trader.services.brokers import BrokerAccountService

    BrokerAccountService(ctx, user.id).add_kite("kitekey1234", "secret-1", "Zerodha",
                                                "http://127.0.0.1:5010")
    app = make_app(ctx=ctx)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_brokers(pilot)
        await pilot.press("l")
        await settle(pilot)
        url = str(app.screen.query_one("#kite-url").content)
        assert url == "http://127.0.0.1:5010/connect/login?api_key=kitekey1234&v=3"
        await type_into(pilot, "#input-request_token", "https://example.com/cb?status=success")
        await pilot.press("enter")
        await pilot.pause()
        assert "no request_token found" in field_error(app, "request_token")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "BrokersScreen"


async def test_remove_needs_confirmation(make_app, user, paper_account):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_brokers(pilot)

        def asking():
            return app.screen.__class__.__name__ == "ConfirmScreen"

        await pilot.press("d")
        await wait_until(pilot, asking, what="confirmation asked")
        await pilot.press("n")  # changed our mind
        await wait_until(pilot, lambda: not asking(), what="confirmation answered")
        await settle(pilot)
        assert len(table_text(app, "#brokers-table")) == 1
        await pilot.press("d")
        await wait_until(pilot, asking, what="confirmation asked")
        await pilot.press("y")
        await settle(pilot)
        await wait_until(pilot, lambda: table_text(app, "#brokers-table") == [],
                         what="row removed")


async def test_kite_login_against_the_local_sandbox(make_app, ctx, user, clock):
    """The SSH flow end to end: URL shown, 'browser' follows it, the redirect is pasted,
    the token is exchanged and stored, and the connection test reaches Kite."""
    import requests

    from tui_trader.brokers.kite_sandbox import KiteSandbox, RateLimits, SandboxConfig
    from tui_trader.services.brokers import BrokerAccountService

    sandbox = KiteSandbox(SandboxConfig("kitetestkey1", "kitetestsecret9", clock=clock, seed=3,
                                        volatility=0.0, rate_limits=RateLimits.unlimited()))
    sandbox.start()
    try:
        BrokerAccountService(ctx, user.id).add_kite("kitetestkey1", "kitetestsecret9",
                                                    "Zerodha", sandbox.url)
        app = make_app(ctx=ctx)
        async with app.run_test(size=(120, 30)) as pilot:
            await _open_brokers(pilot)
            await pilot.press("l")
            await settle(pilot)
            url = str(app.screen.query_one("#kite-url").content)
            redirect = requests.get(url, allow_redirects=False, timeout=5).headers["Location"]
            await type_into(pilot, "#input-request_token", redirect)
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.__class__.__name__ == "BrokersScreen",
                             what="login modal closed")
            await settle(pilot)
            (row,) = table_text(app, "#brokers-table")
            assert row[3].startswith("valid to 2026-11-24 06:00 IST"), row
            # With a Kite session the console's engine leaves simulated prices for the ticker.
            await wait_until(pilot, lambda: app.status.feed == "kite", what="live prices")
            assert any("Live prices" in text for text in app.notices_seen)
            await pilot.press("t")
            await wait_until(pilot, lambda: any("Kite: OK" in text
                                                for text in app.notices_seen),
                             what="connection test")
    finally:
        sandbox.stop()


async def test_an_expiring_broker_session_is_announced_at_sign_in(make_app, ctx, user):
    from datetime import timedelta

    from tui_trader.services.brokers import BrokerAccountService

    brokers = BrokerAccountService(ctx, user.id)
    kite = brokers.add_kite("kitekey1234", "secret-1", "Zerodha")
    brokers.store_access_token(kite.id, "tok123456", ctx.clock.now() + timedelta(minutes=30))
    app = make_app(ctx=ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await wait_until(pilot, lambda: any("Zerodha: the broker session lapses at" in text
                                            for text in app.notices_seen),
                         what="token warning")
        await pilot.press("4")
        await settle(pilot)
        (row,) = table_text(app, "#brokers-table")
        assert row[3] == "EXPIRING 2026-11-23 09:30 IST"


async def test_escape_on_an_edited_broker_form_asks_before_discarding(make_app, user):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("4")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await type_into(pilot, "#input-label", "My paper")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="discard question")
        await pilot.press("y")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "BrokersScreen"
        assert app.user_session.brokers.list() == []
