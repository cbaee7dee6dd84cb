"""Account use cases. They mutate, audit and schedule follow-ups; the caller commits."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from ptce_aap import audit, tokens
from ptce_aap.enums import Role
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.base import utcnow
from ptce_aap.passwords import hash_password, needs_rehash, password_problems, verify_password
from ptce_aap.services.notifications import notify
from ptce_aap.tokens import TokenError
from ptce_aap.urls import external_url


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


# --- self-service accounts: registration, email verification, login, password reset -----------
#
# None of these functions reveals whether an address has an account: the caller shows the same page
# whatever happens, and the work done (hashing, mails) is the same for known and unknown addresses.


class LoginError(DomainError):
    """Login refused. ``reason`` is ``"invalid"`` (any wrong credential) or ``"unverified"``."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def email_digest(email: str) -> str:
    """Identifies an address in the audit log without writing the address itself."""
    return hashlib.sha256(normalise_email(email).encode()).hexdigest()[:16]


def password_fingerprint(user: User) -> str:
    """Put in a reset token: changes whenever the password (hash) or the session token changes, which
    makes the link single-use."""
    return tokens.fingerprint(user.id, user.password_hash or "", user.session_token)


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def send_verification_email(user: User) -> None:
    """Mail ``user`` a signed link that verifies the address (valid EMAIL_TOKEN_MAX_AGE seconds)."""
    token = tokens.make_token(tokens.VERIFY_EMAIL, {"uid": user.id, "email": user.email})
    notify(user.email, "verify_email",
           {"name": user.display_name, "link": external_url("auth.verify_email", token=token)},
           dedupe_key=f"verify_email:{user.id}:{_token_key(token)}", user=user)


def send_password_reset_email(user: User) -> None:
    """Mail ``user`` a single-use link to choose a new password (valid RESET_TOKEN_MAX_AGE seconds)."""
    token = tokens.make_token(tokens.RESET_PASSWORD, {"uid": user.id, "fp": password_fingerprint(user)})
    notify(user.email, "reset_password",
           {"name": user.display_name, "link": external_url("auth.reset_password", token=token)},
           dedupe_key=f"reset_password:{user.id}:{_token_key(token)}", user=user)


def register_applicant(email: str, password: str, *, full_name: str) -> User | None:
    """Create an unverified applicant account and mail the verification link.

    When the address already has an account nothing is created (returns ``None``): an unverified
    owner gets a new verification link, a verified one gets nothing — the page shown is the same.
    The password is hashed in every case so that timing does not tell the cases apart.
    """
    existing = find_user_by_email(email)
    if existing is not None:
        hash_password(password)
        if existing.is_active and not existing.is_email_verified:
            send_verification_email(existing)
        audit.record("user.register_existing", existing, actor=None)
        return None
    user = create_user(email, password, full_name=full_name, roles=(Role.APPLICANT,))
    audit.record("user.registered", user, actor=user, summary={"after": {"roles": [Role.APPLICANT.value]}})
    send_verification_email(user)
    return user


def resend_verification(email: str) -> None:
    """Mail a new verification link if ``email`` names an active account not yet verified."""
    user = find_user_by_email(email)
    if user is not None and user.is_active and not user.is_email_verified:
        send_verification_email(user)
        audit.record("user.verification_resent", user, actor=None)


def verify_email(token: str) -> tuple[User, bool]:
    """The account a verification token names, and whether this call verified it (False: already was).

    Raises ``TokenError`` for a bad, expired or outdated token (the address changed since).
    """
    payload = tokens.read_token(tokens.VERIFY_EMAIL, token)
    user = db.session.get(User, payload.get("uid")) if isinstance(payload.get("uid"), int) else None
    if user is None or not user.is_active or user.email != payload.get("email"):
        raise TokenError()
    if user.is_email_verified:
        return user, False
    user.email_verified_at = utcnow()
    audit.record("user.email_verified", user, actor=user, summary={"after": {"email": user.email}})
    return user, True


def authenticate(email: str, password: str) -> User:
    """The account if the credentials are right and the address verified; ``LoginError`` otherwise.

    Every failure is audited without an actor, with a digest of the address rather than the address.
    A password hashed with outdated parameters is rehashed.
    """
    user = find_user_by_email(email) if email else None
    if not verify_password(user.password_hash if user else None, password) or not user.is_active:
        audit.record("user.login_failed", user, actor=None, object_type="users",
                     summary={"email_sha256": email_digest(email), "reason": "invalid"})
        raise LoginError("invalid", "Adresse électronique ou mot de passe incorrect.")
    if not user.is_email_verified:
        audit.record("user.login_failed", user, actor=None,
                     summary={"email_sha256": email_digest(email), "reason": "unverified"})
        raise LoginError("unverified", "Votre adresse électronique n'a pas encore été vérifiée.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def record_login(user: User) -> None:
    user.last_login_at = utcnow()
    audit.record("user.logged_in", user, actor=user)


def record_logout(user: User) -> None:
    audit.record("user.logged_out", user, actor=user)


def request_password_reset(email: str) -> None:
    """Mail a reset link if ``email`` names an active account; do nothing visible otherwise."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    send_password_reset_email(user)
    audit.record("user.password_reset_requested", user, actor=None)


def user_for_reset_token(token: str) -> User:
    """The account a reset token was made for, while the password it was made with is unchanged.

    Raises ``TokenError`` (``expired`` set when too old): bad signature, unknown or disabled account,
    or a link already used (the password, hence the fingerprint, has changed since).
    """
    payload = tokens.read_token(tokens.RESET_PASSWORD, token)
    user = db.session.get(User, payload.get("uid")) if isinstance(payload.get("uid"), int) else None
    if user is None or not user.is_active or not tokens.same_fingerprint(password_fingerprint(user),
                                                                          payload.get("fp", "")):
        raise TokenError()
    return user


def reset_password(user: User, password: str) -> None:
    """Set a new password from a reset link: every session of the account is logged out.

    Following the link proves the address is the user's, so an unverified address becomes verified.
    """
    set_password(user, password)
    if not user.is_email_verified:
        user.email_verified_at = utcnow()
        audit.record("user.email_verified", user, actor=user, summary={"after": {"email": user.email}})
    audit.record("user.password_reset", user, actor=user)
