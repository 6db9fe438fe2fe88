"""argon2id password hashing: parameters, round trip, rehash detection, dummy verification."""

from __future__ import annotations

import base64
import re

import pytest
from argon2 import PasswordHasher, Type

from tui_trader.security import passwords
from tui_trader.security.passwords import (
    dummy_verify,
    hash_password,
    needs_rehash,
    verify_password,
)
from tui_trader.security.secret import Secret

PASSWORD = "correct horse battery staple"
ENCODED = re.compile(
    r"^\$(?P<type>argon2(?:id|i|d))\$v=(?P<v>\d+)\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)"
    r"\$(?P<salt>[A-Za-z0-9+/]+)\$(?P<hash>[A-Za-z0-9+/]+)$"
)


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def stored() -> str:
    return hash_password(PASSWORD)


def test_round_trip(stored: str) -> None:
    assert verify_password(stored, PASSWORD) is True
    assert verify_password(stored, Secret(PASSWORD)) is True
    assert PASSWORD not in stored


def test_wrong_password_is_false_not_an_exception(stored: str) -> None:
    assert verify_password(stored, PASSWORD + "!") is False
    assert verify_password(stored, "") is False


@pytest.mark.parametrize("bad", ["", "not a hash", "$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB",
                                 "$2b$12$abcdefghijklmnopqrstuv"])
def test_malformed_hash_is_false(bad: str) -> None:
    assert verify_password(bad, PASSWORD) is False
    assert needs_rehash(bad) is True


def test_parameters_are_owasp_argon2id(stored: str) -> None:
    match = ENCODED.match(stored)
    assert match, stored
    assert match["type"] == "argon2id"
    assert int(match["v"]) == 19
    assert (int(match["m"]), int(match["t"]), int(match["p"])) == (19456, 2, 1)
    assert len(_b64(match["salt"])) == 16
    assert len(_b64(match["hash"])) == 32


def test_each_hash_has_a_fresh_salt(stored: str) -> None:
    again = hash_password(PASSWORD)
    assert again != stored
    assert ENCODED.match(again)["salt"] != ENCODED.match(stored)["salt"]


def test_needs_rehash(stored: str) -> None:
    assert needs_rehash(stored) is False
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1, type=Type.ID)
    weak_hash = weaker.hash(PASSWORD)
    assert needs_rehash(weak_hash) is True
    # The old hash still verifies, so the login path can upgrade it in place.
    assert verify_password(weak_hash, PASSWORD) is True
    other_type = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.I)
    assert needs_rehash(other_type.hash(PASSWORD)) is True


def test_dummy_verify_uses_current_parameters() -> None:
    assert dummy_verify() is False
    # The built-in dummy hash must cost what a real verification costs.
    assert needs_rehash(passwords._DUMMY_HASH) is False
    assert passwords._dummy_hash() == passwords._DUMMY_HASH
