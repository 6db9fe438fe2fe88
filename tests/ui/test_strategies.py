"""Strategies: the editor checks every field as you type and saves nothing until all are
valid; copy and delete (confirmed); LIVE needs a typed confirmation; the kill switch asks."""

from __future__ import annotations

from textual.widgets import Input

from .conftest import field_error, log_in, settle, table_text, type_into, wait_until

GOOD = {"name": "INFY morning", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:00",
        "stop_loss": "1500", "quantity": "10"}


async def open_editor(pilot):
    await log_in(pilot)
    await pilot.press("2")
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)
    assert pilot.app.screen.__class__.__name__ == "StrategyEditor"


def live_strategy(ctx, user):
    """GOOD as a LIVE strategy on a new Kite account; returns the account."""
    from tui_trader.services.brokers import BrokerAccountService
    from tui_trader.services.strategies import StrategyService

    kite = BrokerAccountService(ctx, user.id).add_kite("kiteapikey1", "kitesecret9")
    StrategyService(ctx, user.id).create({**GOOD, "mode": "LIVE",
                                          "broker_account_id": str(kite.id)})
    return kite


async def fill(pilot, values: dict[str, str]) -> None:
    for name, value in values.items():
        await type_into(pilot, f"#input-{name}", value)


async def test_bad_input_stays_in_the_form_with_a_message_at_each_field(make_app, user):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_editor(pilot)
        await fill(pilot, {"name": "x" * 81, "symbol": "ZZZZ9", "buy_time": "25:61",
                           "sell_time": "09:00", "stop_loss": "-5", "quantity": "ten"})
        # As-you-type: each touched field already says what is wrong.
        assert field_error(app, "name") == "must be at most 80 characters"
        assert field_error(app, "symbol") == "is not in the instruments list"
        assert field_error(app, "buy_time") == "must be a real time of day (00:00-23:59)"
        assert field_error(app, "stop_loss") == "must be greater than 0"
        assert field_error(app, "quantity") == "must be a whole number"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "StrategyEditor", "the form stays open"
        assert app.screen.query_one("#input-buy_time", Input).value == "25:61", "kept as typed"
        assert app.user_session.strategies.list() == [], "nothing written"
        # Pasted control characters and an inverted window.
        app.screen.query_one("#input-name", Input).value = "tab\there"
        await fill(pilot, {"buy_time": "15:00", "sell_time": "09:30"})
        await pilot.pause()
        assert field_error(app, "name") == "must not contain control characters"
        assert field_error(app, "sell_time") == "must be later than Buy at"
        await pilot.press("escape")  # edited: asks before discarding
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="discard question")
        await pilot.press("y")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "StrategiesScreen"
        assert app.user_session.strategies.list() == []


async def test_bad_stop_loss_then_a_good_one(make_app, user, paper_account):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_editor(pilot)
        await fill(pilot, {**GOOD, "stop_loss": "0"})
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert field_error(app, "stop_loss") == "must be greater than 0"
        assert app.user_session.strategies.list() == []
        await fill(pilot, {"stop_loss": "1500.005"})
        assert field_error(app, "stop_loss") == "must have at most 2 decimal places"
        await fill(pilot, {"stop_loss": "1500"})
        assert field_error(app, "stop_loss") == ""
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StrategiesScreen",
                         what="editor closed")
        await settle(pilot)
        (row,) = table_text(app, "#strategies-table")
        # 80 columns: no room for the kind, the last signal, today's P&L or the quantity.
        assert row == ["○", "INFY morning", "INFY", "-", "not started", "1,500.00", "PAPER"]


async def test_symbol_completes_from_the_instrument_list(make_app, user):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_editor(pilot)
        await type_into(pilot, "#input-symbol", "relia")
        await pilot.press("right")  # accept the suggestion
        await pilot.pause()
        assert app.screen.query_one("#input-symbol", Input).value == "RELIANCE"
        assert field_error(app, "symbol") == ""


async def test_unicode_name_is_fine(make_app, user):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_editor(pilot)
        await fill(pilot, GOOD)
        app.screen.query_one("#input-name", Input).value = "इन्फोसिस सुबह"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StrategiesScreen",
                         what="editor closed")
        assert [s.name for s in app.user_session.strategies.list()] == ["इन्फोसिस सुबह"]


