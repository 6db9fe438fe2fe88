"""Signing a user in and out of the console, quitting, and the app-wide kill switch.

Kept out of app.py so the app stays a thin shell of wiring.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from . import keymap
from .backend import UserSession
from .messages import Done, EngineEventsBatch, EngineHealthChanged, StoreHealth, UnreadChanged

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ..services.views import LoginResult
    from .app import TraderApp


def start_session(app: TraderApp, result: LoginResult, *, demo: bool = False) -> None:
    session = UserSession(app.backend.ctx, result, app.backend.engine)
    if result.user.theme:
        app.apply_theme(result.user.theme)
    show_session(app, session)
    if demo:
        app.notify("Demo account ready: a paper broker and two strategies (INFY, TCS). "
                   "Press 2 to see them.", title="Welcome")
    offer_practice(app)


def offer_practice(app: TraderApp) -> None:
    """While NSE is closed (and not already practising) say that a practice day is a key
    away: a newcomer on a weekend evening sees orders fill within a minute."""
    ctx = app.backend.ctx
    if app.practice_day is not None or ctx is None or ctx.calendar.is_open(ctx.clock.now()):
        return
    app.notify("Market closed: press p to practise a day (a past session at 60x, apart "
               "from your real book).", title="Practice", timeout=10)


def show_session(app: TraderApp, session: UserSession) -> None:
    """Show a signed-in session's sections and follow its events."""
    app.user_session = session
    app.status = replace(app.status, user=session.user.email, events_ok=None, unread=0)
    app.add_sections()
    app.switch_mode("positions")
    app.prebuild_sections()
    app.backend.listen(session.user_id,
                       on_batch=lambda batch: app.post_message(EngineEventsBatch(batch)),
                       on_health=lambda ok, detail: app.post_message(StoreHealth(ok, detail)))
    load_session_data(app, session)


def load_session_data(app: TraderApp, session: UserSession) -> None:
    """Positions, strategy names, symbols and the unread count, read off the UI thread."""

    def work() -> None:
        session.book.begin_load()
        try:
            session.load_alert_modes()
        except Exception:  # every notification toasts, as before any was set
            log.warning("alert modes not loaded", exc_info=True)
        lines, names = session.load_positions()
        app.call_from_thread(apply_book, app, session, lines, names)
        app.post_message(UnreadChanged(session.views.unread_count()))
        session.load_symbols()
        for text in token_warnings(session.brokers.list()):
            app.post_message(Done(text, "warning"))
        connect_live_prices(app, session)

    app.run_worker(work, thread=True, exit_on_error=False, name="load positions",
                   group="session-load", exclusive=True)


def connect_live_prices(app: TraderApp, session: UserSession) -> None:
    """(worker thread) Once the user has a Kite session, the in-process engine follows their
    Kite ticker instead of simulated prices; the status bar says which."""
    from ..services.live_feed import connect_live_feed

    note = connect_live_feed(session.ctx, app.backend.engine, session.user_id)
    if note:
        app.post_message(Done(note, "warning" if "not connected" in note else "information"))
        app.post_message(EngineHealthChanged(app.backend.engine_health()))


def token_warnings(accounts) -> list[str]:
    """One line per broker session that has lapsed or lapses soon (shown at sign-in)."""
    from .formatting import ist_datetime, one_line

    out = []
    for account in accounts:
        if account.token_state == "lapsed":
            out.append(f"{one_line(account.label, 60)}: the broker session lapsed at "
                       f"{ist_datetime(account.token_expires_at)}; log in again (4, then l)")
        elif account.token_state == "expiring":
            out.append(f"{one_line(account.label, 60)}: the broker session lapses at "
                       f"{ist_datetime(account.token_expires_at)}")
    return out


def apply_book(app: TraderApp, session: UserSession, lines, names) -> None:
    session.book.load(lines, names)
    session.book.sample(session.ctx.clock.now())
    for screen in list(app.live_screens):
        screen.data_changed("positions")


