"""Column types that keep money exact and timestamps UTC-aware on SQLite and PostgreSQL.

SQLite has no exact decimal type (SQLAlchemy's Numeric goes through float there), so money is
stored as canonical text on SQLite and NUMERIC on PostgreSQL; CHECKs cast it to compare.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class Money(TypeDecorator):
    """An exact Decimal: NUMERIC(20, 6) on PostgreSQL, canonical text on SQLite."""

    impl = sa.Numeric(20, 6)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.String(40))
        return dialect.type_descriptor(sa.Numeric(20, 6, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, never float")
        value = Decimal(value)
        if not value.is_finite():
            raise ValueError("money must be finite")
        return format(value.normalize(), "f") if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return Decimal(str(value))


class UTCDateTime(TypeDecorator):
    """TIMESTAMP WITH TIME ZONE that refuses naive values and always returns UTC-aware ones."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError("expected a datetime")
        if value.tzinfo is None:
            raise ValueError("naive datetime: store UTC-aware timestamps only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def enum_type(enum_cls: type[StrEnum], name: str) -> sa.Enum:
    """A VARCHAR restricted by a CHECK to the enum's values (portable, migration-friendly)."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls) + 4,
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


def money_positive(column: str) -> str:
    """A CHECK expression that works whether the column is text (SQLite) or numeric."""
    return f"CAST({column} AS NUMERIC) > 0"
