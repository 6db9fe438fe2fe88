"""Text from outside is data: strategy names, broker labels, symbols, broker rejection
reasons, order history messages, notifications, Kite's own error messages and engine
toasts that hold markup (`[/]`, `[link=...]`, `[@click=app.quit]`), terminal escape
sequences, a bell, a right-to-left override or 2,000 characters are shown as the text they
are, on every screen, dialog and toast; the console never crashes on them (and with it the
embedded engine that watches stop-losses) and never sends the escapes to the terminal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from hostile_text import HOSTILE, HOSTILE_2, LONG, raw_in, refusing_kite
from textual.pilot import Pilot

from .conftest import log_in, screen_text, settle, table_text, type_into, wait_until
from .seed import seed_showcase

SHOWN = "[/] [lin"  # the start of HOSTILE as a narrow column shows it
REJECTED_ORDER = uuid.UUID(int=5)  # the seeded SBIN order the broker refused


def make_hostile(ctx, user_id, seeded) -> None:
    """Put hostile text in every outside-text field of the showcase data, straight into the
    database (what another client, an older version or a broker reply may leave there)."""
    from sqlmodel import select

    from tui_trader.db.models import (
        BrokerAccount,
        Notification,
        Order,
        OrderHistory,
        Position,
        Strategy,
    )

    with ctx.session() as s:
        running, stopped, live = (s.get(Strategy, spec.id) for spec in seeded["strategies"])
        running.name, stopped.name, live.name = HOSTILE, HOSTILE_2, LONG
        s.get(BrokerAccount, seeded["kite"].id).label = HOSTILE
        s.get(BrokerAccount, seeded["paper"].id).label = LONG
        order = s.get(Order, REJECTED_ORDER)
        order.symbol = HOSTILE
        order.error = HOSTILE
        order.broker_order_id = HOSTILE_2
        order.raw_response = {**order.raw_response, "status_message": HOSTILE}
        for history in s.exec(select(OrderHistory).where(OrderHistory.order_id == order.id)):
            history.message = HOSTILE
        for position in s.exec(select(Position).where(Position.symbol == "INFY")):
            position.symbol = HOSTILE_2
        for n, note in enumerate(s.exec(select(Notification).where(
                Notification.user_id == user_id))):
            note.title = (HOSTILE, HOSTILE_2, LONG, HOSTILE)[n % 4]
            note.body = (HOSTILE, LONG, HOSTILE_2, "")[n % 4]


def clean(app, where: str) -> list[str]:
    """The screen as text, after checking no control character or escape reached it."""
    lines = screen_text(app)
    found = raw_in("\n".join(lines))
    assert not found, f"{where}: raw {found} sent to the terminal:\n" + "\n".join(lines)
    return lines


def shows(app, text: str) -> bool:
    return any(text in line for line in screen_text(app))


async def showing(pilot, text: str, where: str) -> list[str]:
    await wait_until(pilot, lambda: shows(pilot.app, text),
                     what=lambda: f"{where} to show {text!r}:\n" + "\n".join(
                         screen_text(pilot.app)))
    return clean(pilot.app, where)


async def on_screen(pilot, name: str) -> None:
    await wait_until(pilot, lambda: type(pilot.app.screen).__name__ == name, what=name)
    await settle(pilot)


def select_row(app, selector: str, text: str) -> None:
    table = app.screen.query_one(selector)
    rows = table_text(app, selector)
    index = next(i for i, row in enumerate(rows) if text in row)
    table.move_cursor(row=index)


@pytest.fixture
def hostile(make_app, ctx, user, engine):
    """The showcase data with hostile text in it, and an app on the real embedded engine."""
    make_hostile(ctx, user.id, seed_showcase(ctx, user.id))
    return make_app(ctx=ctx, engine=engine.engine)


@asynccontextmanager
async def signed_in(app, engine) -> AsyncIterator[Pilot]:
    """The console, signed in with toasts shown; on the way out, it must still be running,
    and so must the engine that watches the stop-losses."""
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await log_in(pilot)
        await wait_until(pilot, lambda: app.status.engine == "running", what="engine state")
        yield pilot
        assert app.is_running and engine.engine.health().state == "running"


async def test_every_section_shows_hostile_text_as_text(hostile, engine):
    app = hostile
    async with signed_in(app, engine) as pilot:
        # Positions: a symbol with an OSC title change, strategy names with markup.
        await showing(pilot, "[/] [link=http://x]…", "positions")
        # Strategies: the names as typed, the 2,000 characters cut to the column.
        await pilot.press("2")
        lines = await showing(pilot, "[/] [link=http://x]click[/link]…", "strategies")
        assert any("LLLLLLLLLL…" in line for line in lines)
        # Orders: a rejected order's symbol, the strategies' names.
        await pilot.press("3")
        await showing(pilot, "[/] [lin…  BUY", "orders")
        # Brokers: the labels.
        await pilot.press("4")
        await showing(pilot, "[/] [link=http:…", "brokers")
        # Alerts: titles and bodies.
        await pilot.press("5")
        await showing(pilot, "[/] [link=http://x]click[/link] [@click=app.quit]quit[/]",
                      "alerts")


async def test_strategy_dialogs_and_toasts_quote_names_as_text(hostile, engine):
    app = hostile
    table = "#strategies-table"
    async with signed_in(app, engine) as pilot:
        await pilot.press("2")
        await showing(pilot, "[/] [link=http://x]click[/link]…", "strategies")
        select_row(app, table, HOSTILE)
        await pilot.press("d")  # delete asks, quoting the name
        await on_screen(pilot, "ConfirmScreen")
        lines = await showing(pilot, "Delete '[/] [link=http://x]click[/link]",
                              "delete confirmation")
        assert any("[@click=app.quit]quit[/] [bold red]x red ␇ �!' (INFY)?" in line
                   for line in lines), "\n".join(lines)
        await pilot.press("n")
        await on_screen(pilot, "StrategiesScreen")
        select_row(app, table, LONG)
        await pilot.press("s")  # LIVE: the typed confirmation quotes the name, cut short
        await on_screen(pilot, "ConfirmScreen")
        lines = await showing(pilot, "will place REAL orders", "LIVE confirmation")
        assert any("LLLLLLLL…' will place REAL orders" in line for line in lines)
        assert any("Type LIVE to confirm" in line for line in lines), "the question fits"
        await pilot.press("escape")
        await on_screen(pilot, "StrategiesScreen")
        select_row(app, table, HOSTILE_2)
        await pilot.press("e")  # the editor: the name in its field, escapes drawn visibly
        await on_screen(pilot, "StrategyEditor")
        # (Rich drops the BEL itself; the field shows the rest one for one.)
        await showing(pilot, "Name�␛]0;pwned[bold red]x [/] ␛[2J", "strategy editor")
        app.screen.query_one("#input-broker_account_id").focus()
        await pilot.press("enter")  # the broker list: the labels
        lines = await showing(pilot, "[@click=app.quit]quit[/] [b… (kite)", "broker list")
        assert any("LLLLL… (paper)" in line for line in lines)
        await pilot.press("escape")
        await pilot.press("escape")
        await on_screen(pilot, "StrategiesScreen")
        select_row(app, table, HOSTILE)
        await pilot.press("c")  # copied: the toast quotes the name
        await showing(pilot, "Copied as '[/] [link=http://x]click[/link]", "copy toast")


async def test_a_rejected_orders_detail_shows_the_brokers_reason_as_text(hostile, engine):
    app = hostile
    async with signed_in(app, engine) as pilot:
        await pilot.press("3")
        await showing(pilot, "[/] [lin…  BUY", "orders")
        await pilot.press("f")
        await pilot.press("enter")  # the strategy filter lists the names
        await showing(pilot, "[@click=app.quit]quit[/]", "strategy filter")
        await pilot.press("escape")
        app.screen.query_one("#orders-table").focus()
        select_row(app, "#orders-table", HOSTILE)
        for visit in ("order detail", "order detail, reopened"):
            await pilot.press("enter")
            await on_screen(pilot, "OrderDetailScreen")
            lines = await showing(pilot, "[@click=app.quit]quit[/] [bold red]x red", visit)
            assert any("Error       [/] [link=http://x]click[/link]" in line
                       for line in lines), "\n".join(lines)
            assert any("Broker id   �[bold red]x [/]" in line for line in lines)
            await pilot.press("escape")
            await on_screen(pilot, "OrdersScreen")


async def test_broker_dialogs_and_toasts_quote_labels_as_text(hostile, engine):
    app = hostile
    async with signed_in(app, engine) as pilot:
        await pilot.press("4")
        await showing(pilot, "[/] [link=http:…", "brokers")
        select_row(app, "#brokers-table", LONG)
        await pilot.press("t")
        await showing(pilot, "Paper: OK", "connection test toast")
        assert any(text.startswith("Testing LLLL") for text in app.notices_seen)
        select_row(app, "#brokers-table", HOSTILE)
        await pilot.press("e")
        await on_screen(pilot, "BrokerForm")
        await showing(pilot, "Edit [/] [link=http://x]click[/link]", "broker form")
        await pilot.press("escape")
        await on_screen(pilot, "BrokersScreen")
        await pilot.press("d")
        await on_screen(pilot, "ConfirmScreen")
        await showing(pilot, "Remove '[/] [link=http://x]click[/link]", "removal question")
        await pilot.press("n")
        await on_screen(pilot, "BrokersScreen")
        await pilot.press("l")
        await on_screen(pilot, "KiteLoginScreen")
        await showing(pilot, "Kite login · [/] [link=http://x]click[/link]", "Kite login")
        await pilot.press("escape")
        await on_screen(pilot, "BrokersScreen")


async def test_an_engine_notification_becomes_a_toast_of_text(hostile, ctx, user, engine):
    """A rejection notification (a strategy's name, a broker's reason) comes from the real
    engine through the live store; its toast shows it as text, and nothing stops."""
    from tui_trader.domain.enums import NotificationKind, Severity

    app = hostile
    async with signed_in(app, engine) as pilot:
        engine.engine.notifier.notify(user.id, NotificationKind.REJECTION, Severity.ERROR,
                                      f"{HOSTILE}: BUY order rejected", HOSTILE_2,
                                      ctx.clock.now())
        lines = await showing(pilot, "▌�[bold red]x [/]", "engine toast")  # the body
        body = next(i for i, line in enumerate(lines) if "▌�[bold red]x [/]" in line)
        assert "▌[/] [link=http://x]click[/link] [@click=app.quit]quit[/]" in lines[body - 2]
        assert "▌[b…" in lines[body - 1], "the title, cut to one line's worth"


async def test_the_status_bar_shows_a_remote_engines_state_as_text(hostile, engine):
    """An engine on a server publishes its state to every attached console; whatever it
    says lands in the status bar as text. Its state is an EngineState (a state that is not
    one is refused on the wire); why entries are blocked is its own words."""
    from tui_trader.domain.events import EngineStatus
    from tui_trader.domain.lifecycle import EngineState

    app = hostile
    with pytest.raises(ValueError, match="not an engine state"):
        EngineStatus(user_id="*", state=HOSTILE_2, entries_allowed=False)
    async with signed_in(app, engine) as pilot:
        engine.engine.publisher.publish(EngineStatus(
            user_id="*", state=EngineState.ENTRIES_BLOCKED, entries_allowed=False,
            detail=HOSTILE_2))
        await showing(pilot, "│ engine entries blocked: �[bold red]x [/] │ prices",
                      "status bar")


async def test_help_and_the_palette_show_keys_as_text(hostile, engine):
    app = hostile
    async with signed_in(app, engine) as pilot:
        await pilot.press("question_mark")
        await on_screen(pilot, "HelpScreen")
        clean(app, "help")
        await pilot.press("escape")
        # The palette names each command's key in brackets, which it used to read as markup
        # (and drop): "Kill switch  [K]" showed as "Kill switch".
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: "CommandPalette" in type(app.screen).__name__,
                         what="palette")
        await showing(pilot, "Kill switch  [K]", "palette")
        await pilot.press("escape")
        # ctrl+c: Textual's own hint, written in markup, as text.
        await pilot.press("ctrl+c")
        await showing(pilot, "Press ^q to quit the app", "quit hint")


async def test_kites_refusal_of_a_login_is_shown_as_text(make_app, ctx, user):
    """Kite's own error message (here: markup and escapes) lands in the login dialog as one
    line of text; the dialog stays open for another try."""
    from tui_trader.services.brokers import BrokerAccountService

    with refusing_kite() as root:
        account = BrokerAccountService(ctx, user.id).add_kite("kitekey1234", "secret-1",
                                                              "Zerodha", root)
        app = make_app(ctx=ctx)
        async with app.run_test(size=(120, 30), notifications=True) as pilot:
            await log_in(pilot)
            await pilot.press("4")
            await settle(pilot)
            await pilot.press("l")
            await on_screen(pilot, "KiteLoginScreen")
            await type_into(pilot, "#input-request_token", "AbC123xyz789")
            await pilot.press("enter")
            lines = await showing(pilot, "Kite login failed: [/] [link=http://x]click[/link]",
                                  "Kite login refusal")
            assert any("[@click=app.quit]quit[/] [bold" in line for line in lines)
            assert type(app.screen).__name__ == "KiteLoginScreen"
            # With a token, the connection test meets the same refusal: a toast of text.
            await pilot.press("escape")
            await on_screen(pilot, "BrokersScreen")
            BrokerAccountService(ctx, user.id).store_access_token(
                account.id, "token-abc123", ctx.clock.now() + timedelta(hours=1))
            await pilot.press("t")
            lines = await showing(pilot, "[/] [link=http://x]click[/link] [@click=app.quit]quit[/]",
                                  "connection test toast")
            assert any("Kite refused to read funds" in line for line in lines)
            assert app.is_running
