"""Log lines that carry nothing a terminal would act on.

Log messages quote text from outside (a broker's reply, a strategy's name, a URL, an
exception's message). A log read with `tail -f`, `less -R` or journalctl would run the
escape sequences in it (recolour, retitle the window, write the clipboard), and a line
break in a message would forge a log line of its own. `PrintableFormatter` writes the
message, with its arguments, as one line made printable (`domain.text.printable`); a
traceback keeps its line breaks, but not its escapes. Every handler the console and the
`tui-trader` command set up uses it.
"""

from __future__ import annotations

import logging

from ..domain.text import printable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PrintableFormatter(logging.Formatter):
    def __init__(self, fmt: str = FORMAT, **options) -> None:
        super().__init__(fmt, **options)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        # `format` sets record.message afresh for each handler, so this change stays here.
        record.message = printable(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        # The traceback text is cached on the record by whichever handler formats it first,
        # perhaps one without this formatter: make the whole entry printable.
        return printable(super().format(record), multiline=True)
