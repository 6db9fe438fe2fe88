"""Login session tokens: the secret a signed-in console holds, and what is kept of it.

The database keeps only `token_hash(token)`. The same hash is the key a console signs its
engine commands with (engine/remote.py): the engine, which never sees the token, can check a
signature against the stored hash, and nothing sent over the live store reveals either.
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh 256-bit session token."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What user_sessions.token_hash keeps of a token (SHA-256, hex)."""
    return hashlib.sha256((token or "").encode("utf-8", "surrogatepass")).hexdigest()
