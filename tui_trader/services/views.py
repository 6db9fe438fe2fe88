"""Plain, immutable views the UI and CLI receive instead of ORM rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ..domain.enums import BrokerKind, Role
from ..domain.schedule import MISSED_NOTE


@dataclass(frozen=True)
class UserView:
    id: uuid.UUID
    email: str
    name: str | None
    role: Role
    theme: str | None


@dataclass(frozen=True)
class LoginResult:
    user: UserView
    token: str  # opaque session token; only its hash is stored
    expires_at: datetime
    session_id: uuid.UUID | None = None  # the user_sessions row (names it to the engine)

    def __repr__(self) -> str:
        return f"LoginResult(user={self.user!r}, token='********', expires_at={self.expires_at})"


@dataclass(frozen=True)
class BrokerAccountView:
    id: uuid.UUID
    broker: BrokerKind
    label: str
    api_key_hint: str | None  # e.g. "••••k3y9": enough to recognise, never the key
    has_secret: bool
    has_token: bool
    token_expires_at: datetime | None
    token_state: str  # "none", "valid", "expiring", "lapsed"
    is_active: bool


@dataclass(frozen=True)
class StrategyRow:
    """One row of the strategies table, with today's P&L."""

    id: uuid.UUID
    name: str
    symbol: str
    buy_time: str
    sell_time: str
    stop_loss: Decimal
    quantity: int
    mode: str
    status: str
    status_reason: str | None
    pnl_today: Decimal
    kind: str = "scheduled"
    kind_name: str = "Scheduled"  # the catalog's short name, for the table
    held: int = 0  # the open position's signed quantity (0: flat)
    last_signal: str = ""  # "BUY Mon 09:30 @ 1,520.00" (services.strategy_words)
    next_action: str = ""  # "buys Mon 09:30", "watching stop 1,482.50"

    @property
    def missed_buy(self) -> bool:
        """Its last BUY came while no engine ran (see the status line for when)."""
        return self.status == "running" and (self.status_reason or "").startswith(MISSED_NOTE)
