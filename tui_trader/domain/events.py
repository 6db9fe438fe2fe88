"""The typed events the engine publishes to `events:{db}:{user_id}` for every console to read,
and their one wire codec.

Pure data, no I/O: the engine builds and publishes these, the event stream (services) decodes
them and the console shows them. Each event has a `key`: a newer event with the same key
supersedes an older one, which is how a burst of ticks becomes one repaint (see
services.event_stream); notifications are never coalesced.

On the wire an event is one JSON object whose `type` names its kind, with Decimals as strings
and times as ISO-8601 UTC. One pydantic `TypeAdapter` over the union of the kinds,
discriminated by `type`, writes and reads it: a message that is not one of these events
(broken JSON, an unknown type, a missing or mistyped field) is refused with a one-line
`MalformedEvent`, never half-read. Fields a newer engine adds are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from .lifecycle import EngineState, engine_state


class MalformedEvent(ValueError):
    """A published message is not an engine event. The text says why in one line; it never
    quotes the message, which is data from outside."""


@dataclass(frozen=True)
class EngineEvent:
    # Set by each kind, never by a caller; first on the wire.
    type: str = field(default="event", init=False)
    user_id: str

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type,)

    def to_json(self) -> str:
        """This event as published (see `encode_event`)."""
        return encode_event(self).decode()


@dataclass(frozen=True)
class PositionChanged(EngineEvent):
    type: Literal["position"] = field(default="position", init=False)
    position_id: str
    strategy_id: str | None
    symbol: str
    quantity: int
    average_price: Decimal
    ltp: Decimal | None
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    status: str

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type, self.position_id)


@dataclass(frozen=True)
class OrderStatusChanged(EngineEvent):
    type: Literal["order"] = field(default="order", init=False)
    order_id: str
    strategy_id: str | None
    symbol: str
    side: str
    reason: str
    status: str
    quantity: int
    filled_quantity: int
    average_price: Decimal | None
    message: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type, self.order_id)


@dataclass(frozen=True)
class StrategyStatusChanged(EngineEvent):
    type: Literal["strategy"] = field(default="strategy", init=False)
    strategy_id: str
    status: str
    reason: str | None = None
    position: str | None = None

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type, self.strategy_id)


@dataclass(frozen=True)
class NotificationRaised(EngineEvent):
    type: Literal["notification"] = field(default="notification", init=False)
    notification_id: str
    kind: str
    severity: str
    title: str
    body: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        return (self.type, self.notification_id)


@dataclass(frozen=True)
class EngineStatus(EngineEvent):
    """Engine-wide state; user_id is "*". `detail` says why (for ENTRIES_BLOCKED: what
    blocks them). An older engine's "degraded" is read as ENTRIES_BLOCKED."""

    type: Literal["engine"] = field(default="engine", init=False)
    state: Annotated[EngineState, BeforeValidator(engine_state)]
    entries_allowed: bool
    detail: str = ""
    counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Built in code with the enum, or with its text: always the enum afterwards.
        object.__setattr__(self, "state", engine_state(self.state))


AnyEngineEvent = Annotated[
    PositionChanged | OrderStatusChanged | StrategyStatusChanged | NotificationRaised
    | EngineStatus,
    Field(discriminator="type")]
EVENT_TYPES: tuple[type[EngineEvent], ...] = (
    PositionChanged, OrderStatusChanged, StrategyStatusChanged, NotificationRaised, EngineStatus)


@cache
def _adapter() -> TypeAdapter[AnyEngineEvent]:
    # Built on first use: the console's first screen paints before the schema is compiled.
    return TypeAdapter(AnyEngineEvent)


def encode_event(event: EngineEvent) -> bytes:
    """The event as one compact JSON object, as published."""
    if not isinstance(event, EVENT_TYPES):
        raise TypeError(f"not an engine event: {type(event).__name__}")
    return _adapter().dump_json(event)


def decode_event(data: str | bytes) -> EngineEvent:
    """One published message as its event; `MalformedEvent` for anything else."""
    try:
        return _adapter().validate_json(data)
    except PydanticValidationError as exc:
        raise MalformedEvent(_describe(exc)) from None


def _describe(exc: PydanticValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    problem = {"json_invalid": "not JSON", "union_tag_not_found": "no type",
               "union_tag_invalid": "an unknown type"}.get(first["type"], first["msg"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"malformed event: {where + ': ' if where else ''}{problem}{more}"
