"""Account use cases. They mutate, audit and schedule follow-ups; the caller commits."""

from __future__ import annotations

import secrets

import sqlalchemy as sa

from ptce_aap import audit
from ptce_aap.enums import Role
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.base import utcnow
from ptce_aap.passwords import hash_password, password_problems


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def get_or_create_institution(name: str, short_name: str = "") -> Institution:
    institution = db.session.scalar(sa.select(Institution).where(Institution.name == name))
    if institution is None:
        institution = Institution(name=name, short_name=short_name)
        db.session.add(institution)
        db.session.flush()
    return institution


def set_password(user: User, password: str, *, by: User | None = None, check: bool = True) -> None:
    if check:
        problems = password_problems(password, email=user.email)
        if problems:
            raise DomainError(" ".join(problems), field="password")
    user.password_hash = hash_password(password)
    user.session_token = secrets.token_hex(16)  # logs out every other session
    user.password_changed_at = utcnow()
    audit.record("user.password_changed", user, actor=by or user)


def create_user(email: str, password: str | None, *, full_name: str = "", roles: tuple[Role, ...] = (),
                institution: Institution | None = None, verified: bool = False, by: User | None = None,
                check_password: bool = True) -> User:
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise DomainError("Un compte existe déjà avec cette adresse électronique.", field="email")
    user = User(email=email, full_name=full_name.strip(), session_token=secrets.token_hex(16),
                institution=institution, email_verified_at=utcnow() if verified else None)
    for role in roles:
        setattr(user, f"is_{Role(role).value}", True)
    db.session.add(user)
    db.session.flush()
    if password is not None:
        set_password(user, password, by=by or user, check=check_password)
    audit.record("user.created", user, actor=by or user,
                 summary={"after": {"email": email, "roles": [r.value for r in user.roles]}})
    return user


def grant_role(user: User, role: Role, *, by: User | None) -> None:
    if not user.has_role(role):
        setattr(user, f"is_{Role(role).value}", True)
        audit.record("user.role_granted", user, actor=by, summary={"role": Role(role).value})
