"""Master key stores: memory, 0600 file, OS keyring, and the backend choice."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import threading
from pathlib import Path

import keyring
import pytest
from keyring.backends import chainer, fail

from tui_trader.domain.errors import ConfigError, VaultError
from tui_trader.security.keystore import (
    ENV_VAR,
    SERVICE_NAME,
    FileKeyStore,
    KeyringKeyStore,
    KeyStore,
    MemoryKeyStore,
    keyring_usable,
    open_keystore,
)

from .fakes import DictKeyring

KEY_ID = re.compile(r"^k[0-9a-f]{7}$")
FILE_ENV = {ENV_VAR: "file"}


def _assert_no_key_material(message: str, store: KeyStore) -> None:
    for key_id in store.key_ids():
        key = store.get(key_id)
        for form in (base64.b64encode(key).decode(), key.hex(), repr(key)):
            assert form not in message


def _exercise(store: KeyStore) -> None:
    """The KeyStore contract, common to every backend."""
    assert isinstance(store, KeyStore)
    assert store.current_key_id() is None
    assert store.key_ids() == []
    first = store.create()
    assert KEY_ID.match(first)
    assert store.current_key_id() == first
    key = store.get(first)
    assert isinstance(key, bytes) and len(key) == 32
    second = store.create()
    assert second != first
    assert store.current_key_id() == second
    assert store.key_ids() == [first, second]
    assert store.get(first) == key
    assert store.get(second) != key

    with pytest.raises(VaultError) as current:
        store.retire(second)
    assert "current" in str(current.value)

    store.retire(first)
    assert store.key_ids() == [second]
    with pytest.raises(VaultError) as missing:
        store.get(first)
    message = str(missing.value)
    assert message.startswith(f"master key {first} is missing from ")
    assert base64.b64encode(key).decode() not in message and key.hex() not in message
    _assert_no_key_material(message + repr(missing.value), store)

    with pytest.raises(VaultError, match="missing"):
        store.retire(first)
    with pytest.raises(VaultError, match="malformed") as malformed:
        store.get("v1:c2VjcmV0LWNpcGhlcnRleHQ=")
    assert "c2VjcmV0" not in str(malformed.value)


def test_memory_store_contract() -> None:
    store = MemoryKeyStore()
    _exercise(store)
    with pytest.raises(VaultError, match="missing from the memory key store"):
        store.get("k0000000")


def test_memory_store_seeded_keys() -> None:
    store = MemoryKeyStore({"kaaaaaaa": b"a" * 32, "kbbbbbbb": b"b" * 32})
    assert store.current_key_id() == "kbbbbbbb"
    assert store.get("kaaaaaaa") == b"a" * 32


def test_file_store_contract(tmp_path: Path) -> None:
    _exercise(FileKeyStore(tmp_path / "data" / "master.key"))


def test_file_store_is_0600_and_persistent(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    old_umask = os.umask(0)  # the most permissive umask must still give 0600
    try:
        key_id = FileKeyStore(path).create()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reopened = FileKeyStore(path)
    assert reopened.current_key_id() == key_id
    assert len(reopened.get(key_id)) == 32
    doc = json.loads(path.read_text())
    assert doc["current"] == key_id and list(doc["keys"]) == [key_id]
    # Only the key file and its lock remain: no temp files left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.key", "master.key.lock"]
    with pytest.raises(VaultError) as missing:
        reopened.get("k0000000")
    assert str(missing.value) == f"master key k0000000 is missing from key file {path}"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_file_store_refuses_loose_permissions(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "master.key"
    key_id = FileKeyStore(path).create()
    path.chmod(mode)
    store = FileKeyStore(path)
    for action in (store.current_key_id, lambda: store.get(key_id), store.create):
        with pytest.raises(VaultError) as info:
            action()
        message = str(info.value)
        assert str(path) in message
        assert f"chmod 600 {path}" in message
        assert f"{mode:04o}" in message
    with pytest.raises(VaultError, match="chmod 600"):
        open_keystore(tmp_path, env=FILE_ENV)
    path.chmod(0o600)
    assert store.current_key_id() == key_id


def test_file_store_rejects_garbage_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"hunter2-not-json")
    os.close(fd)
    with pytest.raises(VaultError) as info:
        FileKeyStore(path).current_key_id()
    assert "hunter2" not in str(info.value)
    assert str(path) in str(info.value)


def test_file_store_concurrent_creates_lose_no_key(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    created: list[str] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        store = FileKeyStore(path)  # separate instances: only the file lock serialises them
        barrier.wait()
        created.append(store.create())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = FileKeyStore(path)
    assert sorted(store.key_ids()) == sorted(created)
    assert len(set(created)) == 6
    assert store.current_key_id() in created


def test_keyring_store_round_trip(memory_keyring: DictKeyring) -> None:
    store = KeyringKeyStore()
    _exercise(store)
    (remaining,) = store.key_ids()
    entries = memory_keyring.entries
    assert {service for service, _ in entries} == {SERVICE_NAME}
    index = json.loads(entries[(SERVICE_NAME, "master-key-index")])
    assert index["current"] == remaining and list(index["keys"]) == [remaining]
    encoded = entries[(SERVICE_NAME, f"master-key:{remaining}")]
    assert base64.b64decode(encoded) == store.get(remaining)
    assert encoded not in entries[(SERVICE_NAME, "master-key-index")]  # index holds no keys
    # Retired keys are deleted from the keyring, not just unlisted.
    assert len(entries) == 2
    assert KeyringKeyStore().current_key_id() == remaining


def test_keyring_backend_failure_is_a_vault_error(memory_keyring: DictKeyring) -> None:
    class Broken(DictKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise RuntimeError("dbus said: secret=abcd1234")

    store = KeyringKeyStore(backend=Broken())
    with pytest.raises(VaultError) as info:
        store.current_key_id()
    assert "RuntimeError" in str(info.value)
    assert "abcd1234" not in str(info.value)


def test_keyring_usable(restore_keyring: None) -> None:
    assert keyring_usable(fail.Keyring()) is False
    backend = DictKeyring()
    assert keyring_usable(backend) is True
    assert backend.entries == {}  # the probe cleans up after itself

    class ReadOnly(DictKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.PasswordSetError("locked")

    assert keyring_usable(ReadOnly()) is False
    # A keyring that already holds our index is in use: no probe write needed.
    in_use = ReadOnly()
    in_use.entries[(SERVICE_NAME, "master-key-index")] = "{}"
    assert keyring_usable(in_use) is True
    keyring.set_keyring(fail.Keyring())
    assert keyring_usable() is False


def test_keyring_chainer_without_backends_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert keyring_usable(chainer.ChainerBackend()) is False


def test_open_keystore_forced_file_warns_once(tmp_path: Path) -> None:
    store, warning = open_keystore(tmp_path, env=FILE_ENV)
    path = tmp_path / "master.key"
    assert isinstance(store, FileKeyStore) and store.path == path
    assert warning == f"{ENV_VAR}=file: master key kept in {path} (mode 0600)"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, second_warning = open_keystore(tmp_path, env=FILE_ENV)
    assert isinstance(again, FileKeyStore) and second_warning is None


def test_open_keystore_without_keyring_falls_back_to_file(tmp_path: Path,
                                                          restore_keyring: None) -> None:
    keyring.set_keyring(fail.Keyring())
    store, warning = open_keystore(tmp_path, env={})
    assert isinstance(store, FileKeyStore)
    assert warning == f"no OS keyring: master key kept in {tmp_path / 'master.key'} (mode 0600)"
    assert open_keystore(tmp_path, env={})[1] is None


def test_open_keystore_prefers_a_working_keyring(tmp_path: Path,
                                                 memory_keyring: DictKeyring) -> None:
    store, warning = open_keystore(tmp_path, env={})
    assert isinstance(store, KeyringKeyStore) and warning is None
    assert not (tmp_path / "master.key").exists()
    store, warning = open_keystore(tmp_path, env={ENV_VAR: "keyring"})
    assert isinstance(store, KeyringKeyStore)


def test_open_keystore_existing_file_wins_over_keyring(tmp_path: Path,
                                                       memory_keyring: DictKeyring) -> None:
    key_id = FileKeyStore(tmp_path / "master.key").create()
    store, warning = open_keystore(tmp_path, env={})
    assert isinstance(store, FileKeyStore) and warning is None
    assert store.current_key_id() == key_id


def test_open_keystore_bad_settings(tmp_path: Path, restore_keyring: None) -> None:
    with pytest.raises(ConfigError, match=ENV_VAR):
        open_keystore(tmp_path, env={ENV_VAR: "vault"})
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(ConfigError, match="no working OS keyring"):
        open_keystore(tmp_path, env={ENV_VAR: "keyring"})
