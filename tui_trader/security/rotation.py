"""Key rotation: move every stored credential onto a fresh master key.

Owns the rotation procedure and its retirement rule: old keys are retired only when every
field was re-encrypted and saved, and then every ciphertext read back from where it is
stored is sealed under the new key and opens with it. The caller supplies the fields (it
knows the tables), a `save` that writes the new ciphertext and key id back to the row, and
`stored`, which reads every ciphertext as it is stored now.

The caller also keeps credential writers out while it reads, re-encrypts and saves (see
tui_trader.db.credential_fence): the read-back check refuses to retire a key something was
still sealed under, but cannot bring back a credential lost to a writer's stale save.
"""

from __future__ import annotations

import dataclasses
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
    label: str = ""  # what a person calls the row, e.g. "'Main' of a@example.com"


@dataclass(frozen=True, slots=True)
class RotationFailure:
    """A field that could not be rotated; `reason` is safe to show (no secret, no ciphertext)."""

    row_id: str
    column: str
    reason: str
    label: str = ""

    def where(self) -> str:
        return f"{self.label or self.row_id}/{self.column}"


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
            where = "; ".join(f"{f.where()}: {f.reason}" for f in self.failures)
            text += f"; {len(self.failures)} failed ({where}); no key retired"
        elif self.retired:
            text += f"; retired {', '.join(self.retired)}"
        return text


def rotate_all(vault: CredentialVault, fields: Iterable[EncryptedField],
               save: Callable[[EncryptedField, Sealed], None], *,
               retire_old: bool = False,
               stored: Callable[[], Iterable[EncryptedField]] | None = None) -> RotationReport:
    """Create a new master key, re-encrypt and save every field under it, report the result.

    Every field is attempted even after a failure, so one report lists all of them. With
    `retire_old=True` and no failures, the keys that existed before the rotation are retired
    once `stored()` shows every ciphertext under the new key and readable (`retire_checked`).
    """
    old_key_ids = tuple(vault.keystore.key_ids())
    new_key_id = vault.rotate()
    rotated = 0
    failures: list[RotationFailure] = []
    for item in fields:
        try:
            sealed = vault.reencrypt(item.ciphertext, item.key_id, context=item.context)
        except TuiTraderError as exc:  # vault/validation messages are safe to show by design
            failures.append(_failure(item, exc.message))
            continue
        try:
            save(item, sealed)
        except Exception as exc:
            # Only the type: a database error's text can quote the parameters it was given.
            failures.append(_failure(item, f"save failed: {type(exc).__name__}"))
            continue
        rotated += 1

    report = RotationReport(new_key_id=new_key_id, old_key_ids=old_key_ids, rotated=rotated,
                            failures=tuple(failures), retired=())
    if retire_old and not failures:
        if stored is None:
            raise ValueError("retiring old keys needs `stored` to check the rows against")
        report = retire_checked(vault, report, stored())
    (log.warning if report.failures else log.info)("%s", report.summary())
    return report


def check_all(vault: CredentialVault, fields: Iterable[EncryptedField],
              key_id: str) -> tuple[RotationFailure, ...]:
    """Every field that is not sealed under `key_id`, or does not open with it."""
    failures: list[RotationFailure] = []
    for item in fields:
        if item.key_id != key_id:
            failures.append(_failure(item, f"still sealed under master key {item.key_id}"))
            continue
        try:
            vault.decrypt(item.ciphertext, item.key_id, context=item.context)
        except TuiTraderError as exc:
            failures.append(_failure(item, exc.message))
    return tuple(failures)


def retire_checked(vault: CredentialVault, report: RotationReport,
                   stored: Iterable[EncryptedField]) -> RotationReport:
    """Retire the report's old keys if every stored field opens under its new key; else
    retire nothing and report the fields that would have been lost."""
    failures = check_all(vault, stored, report.new_key_id)
    if failures:
        return dataclasses.replace(report, failures=report.failures + failures)
    retired: list[str] = []
    for key_id in report.old_key_ids:
        try:
            vault.retire(key_id)
        except VaultError as exc:  # e.g. already gone; the rest can still be retired
            log.warning("could not retire master key %s: %s", key_id, exc)
        else:
            retired.append(key_id)
    return dataclasses.replace(report, retired=tuple(retired))


def _failure(item: EncryptedField, reason: str) -> RotationFailure:
    return RotationFailure(str(item.row_id), item.column, reason, item.label)
