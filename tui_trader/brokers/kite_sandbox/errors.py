"""Kite's error taxonomy as Python exceptions; `app.py` turns them into error envelopes.

Each carries the HTTP status and the `error_type` the real client maps onto
`kiteconnect.exceptions.<error_type>`; an envelope without `error_type` crashes that client.
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
