"""Every message the console passes around. Threads (workers, the event stream) reach the UI
only by posting one of these; `post_message` is thread-safe."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from datetime import datetime

    from ..domain.events import EngineEvent
    from ..services.engine_control import EngineHealth
    from ..services.views import LoginResult
    from .backend import BootResult


# -- start-up and session -----------------------------------------------------------------
class BootFinished(Message):
    """The context is connected (and the embedded engine started)."""

    def __init__(self, result: BootResult) -> None:
        super().__init__()
        self.result = result


class BootFailed(Message):
    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


class SignedIn(Message):
    def __init__(self, result: LoginResult, *, demo: bool = False) -> None:
        super().__init__()
        self.result = result
        self.demo = demo


class LoginLocked(Message):
    """Too many failed logins for the address: locked until `until` (on the app's clock)."""

    def __init__(self, until: datetime) -> None:
        super().__init__()
        self.until = until


class FormRejected(Message):
    """A form's submission failed: messages per field and/or one line for the whole form."""

    def __init__(self, errors: dict[str, str], banner: str | None = None) -> None:
        super().__init__()
        self.errors = errors
        self.banner = banner


# -- engine and live store ------------------------------------------------------------------
class EngineEventsBatch(Message):
    """One coalesced batch from the event stream (newest event per key)."""

    def __init__(self, events: list[EngineEvent]) -> None:
        super().__init__()
        self.events = events


class StoreHealth(Message):
    """The event stream's connection to the live store came up or went down."""

    def __init__(self, ok: bool, detail: str) -> None:
        super().__init__()
        self.ok = ok
        self.detail = detail

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StoreHealth)


class EngineHealthChanged(Message):
    def __init__(self, health: EngineHealth) -> None:
        super().__init__()
        self.health = health

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EngineHealthChanged)


# -- workers --------------------------------------------------------------------------------
class WorkerFailed(Message):
    """A worker raised: the app shows it as one line and keeps running."""

    def __init__(self, where: str, error: BaseException) -> None:
        super().__init__()
        self.where = where
        self.error = error


class Done(Message):
    """A background action finished; `text` is the one line to show."""

    def __init__(self, text: str, severity: str = "information") -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class SessionEnded(Message):
    """The signed-in session expired or the account was deactivated: sign out."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class DataLoaded(Message):
    """A screen's load worker finished; `what` names the data (rows, detail, ...)."""

    def __init__(self, what: str, data: Any) -> None:
        super().__init__()
        self.what = what
        self.data = data


class UnreadChanged(Message):
    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, UnreadChanged)
