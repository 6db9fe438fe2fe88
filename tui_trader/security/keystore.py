"""Master keys: where the 256-bit keys that seal broker credentials live.

Owns key generation, key ids (`k` + 7 hex digits, stored beside each ciphertext), the current
key pointer, retirement, and the choice of backend:

- `KeyringKeyStore`  the OS keyring (service `tui-trader`): one JSON index entry plus one
                     base64 entry per key.
- `FileKeyStore`     one JSON file, mode 0600, replaced atomically; for headless servers.
- `MemoryKeyStore`   for tests.

Error messages name key ids and locations, never key material.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import re
import secrets
import stat
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import keyring
import keyring.backend
from keyring.backends import chainer, fail, null

from tui_trader.domain.clock import utc_now
from tui_trader.domain.errors import ConfigError, VaultError

try:  # POSIX advisory locks serialise read-modify-write of the key file across processes.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

KEY_BYTES = 32  # AES-256
SERVICE_NAME = "tui-trader"
KEY_FILE_NAME = "master.key"
ENV_VAR = "TUI_TRADER_KEYSTORE"

_INDEX_ENTRY = "master-key-index"
_KEY_ENTRY_PREFIX = "master-key:"
_FILE_FORMAT = "tui-trader-master-keys"
# Ids are generated as k + 7 hex; the looser check only keeps junk from a corrupted row (which
# could be anything, even ciphertext) out of messages and keyring entry names.
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_POSIX = os.name == "posix"


@runtime_checkable
class KeyStore(Protocol):
    """A set of master keys, one of which is current (used for new encryptions)."""

    def current_key_id(self) -> str | None:
        """The key new ciphertexts are sealed with, or None before the first `create()`."""
        ...

    def get(self, key_id: str) -> bytes:
        """The 32-byte key; VaultError naming the id and backend when it is absent."""
        ...

    def create(self) -> str:
        """Generate a new random key, make it current, return its id."""
        ...

    def retire(self, key_id: str) -> None:
        """Delete a non-current key; ciphertexts under it become unreadable."""
        ...

    def key_ids(self) -> list[str]:
        """Every stored key id, oldest first."""
        ...


def new_key_id(taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A fresh `k` + 7 hex id not in `taken` (short: it is stored in every credential row)."""
    while True:
        key_id = "k" + secrets.token_hex(4)[:7]
        if key_id not in taken:
            return key_id


def check_key_id(key_id: object) -> str:
    """Return a well-formed key id or raise without echoing the malformed value."""
    if not isinstance(key_id, str) or not _KEY_ID_RE.match(key_id):
        raise VaultError("master key id is malformed (expected an id like k1a2b3c4)")
    return key_id


def missing_key_error(key_id: str, location: str) -> VaultError:
    return VaultError(f"master key {key_id} is missing from {location}")


@dataclass
class _Index:
    """Which keys exist (id -> created_at, oldest first) and which one is current."""

    current: str | None = None
    keys: dict[str, str] = field(default_factory=dict)


