"""The entry gate: whether new entries (BUY) may be placed now, and why not.

Closed while the engine starts and reconciles, and while the live store is unreachable;
closed for one broker account whose session lapsed or that cannot be used. Exits never
pass through it: getting out of a position is always allowed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from ..domain.strategy import StrategySpec


@dataclass
class EntryGate:
    allowed: bool = False
    reason: str = "engine starting: reconciling with the broker"
    blocked_accounts: dict[uuid.UUID, str] = field(default_factory=dict)
    token_lapsed_at: dict[uuid.UUID, datetime] = field(default_factory=dict)

    def open(self) -> None:
        self.allowed, self.reason = True, ""

    def close(self, reason: str) -> None:
        self.allowed, self.reason = False, reason

    def block_for_token(self, account_id: uuid.UUID, at: datetime) -> None:
        self.blocked_accounts[account_id] = "broker token lapsed: log in again"
        self.token_lapsed_at.setdefault(account_id, at)

    def check(self, spec: StrategySpec) -> str | None:
        if not self.allowed:
            return self.reason
        if spec.broker_account_id is not None and spec.broker_account_id in \
                self.blocked_accounts:
            return self.blocked_accounts[spec.broker_account_id]
        return None
