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
import uuid
from typing import Any

from ..domain.enums import BrokerKind
from ..domain.errors import TuiTraderError
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
    if not hasattr(engine, "use_feed") or engine.feed_name() not in ("simulated", "replay"):
        return None
    account = live_feed_account(ctx, user_id)
    if account is None:
        return None
    from .market_data import kite_ticker_feed

    try:
        feed = kite_ticker_feed(ctx, user_id, account, **feed_options)
        wire_kite_feed(engine, feed, user_id, account)
        engine.use_feed(feed)
    except TuiTraderError as exc:
        log.warning("live prices not connected: %s", exc)
        return f"Live prices not connected: {exc}"
    return "Live prices: the engine now follows your Kite ticker (paper and LIVE strategies)."
