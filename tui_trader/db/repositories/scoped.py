"""The base of every per-user repository: all queries carry `user_id = :acting_user`, and on
PostgreSQL the session's transactions are limited to that user's rows (row_security), so a
query that forgets the WHERE still sees nothing of anyone else's."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, select

from ...domain.errors import NotFoundError
from ..row_security import act_for

T = TypeVar("T", bound=SQLModel)


class ScopedRepository:
    kind: str = "record"

    def __init__(self, session: Session, user_id: uuid.UUID) -> None:
        self.session = session
        self.user_id = user_id
        act_for(session, user_id)

    def _owned(self, model: type[T], ident: uuid.UUID | str, kind: str | None = None) -> T:
        """Fetch a row only if the acting user owns it; otherwise it does not exist."""
        try:
            key = ident if isinstance(ident, uuid.UUID) else uuid.UUID(str(ident))
        except ValueError:
            raise NotFoundError(kind or self.kind, ident) from None
        row = self.session.exec(
            select(model).where(model.id == key, model.user_id == self.user_id)  # type: ignore[attr-defined]
        ).first()
        if row is None:
            raise NotFoundError(kind or self.kind, ident)
        return row

    def _select(self, model: type[T]) -> Any:
        return select(model).where(model.user_id == self.user_id)  # type: ignore[attr-defined]
