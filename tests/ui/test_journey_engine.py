"""The whole trading journey through the real embedded engine: create a strategy (a bad
stop-loss first), start it, watch the buy and then a simulated stop-loss fill arrive in
positions and the order log by engine events, open the order's history, stop it."""

from __future__ import annotations

from .conftest import field_error, log_in, settle, table_text, type_into, wait_until
from .test_strategies import GOOD


def _positions(app):
    return table_text(app, "#positions-table") if app.current_mode == "positions" else []


async def test_create_start_stop_loss_fill_and_stop(make_app, ctx, user, paper_account, engine):
    app = make_app(ctx=ctx, engine=engine.engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await log_in(pilot)
        await wait_until(pilot, lambda: app.status.engine == "running", what="engine state")

        # Create: a bad stop-loss is refused at its field, then a good one is saved.
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        for name, value in {**GOOD, "stop_loss": "abc"}.items():
            await type_into(pilot, f"#input-{name}", value)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert field_error(app, "stop_loss") == "must be a number like 1520.50"
        assert app.user_session.strategies.list() == []
        await type_into(pilot, "#input-stop_loss", "1500")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: len(table_text(app, "#strategies-table")) == 1,
                         what="strategy saved")

        # Start it: the engine schedules the legs and says when it buys.
        await pilot.press("s")
        await wait_until(pilot, lambda: table_text(app, "#strategies-table")[0][0] == "▶",
                         what="running status")
        assert any(text.startswith("Started:") for text in app.notices_seen)

        # 09:30 IST: the BUY leg fires and fills on the paper broker.
        await pilot.press("1")
        engine.tick("INFY", "1520.00")
        engine.advance_to(9, 30)
        await wait_until(pilot, lambda: any(r[0] == "INFY" and r[6] == "OPEN"
                                            for r in _positions(app)),
                         what="open position", timeout=30)
        (row,) = _positions(app)
        assert row[1] == "10" and row[2] == "1,520.00"

        # The price falls through the stop-loss: the position is closed at a loss.
        engine.tick("INFY", "1510.00")

        def feed_keeps_ticking_below_the_stop():
            # A live feed keeps sending prices; the stop-loss triggers once however many.
            engine.tick("INFY", "1499.95")
            return any(r[6] == "CLOSED" for r in _positions(app))

        def state() -> str:  # what to look at if this ever times out
            executor = engine.engine.executor
            return (f"stop-loss fill: positions {_positions(app)}, executor "
                    f"{executor.counters}, held {executor.held_count}, router "
                    f"{engine.engine.router.counters}, watch "
                    f"{engine.engine.router.get(app.user_session.strategies.list()[0].id)}")

        await wait_until(pilot, feed_keeps_ticking_below_the_stop, timeout=30, what=state)
        (row,) = _positions(app)
        assert row[5].startswith("-"), f"realized P&L carries its sign: {row}"
        totals = str(app.screen.query_one("#positions-totals").content)
        assert "realized -" in totals
        assert any("stop" in text.lower() for text in app.notices_seen), app.notices_seen

        # The order log, newest first: the stop-loss SELL above the BUY.
        await pilot.press("3")
        await wait_until(pilot, lambda: len(table_text(app, "#orders-table")) == 2,
                         what="orders")
        orders = table_text(app, "#orders-table")
        assert [(o[2], o[3], o[7]) for o in orders] == [("SELL", "STOPLOSS", "FILLED"),
                                                         ("BUY", "BUY", "FILLED")]
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.__class__.__name__ == "OrderDetailScreen"
        history = table_text(app, "#order-history")
        # (Under the frozen clock every transition has the same time, so only the set is
        # stable: the repository breaks time ties by random id.)
        assert {h[1] for h in history} >= {"PENDING", "FILLED"}
        await pilot.press("escape")
        await settle(pilot)

        # Filter: only BUYs.
        app.screen.query_one("#filter-side").value = "BUY"
        await wait_until(pilot, lambda: len(table_text(app, "#orders-table")) == 1,
                         what="filtered")

        # Stop it.
        await pilot.press("2")
        await settle(pilot)
        await pilot.press("x")
        await wait_until(pilot, lambda: table_text(app, "#strategies-table")[0][0] == "■",
                         what="stopped")
        assert app.status.unread > 0, "fills raised notifications"
