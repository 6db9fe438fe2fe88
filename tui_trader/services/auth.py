"""Sign-up, login with lockout, sessions that expire, logout."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from ..db.models import User, UserSession
from ..db.repositories import SessionRepository, UserRepository
from ..db.repositories.login_attempts import LoginAttemptRepository, email_key
from ..domain import validation as v
from ..domain.audit import AuditAction, AuditOutcome
from ..domain.errors import AccountLockedError, AuthError, LoginRefusedError, ValidationError
from ..security.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from ..security.session_tokens import new_token, token_hash
from .audit import record_audit
from .context import AppContext
from .views import LoginResult, UserView


def _view(user: User) -> UserView:
    return UserView(id=user.id, email=user.email, name=user.name, role=user.role,
                    theme=user.theme)


def _seconds_until(moment: datetime | None, now: datetime) -> int:
    """Whole seconds left, rounded up (a countdown never shows 0 while still locked)."""
    if moment is None:
        return 0
    return max(math.ceil((moment - now).total_seconds()), 0)


class AuthService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def has_users(self) -> bool:
        with self.ctx.session() as s:
            return UserRepository(s).count() > 0

    def sign_up(self, email: str, password: str, name: str | None = None) -> UserView:
        address = v.email(email)
        secret = v.password(password)
        display = v.clean_text("name", name, max_len=100, required=False) or None
        hashed = hash_password(secret)
        try:
            with self.ctx.session() as s:
                repo = UserRepository(s)
                if repo.by_email(address) is not None:
                    raise ValidationError("email", "is already registered")
                user = repo.add(User(email=address, password_hash=hashed, name=display))
                return _view(user)
        except IntegrityError:  # a concurrent sign-up won the unique index
            raise ValidationError("email", "is already registered") from None

    def login(self, email: str, password: str) -> LoginResult:
        """Sign in (audited: the login, or the failure and why). What was typed as the
        address is kept only if it is one: a password typed into the wrong field must not
        land in the audit trail."""
        typed = (email or "").strip().lower()[:200]
        address = typed if v.EMAIL_RE.match(typed) else "(not an email address)"
        try:
            result = self._login(email, password)
        except AccountLockedError:
            record_audit(self.ctx, AuditAction.LOGIN_FAILED, outcome=AuditOutcome.REFUSED,
                         subject=address, details={"reason": "locked"})
            raise
        except LoginRefusedError:
            record_audit(self.ctx, AuditAction.LOGIN_FAILED, outcome=AuditOutcome.FAILED,
                         subject=address, details={"reason": "email or password incorrect"})
            raise
        record_audit(self.ctx, AuditAction.LOGIN, user_id=result.user.id, subject=address)
        return result

    def _login(self, email: str, password: str) -> LoginResult:
        """Sign in, counting failures per email address.

        What a caller learns never depends on whether the address has an account: attempts
        are counted per address for real and made-up addresses alike (LoginAttemptRepository),
        so "incorrect; N attempts left" and "locked; try again in M" read the same for both,
        and an unknown address costs one password check like a real one. Each attempt is
        counted in the database before its password is checked (one atomic conditional
        upsert), so concurrent attempts can check at most `max_failed_logins` passwords per
        lock period. A right password clears the count, and opens a locked address only
        once its lock has ended (or `tui-trader user unlock` cleared it).
        """
        address = (email or "").strip().lower()
        now = self.ctx.clock.now()
        settings = self.ctx.settings
        key = email_key(address)
        with self.ctx.session() as s:  # committed before the check: racing attempts see it
            ticket = LoginAttemptRepository(s).reserve(
                key, now, limit=settings.max_failed_logins,
                lock_for=timedelta(minutes=settings.lockout_minutes),
                window=timedelta(minutes=settings.lockout_minutes))
        if not ticket.granted:
            raise AccountLockedError(_seconds_until(ticket.locked_until, now))
        stored = None
        if not v.has_control(address):  # no account has such an address (sign-up refuses it)
            with self.ctx.session() as s:
                user = UserRepository(s).by_email(address)
                stored = user.password_hash if user is not None and user.is_active else None
        if v.has_control(password or ""):  # nor such a password
            stored = None
        # The same cost for an unknown address as for a known one: no probing for accounts.
        matched = verify_password(stored, password or "") if stored else dummy_verify()
        if not matched:
            if ticket.locked_until is not None:  # this attempt was the last one
                raise AccountLockedError(_seconds_until(ticket.locked_until, now))
            raise LoginRefusedError(settings.max_failed_logins - ticket.failures,
                                    settings.lockout_minutes)
        with self.ctx.session() as s:
            LoginAttemptRepository(s).clear(key)
            user = UserRepository(s).get(user.id)
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.last_login = now
            token = new_token()
            expires = now + timedelta(hours=settings.session_hours)
            row = SessionRepository(s).add(UserSession(
                user_id=user.id, token_hash=token_hash(token), expires_at=expires,
                last_seen_at=now))
            return LoginResult(user=_view(user), token=token, expires_at=expires,
                               session_id=row.id)

    def unlock(self, email: str) -> bool:
        """Clear an address's failed logins and lock (`tui-trader user unlock`); True when
        it had any."""
        address = (email or "").strip().lower()
        with self.ctx.session() as s:
            cleared = LoginAttemptRepository(s).clear(email_key(address))
        record_audit(self.ctx, AuditAction.ACCOUNT_UNLOCKED, subject=address[:200],
                     details={"had_failures": cleared})
        return cleared

    def resume(self, token: str) -> UserView:
        """The user behind a session token, if the session is live."""
        now = self.ctx.clock.now()
        with self.ctx.session() as s:
            row = SessionRepository(s).by_token_hash(token_hash(token or ""))
            if row is None or row.revoked_at is not None:
                raise AuthError("Not signed in; log in again")
            if row.expires_at <= now:
                raise AuthError("Your session expired; log in again")
            user = UserRepository(s).get(row.user_id)
            if user is None or not user.is_active:
                raise AuthError("This account is no longer active")
            row.last_seen_at = now
            return _view(user)

    def logout(self, token: str) -> None:
        with self.ctx.session() as s:
            row = SessionRepository(s).by_token_hash(token_hash(token or ""))
            if row is None or row.revoked_at is not None:
                return
            row.revoked_at = self.ctx.clock.now()
            user_id = row.user_id
        record_audit(self.ctx, AuditAction.LOGOUT, user_id=user_id)

    def set_theme(self, user_id: uuid.UUID, theme: str) -> None:
        name = v.clean_text("theme", theme, max_len=40)
        with self.ctx.session() as s:
            user = UserRepository(s).get(user_id)
            if user is not None:
                user.theme = name
