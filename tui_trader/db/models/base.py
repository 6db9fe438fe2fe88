"""Shared column helpers and the metadata naming convention for every table."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
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


_seq_lock = threading.Lock()
_last_seq = 0


def next_seq() -> int:
    """A strictly increasing integer within this process, kept at or above the wall clock in
    nanoseconds: rows stamped by one process sort in the order they were inserted, and a
    later process (or a restart) stamps above an earlier one while the clock does not jump
    back by more than the time between them."""
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns())
        return _last_seq


def insert_seq() -> Any:
    """A BIGINT stamped with next_seq() when the row is inserted (ORM flush or Core insert,
    unless given): breaks ties between rows with equal timestamps in insertion order."""
    return Field(default=None, sa_type=sa.BigInteger, nullable=False,
                 sa_column_kwargs={"default": next_seq})


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


__all__ = ["SQLModel", "metadata", "pk", "created_at", "updated_at", "next_seq", "insert_seq",
           "ts", "money", "json_field", "fk", "datetime", "uuid"]
