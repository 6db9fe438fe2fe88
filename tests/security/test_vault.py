"""CredentialVault: AES-256-GCM round trip, nonces, tamper and context binding, key errors."""

from __future__ import annotations

import base64
import threading
from pathlib import Path

import pytest

from tui_trader.domain.errors import ValidationError, VaultError
from tui_trader.security.keystore import FileKeyStore, MemoryKeyStore
from tui_trader.security.secret import Secret
from tui_trader.security.vault import TAMPERED, CredentialVault, Sealed

PLAINTEXT = "zerodha-api-secret-5f4dcc3b5aa765d6"
CONTEXT = "broker_accounts:0f8fad5b-d9cb-469f-a165-70867728950e:api_secret"


def _blob(sealed: Sealed) -> bytes:
    assert sealed.ciphertext.startswith("v1:")
    return base64.b64decode(sealed.ciphertext[3:], validate=True)


def _with_blob(blob: bytes) -> str:
    return "v1:" + base64.b64encode(blob).decode()


def _assert_clean(exc: BaseException, *secrets: str) -> None:
    for text in (str(exc), repr(exc), str(exc.args)):
        for secret in secrets:
            assert secret not in text


def test_round_trip_creates_the_first_key(vault: CredentialVault) -> None:
    assert vault.keystore.key_ids() == []
    sealed = vault.encrypt(PLAINTEXT, context=CONTEXT)
    assert vault.keystore.key_ids() == [sealed.key_id]
    assert sealed.key_id == vault.current_key_id()
    opened = vault.decrypt(sealed.ciphertext, sealed.key_id, context=CONTEXT)
    assert isinstance(opened, Secret)
    assert opened.reveal() == PLAINTEXT
    assert PLAINTEXT not in sealed.ciphertext


@pytest.mark.parametrize("plaintext", ["", "x", "नमस्ते ₹ token", "a" * 4096])
def test_round_trip_any_text(vault: CredentialVault, plaintext: str) -> None:
    sealed = vault.encrypt(Secret(plaintext), context=CONTEXT)
    assert len(_blob(sealed)) == 12 + len(plaintext.encode()) + 16
    assert vault.decrypt(sealed.ciphertext, sealed.key_id, context=CONTEXT).reveal() == plaintext


def test_fresh_nonce_per_encryption(vault: CredentialVault) -> None:
    sealed = [vault.encrypt(PLAINTEXT, context=CONTEXT) for _ in range(50)]
    assert len({s.ciphertext for s in sealed}) == 50
    assert len({_blob(s)[:12] for s in sealed}) == 50


def test_sealed_repr_hides_ciphertext(vault: CredentialVault) -> None:
    sealed = vault.encrypt(PLAINTEXT, context=CONTEXT)
    assert sealed.ciphertext not in repr(sealed)
    assert sealed.key_id in repr(sealed)


@pytest.mark.parametrize("position", [0, 11, 12, 20, -16, -1])  # nonce, ciphertext, tag
def test_flipped_byte_is_detected(vault: CredentialVault, position: int) -> None:
    sealed = vault.encrypt(PLAINTEXT, context=CONTEXT)
    blob = bytearray(_blob(sealed))
    blob[position] ^= 0x01
    with pytest.raises(VaultError) as info:
        vault.decrypt(_with_blob(bytes(blob)), sealed.key_id, context=CONTEXT)
    assert str(info.value) == TAMPERED
    _assert_clean(info.value, PLAINTEXT, sealed.ciphertext)


@pytest.mark.parametrize("mangle", [
    lambda text: text[:-4],                 # truncated base64
    lambda text: text[:3] + "!!" + text[5:],  # not base64
    lambda text: "v1:" + base64.b64encode(b"short").decode(),  # shorter than nonce + tag
    lambda text: text + "AAAA",            # extra bytes after the tag
])
def test_corrupted_ciphertext_is_detected(vault: CredentialVault, mangle) -> None:
    sealed = vault.encrypt(PLAINTEXT, context=CONTEXT)
    with pytest.raises(VaultError) as info:
        vault.decrypt(mangle(sealed.ciphertext), sealed.key_id, context=CONTEXT)
    assert str(info.value) == TAMPERED
    _assert_clean(info.value, PLAINTEXT, sealed.ciphertext)


