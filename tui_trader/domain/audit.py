"""The security-relevant actions the audit trail records, and their outcomes.

Pure data: services write one `audit_events` row per action they perform (services.audit),
the console and `tui-trader audit` read them. Details never carry a secret: names and ids
only, never a password, token, key or channel address.
"""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    LOGIN = "LOGIN"
    LOGIN_FAILED = "LOGIN_FAILED"
    LOGOUT = "LOGOUT"
    ACCOUNT_UNLOCKED = "ACCOUNT_UNLOCKED"  # `user unlock`: failed logins cleared
    STRATEGY_CREATED = "STRATEGY_CREATED"
    STRATEGY_EDITED = "STRATEGY_EDITED"
    STRATEGY_DELETED = "STRATEGY_DELETED"
    STRATEGY_STARTED = "STRATEGY_STARTED"
    STRATEGY_STOPPED = "STRATEGY_STOPPED"
    LIVE_CONFIRMED = "LIVE_CONFIRMED"
    KILL_SWITCH = "KILL_SWITCH"
    RISK_RULES_CHANGED = "RISK_RULES_CHANGED"
    RISK_UNLOCKED = "RISK_UNLOCKED"
    KEY_ROTATED = "KEY_ROTATED"
    BROKER_ADDED = "BROKER_ADDED"
    BROKER_REMOVED = "BROKER_REMOVED"
    CHANNEL_ADDED = "CHANNEL_ADDED"
    CHANNEL_REMOVED = "CHANNEL_REMOVED"
    DATA_PRUNED = "DATA_PRUNED"


class AuditOutcome(StrEnum):
    OK = "OK"
    FAILED = "FAILED"
    REFUSED = "REFUSED"