class _IndexedKeyStore(ABC):
    """Key bookkeeping shared by every backend; subclasses supply storage primitives."""

    location: str

    def __init__(self) -> None:
        self._lock = threading.RLock()

    # --- storage primitives -------------------------------------------------------------
    @abstractmethod
    def _load_index(self) -> _Index: ...

    @abstractmethod
    def _load_material(self, key_id: str) -> str | None:
        """The base64 text of a key, or None when absent."""

    @abstractmethod
    def _commit(self, index: _Index, *, add: tuple[str, str] | None = None,
                remove: str | None = None) -> None:
        """Persist `index`, storing the (id, base64) in `add` and deleting `remove`."""

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Exclusive access for a read-modify-write (threads; subclasses add processes)."""
        with self._lock:
            yield

    # --- KeyStore -----------------------------------------------------------------------
    def current_key_id(self) -> str | None:
        return self._load_index().current

    def key_ids(self) -> list[str]:
        return list(self._load_index().keys)

    def get(self, key_id: str) -> bytes:
        check_key_id(key_id)
        encoded = self._load_material(key_id)
        if encoded is None:
            raise missing_key_error(key_id, self.location)
        try:
            material = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError, TypeError):
            material = b""
        if len(material) != KEY_BYTES:
            raise VaultError(f"master key {key_id} in {self.location} is corrupted "
                             f"(not a 256-bit key)")
        return material

    def create(self) -> str:
        with self._transaction():
            index = self._load_index()
            key_id = new_key_id(set(index.keys))
            encoded = base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
            index.keys[key_id] = utc_now().isoformat()
            index.current = key_id
            self._commit(index, add=(key_id, encoded))
        log.info("created master key %s in %s", key_id, self.location)
        return key_id

    def retire(self, key_id: str) -> None:
        check_key_id(key_id)
        with self._transaction():
            index = self._load_index()
            if key_id not in index.keys and self._load_material(key_id) is None:
                raise missing_key_error(key_id, self.location)
            if key_id == index.current:
                # Retiring the current key would leave new writes with nothing to use.
                raise VaultError(f"master key {key_id} is the current key; rotate to a new "
                                 f"key before retiring it")
            index.keys.pop(key_id, None)
            self._commit(index, remove=key_id)
        log.info("retired master key %s from %s", key_id, self.location)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"


# --- memory ----------------------------------------------------------------------------------


class MemoryKeyStore(_IndexedKeyStore):
    """Keys in a dict; for tests and throwaway vaults."""

    def __init__(self, keys: Mapping[str, bytes] | None = None,
                 current: str | None = None) -> None:
        super().__init__()
        self.location = "the memory key store"
        self._material: dict[str, str] = {}
        self._index = _Index()
        for key_id, material in (keys or {}).items():
            self._material[check_key_id(key_id)] = base64.b64encode(material).decode("ascii")
            self._index.keys[key_id] = utc_now().isoformat()
        if current is not None and current not in self._index.keys:
            raise VaultError(f"master key {current} is missing from {self.location}")
        # Default current: the last key given, as if they had been created in order.
        self._index.current = current if current is not None else next(
            reversed(list(self._index.keys)), None)

    def _load_index(self) -> _Index:
        with self._lock:
            return _Index(self._index.current, dict(self._index.keys))

    def _load_material(self, key_id: str) -> str | None:
        return self._material.get(key_id)

    def _commit(self, index: _Index, *, add: tuple[str, str] | None = None,
                remove: str | None = None) -> None:
        if add is not None:
            self._material[add[0]] = add[1]
        if remove is not None:
            self._material.pop(remove, None)
        self._index = _Index(index.current, dict(index.keys))


# --- OS keyring ------------------------------------------------------------------------------


class KeyringKeyStore(_IndexedKeyStore):
    """Keys in the OS keyring: entry `master-key-index` (JSON) and `master-key:<id>` (base64).

    Writes are ordered so a crash never leaves the index pointing at a key that was not
    stored: key first, then index on create; index first, then key on retire. The keyring
    offers no cross-process lock, so run rotation from one process at a time.
    """

    def __init__(self, service: str = SERVICE_NAME,
                 backend: keyring.backend.KeyringBackend | None = None) -> None:
        super().__init__()
        self.service = service
        self._backend = backend if backend is not None else keyring.get_keyring()
        self.location = f"the OS keyring ({_backend_name(self._backend)}, service {service})"

    def _call(self, method: str, *args: str) -> Any:
        try:
            return getattr(self._backend, method)(self.service, *args)
        except Exception as exc:
            # Only the exception type: backend messages can echo what was being stored.
            raise VaultError(f"{self.location} failed: {type(exc).__name__}") from None

    def _load_index(self) -> _Index:
        raw = self._call("get_password", _INDEX_ENTRY)
        if raw is None:
            return _Index()
        return _parse_index(raw, f"{self.location} entry {_INDEX_ENTRY}")

    def _load_material(self, key_id: str) -> str | None:
        return self._call("get_password", _KEY_ENTRY_PREFIX + key_id)

    def _commit(self, index: _Index, *, add: tuple[str, str] | None = None,
                remove: str | None = None) -> None:
        if add is not None:
            self._call("set_password", _KEY_ENTRY_PREFIX + add[0], add[1])
        self._call("set_password", _INDEX_ENTRY, json.dumps(_index_doc(index)))
        if remove is not None:
            with contextlib.suppress(VaultError):  # already gone is as good as deleted
                self._call("delete_password", _KEY_ENTRY_PREFIX + remove)


def _backend_name(backend: keyring.backend.KeyringBackend) -> str:
    return getattr(backend, "name", None) or type(backend).__name__


def keyring_usable(backend: keyring.backend.KeyringBackend | None = None) -> bool:
    """Whether the OS keyring has a real backend that can store, read and delete an entry."""
    try:
        backend = backend if backend is not None else keyring.get_keyring()
        if isinstance(backend, fail.Keyring | null.Keyring):
            return False
        if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
            return False
        if backend.get_password(SERVICE_NAME, _INDEX_ENTRY) is not None:
            return True  # our keys are already there: it works, no need to probe-write
        probe = f"probe-{secrets.token_hex(4)}"
        backend.set_password(SERVICE_NAME, probe, "probe")
        try:
            return backend.get_password(SERVICE_NAME, probe) == "probe"
        finally:
            backend.delete_password(SERVICE_NAME, probe)
    except Exception:  # locked collections, no D-Bus session, denied prompts, ...
        return False


# --- file ------------------------------------------------------------------------------------


class FileKeyStore(_IndexedKeyStore):
    """Keys in one JSON file with mode 0600.

    Every write goes to a new temp file created with O_CREAT|O_EXCL and mode 0600, then
    replaces the real file by rename, so the key file is never observable half-written or
    with looser permissions. A file with any group/other permission bits is refused.
    """

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = Path(path)
        self.location = f"key file {self.path}"
        self._lock_path = self.path.with_name(self.path.name + ".lock")

    def initialize(self) -> bool:
        """Create an empty key file if there is none; True when this call created it."""
        with self._transaction():
            if self._read_doc() is not None:
                return False
            self._write_doc(_file_doc(_Index(), {}))
            return True

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            if fcntl is None:  # pragma: no cover - Windows: threads only
                yield
                return
            self._ensure_dir()
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def _ensure_dir(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _read_doc(self) -> dict[str, Any] | None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise VaultError(f"cannot read {self.location}: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as handle:
            # fstat on the open descriptor: the mode checked is the file actually read.
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise VaultError(f"{self.location} is not a regular file")
            if _POSIX and st.st_mode & 0o077:
                mode = stat.S_IMODE(st.st_mode)
                raise VaultError(f"{self.location} has mode {mode:04o}, readable or writable "
                                 f"by other users; refusing to use it. Run: chmod 600 "
                                 f"{self.path}")
            raw = handle.read()
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if (not isinstance(doc, dict) or doc.get("format") != _FILE_FORMAT
                or not isinstance(doc.get("keys"), dict)):
            raise VaultError(f"{self.location} is not a tui-trader key file (unreadable JSON)")
        return doc

    def _write_doc(self, doc: dict[str, Any]) -> None:
        self._ensure_dir()
        data = (json.dumps(doc, indent=2) + "\n").encode("utf-8")
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(6)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(tmp, flags, 0o600)
            try:
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, 0o600)  # in case the umask is odd; 0600 is the promise
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise VaultError(f"cannot write {self.location}: {exc.strerror}") from None
        _fsync_dir(self.path.parent)  # make the rename itself durable

    def _load_index(self) -> _Index:
        doc = self._read_doc()
        if doc is None:
            return _Index()
        return _parse_index(doc, self.location)

    def _load_material(self, key_id: str) -> str | None:
        doc = self._read_doc()
        entry = (doc or {}).get("keys", {}).get(key_id)
        return entry.get("key") if isinstance(entry, dict) else None

    def _commit(self, index: _Index, *, add: tuple[str, str] | None = None,
                remove: str | None = None) -> None:
        doc = self._read_doc() or _file_doc(_Index(), {})
        material = {kid: entry["key"] for kid, entry in doc["keys"].items()
                    if isinstance(entry, dict) and "key" in entry}
        if add is not None:
            material[add[0]] = add[1]
        if remove is not None:
            material.pop(remove, None)
        self._write_doc(_file_doc(index, material))


def _fsync_dir(directory: Path) -> None:
    if not _POSIX:  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- index (de)serialisation ---------------------------------------------------------------


def _index_doc(index: _Index) -> dict[str, Any]:
    return {"version": 1, "current": index.current,
            "keys": {kid: {"created_at": created} for kid, created in index.keys.items()}}


def _file_doc(index: _Index, material: Mapping[str, str]) -> dict[str, Any]:
    keys = {kid: {"created_at": created, "key": material[kid]}
            for kid, created in index.keys.items() if kid in material}
    return {"format": _FILE_FORMAT, "version": 1, "current": index.current, "keys": keys}


def _parse_index(raw: str | dict[str, Any], where: str) -> _Index:
    try:
        doc = json.loads(raw) if isinstance(raw, str) else raw
        current = doc.get("current")
        keys = doc["keys"]
        if not isinstance(keys, dict) or not (current is None or current in keys):
            raise ValueError
        return _Index(current, {check_key_id(kid): str((entry or {}).get("created_at", ""))
                                for kid, entry in keys.items()})
    except (ValueError, KeyError, TypeError, AttributeError, VaultError):
        raise VaultError(f"the master key index in {where} is corrupted") from None


# --- choosing a backend ----------------------------------------------------------------------


def open_keystore(data_dir: Path, *, env: Mapping[str, str] | None = None,
                  needed: frozenset[str] | set[str] = frozenset()
                  ) -> tuple[KeyStore, str | None]:
    """The key store to use, and a warning to show once when a key file was just created.

    Order: `TUI_TRADER_KEYSTORE=file|keyring` forces a backend; otherwise an existing
    `data_dir/master.key` wins (its keys are already sealing credentials, and switching to a
    freshly found keyring would orphan them); otherwise the OS keyring if it really works;
    otherwise a new key file.

    `needed` are the key ids stored credentials were sealed with. A store that lacks any of
    them is a VaultError -- a deleted or moved key file is never replaced by a new, empty
    one while credentials depend on it.
    """
    environ = os.environ if env is None else env
    choice = environ.get(ENV_VAR, "").strip().lower()
    if choice not in ("", "auto", "file", "keyring"):
        raise ConfigError(ENV_VAR, "must be 'file', 'keyring' or unset")
    path = Path(data_dir) / KEY_FILE_NAME

    if choice == "keyring":
        if not keyring_usable():
            raise ConfigError(ENV_VAR, "'keyring' was requested but no working OS keyring "
                                       "backend was found")
        return _holding(KeyringKeyStore(), needed), None

    if choice == "file" or path.exists() or not keyring_usable():
        store = FileKeyStore(path)
        if needed and not path.exists():
            raise _missing_keys(needed, store.location, "is missing")
        created = store.initialize()  # also validates an existing file (mode, format)
        warning = None
        if created:
            reason = f"{ENV_VAR}=file" if choice == "file" else "no OS keyring"
            warning = f"{reason}: master key kept in {path} (mode 0600)"
            log.warning("%s", warning)
        return _holding(store, needed), warning

    return _holding(KeyringKeyStore(), needed), None


def _holding(store: KeyStore, needed: frozenset[str] | set[str]) -> KeyStore:
    absent = set(needed) - set(store.key_ids())
    if absent:
        raise _missing_keys(absent, getattr(store, "location", type(store).__name__),
                            "lacks them")
    return store


def _missing_keys(key_ids: frozenset[str] | set[str], location: str, state: str) -> VaultError:
    names = ", ".join(sorted(check_key_id(k) for k in key_ids))
    return VaultError(f"stored broker credentials are sealed with master key(s) {names}, and "
                      f"{location} {state}: restore it from a backup (it was deleted or "
                      f"moved?); it is never replaced by an empty one")
