"""Accounts, institutions and API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.enums import Role
from ptce_aap.extensions import db
from ptce_aap.models.base import UTCDateTime, utcnow


class Institution(db.Model):
    """A ministry or partner that sends reviewers to the committee (DGCS/ESS, ANCT, Caisse des Dépôts…)."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    short_name: Mapped[str] = mapped_column(sa.String(40), default="")

    def __repr__(self) -> str:
        return f"<Institution {self.short_name or self.name}>"


class User(UserMixin, db.Model):
    """An account. Roles are independent flags: one account may apply, review and administer.

    Passwords change only through ``services.accounts``; ``session_token`` rotates on password
    change so other sessions are logged out.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    session_token: Mapped[str] = mapped_column(sa.String(64))
    is_applicant: Mapped[bool] = mapped_column(default=False)
    is_reviewer: Mapped[bool] = mapped_column(default=False)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_disabled: Mapped[bool] = mapped_column(default=False)
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institutions.id"))
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    institution: Mapped[Institution | None] = relationship(lazy="joined")

    def get_id(self) -> str:
        # Flask-Login stores this in the session: rotating session_token invalidates old sessions.
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    @property
    def is_email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def roles(self) -> list[Role]:
        flags = [(Role.APPLICANT, self.is_applicant), (Role.REVIEWER, self.is_reviewer),
                 (Role.ADMIN, self.is_admin)]
        return [role for role, has in flags if has]

    def has_role(self, role: Role | str) -> bool:
        return Role(role) in self.roles

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class ApiToken(db.Model):
    """A bearer token for the read-only API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(100))
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
