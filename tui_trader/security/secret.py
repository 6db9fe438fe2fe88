"""`Secret`: the in-memory wrapper for credential values (api keys, tokens, passwords).

It owns one promise: a secret value reaches text only through an explicit `.reveal()`. Every
accidental route to text or storage -- repr, str, f-strings, %-formatting, logging, pickling,
copying into a log payload -- yields the mask or an error instead.
"""

from __future__ import annotations

import hmac
from typing import Any, NoReturn

MASK = "********"


class Secret:
    """An immutable secret string; compare with `==` (constant time), read with `.reveal()`."""

    # No __dict__ (so vars()/__dict__ dumps cannot show the value); __weakref__ so the log
    # redactor can track live secrets without keeping them alive.
    __slots__ = ("_value", "__weakref__")

    def __init__(self, value: str) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            # Say only the type: the value itself may be the secret.
            raise TypeError(f"Secret wraps a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The plain value; call it only at the point of use (the broker SDK, the hasher)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        # f"{s}", f"{s!s}", f"{s:>40}" all land here or in __str__/__repr__: never the value.
        return format(repr(self), format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            # Comparing against a bare str is refused so callers do not reveal() to compare.
            return NotImplemented
        # compare_digest on bytes: time does not depend on where the first difference is.
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        # Hashable so secrets can sit in weak sets/dicts; str hashing is keyed (SipHash), so
        # the hash does not expose the value.
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    # Pickling is how values leak into task queues, caches and structured-log payloads.
    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret values cannot be pickled; store them through the vault")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("Secret values cannot be pickled; store them through the vault")

    # Immutable, so copies can be the same object (and copy.copy would otherwise hit __reduce_ex__).
    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, "_value"):
            raise AttributeError("Secret is immutable")
        object.__setattr__(self, name, value)


def reveal(value: str | Secret) -> str:
    """The plain string of a value that may or may not be wrapped."""
    return value.reveal() if isinstance(value, Secret) else value
