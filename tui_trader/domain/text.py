"""Text from outside (broker messages, names, labels, files, command-line arguments) made
safe to put on a terminal: what it says stays, what it would make the terminal *do* goes.

`printable` is for text to read:
- Escape sequences (CSI colours and cursor moves, OSC window titles and clipboard writes,
  DCS/APC/PM strings, two-character ESC codes, their 8-bit forms) are removed whole: their
  parameters are noise to a reader, and half a sequence left behind is still an attack.
  (ESC always starts a sequence, even a cut-off one, and goes with it.)
- Line breaks (CR, LF, NEL, the Unicode line and paragraph separators) and tabs become
  spaces, unless `multiline` keeps LF (CRLF and a lone CR become LF).
- Every other character a terminal would act on is shown by a stand-in, as `visible` does.

`visible` replaces, one for one (the length stays, so a cursor over the text stays put),
each C0 control with its Unicode control picture (BEL -> "␇", ESC -> "␛", TAB -> "␉"), DEL
with "␡", and C1 controls, the line and paragraph separators and every character that
reorders the text around it (bidi embeddings, overrides, isolates and marks, so "gnp.exe"
cannot pass for "exe.png") with "�".

Everything else, every script and emoji included (and the joiners some scripts need), is
kept as it was. Pure: no I/O. Markup is a concern of the UI, not of this module.
"""

from __future__ import annotations

import re

# ESC (or its 8-bit form) and what follows, per ECMA-48: CSI with parameter and
# intermediate bytes and a final byte; OSC, DCS, SOS, PM and APC strings up to BEL or ST
# (or the end of the text, when it never ends); and any other ESC with its intermediates.
_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
REPLACEMENT = "\ufffd"
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_ONE_FOR_ONE = {**{c: chr(0x2400 + c) for c in range(0x20)}, 0x7f: "\u2421",
                **{c: REPLACEMENT for c in range(0x80, 0xa0)},
                **{ord(c): REPLACEMENT for c in _BIDI + "\u2028\u2029"}}
_ONE_LINE = {**_ONE_FOR_ONE, **{ord(c): " " for c in "\t\r\n\x85\u2028\u2029"}}
_MULTILINE = {**_ONE_LINE, ord("\n"): "\n"}


def visible(text: str) -> str:
    """`text` with each character a terminal would act on replaced by a visible stand-in,
    one for one (see the module docstring)."""
    return text if text.isprintable() else text.translate(_ONE_FOR_ONE)


def printable(text: str, *, multiline: bool = False) -> str:
    """`text` with escape sequences removed, line breaks and tabs as spaces (or LF kept,
    if `multiline`) and every other character a terminal would act on made visible.
    Idempotent."""
    if text.isprintable():  # the common case, checked in C
        return text
    text = _SEQUENCE.sub("", text)
    if multiline:
        return text.replace("\r\n", "\n").replace("\r", "\n").translate(_MULTILINE)
    return text.translate(_ONE_LINE)