@pytest.mark.parametrize("ciphertext", [PLAINTEXT, "v2:AAAA", "", "V1:AAAA"])
def test_unknown_format(vault: CredentialVault, ciphertext: str) -> None:
    key_id = vault.current_key_id()
    with pytest.raises(VaultError, match="unknown format") as info:
        vault.decrypt(ciphertext, key_id, context=CONTEXT)
    _assert_clean(info.value, PLAINTEXT)


def test_ciphertext_is_bound_to_its_context(vault: CredentialVault) -> None:
    sealed = vault.encrypt(PLAINTEXT, context=CONTEXT)
    for other in (CONTEXT.replace("api_secret", "api_key"),
                  "broker_accounts:11111111-1111-1111-1111-111111111111:api_secret",
                  CONTEXT + " "):
        with pytest.raises(VaultError) as info:
            vault.decrypt(sealed.ciphertext, sealed.key_id, context=other)
        assert str(info.value) == TAMPERED
    assert vault.decrypt(sealed.ciphertext, sealed.key_id, context=CONTEXT).reveal() == PLAINTEXT
    with pytest.raises(ValidationError, match="context"):
        vault.encrypt(PLAINTEXT, context="")


def test_missing_key_names_the_key_id(vault: CredentialVault) -> None:
    sealed = vault.encrypt(PLAINTEXT, context=CONTEXT)
    with pytest.raises(VaultError) as info:
        vault.decrypt(sealed.ciphertext, "k0000000", context=CONTEXT)
    assert str(info.value) == "master key k0000000 is missing from the memory key store"
    key = vault.keystore.get(sealed.key_id)
    _assert_clean(info.value, PLAINTEXT, sealed.ciphertext, key.hex(),
                  base64.b64encode(key).decode())


def test_wrong_key_fails_authentication() -> None:
    first = CredentialVault(MemoryKeyStore({"kaaaaaaa": b"a" * 32}))
    second = CredentialVault(MemoryKeyStore({"kaaaaaaa": b"b" * 32}))
    sealed = first.encrypt(PLAINTEXT, context=CONTEXT)
    with pytest.raises(VaultError, match="failed authentication"):
        second.decrypt(sealed.ciphertext, sealed.key_id, context=CONTEXT)


def test_rotate_and_reencrypt(vault: CredentialVault) -> None:
    old = vault.encrypt(PLAINTEXT, context=CONTEXT)
    new_key = vault.rotate()
    assert new_key != old.key_id and vault.current_key_id() == new_key
    # Old ciphertexts stay readable until their key is retired.
    assert vault.decrypt(old.ciphertext, old.key_id, context=CONTEXT).reveal() == PLAINTEXT
    moved = vault.reencrypt(old.ciphertext, old.key_id, context=CONTEXT)
    assert moved.key_id == new_key
    vault.retire(old.key_id)
    assert vault.decrypt(moved.ciphertext, moved.key_id, context=CONTEXT).reveal() == PLAINTEXT
    with pytest.raises(VaultError, match=f"master key {old.key_id} is missing"):
        vault.decrypt(old.ciphertext, old.key_id, context=CONTEXT)


def test_file_backed_vault_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    sealed = CredentialVault(FileKeyStore(path)).encrypt(PLAINTEXT, context=CONTEXT)
    reopened = CredentialVault(FileKeyStore(path))
    assert reopened.decrypt(sealed.ciphertext, sealed.key_id, context=CONTEXT).reveal() \
        == PLAINTEXT
    assert PLAINTEXT not in path.read_text()


def test_concurrent_first_use_creates_one_key(vault: CredentialVault) -> None:
    barrier = threading.Barrier(8)
    results: list[Sealed] = []

    def worker() -> None:
        barrier.wait()
        results.append(vault.encrypt(PLAINTEXT, context=CONTEXT))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(vault.keystore.key_ids()) == 1
    assert {sealed.key_id for sealed in results} == set(vault.keystore.key_ids())
