"""Broker accounts: add, list (masked), remove, credentials for adapters, access tokens,
and master-key rotation over every stored credential."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select

from ..db.credential_fence import hold_for_rotation, hold_for_write
from ..db.models import BrokerAccount, NotificationChannel, TokenRefreshLog
from ..db.repositories import BrokerAccountRepository
from ..domain import validation as v
from ..domain.audit import AuditAction
from ..domain.enums import BrokerKind
from ..domain.errors import StateError, ValidationError
from ..security.rotation import (
    EncryptedField,
    RotationReport,
    check_all,
    retire_checked,
    rotate_all,
)
from ..security.secret import Secret
from .audit import record_audit
from .context import AppContext
from .views import BrokerAccountView

ENCRYPTED_COLUMNS = ("api_key_enc", "api_secret_enc", "access_token_enc")
EXPIRY_WARNING = timedelta(hours=2)


def _context(account_id: uuid.UUID, column: str) -> str:
    # Bound into the ciphertext: a value copied to another row or column fails to decrypt.
    return f"broker_accounts:{account_id}:{column}"


@dataclass(frozen=True)
class BrokerCredentials:
    account_id: uuid.UUID
    broker: BrokerKind
    api_key: Secret | None
    api_secret: Secret | None
    access_token: Secret | None
    token_expires_at: datetime | None
    api_root: str | None

    def __repr__(self) -> str:
        return f"BrokerCredentials(account_id={self.account_id}, broker={self.broker})"


class BrokerAccountService:
    def __init__(self, ctx: AppContext, user_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.user_id = user_id

    # -- views -------------------------------------------------------------------------
    def _view(self, row: BrokerAccount) -> BrokerAccountView:
        hint = None
        if row.api_key_enc:
            key = self.ctx.vault.decrypt(row.api_key_enc, row.key_id,
                                         context=_context(row.id, "api_key_enc")).reveal()
            hint = "••••" + key[-4:] if len(key) > 8 else "••••"
        now = self.ctx.clock.now()
        if row.access_token_enc is None or row.token_expires_at is None:
            state = "none" if row.broker != BrokerKind.PAPER else "valid"
        elif row.token_expires_at <= now:
            state = "lapsed"
        elif row.token_expires_at - now <= EXPIRY_WARNING:
            state = "expiring"
        else:
            state = "valid"
        return BrokerAccountView(id=row.id, broker=row.broker, label=row.label,
                                 api_key_hint=hint, has_secret=row.api_secret_enc is not None,
                                 has_token=row.access_token_enc is not None,
                                 token_expires_at=row.token_expires_at, token_state=state,
                                 is_active=row.is_active)

    def list(self) -> list[BrokerAccountView]:
        with self.ctx.session() as s:
            return [self._view(r) for r in BrokerAccountRepository(s, self.user_id).list()]

    # -- changes -----------------------------------------------------------------------
    def _label(self, label: str | None, default: str) -> str:
        return v.clean_text("label", label or default, max_len=60)

    def add_paper(self, label: str | None = None) -> BrokerAccountView:
        name = self._label(label, "Paper")
        with self.ctx.session() as s:
            repo = BrokerAccountRepository(s, self.user_id)
            if any(r.label == name for r in repo.list()):
                raise ValidationError("label", f"'{name}' is already used by another account")
            view = self._view(repo.add(BrokerAccount(broker=BrokerKind.PAPER, label=name)))
        self._audit(AuditAction.BROKER_ADDED, view.label, "paper")
        return view

    def _audit(self, action, label: str, broker: str) -> None:
        record_audit(self.ctx, action, user_id=self.user_id, subject=label,
                     details={"broker": broker})

    def add_kite(self, api_key: str, api_secret: str, label: str | None = None,
                 api_root: str | None = None) -> BrokerAccountView:
        key = v.clean_text("api_key", api_key, max_len=64)
        secret = v.clean_text("api_secret", api_secret, max_len=128)
        if not key.isalnum():
            raise ValidationError("api_key", "must be letters and digits only")
        api_root = v.api_root("api_root", api_root)
        name = self._label(label, "Zerodha Kite")
        with self.ctx.session() as s:
            hold_for_write(s)  # sealed under a key no rotation is about to retire
            repo = BrokerAccountRepository(s, self.user_id)
            if any(r.label == name for r in repo.list()):
                raise ValidationError("label", f"'{name}' is already used by another account")
            row = BrokerAccount(broker=BrokerKind.KITE, label=name, api_root=api_root)
            self._seal(row, "api_key_enc", key)
            self._seal(row, "api_secret_enc", secret)
            view = self._view(repo.add(row))
        self._audit(AuditAction.BROKER_ADDED, view.label, "kite")
        return view

    def _seal(self, row: BrokerAccount, column: str, plaintext: str) -> None:
        # One key_id per row: re-seal the other encrypted columns if the current key changed.
        sealed = self.ctx.vault.encrypt(plaintext, context=_context(row.id, column))
        if row.key_id is not None and row.key_id != sealed.key_id:
            for other in ENCRYPTED_COLUMNS:
                value = getattr(row, other)
                if other != column and value is not None:
                    moved = self.ctx.vault.reencrypt(value, row.key_id,
                                                     context=_context(row.id, other))
                    setattr(row, other, moved.ciphertext)
        setattr(row, column, sealed.ciphertext)
        row.key_id = sealed.key_id

    def update_kite_keys(self, account_id: uuid.UUID | str, api_key: str | None = None,
                         api_secret: str | None = None, label: str | None = None) -> None:
        with self.ctx.session() as s:
            hold_for_write(s)
            row = BrokerAccountRepository(s, self.user_id).get(account_id)
            if label is not None:
                row.label = self._label(label, row.label)
            if api_key:
                key = v.clean_text("api_key", api_key, max_len=64)
                if not key.isalnum():  # the same rule as when the account was added
                    raise ValidationError("api_key", "must be letters and digits only")
                self._seal(row, "api_key_enc", key)
                row.access_token_enc = None  # a new app key invalidates the old session
                row.token_expires_at = None
            if api_secret:
                self._seal(row, "api_secret_enc",
                           v.clean_text("api_secret", api_secret, max_len=128))

    def remove(self, account_id: uuid.UUID | str) -> None:
        """Refused while anything still depends on the account: a running strategy, or a
        position opened through it (its exit must go to the same broker)."""
        import sqlalchemy as sa
        from sqlmodel import select

        from ..db.models import Order, Position, Strategy
        from ..domain.enums import PositionStatus, StrategyStatus

        with self.ctx.session() as s:
            row = BrokerAccountRepository(s, self.user_id).get(account_id)
            running = s.exec(select(Strategy).where(
                Strategy.broker_account_id == row.id,
                Strategy.status == StrategyStatus.RUNNING)).first()
            if running is not None:
                raise StateError(f"'{running.name}' is running on this account; stop it first")
            opened_here = select(Order.strategy_id).where(Order.broker_account_id == row.id)
            held = s.exec(select(Position).where(
                Position.status == PositionStatus.OPEN,
                sa.and_(Position.strategy_id.is_not(None),
                        Position.strategy_id.in_(opened_here)))).first()
            if held is not None:
                raise StateError(f"An open {held.symbol} position was opened through this "
                                 f"account; close it first (K squares off)")
            label, broker = row.label, row.broker.value
            BrokerAccountRepository(s, self.user_id).delete(row.id)
        self._audit(AuditAction.BROKER_REMOVED, label, broker)

    def label(self, account_id: uuid.UUID | str) -> str:
        """The account's label (what the trader calls it), without opening anything."""
        with self.ctx.session() as s:
            return BrokerAccountRepository(s, self.user_id).get(account_id).label

    def credentials(self, account_id: uuid.UUID | str) -> BrokerCredentials:
        with self.ctx.session() as s:
            row = BrokerAccountRepository(s, self.user_id).get(account_id)

            def open_(column: str) -> Secret | None:
                value = getattr(row, column)
                if value is None:
                    return None
                return self.ctx.vault.decrypt(value, row.key_id, context=_context(row.id, column))

            return BrokerCredentials(account_id=row.id, broker=row.broker,
                                     api_key=open_("api_key_enc"),
                                     api_secret=open_("api_secret_enc"),
                                     access_token=open_("access_token_enc"),
                                     token_expires_at=row.token_expires_at, api_root=row.api_root)

    def store_access_token(self, account_id: uuid.UUID | str, token: str,
                           expires_at: datetime, broker_user_id: str | None = None) -> None:
        text = v.clean_text("access_token", token, max_len=512)
        with self.ctx.session() as s:
            hold_for_write(s)
            repo = BrokerAccountRepository(s, self.user_id)
            row = repo.get(account_id)
            self._seal(row, "access_token_enc", text)
            row.token_expires_at = expires_at
            if broker_user_id:
                row.broker_user_id = broker_user_id
            repo.log_refresh(TokenRefreshLog(broker_account_id=row.id, user_id=self.user_id,
                                             succeeded=True, expires_at=expires_at,
                                             message="access token stored"))

    def log_failed_login(self, account_id: uuid.UUID | str, message: str) -> None:
        with self.ctx.session() as s:
            repo = BrokerAccountRepository(s, self.user_id)
            row = repo.get(account_id)
            repo.log_refresh(TokenRefreshLog(broker_account_id=row.id, user_id=self.user_id,
                                             succeeded=False, message=message[:300]))


