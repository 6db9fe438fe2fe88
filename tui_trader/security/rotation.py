"""Key rotation: move every stored credential onto a fresh master key.

Owns the rotation procedure and its all-or-nothing retirement rule: old keys are retired
only when every field was re-encrypted and saved. The caller supplies the fields (it knows
the tables) and a `save` that writes the new ciphertext and key id back to the row.

Run it with no other process writing credentials: a credential sealed under an old key
after `fields` was read would not be re-encrypted, and retiring that key would lose it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from uuid import UUID

from tui_trader.domain.errors import TuiTraderError, VaultError
from tui_trader.security.vault import CredentialVault, Sealed

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EncryptedField:
    """One stored ciphertext: where it lives and what it was sealed with."""

    row_id: str | UUID
    column: str
    ciphertext: str = field(repr=False)
    key_id: str
    context: str


@dataclass(frozen=True, slots=True)
class RotationFailure:
    """A field that could not be rotated; `reason` is safe to show (no secret, no ciphertext)."""

    row_id: str
    column: str
    reason: str


@dataclass(frozen=True, slots=True)
class RotationReport:
    new_key_id: str
    old_key_ids: tuple[str, ...]
    rotated: int
    failures: tuple[RotationFailure, ...]
    retired: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        text = f"rotated {self.rotated} credential(s) to master key {self.new_key_id}"
        if self.failures:
            where = ", ".join(f"{f.row_id}/{f.column}" for f in self.failures)
            text += f"; {len(self.failures)} failed ({where}); no key retired"
        elif self.retired:
            text += f"; retired {', '.join(self.retired)}"
        return text


def rotate_all(vault: CredentialVault, fields: Iterable[EncryptedField],
               save: Callable[[EncryptedField, Sealed], None], *,
               retire_old: bool = False) -> RotationReport:
    """Create a new master key, re-encrypt and save every field under it, report the result.

    Every field is attempted even after a failure, so one report lists all of them. With
    `retire_old=True` and no failures, every key that existed before the rotation is retired
    -- passing it asserts `fields` covers every ciphertext sealed under those keys.
    """
    old_key_ids = tuple(vault.keystore.key_ids())
    new_key_id = vault.rotate()
    rotated = 0
    failures: list[RotationFailure] = []
    for item in fields:
        try:
            sealed = vault.reencrypt(item.ciphertext, item.key_id, context=item.context)
        except TuiTraderError as exc:  # vault/validation messages are safe to show by design
            failures.append(RotationFailure(str(item.row_id), item.column, exc.message))
            continue
        try:
            save(item, sealed)
        except Exception as exc:
            # Only the type: a database error's text can quote the parameters it was given.
            failures.append(RotationFailure(str(item.row_id), item.column,
                                            f"save failed: {type(exc).__name__}"))
            continue
        rotated += 1

    retired: list[str] = []
    if retire_old and not failures:
        for key_id in old_key_ids:
            try:
                vault.retire(key_id)
            except VaultError as exc:  # e.g. already gone; the rest can still be retired
                log.warning("could not retire master key %s: %s", key_id, exc)
            else:
                retired.append(key_id)

    report = RotationReport(new_key_id=new_key_id, old_key_ids=old_key_ids, rotated=rotated,
                            failures=tuple(failures), retired=tuple(retired))
    (log.warning if failures else log.info)("%s", report.summary())
    return report
