"""Accounts, institutions and API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ptce_aap.enums import InstitutionKind, Role
from ptce_aap.extensions import db
from ptce_aap.models.base import JSONType, UTCDateTime, enum_column, utcnow


class Institution(db.Model):
    """A ministry or partner that sends reviewers to the committee (DGCS/ESS, ANCT, Caisse des Dépôts…).

    ``siren`` lets conflict detection match the institution against a dossier's structure porteuse
    and members (SPEC §9); several institutions may share one SIREN (directorates of a ministry).
    """

    __tablename__ = "institutions"
    __table_args__ = (sa.CheckConstraint("siren IS NULL OR length(siren) = 9", name="siren_9_digits"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    short_name: Mapped[str] = mapped_column(sa.String(40), default="")
    kind: Mapped[InstitutionKind] = mapped_column(enum_column(InstitutionKind), default=InstitutionKind.OTHER)
    siren: Mapped[str | None] = mapped_column(sa.String(9), index=True)

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
    """A bearer token for the read-only API; only its SHA-256 is stored.

    ``prefix`` is the token's first characters, shown in the UI so a person can tell tokens apart;
    ``scopes`` lists ``ApiScope`` values. A token is usable while not revoked and not expired
    (``expires_at`` None: tokens created before expiry existed).
    """

    __tablename__ = "api_tokens"
    __table_args__ = (sa.CheckConstraint("expires_at IS NULL OR expires_at > created_at", name="expires_after_creation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(100))
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12), default="")
    scopes: Mapped[list] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    def is_usable_at(self, moment: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or moment < self.expires_at)
