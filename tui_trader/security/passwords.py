"""User password hashing: argon2id with OWASP's recommended parameters.

Owns the hash format stored in users.password_hash and the decision whether a stored hash is
up to date. Verification never raises for a wrong or unreadable hash -- a login path must not
be able to tell "bad password" from "bad row" by an exception, only by a False.
"""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tui_trader.security.secret import Secret, reveal

# OWASP Password Storage Cheat Sheet, argon2id option "m=19 MiB, t=2, p=1". Memory is in KiB.
MEMORY_COST_KIB = 19456
TIME_COST = 2
PARALLELISM = 1
SALT_LEN = 16
HASH_LEN = 32

_HASHER = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_COST_KIB,
    parallelism=PARALLELISM,
    hash_len=HASH_LEN,
    salt_len=SALT_LEN,
    type=Type.ID,
)

# A hash of a random, discarded password with the parameters above. dummy_verify() checks
# against it so a login for an unknown email costs the same as one for a known email.
# Kept as a constant so the first unknown-email login is not slower (a timing tell); if the
# parameters change and this goes stale, _dummy_hash() regenerates it once.
_DUMMY_HASH = (
    "$argon2id$v=19$m=19456,t=2,p=1$uyHtpzUCbgqq29gpysOBxw$"
    "NIsEr4olp+DgFPi9TvVQkw1c4SFBYDCa4287Y1tCEAY"
)
_dummy_lock = threading.Lock()
_dummy_cache: str | None = None


def hash_password(password: str | Secret) -> str:
    """An encoded argon2id hash (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a fresh salt."""
    return _HASHER.hash(reveal(password))


def verify_password(stored_hash: str, password: str | Secret) -> bool:
    """True only when `password` matches; False for a mismatch or a malformed/foreign hash."""
    if not isinstance(stored_hash, str) or not stored_hash:
        return False
    try:
        return _HASHER.verify(stored_hash, reveal(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeError):
        return False  # UnicodeError: a lone surrogate cannot be any stored password


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made with other parameters (or is unreadable) and should be replaced.

    Call after a successful verify, while the plain password is at hand.
    """
    try:
        return _HASHER.check_needs_rehash(stored_hash)
    except (InvalidHashError, ValueError, TypeError):
        return True


def dummy_verify() -> bool:
    """Spend one verification's worth of time on nothing; always False.

    The login path calls this when the email is unknown, so response time does not reveal
    which emails have accounts.
    """
    _verify_quietly(_dummy_hash(), secrets.token_urlsafe(16))
    return False


def _verify_quietly(stored_hash: str, password: str) -> None:
    try:
        _HASHER.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass


def _dummy_hash() -> str:
    global _dummy_cache
    if _dummy_cache is None:
        with _dummy_lock:
            if _dummy_cache is None:
                stale = _HASHER.check_needs_rehash(_DUMMY_HASH)
                _dummy_cache = hash_password(secrets.token_urlsafe(32)) if stale else _DUMMY_HASH
    return _dummy_cache
