"""The Brokers screen's connection test: can this account trade now? One line to show.

Paper always can. A Kite account needs a session (a login today) and an answer from Kite to
a funds request, which proves its API key and access token work.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ..domain.enums import BrokerKind
from ..domain.labels import broker_name
from .brokers import BrokerAccountService
from .context import AppContext


@dataclass(frozen=True)
class ConnectionCheck:
    """`text` is the line to show; `ready` is False when the account cannot trade yet for a
    reason the trader can act on (no session yet, a broker this version cannot use)."""

    text: str
    ready: bool


def check_connection(ctx: AppContext, user_id: uuid.UUID,
                     account_id: uuid.UUID | str) -> ConnectionCheck:
    """Ask the account's broker. A refusal (a lapsed session, a wrong key) raises the
    broker's TuiTraderError; another user's account is a NotFoundError."""
    creds = BrokerAccountService(ctx, user_id).credentials(account_id)
    if creds.broker is BrokerKind.PAPER:
        return ConnectionCheck("Paper: OK (simulated fills; no connection needed)", True)
    if creds.broker is not BrokerKind.KITE:
        return ConnectionCheck(f"{broker_name(creds.broker)}: not yet available", False)
    try:
        from ..brokers.kite import KiteBroker  # lazy: kiteconnect is heavy to import
    except ImportError:
        return ConnectionCheck("Kite: connection test not yet available (the Kite adapter "
                               "is not installed)", False)
    if creds.access_token is None:
        return ConnectionCheck("Kite: no access token yet; log in first (l)", False)
    broker = KiteBroker(creds.api_key, creds.access_token,
                        root=creds.api_root or ctx.settings.kite_root,
                        token_expires_at=creds.token_expires_at, clock=ctx.clock)
    try:
        cash = broker.funds()
    finally:
        broker.close()
    return ConnectionCheck(f"Kite: OK, available cash {cash:,.2f}", True)
