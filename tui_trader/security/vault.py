"""The credential vault: AES-256-GCM sealing of broker credentials at rest.

Owns the ciphertext format `v1:<base64(nonce[12] | ciphertext | tag[16])>`, nonce generation
(fresh and random per encryption), and binding each ciphertext to where it is stored: the
caller's `context` (e.g. "broker_accounts:<row_id>:api_key") is GCM associated data, so a
ciphertext copied into another row or column fails authentication instead of decrypting.

The key id travels beside the ciphertext (a column of its own), not inside it. Messages and
logs carry key ids only -- never plaintext, key bytes or ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
import threading
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tui_trader.domain.errors import ValidationError, VaultError
from tui_trader.security.keystore import KeyStore, check_key_id
from tui_trader.security.redaction import register_secret
from tui_trader.security.secret import Secret, reveal

log = logging.getLogger(__name__)

FORMAT_PREFIX = "v1:"
NONCE_BYTES = 12  # GCM's native nonce size; random 96-bit nonces are safe far past our volume
TAG_BYTES = 16

TAMPERED = "stored credential failed authentication (corrupted or tampered)"


@dataclass(frozen=True, slots=True)
class Sealed:
    """A ciphertext and the id of the master key it was sealed with (store both)."""

    # repr=False: ciphertext is not secret, but it has no business in logs or tracebacks.
    ciphertext: str = field(repr=False)
    key_id: str


class CredentialVault:
    """Encrypts and decrypts credential strings with the key store's master keys."""

    def __init__(self, keystore: KeyStore, *, redact_decrypted: bool = True) -> None:
        self._keystore = keystore
        self._lock = threading.Lock()
        # Every decrypted Secret is registered (weakly) with the log redactor, so a broker SDK
        # that logs a request with the token in it is masked.
        self._redact_decrypted = redact_decrypted

    @property
    def keystore(self) -> KeyStore:
        return self._keystore

    def current_key_id(self) -> str:
        """The key new ciphertexts use; creates the first master key if the store has none."""
        key_id = self._keystore.current_key_id()
        if key_id is not None:
            return key_id
        with self._lock:  # one first key per vault, however many threads ask at once
            key_id = self._keystore.current_key_id()
            if key_id is None:
                key_id = self._keystore.create()
                log.info("created the first master key %s", key_id)
            return key_id

    def encrypt(self, plaintext: str | Secret, *, context: str) -> Sealed:
        """Seal `plaintext` under the current key, bound to `context`."""
        _check_context(context)
        value = reveal(plaintext)
        if not isinstance(value, str):
            raise ValidationError("plaintext", "must be a string")
        key_id = self.current_key_id()
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._cipher(key_id).encrypt(nonce, value.encode("utf-8"),
                                              context.encode("utf-8"))
        text = FORMAT_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")
        return Sealed(ciphertext=text, key_id=key_id)

    def decrypt(self, ciphertext: str, key_id: str, *, context: str) -> Secret:
        """Open a ciphertext sealed under `key_id` with the same `context`."""
        _check_context(context)
        blob = _decode(ciphertext)
        cipher = self._cipher(check_key_id(key_id))
        try:
            plain = cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:],
                                   context.encode("utf-8"))
            value = plain.decode("utf-8")
        except (InvalidTag, UnicodeDecodeError):
            # Wrong key, wrong context, flipped bit: GCM cannot tell which, and neither do we.
            raise VaultError(TAMPERED) from None
        secret = Secret(value)
        if self._redact_decrypted:
            register_secret(secret)
        return secret

    def reencrypt(self, ciphertext: str, key_id: str, *, context: str) -> Sealed:
        """Re-seal an existing ciphertext under the current key (for rotation)."""
        return self.encrypt(self.decrypt(ciphertext, key_id, context=context), context=context)

    def rotate(self) -> str:
        """Make a new master key current; older keys stay readable until retired."""
        with self._lock:
            key_id = self._keystore.create()
        log.info("rotated to master key %s", key_id)
        return key_id

    def retire(self, key_id: str) -> None:
        """Delete an old master key; everything still sealed under it becomes unreadable."""
        self._keystore.retire(check_key_id(key_id))

    def _cipher(self, key_id: str) -> AESGCM:
        return AESGCM(self._keystore.get(key_id))


def _check_context(context: object) -> None:
    if not isinstance(context, str) or not context:
        raise ValidationError("context", "must name where the credential is stored, "
                                         "e.g. 'broker_accounts:<id>:api_key'")


def _decode(ciphertext: object) -> bytes:
    if not isinstance(ciphertext, str) or not ciphertext.startswith(FORMAT_PREFIX):
        raise VaultError("stored credential has an unknown format (expected a v1 ciphertext)")
    try:
        blob = base64.b64decode(ciphertext[len(FORMAT_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise VaultError(TAMPERED) from None
    if len(blob) < NONCE_BYTES + TAG_BYTES:
        raise VaultError(TAMPERED)
    return blob
