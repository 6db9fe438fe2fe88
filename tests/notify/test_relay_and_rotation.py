"""The engine's published notifications reach external channels through the relay (once,
however many relays listen), engine-down reaches every user with a channel, and a master-key
rotation re-seals channel secrets like broker keys (audited)."""

from __future__ import annotations

import pytest
from alert_sinks import WebhookSink

from tui_trader.domain.alerts import ChannelKind
from tui_trader.domain.audit import AuditAction
from tui_trader.domain.events import EngineStatus, NotificationRaised
from tui_trader.domain.lifecycle import EngineState
from tui_trader.live import keys
from tui_trader.live.store import db_number
from tui_trader.services.audit import audit_trail
from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import rotate_master_key
from tui_trader.services.notify_channels import (
    NotificationSettings,
    channel_targets,
    webhook_config,
)
from tui_trader.services.notify_delivery import AlertDispatcher
from tui_trader.services.notify_relay import NotificationRelay


@pytest.fixture
def user(ctx):
    return AuthService(ctx).sign_up("trader@example.com", "correct-horse-battery").id


def _publish(ctx, channel: str, event) -> None:
    ctx.store.publish(channel, event.to_json())


def test_published_notifications_go_out_once_and_engine_down_to_everyone(ctx, user):
    dispatcher = AlertDispatcher(ctx, attempts=1)
    relays = [NotificationRelay(ctx.store, dispatcher) for _ in range(2)]
    dispatcher.start()
    for relay in relays:
        relay.start()
    db = db_number(ctx.store)
    try:
        with WebhookSink() as hook:
            config, hint = webhook_config(hook.url())
            NotificationSettings(ctx, user).add(ChannelKind.WEBHOOK, "hook", config, hint)
            hook.received.wait_for(1)
            for relay in relays:
                assert relay.subscribed.wait(10)
            fill = NotificationRaised(user_id=str(user), notification_id="n-1", kind="FILL",
                                      severity="INFO", title="EMA: buy 5 TCS filled",
                                      body="at 4100")
            _publish(ctx, keys.events(str(user), db), fill)
            _publish(ctx, keys.engine_events(db), EngineStatus(
                user_id="*", state=EngineState.ENTRIES_BLOCKED, entries_allowed=False,
                detail="live store unreachable"))
            titles = [item[2]["title"] for item in hook.received.wait_for(3)[1:]]
            assert titles == ["EMA: buy 5 TCS filled", "tui-trader engine: entries blocked"]
            # once each, though two relays heard both: a third message comes last
            _publish(ctx, keys.events(str(user), db), NotificationRaised(
                user_id=str(user), notification_id="n-2", kind="REJECTION",
                severity="ERROR", title="last", body=""))
            assert hook.received.wait_for(4)[3][2]["title"] == "last"
            assert len(hook.received.items) == 4
    finally:
        for relay in relays:
            relay.stop()
        dispatcher.stop()
    assert sum(r.relayed for r in relays) == 3


def test_rotation_reseals_channels_and_is_audited(ctx, user):
    with WebhookSink() as hook:
        config, hint = webhook_config(hook.url("/h?token=abcdef123456"))
        NotificationSettings(ctx, user).add(ChannelKind.WEBHOOK, "hook", config, hint)
    before = ctx.vault.current_key_id()
    report = rotate_master_key(ctx)
    assert report.ok and report.rotated == 1 and before in report.retired
    (target,) = channel_targets(ctx, user)  # opens under the new key only
    assert "abcdef123456" in target.url.reveal()
    actions = [e.action for e in audit_trail(ctx)]
    assert sorted(actions) == [AuditAction.CHANNEL_ADDED, AuditAction.KEY_ROTATED]


def test_the_engines_last_words_go_out_before_the_process_stops(ctx, user):
    from tui_trader.services.background import BackgroundJobs

    jobs = BackgroundJobs(ctx, retention=False, system_log=False).start()
    stopped = False
    try:
        with WebhookSink() as hook:
            config, hint = webhook_config(hook.url())
            NotificationSettings(ctx, user).add(ChannelKind.WEBHOOK, "hook", config, hint)
            hook.received.wait_for(1)
            assert jobs.relay.subscribed.wait(10)
            _publish(ctx, keys.engine_events(db_number(ctx.store)),
                     EngineStatus(user_id="*", state="stopped", entries_allowed=False))
            jobs.stop()  # at once, as `tui-trader engine` does after the engine stopped
            stopped = True
            # drained before stop returned: already delivered, no waiting needed
            assert [i[2]["title"] for i in hook.received.items] == [
                "tui-trader: channel added", "tui-trader engine stopped"]
    finally:
        if not stopped:
            jobs.stop()