async def end_session(app: TraderApp) -> None:
    session = app.user_session
    if session is None:
        return
    await asyncio.to_thread(app.backend.stop_listening)
    await app.switch_mode("login")
    app.user_session = None
    for mode in keymap.SECTIONS:
        await app.remove_mode(mode)
    app.status = replace(app.status, user="", events_ok=None, unread=0)
    login = app.screen
    if hasattr(login, "reset"):
        login.reset()
    try:
        await asyncio.to_thread(session.auth.logout, session.login.token)
    except Exception:  # the session expires on its own; nothing to tell the user
        pass
    app.notify("Logged out.")


def confirm_kill_switch(app: TraderApp) -> None:
    """Say what the kill switch will stop and square off (as SQL has it), ask, then run it;
    its outcome is a toast and an alert."""
    from .screens.confirm import ConfirmScreen

    session = app.user_session
    assert session is not None

    def run(confirmed: bool | None) -> None:
        if not confirmed:
            return

        def work() -> None:
            report = session.control.kill_switch()
            text = (f"Kill switch: {report.strategies_stopped} strategies stopped, "
                    f"{report.exit_orders} exit orders sent")
            if report.errors:
                text += f"; {len(report.errors)} problems: {report.errors[0]}"
            app.post_message(Done(text, "warning" if report.errors else "information"))
            app.post_message(UnreadChanged(session.views.unread_count()))

        app.run_worker(work, thread=True, exit_on_error=False, name="kill switch")

    def ask(question: str) -> None:
        app.push_screen(ConfirmScreen("Kill switch", question,
                                      confirm_label="Square off everything", danger=True),
                        run)

    def work() -> None:
        try:
            question = kill_switch_question(session.views.exposure())
        except Exception:  # the database blinked: the kill switch must still be offered
            question = "Stop every strategy and square off every open position at market now?"
        app.call_from_thread(ask, question)

    app.run_worker(work, thread=True, exit_on_error=False, name="kill switch question")


def kill_switch_question(exposure) -> str:
    def listed(items: list[str]) -> str:
        return ", ".join(items[:4]) + (f", +{len(items) - 4} more" if len(items) > 4 else "")

    n, m = len(exposure.running), len(exposure.open_positions)
    stop = (f"stop {n} running {'strategy' if n == 1 else 'strategies'} "
            f"({listed(list(exposure.running))})" if n else "stop nothing (none is running)")
    held = [f"{symbol} {qty:,}" for symbol, qty in exposure.open_positions]
    close = (f"square off {m} open {'position' if m == 1 else 'positions'} ({listed(held)}) "
             f"at market" if m else "square off nothing (no position is open)")
    return f"This will {stop} and {close}. Go ahead?"


def confirm_quit(app: TraderApp) -> None:
    """Quitting stops the in-process engine: with strategies running or positions open, say
    how many and ask; with nothing at stake, quit at once."""
    from .screens.confirm import ConfirmScreen

    session = app.user_session
    if app.practice_day is not None:
        # A practice day ends with the console and nothing of it is real: what quitting
        # stops is the real session's engine, kept running in the background.
        session = app.real_backend[1] if app.real_backend else None
        if session is None:
            app.exit()
            return
    if session is None or app.asking_to_quit:
        return
    app.asking_to_quit = True  # a second q while the question is up asks nothing more

    def answered(quit_now: bool | None) -> None:
        app.asking_to_quit = False
        if quit_now:
            app.exit()

    def ask(exposure) -> None:
        if not exposure.any:
            answered(True)
            return
        app.push_screen(ConfirmScreen(
            "Quit tui-trader?",
            f"{exposure.describe()}. The engine runs inside this console: quitting stops it, "
            f"and until you start the console again no stop-loss is watched and no "
            f"scheduled BUY or SELL is placed.", confirm_label="Quit", danger=True),
            answered)

    def work() -> None:
        try:
            exposure = session.views.exposure()
        except Exception:
            app.call_from_thread(setattr, app, "asking_to_quit", False)
            raise  # shown by the app's worker error handler; the console stays up
        app.call_from_thread(ask, exposure)

    app.run_worker(work, thread=True, exit_on_error=False, name="check before quitting")
