"""Kite's error taxonomy as Python exceptions; `app.py` turns them into error envelopes.

Each carries the HTTP status and the `error_type` the real client maps onto
`kiteconnect.exceptions.<error_type>`; an envelope without `error_type` crashes that client.
Kite's documented types the Python client has no class for (MarginException,
HoldingException, UserException) reach it as GeneralException with the same message and
code. Kite documents no status for those three; the sandbox's choice is below.
"""

from __future__ import annotations


class KiteError(Exception):
    status = 500
    error_type = "GeneralException"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class GeneralError(KiteError):
    status = 500
    error_type = "GeneralException"


class TokenError(KiteError):
    status = 403
    error_type = "TokenException"


class PermissionError_(KiteError):  # noqa: N801 - trailing underscore avoids the builtin
    status = 403
    error_type = "PermissionException"


class InputError(KiteError):
    status = 400
    error_type = "InputException"


class OrderError(KiteError):
    status = 500
    error_type = "OrderException"


class RateLimitError(KiteError):
    # Kite answers 429 with NetworkException ("Too many requests").
    status = 429
    error_type = "NetworkException"


class NotFoundError(KiteError):
    status = 404
    error_type = "GeneralException"


class DataError(KiteError):
    # Kite could not make sense of its order system's answer.
    status = 502
    error_type = "DataException"


class NetworkError(KiteError):
    # Kite could not reach its order system.
    status = 503
    error_type = "NetworkException"


class MarginError(KiteError):
    status = 400
    error_type = "MarginException"


class HoldingError(KiteError):
    status = 400
    error_type = "HoldingException"


class UserError(KiteError):
    status = 403
    error_type = "UserException"


ERRORS: dict[str, type[KiteError]] = {cls.error_type: cls for cls in (
    GeneralError, TokenError, PermissionError_, InputError, OrderError, DataError,
    NetworkError, MarginError, HoldingError, UserError)}
