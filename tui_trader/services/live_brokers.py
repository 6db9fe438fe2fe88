"""Builds the real broker for a LIVE strategy's account: the engine's `live_factory`.

Credentials are decrypted only here, at the moment a broker is built, and handed to the
adapter as Secrets. A lapsed or missing Kite session is a clear BrokerError, so the engine
blocks new entries for that account and tells the user to log in again. Credentials that do
not decrypt, or an account that is not the user's, are an AccountUnusable naming the
account: the engine sets that account aside and everyone else goes on trading.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..brokers.base import AccountUnusable, Broker, TokenExpired
from ..domain.enums import BrokerKind
from ..domain.errors import BrokerError, NotFoundError, VaultError
from .brokers import BrokerAccountService
from .context import AppContext


def make_live_factory(ctx: AppContext, **options: Any):
    """A `live_factory` for the engine. `options` go to KiteBroker (tests shorten timeouts)."""
    settings = ctx.settings

    def build(user_id: uuid.UUID, account_id: uuid.UUID) -> Broker:
        accounts = BrokerAccountService(ctx, user_id)
        try:
            creds = accounts.credentials(account_id)
        except NotFoundError:
            raise AccountUnusable(account_id, f"broker account {account_id} is not an account "
                                              f"of yours; its orders cannot be checked",
                                  foreign=True) from None
        except VaultError as exc:
            raise AccountUnusable(account_id, f"broker account '{accounts.label(account_id)}' "
                                              f"({account_id}): its stored credentials do not "
                                              f"decrypt ({exc}); enter its API key and secret "
                                              f"again on the Brokers screen") from None
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
