"""Secret never turns into its value by accident."""

from __future__ import annotations

import copy
import io
import json
import logging
import pickle

import pytest

from tui_trader.security.secret import Secret

VALUE = "kite-api-secret-9f8e7d"


def test_reveal() -> None:
    assert Secret(VALUE).reveal() == VALUE
    assert Secret(Secret(VALUE)).reveal() == VALUE


def test_text_forms_are_masked() -> None:
    secret = Secret(VALUE)
    forms = [repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret!s}",
             # Old-style formatting on purpose: each route must be masked.
             f"{secret:>40}", "%s" % secret, "%r" % secret, "{}".format(secret),  # noqa: UP031, UP032
             str([secret]), str({"token": secret}), repr((secret,))]
    for text in forms:
        assert VALUE not in text
        assert "********" in text
    assert repr(secret) == "Secret('********')"
    assert str(secret) == "Secret('********')"


def test_logging_never_shows_the_value() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("tests.security.secret")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        secret = Secret(VALUE)
        logger.info("token %s", secret)
        logger.info("token %r", secret)
        logger.info(f"token {secret}")
        logger.info("payload %s", {"access_token": secret})
        logger.info(secret)
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert VALUE not in output
    assert output.count("********") == 5


def test_equality_is_by_value_and_only_between_secrets() -> None:
    assert Secret(VALUE) == Secret(VALUE)
    assert Secret(VALUE) != Secret(VALUE + "x")
    assert Secret(VALUE) != VALUE
    assert hash(Secret(VALUE)) == hash(Secret(VALUE))


def test_cannot_be_pickled_or_serialised() -> None:
    secret = Secret(VALUE)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        with pytest.raises(TypeError) as info:
            pickle.dumps(secret, protocol=protocol)
        assert VALUE not in str(info.value)
    with pytest.raises(TypeError):
        json.dumps({"token": secret})


def test_copies_are_the_same_immutable_object() -> None:
    secret = Secret(VALUE)
    assert copy.copy(secret) is secret
    assert copy.deepcopy({"s": secret})["s"] is secret
    with pytest.raises(AttributeError):
        secret._value = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        vars(secret)
    assert secret.reveal() == VALUE


def test_non_string_is_refused_without_echoing_it() -> None:
    with pytest.raises(TypeError) as info:
        Secret(b"raw-bytes-secret")  # type: ignore[arg-type]
    assert "raw-bytes-secret" not in str(info.value)


def test_truthiness() -> None:
    assert Secret(VALUE)
    assert not Secret("")
