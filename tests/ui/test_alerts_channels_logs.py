"""From Alerts: the Channels screen (a failing channel shown with why; Enter cycles an
alert's mode, stored at once; toasts follow the mode) and the Logs screen (kept warnings and
errors filtered by level and component; the user's audit trail)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tui_trader.db.models import SystemLog
from tui_trader.domain.alerts import AlertKind, AlertMode, ChannelKind
from tui_trader.domain.enums import Severity
from tui_trader.domain.events import NotificationRaised
from tui_trader.services.notify_channels import (
    NotificationSettings,
    record_delivery,
    webhook_config,
)
from tui_trader.ui.messages import EngineEventsBatch

from .conftest import log_in, settle, table_text, wait_until


def _seed_logs(ctx) -> None:
    with ctx.db.begin() as conn:
        for minute, component, level, message in (
                (5, "engine.executor", Severity.ERROR, "placing failed: [bold]broker[/] down"),
                (1, "brokers.kite", Severity.WARNING, "token expires soon")):
            conn.execute(SystemLog.__table__.insert().values(
                id=uuid.uuid4(), component=component, level=level, message=message,
                data={}, created_at=datetime(2026, 11, 23, 3, minute, tzinfo=UTC)))


async def test_channels_show_failures_and_modes_cycle(make_app, ctx, user, fake_engine):
    config, hint = webhook_config("http://127.0.0.1:9/hook?token=ui-secret-123456")
    channel = NotificationSettings(ctx, user.id).add(ChannelKind.WEBHOOK, "desk", config,
                                                     hint, test=False)
    record_delivery(ctx, channel.id, "A Connection error occurred", ctx.clock.now())
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot)
        await pilot.press("5", "c")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ChannelsScreen")
        await settle(pilot)
        (row,) = table_text(app, "#channels-table")
        assert row[:4] == ["desk", "webhook", "http://127.0.0.1:9/…", "failing"]
        assert row[4] == "1 failed: A Connection error occurred"
        assert "ui-secret-123456" not in "".join(row)
        modes = table_text(app, "#modes-table")
        assert modes[0] == ["Fill", "on"]
        await pilot.press("enter")  # Fill: on -> silent
        await wait_until(pilot, lambda: table_text(app, "#modes-table")[0] == ["Fill",
                                                                               "silent"])
        assert NotificationSettings(ctx, user.id).preferences()[AlertKind.FILL] is \
            AlertMode.SILENT
        await pilot.press("escape")
        # A silent fill is counted but not toasted; a rejection (on) is toasted.
        before = list(app.notices_seen)
        unread = app.status.unread
        app.post_message(EngineEventsBatch([
            NotificationRaised(user_id=str(user.id), notification_id="a", kind="FILL",
                               severity="INFO", title="quiet fill"),
            NotificationRaised(user_id=str(user.id), notification_id="b", kind="REJECTION",
                               severity="ERROR", title="loud rejection", body="margin")]))
        await wait_until(pilot, lambda: app.status.unread == unread + 2)
        new = app.notices_seen[len(before):]
        assert new == ["margin"]


async def test_logs_filter_by_level_and_component_and_show_the_audit_trail(
        make_app, ctx, user, fake_engine):
    _seed_logs(ctx)
    app = make_app(ctx=ctx, engine=fake_engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await log_in(pilot)
        await pilot.press("5", "l")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "LogsScreen")
        await settle(pilot)
        rows = table_text(app, "#logs-table")
        assert [r[1:3] for r in rows] == [["ERROR", "engine.executor"],
                                          ["WARNING", "brokers.kite"]]
        assert rows[0][3] == "placing failed: [bold]broker[/] down"  # data, not markup
        await pilot.press("l")  # error or worse
        await wait_until(pilot, lambda: len(table_text(app, "#logs-table")) == 1)
        await pilot.press("l", "l")  # critical, then warning again
        await pilot.press("c")  # the first component: brokers.kite
        await wait_until(pilot, lambda: [r[2] for r in table_text(app, "#logs-table")] ==
                         ["brokers.kite"])
        await pilot.press("a")  # the audit trail: the sign-in just now
        await wait_until(pilot, lambda: [r[1:3] for r in table_text(app, "#logs-table")] ==
                         [["LOGIN", "OK"]])
        await pilot.press("escape")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "NotificationsScreen")
