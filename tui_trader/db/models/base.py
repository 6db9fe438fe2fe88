"""Shared column helpers and the metadata naming convention for every table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from ...domain.clock import utc_now
from ..types import JSONType, Money, UTCDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata


def pk() -> Any:
    return Field(default_factory=uuid.uuid4, primary_key=True)


def created_at() -> Any:
    return Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False)


def updated_at() -> Any:
    # onupdate keeps it current for every ORM and Core UPDATE issued through SQLAlchemy.
    return Field(default_factory=utc_now, sa_type=UTCDateTime, nullable=False,
                 sa_column_kwargs={"onupdate": utc_now})


def ts(nullable: bool = True, **kw: Any) -> Any:
    kw.setdefault("default", None if nullable else ...)
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)


def money(nullable: bool = True, **kw: Any) -> Any:
    kw.setdefault("default", None if nullable else ...)
    return Field(sa_type=Money, nullable=nullable, **kw)


def json_field(default_factory=dict, nullable: bool = False) -> Any:
    return Field(default_factory=default_factory, sa_type=JSONType, nullable=nullable)


def fk(target: str, *, nullable: bool = False, index: bool = True, ondelete: str = "CASCADE"
       ) -> Any:
    return Field(default=None if nullable else ..., foreign_key=target, nullable=nullable,
                 index=index, ondelete=ondelete)


__all__ = ["SQLModel", "metadata", "pk", "created_at", "updated_at", "ts", "money",
           "json_field", "fk", "datetime", "uuid"]
