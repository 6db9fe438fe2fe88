"""Users and login sessions (the identity itself, so not user-scoped)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, func, select

from ..models import User, UserSession


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_email(self, email: str) -> User | None:
        return self.session.exec(select(User).where(User.email == email.lower())).first()

    def get(self, user_id: uuid.UUID) -> User | None:
        return self.session.get(User, user_id)

    def count(self) -> int:
        return self.session.exec(select(func.count()).select_from(User)).one()

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user


class SessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: UserSession) -> UserSession:
        self.session.add(row)
        self.session.flush()
        return row

    def by_token_hash(self, token_hash: str) -> UserSession | None:
        return self.session.exec(
            select(UserSession).where(UserSession.token_hash == token_hash)).first()

    def revoke_all(self, user_id: uuid.UUID, at: datetime) -> int:
        rows = self.session.exec(select(UserSession).where(
            UserSession.user_id == user_id, UserSession.revoked_at.is_(None))).all()  # type: ignore[union-attr]
        for row in rows:
            row.revoked_at = at
        return len(rows)
