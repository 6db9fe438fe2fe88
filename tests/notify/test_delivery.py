"""Alerts delivered for real, through apprise, to a local HTTP webhook and a local SMTP
server; a dead or slow channel retried and reported while the others deliver; preferences
obeyed; secrets in no log line, repr or clear-text column; bad channels refused, nothing
saved."""

from __future__ import annotations

import logging
import threading

import pytest
import sqlalchemy as sa
from alert_sinks import SmtpSink, WebhookSink, refused_port

from tui_trader.domain.alerts import AlertKind, AlertMode, ChannelKind
from tui_trader.domain.errors import ValidationError
from tui_trader.security.redaction import default_redactor
from tui_trader.services.auth import AuthService
from tui_trader.services.notify_channels import (
    NotificationSettings,
    email_config,
    telegram_config,
    webhook_config,
)
from tui_trader.services.notify_delivery import Alert, AlertDispatcher

TOKEN = "hook-token-5f3a9c2e71"
SMTP_PASSWORD = "smtp-pass-8d41b7"


def wait_until(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        done.wait(0.02)
    raise AssertionError(f"{what} not reached within {timeout}s")


@pytest.fixture
def user(ctx):
    return AuthService(ctx).sign_up("trader@example.com", "correct-horse-battery").id


@pytest.fixture
def dispatcher(ctx):
    d = AlertDispatcher(ctx, attempts=3, backoff=0.01, max_backoff=0.02)
    d.start()
    yield d
    d.stop()


def _add_webhook(ctx, user, url: str, label: str, test: bool = True):
    config, hint = webhook_config(url)
    return NotificationSettings(ctx, user).add(ChannelKind.WEBHOOK, label, config, hint,
                                               test=test)


def test_webhook_and_email_receive_an_alert(ctx, user, dispatcher):
    with WebhookSink() as hook, SmtpSink() as smtp:
        settings = NotificationSettings(ctx, user)
        _add_webhook(ctx, user, hook.url(f"/alerts?token={TOKEN}"), "hook")
        config, hint = email_config("me@example.com", "127.0.0.1", smtp.port, "insecure",
                                    "bot@example.com", SMTP_PASSWORD)
        settings.add(ChannelKind.EMAIL, "mail", config, hint)
        # each was test-delivered before it was saved
        assert hook.received.wait_for(1)[0][2]["title"] == "tui-trader: channel added"
        assert smtp.received.wait_for(1)

        assert dispatcher.submit(Alert(user, AlertKind.FILL, "EMA: buy 10 INFY filled",
                                       "at 1520.50"))
        path, _headers, body = hook.received.wait_for(2)[1]
        assert path == f"/alerts?token={TOKEN}"  # the webhook's own query kept
        assert (body["title"], body["message"]) == ("EMA: buy 10 INFY filled", "at 1520.50")
        sender, rcpts, text = smtp.received.wait_for(2)[1]
        assert "bot@example.com" in sender and rcpts == ["<me@example.com>"]
        assert "EMA: buy 10 INFY filled" in text and "at 1520.50" in text
        assert smtp.logins  # the SMTP user signed in
    views = {v.label: v for v in settings.list()}
    assert views["hook"].state == views["mail"].state == "ok"
    assert views["hook"].hint.endswith("/…") and TOKEN not in views["hook"].hint


def test_a_dead_channel_is_retried_and_reported_while_others_deliver(ctx, user, dispatcher):
    settings = NotificationSettings(ctx, user)
    dead = f"http://127.0.0.1:{refused_port()}/hook?token={TOKEN}"
    with WebhookSink() as good:
        _add_webhook(ctx, user, dead, "dead", test=False)
        _add_webhook(ctx, user, good.url(), "good")
        dispatcher.submit(Alert(user, AlertKind.RISK_HALT, "Trading halted", "loss limit"))
        assert good.received.wait_for(2)[1][2]["title"] == "Trading halted"
        wait_until(lambda: dispatcher.stats.given_up == 1, what="the dead channel given up")
    views = {v.label: v for v in settings.list()}
    assert views["dead"].state == "failing" and views["dead"].failures == 3  # retried
    assert "connection" in views["dead"].last_error.lower()
    assert TOKEN not in views["dead"].last_error
    assert views["good"].state == "ok"
    assert dispatcher.stats.delivered == 1 and dispatcher.stats.failed_attempts == 3


def test_a_slow_channel_holds_up_nothing_else(ctx, user, dispatcher):
    with WebhookSink() as slow, WebhookSink() as fast:
        _add_webhook(ctx, user, slow.url(), "slow")
        _add_webhook(ctx, user, fast.url(), "fast")
        slow.received.wait_for(1)
        gate = threading.Event()
        slow.block = gate  # from now on the slow server answers only when the gate opens
        try:
            for n in range(3):
                assert dispatcher.submit(Alert(user, AlertKind.FILL, f"fill {n}"))
            titles = [item[2]["title"] for item in fast.received.wait_for(4)[1:]]
            assert titles == ["fill 0", "fill 1", "fill 2"]
            assert len(slow.received.items) == 1  # still waiting on the first
        finally:
            gate.set()
        assert [i[2]["title"] for i in slow.received.wait_for(4)[1:]] == \
            ["fill 0", "fill 1", "fill 2"]


def test_only_alert_kinds_set_on_go_out(ctx, user, dispatcher):
    settings = NotificationSettings(ctx, user)
    with WebhookSink() as hook:
        _add_webhook(ctx, user, hook.url(), "hook")
        settings.set_preferences({AlertKind.FILL: AlertMode.SILENT,
                                  AlertKind.STOPLOSS: AlertMode.OFF})
        for kind in (AlertKind.FILL, AlertKind.STOPLOSS, AlertKind.REJECTION):
            dispatcher.submit(Alert(user, kind, kind.value))
        # alerts are routed in order: had FILL or STOPLOSS gone out, it would be first
        assert hook.received.wait_for(2)[1][2]["title"] == "REJECTION"
    assert settings.preferences()[AlertKind.FILL] is AlertMode.SILENT
    assert settings.preferences()[AlertKind.RISK_HALT] is AlertMode.ON  # the default


def test_no_secret_in_logs_reprs_or_clear_columns(ctx, user, dispatcher, caplog):
    caplog.handler.addFilter(default_redactor)  # as install_redaction does for every handler
    caplog.set_level(logging.DEBUG)
    settings = NotificationSettings(ctx, user)
    dead_port = refused_port()
    try:
        _add_webhook(ctx, user, f"http://127.0.0.1:{dead_port}/h?token={TOKEN}", "dead",
                     test=False)
        config, hint = email_config("me@example.com", "127.0.0.1", dead_port, "insecure",
                                    "bot@example.com", SMTP_PASSWORD)
        settings.add(ChannelKind.EMAIL, "mail", config, hint, test=False)
        dispatcher.submit(Alert(user, AlertKind.FILL, "fill"))
        wait_until(lambda: dispatcher.stats.given_up == 2, what="both channels given up")
    finally:
        caplog.handler.removeFilter(default_redactor)
    assert "failed (attempt" in caplog.text  # the failures were logged...
    for secret in (TOKEN, SMTP_PASSWORD):  # ...without the secrets
        assert secret not in caplog.text
        assert all(secret not in repr(v) for v in settings.list())
    with ctx.db.connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(sa.text(
            "SELECT * FROM notification_channels")).all() for v in row)
    assert TOKEN not in stored and SMTP_PASSWORD not in stored and "v1:" in stored


