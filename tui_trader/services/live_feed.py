"""Moving the console's in-process engine from simulated prices to a broker's live ticker.

The console starts its engine on the simulated feed (it runs before anyone signs in). Once the
signed-in user has a broker session that can stream prices (a Kite account with a token in
date), the engine switches to that ticker: paper strategies then trade on real prices and
LIVE strategies may start, since a real stop-loss is never judged on made-up prices. The
switch is one way; a lapsed token blocks new entries (the engine's gate), it does not bring
made-up prices back.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from ..domain.enums import BrokerKind
from ..domain.errors import TuiTraderError
from ..domain.lifecycle import EngineState
from .brokers import BrokerAccountService
from .context import AppContext

log = logging.getLogger(__name__)


def wire_kite_feed(engine: Any, feed: Any, user_id: uuid.UUID,
                   account_id: uuid.UUID) -> None:
    """Connect a Kite ticker to the engine the way every engine needs it: a silent feed
    blocks new entries for the account until ticks resume, and order updates pushed over
    the ticker reach the account's broker, which tells the engine (the same path as a
    reconciliation answer)."""
    from ..brokers.feeds.kite_ticker import block_entries_while_stale

    feed.on_stale = block_entries_while_stale(engine.gate, account_id)
    feed.on_order_update = lambda data: engine.brokers.for_account(
        user_id, account_id).apply_order_update(data)
    feed.kite_account = (user_id, account_id)


def follow_new_logins(ctx: AppContext, engine: Any, feed: Any, *,
                      every_s: float = 15.0) -> threading.Thread:
    """Kite sessions lapse at 06:00 IST and the ticker's URL carries the token: once the
    trader logs in again (from any console), reconnect the engine's ticker with the new
    token. A server engine has no other way to hear of the login."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            if engine.feed is not feed or \
                    engine.state in (EngineState.STOPPING, EngineState.STOPPED):
                return
            try:
                refresh_feed_token(ctx, feed)
            except Exception:  # vault or database blinked: the next round tries again
                log.warning("Kite ticker token check failed; retrying", exc_info=True)

    thread = threading.Thread(target=loop, name="kite-token-follower", daemon=True)
    thread.start()
    return thread


def refresh_feed_token(ctx: AppContext, feed: Any) -> bool:
    """Reconnect `feed` with its account's stored token if that is newer and in date."""
    user_id, account_id = feed.kite_account
    creds = BrokerAccountService(ctx, user_id).credentials(account_id)
    token, expires = creds.access_token, creds.token_expires_at
    if token is None or expires is None or expires <= ctx.clock.now():
        return False
    if feed.uses_token(token):
        return False
    feed.restart_with_token(token)
    log.info("Kite ticker reconnected with the new session of account %s", account_id)
    return True


def live_feed_account(ctx: AppContext, user_id: uuid.UUID) -> uuid.UUID | None:
    """The user's first active Kite account whose session is in date, if any."""
    for view in BrokerAccountService(ctx, user_id).list():
        if view.broker is BrokerKind.KITE and view.is_active and \
                view.token_state in ("valid", "expiring"):
            return view.id
    return None


def connect_live_feed(ctx: AppContext, engine: Any, user_id: uuid.UUID,
                      **feed_options: Any) -> str | None:
    """Switch an in-process engine on the simulated feed to the user's Kite ticker.

    Returns a one-line note for the user when it switched, None when there was nothing to do
    (a server engine, already live, or no Kite session). A failure to build the feed is a
    note too: the console keeps running on what it had.
    """
    if not hasattr(engine, "use_feed"):
        return None
    if engine.feed_name() == "kite":
        # Already live: after the daily re-login, reconnect the ticker with the new token.
        feed = engine.feed
        if getattr(feed, "kite_account", (None,))[0] == user_id and \
                refresh_feed_token(ctx, feed):
            return "Live prices: the Kite ticker reconnected with your new session."
        return None
    if engine.feed_name() not in ("simulated", "replay"):
        return None
    account = live_feed_account(ctx, user_id)
    if account is None:
        return None
    from .market_data import kite_ticker_feed

    try:
        feed = kite_ticker_feed(ctx, user_id, account, **feed_options)
        wire_kite_feed(engine, feed, user_id, account)
        engine.use_feed(feed)
        follow_new_logins(ctx, engine, feed)  # a login from another console counts too
    except TuiTraderError as exc:
        log.warning("live prices not connected: %s", exc)
        return f"Live prices not connected: {exc}"
    return "Live prices: the engine now follows your Kite ticker (paper and LIVE strategies)."
