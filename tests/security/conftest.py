"""Fixtures for the security tests: an in-memory OS keyring and a clean log-redaction state."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest

from tui_trader.security.keystore import MemoryKeyStore
from tui_trader.security.redaction import default_registry
from tui_trader.security.vault import CredentialVault

from .fakes import DictKeyring


@pytest.fixture
def restore_keyring() -> Iterator[None]:
    """Put back whatever keyring backend was active before the test."""
    previous = keyring.get_keyring()
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(restore_keyring: None) -> DictKeyring:
    backend = DictKeyring()
    keyring.set_keyring(backend)
    return backend


@pytest.fixture
def vault() -> CredentialVault:
    return CredentialVault(MemoryKeyStore())


@pytest.fixture(autouse=True)
def _clean_redaction_registry() -> Iterator[None]:
    yield
    default_registry.clear()
