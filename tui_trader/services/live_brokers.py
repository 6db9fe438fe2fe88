"""Builds the real broker for a LIVE strategy's account: the engine's `live_factory`.

Credentials are decrypted only here, at the moment a broker is built, and handed to the
adapter as Secrets. A lapsed or missing Kite session is a clear BrokerError, so the engine
blocks new entries for that account and tells the user to log in again.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..brokers.base import Broker, TokenExpired
from ..domain.enums import BrokerKind
from ..domain.errors import BrokerError
from .brokers import BrokerAccountService
from .context import AppContext


def make_live_factory(ctx: AppContext, **options: Any):
    """A `live_factory` for the engine. `options` go to KiteBroker (tests shorten timeouts)."""
    settings = ctx.settings

    def build(user_id: uuid.UUID, account_id: uuid.UUID) -> Broker:
        accounts = BrokerAccountService(ctx, user_id)
        creds = accounts.credentials(account_id)
        if creds.broker is not BrokerKind.KITE:
            raise BrokerError(f"{creds.broker.value.capitalize()} accounts cannot trade LIVE yet")
        if creds.access_token is None or creds.api_key is None:
            raise TokenExpired("No Kite session for this account; log in from the "
                               "Brokers screen")
        from ..brokers.kite import KiteBroker  # lazy: kiteconnect is heavy to import

        def token_source():
            fresh = accounts.credentials(account_id)
            return fresh.access_token, fresh.token_expires_at

        kwargs = {"root": creds.api_root or settings.kite_root, "clock": ctx.clock,
                  "limits": (settings.kite_orders_per_second, settings.kite_orders_per_minute,
                             settings.kite_orders_per_day), **options}
        return KiteBroker(creds.api_key, creds.access_token,
                          token_expires_at=creds.token_expires_at, token_source=token_source,
                          **kwargs)

    return build
