"""rotate_all: every field moves to the new key; any failure keeps the old key."""

from __future__ import annotations

import pytest

from tui_trader.domain.errors import VaultError
from tui_trader.security.rotation import EncryptedField, rotate_all
from tui_trader.security.vault import TAMPERED, CredentialVault, Sealed

COLUMNS = ("api_key", "api_secret", "access_token")


class Table:
    """Stands in for broker_accounts: (row_id, column) -> Sealed, plus the plaintexts."""

    def __init__(self, vault: CredentialVault, count: int = 20) -> None:
        self.cells: dict[tuple[str, str], Sealed] = {}
        self.plain: dict[tuple[str, str], str] = {}
        for n in range(count):
            row_id, column = f"row-{n // 3:02d}", COLUMNS[n % 3]
            self.plain[(row_id, column)] = f"secret-value-{n:02d}-{column}"
            self.cells[(row_id, column)] = vault.encrypt(
                self.plain[(row_id, column)], context=self.context(row_id, column))

    @staticmethod
    def context(row_id: str, column: str) -> str:
        return f"broker_accounts:{row_id}:{column}"

    def fields(self) -> list[EncryptedField]:
        return [EncryptedField(row_id, column, sealed.ciphertext, sealed.key_id,
                               self.context(row_id, column))
                for (row_id, column), sealed in self.cells.items()]

    def save(self, field: EncryptedField, sealed: Sealed) -> None:
        self.cells[(str(field.row_id), field.column)] = sealed

    def assert_readable(self, vault: CredentialVault) -> None:
        for (row_id, column), sealed in self.cells.items():
            value = vault.decrypt(sealed.ciphertext, sealed.key_id,
                                  context=self.context(row_id, column))
            assert value.reveal() == self.plain[(row_id, column)]


def test_rotate_all_and_retire(vault: CredentialVault) -> None:
    table = Table(vault)
    old_key = vault.current_key_id()
    before = table.fields()

    report = rotate_all(vault, table.fields(), table.save, retire_old=True, stored=table.fields)

    assert report.ok and report.failures == ()
    assert report.rotated == 20
    assert report.old_key_ids == (old_key,)
    assert report.retired == (old_key,)
    assert report.new_key_id == vault.current_key_id() != old_key
    assert {sealed.key_id for sealed in table.cells.values()} == {report.new_key_id}
    table.assert_readable(vault)
    assert vault.keystore.key_ids() == [report.new_key_id]
    # The old ciphertexts died with their key.
    for field in before:
        with pytest.raises(VaultError, match=f"master key {old_key} is missing"):
            vault.decrypt(field.ciphertext, field.key_id, context=field.context)
    assert "rotated 20" in report.summary() and old_key in report.summary()


def test_without_retire_old_keeps_old_keys(vault: CredentialVault) -> None:
    table = Table(vault, count=5)
    old_key = vault.current_key_id()
    before = table.fields()
    report = rotate_all(vault, table.fields(), table.save)
    assert report.ok and report.rotated == 5 and report.retired == ()
    assert vault.keystore.key_ids() == [old_key, report.new_key_id]
    field = before[0]
    assert vault.decrypt(field.ciphertext, field.key_id, context=field.context).reveal() \
        == table.plain[(field.row_id, field.column)]


def test_a_corrupted_row_keeps_the_old_key(vault: CredentialVault) -> None:
    table = Table(vault)
    old_key = vault.current_key_id()
    bad = ("row-03", "api_secret")
    good_sealed = table.cells[bad]
    # Someone copied another row's ciphertext into this cell: its context no longer matches.
    table.cells[bad] = table.cells[("row-04", "api_secret")]

    report = rotate_all(vault, table.fields(), table.save, retire_old=True, stored=table.fields)

    assert not report.ok
    assert report.rotated == 19
    assert report.retired == ()
    assert [(f.row_id, f.column, f.reason) for f in report.failures] == [
        ("row-03", "api_secret", TAMPERED)]
    assert old_key in vault.keystore.key_ids()
    assert "row-03/api_secret" in report.summary() and "no key retired" in report.summary()
    # The failed cell is untouched and, once repaired, still opens with the old key.
    table.cells[bad] = good_sealed
    table.assert_readable(vault)
    for text in (report.summary(), repr(report)):
        for plain in table.plain.values():
            assert plain not in text
        assert good_sealed.ciphertext not in text


def test_a_failing_save_keeps_the_old_key(vault: CredentialVault) -> None:
    table = Table(vault, count=6)
    old_key = vault.current_key_id()
    leak = table.plain[("row-01", "api_key")]

    def save(field: EncryptedField, sealed: Sealed) -> None:
        if (field.row_id, field.column) == ("row-01", "api_key"):
            raise RuntimeError(f"database refused parameters ({leak}, {sealed.ciphertext})")
        table.save(field, sealed)

    report = rotate_all(vault, table.fields(), save, retire_old=True, stored=table.fields)
    assert report.rotated == 5 and report.retired == ()
    (failure,) = report.failures
    assert (failure.row_id, failure.column) == ("row-01", "api_key")
    assert failure.reason == "save failed: RuntimeError"
    assert leak not in repr(report)
    assert old_key in vault.keystore.key_ids()
    table.assert_readable(vault)


def test_a_save_that_did_not_stick_keeps_the_old_key(vault: CredentialVault) -> None:
    """The read-back check: a field whose save reported success but is still stored under
    the old key (a writer put its stale copy back, say) stops the old key's retirement."""
    table = Table(vault, count=6)
    old_key = vault.current_key_id()
    lost = ("row-01", "api_secret")

    def save(field: EncryptedField, sealed: Sealed) -> None:
        if (field.row_id, field.column) != lost:
            table.save(field, sealed)

    report = rotate_all(vault, table.fields(), save, retire_old=True, stored=table.fields)

    assert report.rotated == 6 and report.retired == () and not report.ok
    (failure,) = report.failures
    assert (failure.row_id, failure.column) == lost
    assert failure.reason == f"still sealed under master key {old_key}"
    assert old_key in vault.keystore.key_ids()
    table.assert_readable(vault)


def test_retiring_needs_the_stored_rows_to_check(vault: CredentialVault) -> None:
    table = Table(vault, count=2)
    with pytest.raises(ValueError, match="stored"):
        rotate_all(vault, table.fields(), table.save, retire_old=True)


def test_encrypted_field_repr_hides_ciphertext(vault: CredentialVault) -> None:
    sealed = vault.encrypt("value-to-hide", context="broker_accounts:r:api_key")
    field = EncryptedField("r", "api_key", sealed.ciphertext, sealed.key_id,
                           "broker_accounts:r:api_key")
    assert sealed.ciphertext not in repr(field)
