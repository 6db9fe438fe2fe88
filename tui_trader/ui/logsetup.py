"""While the console owns the terminal, log lines go to a file in the data dir: a handler
writing to the terminal's stderr would scribble over the screen. The file's lines carry no
terminal escapes (`PrintableFormatter`) and no secrets (the redaction filter)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..security.files import private_dir, private_file
from ..security.logformat import PrintableFormatter
from ..security.redaction import default_redactor


def _to_terminal(handler: logging.Handler) -> bool:
    stream = getattr(handler, "stream", None)
    return (isinstance(handler, logging.StreamHandler)
            and not isinstance(handler, logging.FileHandler)
            and stream in (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__))


@contextmanager
def logs_to_file(data_dir: Path) -> Iterator[Path | None]:
    """Swap terminal log handlers for one file handler; put them back afterwards."""
    root = logging.getLogger()
    moved = [h for h in root.handlers if _to_terminal(h)]
    level = root.level if root.handlers else logging.INFO
    try:
        private_dir(data_dir)
        path: Path | None = private_file(data_dir / "tui-trader.log")  # 0600: logs are private
        handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        path, handler = None, logging.NullHandler()
    handler.setFormatter(PrintableFormatter())
    # The redactor sits on the handlers that existed when the command started; this one is
    # new (filters on the root logger itself do not see records from child loggers).
    handler.addFilter(default_redactor)
    for h in moved:
        root.removeHandler(h)
    root.addHandler(handler)
    if not moved and root.level == logging.WARNING:
        root.setLevel(level)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        for h in moved:
            root.addHandler(h)