async def test_copy_edit_and_delete(make_app, ctx, user):
    from tui_trader.services.strategies import StrategyService

    StrategyService(ctx, user.id).create(GOOD)
    app = make_app(ctx=ctx)
    async with app.run_test(size=(120, 30)) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: len(table_text(app, "#strategies-table")) == 2,
                         what="copy")
        names = sorted(r[1] for r in table_text(app, "#strategies-table"))
        assert names == ["INFY morning", "INFY morning (copy)"]
        await pilot.press("e")
        await settle(pilot)
        assert app.screen.query_one("#input-stop_loss", Input).value == "1500.00"
        await fill(pilot, {"quantity": "25"})
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StrategiesScreen",
                         what="saved")
        await settle(pilot)
        assert 25 in [r.quantity for r in app.screen.rows.values()]
        await pilot.press("d")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="confirmation asked")
        await pilot.press("y")
        await wait_until(pilot, lambda: len(table_text(app, "#strategies-table")) == 1,
                         what="delete")


async def test_live_start_needs_typed_confirmation(make_app, ctx, user, fake_engine):
    live_strategy(ctx, user)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="confirmation asked")
        await type_into(pilot, "#confirm-typed", "yes")
        await pilot.press("enter")
        await pilot.pause()
        assert "type LIVE exactly" in str(app.screen.query_one("#confirm-error").content)
        await pilot.press("escape")
        await settle(pilot)
        assert fake_engine.started == []
        await pilot.press("s")
        await settle(pilot)
        await type_into(pilot, "#confirm-typed", "LIVE")
        await pilot.press("enter")
        await settle(pilot)
        assert len(fake_engine.started) == 1


async def test_kill_switch_asks_first(make_app, ctx, user, fake_engine):
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("K")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="confirmation asked")
        await pilot.press("escape")
        await settle(pilot)
        assert fake_engine.killed == 0
        await pilot.press("K")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert fake_engine.killed == 1
        assert any("Kill switch" in text for text in app.notices_seen)


async def test_a_muhurat_strategy_is_written_for_the_special_session_ahead(
        make_app, ui_settings, clock, user, paper_account):
    """With a Muhurat session in holidays.txt, legs inside its window are fine as you type
    and save; a sell outside the buy's session says which sessions there are."""
    from datetime import datetime

    from tui_trader.domain.clock import IST

    ui_settings.holidays_file.write_text("2026-11-08 special 18:15-19:15  # Muhurat\n",
                                         encoding="utf-8")
    clock.set(datetime(2026, 11, 6, 16, 0, tzinfo=IST))  # the Friday before
    app = make_app()  # boots by itself: reads holidays.txt as the console does
    async with app.run_test(size=(100, 30)) as pilot:
        await open_editor(pilot)
        await fill(pilot, {**GOOD, "name": "INFY Muhurat", "buy_time": "18:20",
                           "sell_time": "19:30"})
        assert field_error(app, "buy_time") == ""
        assert field_error(app, "sell_time") == (
            "must be within NSE market hours, 09:15-15:30 IST, or a special session: "
            "Sun 08 Nov 18:15-19:15 IST (special)")
        await fill(pilot, {"sell_time": "19:05"})
        assert field_error(app, "sell_time") == ""
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StrategiesScreen",
                         what="editor closed")
        [spec] = app.user_session.strategies.list()
        assert (spec.buy_time.isoformat(), spec.sell_time.isoformat()) == ("18:20:00",
                                                                           "19:05:00")


async def test_a_stop_loss_at_or_above_the_last_known_price_is_refused_at_the_field(
        make_app, ctx, user, paper_account, fake_engine):
    """At night there is no live price: the stop is judged against the last known one
    (INFY's 1,520.40 in the instruments list), as you type and on save."""
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_editor(pilot)
        await fill(pilot, {**GOOD, "stop_loss": "1530"})
        await wait_until(pilot, lambda: field_error(app, "stop_loss") != "",
                         what="the stop-loss judged against the price")
        assert field_error(app, "stop_loss") == (
            "must be below INFY's last known price 1,520.40; 1,530.00 would sell straight "
            "after buying")
        assert app.screen.query_one("#input-stop_loss", Input).placeholder == \
            "below INFY's last known price 1,520.40"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "StrategyEditor"
        assert app.user_session.strategies.list() == []
        await fill(pilot, {"stop_loss": "1490"})
        assert field_error(app, "stop_loss") == ""
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StrategiesScreen",
                         what="saved")


async def test_editing_a_live_strategy_whose_account_was_removed_says_so_at_the_field(
        make_app, ctx, user, fake_engine):
    from tui_trader.services.brokers import BrokerAccountService

    kite = live_strategy(ctx, user)
    BrokerAccountService(ctx, user.id).remove(kite.id)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: field_error(app, "broker_account_id") != "",
                         what="the removed account named at its field")
        assert "Zerodha Kite account" in field_error(app, "broker_account_id")
        assert "Kite account was removed" in str(app.screen.query_one("#editor-banner")
                                                 .content)


