"""The editor's kind picker and generated forms: a strategy of a signal kind is prepared
through the picker and its generated form (a bad value is named at its field and nothing is
saved; a good form is still refused at the Kind field while the engine cannot run the kind,
and kept for the session); a running strategy opens with only its updatable fields
editable, and a change to another is refused at its field."""

from __future__ import annotations

from textual.widgets import Input, OptionList, Select

from .conftest import field_error, log_in, screen_text, settle, type_into, wait_until

GOOD = {"name": "INFY morning", "symbol": "INFY", "buy_time": "09:30",
        "sell_time": "15:00", "stop_loss": "1400", "quantity": "10", "mode": "PAPER"}


async def pick_kind(pilot, kind: str, *, fresh: bool = True) -> None:
    app = pilot.app
    picker = app.screen.query_one("#kind-picker", OptionList)
    if fresh:
        assert app.focused is picker, "a new strategy starts at the kind picker"
    picker.focus()
    picker.highlighted = 0
    await settle(pilot)
    index = next(i for i in range(picker.option_count)
                 if picker.get_option_at_index(i).id == kind)
    for _ in range(index):
        await pilot.press("down")
    await wait_until(pilot, lambda: app.screen.kind == kind, what=f"{kind} form")
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)
    assert app.focused is app.screen.query_one("#input-name", Input)


async def test_prepare_an_ema_crossover_through_the_picker_and_its_form(make_app, user,
                                                                        paper_account):
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pick_kind(pilot, "ema_crossover")
        screen = app.screen
        description = str(screen.query_one("#kind-description").content)
        assert "Goes long when the fast EMA crosses above the slow one" in description
        assert "The engine does not run this kind yet: prepare it here" in description
        # The form is the kind's schema: its fields with their defaults, the timeframes it
        # can use, the exits with the catalog's defaults for the kind.
        assert screen.query_one("#input-fast", Input).value == "9"
        assert screen.query_one("#input-slow", Input).value == "21"
        assert screen.query_one("#input-fast", Input).placeholder == "2-100, candles"
        assert screen.query_one("#input-timeframe", Select).value == "15minute"
        assert screen.query_one("#input-stop_mode", Select).value == "percent"
        assert screen.query_one("#input-stop_loss", Input).value == "1.0"
        assert screen.query_one("#input-square_off", Input).value == "15:15"
        assert screen.query_one("#input-max_trades_per_day", Input).value == "3"
        assert not screen.query("#input-buy_time"), "no legs: the kind reads candles"
        for name, value in (("name", "INFY EMA"), ("symbol", "INFY"), ("quantity", "5")):
            await type_into(pilot, f"#input-{name}", value)
        # A bad value: the message is at the field as it is typed, naming the rule.
        await type_into(pilot, "#input-fast", "30")
        assert field_error(app, "fast") == "must be below Slow EMA (21)"
        await type_into(pilot, "#input-fast", "1")
        assert field_error(app, "fast") == "must be between 2 and 100 candles"
        screen.query_one("#input-fast", Input).focus()
        await settle(pilot)
        assert str(screen.query_one("#field-help").content) == \
            "Fast EMA: Candles in the fast EMA (2-100, candles)"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert type(app.screen).__name__ == "StrategyEditor", "the form stays open"
        assert str(screen.query_one("#editor-banner").content) == "1 field to fix; nothing saved"
        assert app.user_session.strategies.list() == []
        # A good one: every field valid, then refused at the Kind field (the engine runs
        # only scheduled strategies), and kept for the session.
        await type_into(pilot, "#input-fast", "12")
        assert field_error(app, "fast") == ""
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: field_error(app, "kind") != "", what="kind refusal")
        assert field_error(app, "kind") == ("ema_crossover strategies are in the catalog but "
                                            "the engine does not run them yet; choose "
                                            "scheduled")
        banner = str(screen.query_one("#editor-banner").content)
        assert banner.startswith("Prepared, not saved: every setting is valid")
        assert app.user_session.strategies.list() == []
        assert app.user_session.drafts["ema_crossover"]["fast"] == "12"
        # Picking the kind again later brings the prepared settings back.
        await pilot.press("escape")
        await pilot.press("y")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "StrategiesScreen",
                         what="editor closed")
        await pilot.press("n")
        await settle(pilot)
        picker = app.screen.query_one("#kind-picker", OptionList)
        assert "draft kept" in str(picker.get_option("ema_crossover").prompt)
        await pick_kind(pilot, "ema_crossover", fresh=False)
        assert app.screen.query_one("#input-fast", Input).value == "12"
        assert app.screen.query_one("#input-name", Input).value == "INFY EMA"


async def test_a_scheduled_strategy_is_still_made_through_the_picker(make_app, user,
                                                                     paper_account):
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pick_kind(pilot, "ema_crossover")
        await pick_kind(pilot, "scheduled", fresh=False)
        for name, value in GOOD.items():
            if name != "mode":
                await type_into(pilot, f"#input-{name}", value)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "StrategiesScreen",
                         what="saved")
        (spec,) = app.user_session.strategies.list()
        assert (spec.kind.value, spec.name) == ("scheduled", "INFY morning")


async def test_a_running_strategy_changes_only_updatable_fields(make_app, ctx, user,
                                                               paper_account):
    from tui_trader.db.models import Strategy
    from tui_trader.domain.enums import StrategyStatus
    from tui_trader.services.strategies import StrategyService

    spec = StrategyService(ctx, user.id).create(GOOD)
    with ctx.session() as s:
        s.get(Strategy, spec.id).status = StrategyStatus.RUNNING
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await log_in(pilot)
        await pilot.press("2")
        await wait_until(pilot, lambda: app.screen.query_one("#strategies-table").row_count,
                         what="strategies")
        await pilot.press("e")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "StrategyEditor",
                         what="editor")
        await settle(pilot)
        screen = app.screen
        # A scheduled strategy has no setting it may change while running: all read-only.
        for name in ("name", "symbol", "buy_time", "sell_time", "stop_loss", "quantity"):
            assert screen.query_one(f"#input-{name}", Input).disabled, name
        assert screen.query_one("#input-mode", Select).disabled
        assert "Running: only these may change now: nothing" in "\n".join(screen_text(app))
        # A change that reached the form anyway (typed before it locked) is refused by the
        # service at its field, and nothing is saved.
        screen.query_one("#input-buy_time", Input).value = "09:45"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: field_error(app, "buy_time") != "",
                         what="refusal at Buy at")
        assert field_error(app, "buy_time") == ("cannot change while the strategy runs (stop "
                                                "it first); Buy at is 09:30")
        assert str(screen.query_one("#editor-banner").content) == "nothing saved"
        assert app.user_session.strategies.get(spec.id).buy_time.strftime("%H:%M") == "09:30"