def rotate_master_key(ctx: AppContext, *, retire_old: bool = True,
                      waiting: Callable[[], None] | None = None) -> RotationReport:
    """Re-encrypt every stored credential of every user under a new master key.

    Credential writers are fenced out from before the rows are read until the re-encrypted
    rows are committed (`waiting` is called if a write in progress must finish first), and
    the rows are read back and opened under the new key before that commit. Old keys are
    retired only after the commit, and only when every row read back then is under the new
    key and opens: a failure anywhere names the account and retires nothing, so every row
    stays readable.
    """
    with ctx.session() as s:
        hold_for_rotation(s, waiting)
        rows = list(s.exec(select(BrokerAccount)).all())
        by_id = {r.id: r for r in rows}

        channels = {r.id: r for r in s.exec(select(NotificationChannel)).all()}

        def save(field: EncryptedField, sealed) -> None:
            row = by_id.get(field.row_id) or channels[field.row_id]
            setattr(row, field.column, sealed.ciphertext)
            row.key_id = sealed.key_id

        report = rotate_all(ctx.vault, _stored_fields(s), save)
        if report.ok:
            s.flush()
            report = dataclasses.replace(report, failures=check_all(
                ctx.vault, _stored_fields(s), report.new_key_id))
        if not report.ok:
            s.rollback()
            return report
    if retire_old:
        with ctx.session() as s:
            stored = _stored_fields(s)
        report = retire_checked(ctx.vault, report, stored)
    _audit_rotation(ctx, report)
    return report


def _audit_rotation(ctx: AppContext, report: RotationReport) -> None:
    from ..domain.audit import AuditAction, AuditOutcome
    from .audit import record_audit

    record_audit(ctx, AuditAction.KEY_ROTATED,
                 outcome=AuditOutcome.OK if report.ok else AuditOutcome.FAILED,
                 subject=f"master key {report.new_key_id}",
                 details={"failures": len(report.failures)})


def _stored_fields(s) -> list[EncryptedField]:
    """Every credential ciphertext as stored now (read past the session's cached rows),
    named by account label and owner: broker keys and notification channels alike."""
    from ..db.models import User
    from .notify_channels import stored_channel_fields

    accounts, users = BrokerAccount.__table__, User.__table__
    rows = s.connection().execute(
        sa.select(accounts, users.c.email.label("owner"))
        .join(users, users.c.id == accounts.c.user_id)).mappings().all()
    return [EncryptedField(row_id=r["id"], column=c, ciphertext=r[c], key_id=r["key_id"],
                           context=_context(r["id"], c),
                           label=f"'{r['label']}' of {r['owner']}")
            for r in rows for c in ENCRYPTED_COLUMNS if r[c] is not None] + \
        stored_channel_fields(s)
