"""SecretRedactor masks registered secret values in log records."""

from __future__ import annotations

import gc
import io
import logging
from collections.abc import Iterator

import pytest

from tui_trader.security.keystore import MemoryKeyStore
from tui_trader.security.redaction import (
    SecretRedactor,
    SecretRegistry,
    default_redactor,
    default_registry,
    install_redaction,
    register_secret,
    uninstall_redaction,
)
from tui_trader.security.secret import MASK, Secret
from tui_trader.security.vault import CredentialVault

TOKEN = "access-token-Zq81xY0pLm"


class Capture:
    def __init__(self, logger: logging.Logger, redactor: SecretRedactor | None) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        if redactor is not None:
            self.handler.addFilter(redactor)
        self.logger = logger
        logger.addHandler(self.handler)

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("tests.security.redaction")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
    log.filters.clear()


@pytest.fixture
def registry() -> SecretRegistry:
    return SecretRegistry()


def test_scrubs_message_args_and_dicts(logger: logging.Logger,
                                       registry: SecretRegistry) -> None:
    capture = Capture(logger, SecretRedactor(registry))
    assert registry.register(TOKEN) is True
    logger.info("GET /orders?access_token=%s", TOKEN)
    logger.info(f"token is {TOKEN}")
    logger.info("params %r", {"api_key": "abc", "access_token": TOKEN})
    logger.info("%s and %s", TOKEN, TOKEN.upper())
    assert TOKEN not in capture.text
    assert capture.text.count(MASK) == 4
    assert "GET /orders?access_token=" in capture.text
    assert TOKEN.upper() in capture.text  # only the registered value is masked


def test_scrubs_exception_text(logger: logging.Logger, registry: SecretRegistry) -> None:
    capture = Capture(logger, SecretRedactor(registry))
    registry.register(TOKEN)
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        logger.exception("request failed")
    logger.info("where", stack_info=True, extra={})
    assert "ValueError: bad token " + MASK in capture.text
    assert TOKEN not in capture.text


def test_record_without_secret_is_untouched(registry: SecretRegistry) -> None:
    registry.register(TOKEN)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "order %s filled at %d",
                               ("ABC123", 42), None)
    assert SecretRedactor(registry).filter(record) is True
    assert record.msg == "order %s filled at %d" and record.args == ("ABC123", 42)

    leaky = logging.LogRecord("x", logging.INFO, __file__, 1, "token=%s", (TOKEN,), None)
    assert SecretRedactor(registry).filter(leaky) is True
    assert leaky.getMessage() == f"token={MASK}"


def test_unformattable_arguments_are_still_masked(logger: logging.Logger,
                                                  registry: SecretRegistry) -> None:
    capture = Capture(logger, SecretRedactor(registry))
    registry.register(TOKEN)
    logger.info("count %d", TOKEN)
    assert TOKEN not in capture.text and MASK in capture.text


def test_short_values_are_ignored_and_unregister_works(logger: logging.Logger,
                                                       registry: SecretRegistry) -> None:
    capture = Capture(logger, SecretRedactor(registry))
    assert registry.register("abc") is False
    assert registry.register(Secret("abc")) is False
    registry.register(TOKEN)
    registry.unregister(TOKEN)
    logger.info("abc %s", TOKEN)
    assert capture.text == f"INFO abc {TOKEN}\n"


def test_longest_secret_is_masked_first(registry: SecretRegistry) -> None:
    registry.register("abcd")
    registry.register("abcdefgh")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "v=%s", ("abcdefgh",), None)
    SecretRedactor(registry).filter(record)
    assert record.getMessage() == f"v={MASK}"


def test_secrets_are_held_weakly(registry: SecretRegistry) -> None:
    first, twin = Secret(TOKEN), Secret(TOKEN)
    registry.register(first)
    registry.register(twin)
    del first
    gc.collect()
    assert registry.values() == [TOKEN]  # the equal twin still keeps it masked
    del twin
    gc.collect()
    assert registry.values() == []


def test_install_on_root_style_logger_covers_child_loggers(logger: logging.Logger) -> None:
    capture = Capture(logger, None)
    install_redaction(logger)
    install_redaction(logger)  # idempotent
    try:
        assert capture.handler.filters.count(default_redactor) == 1
        register_secret(TOKEN)
        # Propagated records skip the parent logger's filters but not its handlers'.
        logging.getLogger("tests.security.redaction.broker").warning("token %s", TOKEN)
    finally:
        uninstall_redaction(logger)
    assert capture.text == f"WARNING token {MASK}\n"


def test_vault_registers_decrypted_secrets(logger: logging.Logger) -> None:
    capture = Capture(logger, default_redactor)
    vault = CredentialVault(MemoryKeyStore())
    sealed = vault.encrypt(TOKEN, context="broker_accounts:r1:access_token")
    token = vault.decrypt(sealed.ciphertext, sealed.key_id,
                          context="broker_accounts:r1:access_token")
    assert TOKEN in default_registry.values()
    # A broker SDK logging the revealed value is masked.
    logger.debug("kite request headers %s", {"Authorization": f"token key:{token.reveal()}"})
    assert TOKEN not in capture.text and MASK in capture.text
