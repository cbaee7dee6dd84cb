"""Column types and helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware datetimes, stored as UTC. SQLite keeps no offset: values come back tagged UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use an aware datetime (UTC)")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator):
    """Euros with cents, as ``Decimal``. Stored as NUMERIC(12, 2) (SQLite: integer cents, exact)."""

    impl = sa.Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(12, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal("0.01"))
        if dialect.name == "sqlite":
            return int(value * 100)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "sqlite":
            return (Decimal(int(value)) / 100).quantize(Decimal("0.01"))
        return Decimal(value).quantize(Decimal("0.01"))


def enum_column(enum_cls: type[StrEnum], **kw) -> sa.Enum:
    """A portable enum column storing the member's value (no native type, no CHECK)."""
    return sa.Enum(enum_cls, native_enum=False, length=32, validate_strings=True,
                   values_callable=lambda cls: [m.value for m in cls], **kw)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def siren_from_siret(siret: str | None) -> str:
    """The SIREN (9 digits) a SIRET starts with; ``""`` when the text is not 14 digits.

    No checksum test (``domain.eligibility.siren_of`` validates): a stored SIREN is for matching
    (conflicts, earlier laureates). Migration 0002 filled existing rows with the same rule.
    """
    siret = siret or ""
    return siret[:9] if len(siret) == 14 and siret.isdigit() else ""
