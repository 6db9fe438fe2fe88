"""The error types every layer raises; each renders as one line a user can act on.

A user-facing error names the field or setting and the rule it broke. Messages never carry
secrets: callers pass names, never values, of anything sensitive.
"""

from __future__ import annotations


class TuiTraderError(Exception):
    """Base of every error meant to reach a user as one clear line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(TuiTraderError):
    """Input broke a rule; `field` names the input, `rule` says what was expected. The
    message names the field as the screen labels it ("Sell at: must be later than ...")."""

    def __init__(self, field: str, rule: str) -> None:
        from .labels import label_of

        super().__init__(f"{label_of(field)}: {rule}")
        self.field = field
        self.rule = rule


class ConfigError(TuiTraderError):
    """A setting is malformed or the server it names cannot be reached."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting


class NotFoundError(TuiTraderError):
    """The thing does not exist for the acting user (also raised for other users' things)."""

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind


class AuthError(TuiTraderError):
    """Login, session or permission failure."""


class LoginRefusedError(AuthError):
    """Wrong email or password (the same words for both); says how many attempts are left
    before the address is locked."""

    def __init__(self, attempts_left: int, lockout_minutes: int) -> None:
        plural = "" if attempts_left == 1 else "s"
        super().__init__(f"password: email or password is incorrect; {attempts_left} "
                         f"attempt{plural} left before a {lockout_minutes}-minute lock")
        self.attempts_left = attempts_left
        self.lockout_minutes = lockout_minutes


class AccountLockedError(AuthError):
    """Too many failed logins for an email address; carries when the lock ends."""

    def __init__(self, seconds_left: int) -> None:
        super().__init__(f"locked after repeated failed logins; try again in "
                         f"{lock_countdown(seconds_left)}")
        self.seconds_left = seconds_left


def lock_countdown(seconds_left: int) -> str:
    """`14m 05s`: how long a login lock has left."""
    minutes, seconds = divmod(max(int(seconds_left), 0), 60)
    return f"{minutes}m {seconds:02d}s"


class VaultError(TuiTraderError):
    """A credential could not be encrypted or decrypted (missing key, tampered data)."""


class BrokerError(TuiTraderError):
    """A broker refused or failed a request; the message is safe to show."""


class StateError(TuiTraderError):
    """An operation is not allowed in the current state (e.g. editing a running strategy)."""