def test_bad_channels_are_refused_naming_the_field_and_nothing_is_saved(ctx, user):
    settings = NotificationSettings(ctx, user)
    cases = [
        (lambda: webhook_config("ftp://example.com/x"), "Webhook URL"),
        (lambda: webhook_config("not a url"), "Webhook URL"),
        (lambda: webhook_config(""), "Webhook URL: is required"),
        (lambda: telegram_config("12345", ""), "Bot token: is required"),
        (lambda: telegram_config("12345", "nope"), "Bot token"),
        (lambda: email_config("me@example.com", "smtp.example.com", 587, "starttls", "u", ""),
         "SMTP password: is required"),
        (lambda: email_config("me@", "smtp.example.com", 587, "starttls", "", ""), "Send to"),
        (lambda: email_config("me@example.com", "smtp.example.com", 70000, "ssl", "", ""),
         "SMTP port"),
    ]
    for make, said in cases:
        with pytest.raises(ValidationError) as caught:
            make()
        assert str(caught.value).startswith(said.split(":")[0]) and said in str(caught.value)
    with pytest.raises(ValidationError) as caught:  # unreachable: the test message fails
        _add_webhook(ctx, user, f"http://127.0.0.1:{refused_port()}/h?token={TOKEN}", "x")
    assert str(caught.value).startswith("Webhook URL: a test message could not be delivered")
    assert "nothing saved" in str(caught.value) and TOKEN not in str(caught.value)
    with WebhookSink() as hook:
        _add_webhook(ctx, user, hook.url(), "taken")
        with pytest.raises(ValidationError, match="^Label: 'taken' is already used"):
            _add_webhook(ctx, user, hook.url(), "taken")
    assert [v.label for v in settings.list()] == ["taken"]