async def test_a_buy_missed_while_the_console_was_closed_shows_in_the_table_and_alerts(
        make_app, ctx, user, paper_account):
    """The strategy ran on Friday morning's console; the console was closed at Friday's
    09:30 BUY and opens again on Monday at 09:00: the table marks the row and says why."""
    from datetime import datetime

    from tui_trader.db.models import Strategy
    from tui_trader.domain.clock import IST
    from tui_trader.domain.enums import StrategyStatus
    from tui_trader.services.strategies import StrategyService

    from .conftest import EngineDriver

    spec = StrategyService(ctx, user.id).create({**GOOD,
                                                 "broker_account_id": str(paper_account.id)})
    with ctx.session() as s:
        row = s.get(Strategy, spec.id)
        row.status = StrategyStatus.RUNNING
        row.last_run = datetime(2026, 11, 20, 9, 0, tzinfo=IST)
    driver = EngineDriver(ctx)
    driver.engine.start()
    try:
        app = make_app(ctx=ctx, engine=driver.engine)
        async with app.run_test(size=(100, 30)) as pilot:
            await log_in(pilot)
            await pilot.press("2")
            await wait_until(pilot, lambda: table_text(app, "#strategies-table") != [],
                             what="strategies")
            (row,) = table_text(app, "#strategies-table")
            assert row[0] == "!"
            note = str(app.screen.query_one("#strategies-note").content)
            assert note == ("INFY morning: missed BUY of Fri 20 Nov 09:30 IST (console "
                            "closed); next buy Mon 23 Nov 09:30 IST")
            await pilot.press("5")
            await wait_until(pilot, lambda: any(
                "missed" in r[4] for r in table_text(app, "#notifications-table")),
                             what="the alert")
    finally:
        driver.engine.stop()


async def test_a_long_error_wraps_in_the_dialog_instead_of_being_cut_off(
        make_app, ctx, user, fake_engine):
    from textual.widgets import Label

    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_editor(pilot)
        await fill(pilot, {**GOOD, "stop_loss": "1530"})
        message = ("must be below INFY's last known price 1,520.40; 1,530.00 would sell "
                   "straight after buying")
        await wait_until(pilot, lambda: field_error(app, "stop_loss") == message,
                         what="the stop-loss error")
        await pilot.pause()
        label = app.screen.query_one("#error-stop_loss", Label)
        shown = " ".join(
            "".join(s.text for s in label.render_line(y)).strip()
            for y in range(label.region.height))
        assert label.region.height >= 2, "wrapped onto a second line"
        assert " ".join(shown.split()) == message, shown


async def test_escape_on_an_edited_form_asks_before_discarding(make_app, ctx, user,
                                                               fake_engine):
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_editor(pilot)
        await pilot.press("escape")  # nothing typed: closes at once
        await settle(pilot)
        assert app.screen.__class__.__name__ == "StrategiesScreen"
        await pilot.press("n")
        await settle(pilot)
        await fill(pilot, {"name": "Half typed"})
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="discard question")
        assert "not saved" in str(app.screen.query_one("#confirm-body").content)
        await pilot.press("n")  # keep editing: what was typed is still there
        await settle(pilot)
        assert app.screen.__class__.__name__ == "StrategyEditor"
        assert app.screen.query_one("#input-name", Input).value == "Half typed"
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="discard question again")
        await pilot.press("y")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "StrategiesScreen"
        assert app.user_session.strategies.list() == []


async def test_escape_on_an_opened_but_unchanged_strategy_closes_at_once(make_app, ctx, user,
                                                                       fake_engine):
    from tui_trader.services.strategies import StrategyService

    StrategyService(ctx, user.id).create(GOOD)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("e")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "StrategyEditor"
                         and app.screen.pristine is not None, what="editor loaded")
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "StrategiesScreen"


async def test_the_kill_switch_says_what_it_stops_and_its_result_goes_to_alerts(
        make_app, ctx, user, paper_account, fake_engine):
    from .test_quit import _running_with_a_position

    _running_with_a_position(ctx, user, paper_account)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        await pilot.press("K")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen",
                         what="the kill switch question")
        assert str(app.screen.query_one("#confirm-body").content) == (
            "This will stop 1 running strategy (INFY morning) and square off 1 open "
            "position (INFY 10) at market. Go ahead?")
        await pilot.press("y")
        await settle(pilot)
        assert fake_engine.killed == 1
        await wait_until(pilot, lambda: app.status.unread == 1, what="the alert counted")
        (alert,) = app.user_session.views.notifications()
        assert alert.title == "Kill switch: 0 strategies stopped, 0 exit orders sent"
        assert alert.severity.value == "WARNING"
