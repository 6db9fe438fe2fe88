"""What a trader is told about, and where: the kinds of alert a preference is kept for, the
three modes of a preference, the kinds of external channel, and which alert an engine
notification is.

Pure data and rules, no I/O: services.notify_* store preferences and channels and deliver,
the console shows them. A preference is per user per alert kind:

- ON: shown in the console (a toast, counted unread, the Alerts list) and sent to every
  external channel;
- SILENT: in the Alerts list and counted unread, without a toast, never sent out;
- OFF: neither sent out, toasted nor counted as it arrives (the notification is still
  stored and listed: the record stays whole).
"""

from __future__ import annotations

from enum import StrEnum

from .enums import NotificationKind, Severity
from .lifecycle import EngineState


class AlertKind(StrEnum):
    FILL = "FILL"
    REJECTION = "REJECTION"
    STOPLOSS = "STOPLOSS"
    RISK_WARNING = "RISK_WARNING"
    RISK_HALT = "RISK_HALT"
    TOKEN_EXPIRY = "TOKEN_EXPIRY"
    ENGINE_DOWN = "ENGINE_DOWN"
    SYSTEM = "SYSTEM"  # any other engine message (a refused exit, a missed schedule)


class AlertMode(StrEnum):
    ON = "ON"
    SILENT = "SILENT"
    OFF = "OFF"


class ChannelKind(StrEnum):
    TELEGRAM = "TELEGRAM"
    EMAIL = "EMAIL"
    WEBHOOK = "WEBHOOK"


# What a user who set nothing gets: trades and trouble are sent; other engine messages stay
# in the console.
DEFAULT_MODES: dict[AlertKind, AlertMode] = {
    AlertKind.FILL: AlertMode.ON,
    AlertKind.REJECTION: AlertMode.ON,
    AlertKind.STOPLOSS: AlertMode.ON,
    AlertKind.RISK_WARNING: AlertMode.ON,
    AlertKind.RISK_HALT: AlertMode.ON,
    AlertKind.TOKEN_EXPIRY: AlertMode.ON,
    AlertKind.ENGINE_DOWN: AlertMode.ON,
    AlertKind.SYSTEM: AlertMode.SILENT,
}

ALERT_LABELS: dict[AlertKind, str] = {
    AlertKind.FILL: "Fill",
    AlertKind.REJECTION: "Rejection",
    AlertKind.STOPLOSS: "Stop-loss hit",
    AlertKind.RISK_WARNING: "Risk warning",
    AlertKind.RISK_HALT: "Risk halt",
    AlertKind.TOKEN_EXPIRY: "Token expiry",
    AlertKind.ENGINE_DOWN: "Engine down",
    AlertKind.SYSTEM: "Other engine messages",
}


def alert_kind(kind: str, severity: str) -> AlertKind:
    """The alert a stored notification is. A risk notification is a halt (or the kill
    switch) when it is an error or worse, else a warning."""
    try:
        known = NotificationKind(kind)
    except ValueError:
        return AlertKind.SYSTEM
    if known is NotificationKind.RISK:
        return AlertKind.RISK_HALT if severity in (Severity.ERROR, Severity.CRITICAL) \
            else AlertKind.RISK_WARNING
    return {NotificationKind.FILL: AlertKind.FILL,
            NotificationKind.REJECTION: AlertKind.REJECTION,
            NotificationKind.STOPLOSS: AlertKind.STOPLOSS,
            NotificationKind.TOKEN_EXPIRY: AlertKind.TOKEN_EXPIRY}.get(known, AlertKind.SYSTEM)


# Engine states that mean no new entries are being placed for anyone.
DOWN_STATES: frozenset[EngineState] = frozenset({EngineState.STOPPED,
                                                 EngineState.ENTRIES_BLOCKED})


def parse_mode(field: str, value: str) -> AlertMode:
    from .errors import ValidationError

    try:
        return AlertMode((value or "").strip().upper())
    except ValueError:
        raise ValidationError(field, "must be on, silent or off") from None


def parse_alert_kind(field: str, value: str) -> AlertKind:
    from .errors import ValidationError

    text = (value or "").strip().upper().replace("-", "_")
    text = {"STOP_LOSS": "STOPLOSS", "SL": "STOPLOSS"}.get(text, text)
    try:
        return AlertKind(text)
    except ValueError:
        names = ", ".join(k.value.lower() for k in AlertKind)
        raise ValidationError(field, f"must be one of {names}") from None
