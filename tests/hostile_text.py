"""Text from outside that tries to be more than text, for the tests that prove it stays text:
Textual/Rich markup (a closing tag with nothing to close, a link, a click action that quits,
styles), terminal escape sequences (a colour, a window-title change), a bell, a right-to-left
override, and a name far longer than any column. Also a Kite server that answers every
request with such a message, as a broker in trouble (or a hostile one) might.

A plain module (not a conftest), shared by the UI, CLI and logging tests.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARKUP = "[/] [link=http://x]click[/link] [@click=app.quit]quit[/] [bold red]x"
ESCAPES = "\x1b[31mred\x1b[0m \x07 \u202e!"
HOSTILE = f"{MARKUP} {ESCAPES}"
# A second one (names are unique per user): an OSC sequence that retitles the terminal
# window, a bidi override first, and markup after.
HOSTILE_2 = "\u202e\x1b]0;pwned\x07[bold red]x [/] \x1b[2J"
LONG = "L" * 2000

# What must never reach a terminal: ESC (every escape sequence starts with it), the 8-bit
# CSI, BEL and a right-to-left override; and what is left of a colour code whose ESC alone
# was dropped.
RAW = ("\x1b", "\x9b", "\x07", "\u202e")
REMNANTS = ("[31m", "[0m", "]0;", "[2J")


def raw_in(text: str) -> list[str]:
    """The raw control characters and escape remnants found in `text` (a remnant shown
    after a visible ESC, "␛[31m", is what an input field holding it displays: fine)."""
    shown = text
    for remnant in REMNANTS:
        shown = shown.replace("␛" + remnant, "")
    return [repr(c) for c in RAW if c in text] + [repr(c) for c in REMNANTS if c in shown]


class _KiteRefusal(BaseHTTPRequestHandler):
    message = HOSTILE

    def _answer(self) -> None:
        body = json.dumps({"status": "error", "message": self.message,
                           "error_type": "InputException", "data": None}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (quiet)
        pass


@contextmanager
def refusing_kite(message: str = HOSTILE) -> Iterator[str]:
    """A Kite Connect server on 127.0.0.1 that refuses everything with `message` (as an
    InputException, which the kiteconnect client raises with the message as its text).
    Yields its root URL."""
    handler = type("Refusal", (_KiteRefusal,), {"message": message})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
