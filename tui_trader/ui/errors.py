"""Turn any exception from background work into one line a trader can read.

Errors of ours (TuiTraderError) are already one clear line; connection failures are named
as such; anything else is logged with its traceback and shown by type and message only.
"""

from __future__ import annotations

import logging

from .formatting import one_line

log = logging.getLogger(__name__)


def describe(error: BaseException, where: str = "") -> tuple[str, str]:
    """(message, title) for a notification."""
    from ..domain.errors import TuiTraderError

    if isinstance(error, TuiTraderError):
        return one_line(str(error)), "Not done"
    kind = type(error).__name__
    module = type(error).__module__ or ""
    if module.startswith("redis") and kind in ("ConnectionError", "TimeoutError",
                                               "BusyLoadingError"):
        return "live store unreachable; retrying in the background", "Live store"
    if module.startswith("sqlalchemy") and kind in ("OperationalError", "InterfaceError",
                                                    "DisconnectionError"):
        return one_line(f"database unavailable ({str(error).splitlines()[0]})"), "Database"
    log.error("unexpected error in %s", where or "a worker",
              exc_info=(type(error), error, error.__traceback__))
    text = f"{kind}: {error}" if str(error) else kind
    return one_line(text), f"Unexpected error{' in ' + where if where else ''}"
