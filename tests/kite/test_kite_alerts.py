"""A LIVE order's alerts reach a webhook from the real engine through the relay: nothing
while Kite has only accepted it (resting, partly filled), "filled" once its answer is final
(COMPLETE)."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import Any

from alert_sinks import WebhookSink

from tui_trader.domain.alerts import ChannelKind
from tui_trader.domain.events import NotificationRaised
from tui_trader.live import keys
from tui_trader.live.store import db_number
from tui_trader.services.notify_channels import NotificationSettings, webhook_config
from tui_trader.services.notify_delivery import AlertDispatcher
from tui_trader.services.notify_relay import NotificationRelay

from .test_kite_engine import LiveHarness, live  # noqa: F401 - the harness and its fixture


def test_filled_is_announced_on_complete_never_on_acceptance(
        live: Callable[..., LiveHarness]) -> None:  # noqa: F811
    h = live()
    ctx = h.ctx
    dispatcher = AlertDispatcher(ctx, attempts=1)
    relay = NotificationRelay(ctx.store, dispatcher)
    dispatcher.start()
    relay.start()
    try:
        with WebhookSink() as hook:
            config, hint = webhook_config(hook.url())
            NotificationSettings(ctx, h.user.id).add(ChannelKind.WEBHOOK, "hook", config, hint)
            hook.received.wait_for(1)
            assert relay.subscribed.wait(10)
            h.sandbox.set_liquidity("INFY", 4)  # accepted, 4 of 10 filled, the rest rests
            announced: queue.Queue[dict[str, Any]] = queue.Queue()
            h.sandbox.add_order_listener(lambda _user, data: announced.put(data))
            h.tick("INFY", "1520.00")
            h.advance_to(9, 30)
            h.settle()
            # a marker after the acceptance: had anything been announced, it came first
            ctx.store.publish(keys.events(str(h.user.id), db_number(ctx.store)),
                              NotificationRaised(user_id=str(h.user.id), notification_id="m",
                                                 kind="REJECTION", severity="ERROR",
                                                 title="marker").to_json())
            assert hook.received.wait_for(2)[1][2]["title"] == "marker"
            h.sandbox.set_liquidity("INFY", None)
            h.sandbox.set_price("INFY", "1524")
            broker = h.engine.brokers.for_account(h.user.id, h.account)
            while True:
                update = announced.get(timeout=5)
                broker.apply_order_update(update)
                if update["status"] == "COMPLETE":
                    break
            h.settle()
            body = hook.received.wait_for(3)[2][2]
            assert body["title"] == "INFY live: buy 10 INFY filled"
            assert body["message"] == "at 1522.4"
    finally:
        relay.stop()
        dispatcher.stop()
