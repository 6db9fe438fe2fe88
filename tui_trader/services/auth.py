"""Sign-up, login with lockout, sessions that expire, logout."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from ..db.models import User, UserSession
from ..db.repositories import SessionRepository, UserRepository
from ..domain import validation as v
from ..domain.errors import AccountLockedError, AuthError, ValidationError
from ..security.passwords import dummy_verify, hash_password, needs_rehash, verify_password
from .context import AppContext
from .views import LoginResult, UserView

BAD_LOGIN = "password: email or password is incorrect"


def _view(user: User) -> UserView:
    return UserView(id=user.id, email=user.email, name=user.name, role=user.role,
                    theme=user.theme)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
        address = (email or "").strip().lower()
        now = self.ctx.clock.now()
        settings = self.ctx.settings
        with self.ctx.session() as s:
            user = UserRepository(s).by_email(address)
            if user is None or not user.is_active:
                dummy_verify()  # same cost as a real check: no probing for accounts
                raise AuthError(BAD_LOGIN)
            if user.locked_until is not None and user.locked_until > now:
                raise AccountLockedError(int((user.locked_until - now).total_seconds()) + 1)
            if not verify_password(user.password_hash, password or ""):
                user.failed_logins += 1
                if user.failed_logins >= settings.max_failed_logins:
                    user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
                    user.failed_logins = 0
                    locked = True
                else:
                    locked = False
                s.commit()
                if locked:
                    raise AccountLockedError(settings.lockout_minutes * 60)
                raise AuthError(BAD_LOGIN)
            if needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            user.failed_logins = 0
            user.locked_until = None
            user.last_login = now
            token = secrets.token_urlsafe(32)
            expires = now + timedelta(hours=settings.session_hours)
            SessionRepository(s).add(UserSession(user_id=user.id, token_hash=_token_hash(token),
                                                 expires_at=expires, last_seen_at=now))
            return LoginResult(user=_view(user), token=token, expires_at=expires)

    def resume(self, token: str) -> UserView:
        """The user behind a session token, if the session is live."""
        now = self.ctx.clock.now()
        with self.ctx.session() as s:
            row = SessionRepository(s).by_token_hash(_token_hash(token or ""))
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
            row = SessionRepository(s).by_token_hash(_token_hash(token or ""))
            if row is not None and row.revoked_at is None:
                row.revoked_at = self.ctx.clock.now()

    def set_theme(self, user_id: uuid.UUID, theme: str) -> None:
        name = v.clean_text("theme", theme, max_len=40)
        with self.ctx.session() as s:
            user = UserRepository(s).get(user_id)
            if user is not None:
                user.theme = name
