"""A practice day in the console: the sections switch to the practice day's own context,
engine and user (services.practice), and back again when it is left.

While practising, the real backend is kept aside, untouched: its engine goes on watching
the real strategies and their stops; only the screens follow the practice. The status bar
says PRACTICE with the day and the speed the whole time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from ..domain.clock import IST
from . import keymap
from .backend import Backend
from .formatting import one_line
from .messages import Done

if TYPE_CHECKING:
    from ..domain.practice import PracticePlan
    from .app import TraderApp

log = logging.getLogger(__name__)


def practise(app: TraderApp, plan: PracticePlan | None = None) -> None:
    """`p`: start a practice day (the last trading day before today by default), or leave
    the one running."""
    if app.practice_day is not None:
        app.run_worker(leave_practice(app), exclusive=True, group="practice-switch")
        return
    if app.practice_busy or app.boot is None or app.backend.ctx is None:
        return
    if plan is None and app.user_session is None:
        return  # the key is for a signed-in trader (`tui-trader practice` needs no one)
    app.practice_busy = True
    if plan is None:
        from ..domain.clock import ist_date
        from ..domain.errors import TuiTraderError
        from ..domain.practice import plan_practice

        try:
            plan = plan_practice(app.backend.ctx.calendar, None, None,
                                 ist_date(app.backend.ctx.clock.now()))
        except TuiTraderError as exc:
            app.practice_busy = False
            app.notify(str(exc), title="Practice", severity="error")
            return
    app.notify(f"Preparing {plan.label().lower().replace('practice', 'a practice day:')}, "
               f"apart from your real book...", title="Practice", timeout=4)
    session = app.user_session
    email = session.user.email if session is not None else None
    name = session.user.name if session is not None else None
    real_ctx = app.backend.ctx

    def work() -> None:
        from ..services.practice import PRACTICE_SAMPLES, open_practice_day, own_strategies

        try:
            samples, skipped = (own_strategies(real_ctx, session.user_id, plan)
                                if session is not None else ([], []))
            for line in skipped:
                app.post_message(Done(f"Not practised: {line}", "warning"))
            day = open_practice_day(app.settings, plan, email=email, name=name,
                                    samples=samples or PRACTICE_SAMPLES)
            day.start()
        except Exception as exc:
            log.exception("the practice day did not start")
            app.call_from_thread(setattr, app, "practice_busy", False)
            app.post_message(Done(f"The practice day did not start: "
                                  f"{one_line(str(exc) or type(exc).__name__, 200)}", "error"))
            return
        app.call_from_thread(lambda: app.run_worker(enter_practice(app, day), exclusive=True,
                                                    group="practice-switch"))

    app.run_worker(work, thread=True, exit_on_error=False, name="practice day",
                   group="practice")


async def _drop_sections(app: TraderApp) -> None:
    """Back to the login screen with no section built (they belong to one user's data)."""
    session_was_shown = app.user_session is not None
    await asyncio.to_thread(app.backend.stop_listening)
    await app.switch_mode("login")
    app.user_session = None
    if session_was_shown:
        for mode in keymap.SECTIONS:
            await app.remove_mode(mode)


async def enter_practice(app: TraderApp, day) -> None:
    from .session_flow import start_session

    real = (app.backend, app.user_session, app.clock)
    await _drop_sections(app)
    app.real_backend = real
    app.backend = Backend(day.ctx.settings, clock=day.clock, ctx=day.ctx, engine=day.engine,
                          event_interval=real[0].event_interval)
    app.clock = day.clock
    app.practice_day = day
    app.practice_busy = False
    app.practice_over_told = False
    app.status = replace(app.status, practice=day.label(), user="", unread=0)
    start_session(app, day.login)
    app.refresh_status()
    app.notify(f"{day.label()}: the clock runs {day.plan.speed:g}x from "
               f"{day.plan.starts_at.astimezone(IST):%H:%M} IST; practising "
               f"{', '.join(day.strategy_names)}. Press p to leave.", title="Practice",
               timeout=8)


async def leave_practice(app: TraderApp) -> None:
    from .session_flow import show_session

    day = app.practice_day
    if day is None or app.real_backend is None:
        return
    await _drop_sections(app)
    backend, session, clock = app.real_backend
    app.backend, app.clock = backend, clock
    app.practice_day = None
    app.real_backend = None
    app.status = replace(app.status, practice="", user="", events_ok=None, unread=0)
    await asyncio.to_thread(day.close)
    if session is not None:
        show_session(app, session)
    else:
        login = app.screen
        if hasattr(login, "reset"):
            login.reset()
    app.refresh_status()
    app.notify("Practice over: back to your real book.", title="Practice", timeout=4)


def check_practice_over(app: TraderApp) -> None:
    """(worker thread) Once the practice day is done (its session over, or every sample
    sold with nothing working), say so once, with its net P&L."""
    day = app.practice_day
    if day is None or app.practice_over_told or day.closed:
        return
    if not day.finished():
        return
    result = day.result()
    app.practice_over_told = True
    filled = sum(1 for order in result.orders if order.status == "FILLED")
    app.post_message(Done(f"{day.label()} done: {filled} orders filled, net P&L "
                          f"{result.net_pnl:+,.2f}. Press p to leave practice.",
                          "information"))


def close_practice(app: TraderApp) -> None:
    """At exit: stop a practice day still running and the real backend kept aside."""
    day = app.practice_day
    if day is not None:
        try:
            day.close()
        except Exception:
            log.exception("closing the practice day failed")
    if app.real_backend is not None:
        app.backend = app.real_backend[0]
        app.real_backend = None
