"""Account use cases. They mutate, audit and schedule follow-ups; the caller commits."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa

from ptce_aap import audit, jobs, tokens
from ptce_aap.domain.messages import N_
from ptce_aap.domain.text import one_line
from ptce_aap.enums import Role
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.base import utcnow
from ptce_aap.models.outbox import Notification
from ptce_aap.passwords import hash_password, needs_rehash, password_problems, verify_password
from ptce_aap.services.notifications import notify
from ptce_aap.tokens import TokenError
from ptce_aap.urls import external_url, safe_next


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
        raise DomainError(N_("Un compte existe déjà avec cette adresse électronique."), field="email")
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


def replace_unverified_credentials(user: User, password: str) -> None:
    """An operator takes over an account whose address nobody proved (whoever registered it chose its
    password): the password is replaced, every session ends and the address counts as verified."""
    set_password(user, password, by=None)
    user.email_verified_at = utcnow()
    audit.record("user.email_verified", user, actor=None, summary={"after": {"email": user.email},
                                                                    "by": "operator"})


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


def verification_fingerprint(user: User) -> str:
    """Put in a verification token: a link confirms the registration it was mailed for only, and dies
    when the address is registered again with other credentials."""
    return tokens.fingerprint(user.id, user.email, user.password_hash or "")


def send_verification_email(user: User, *, then: str | None = None) -> None:
    """Mail ``user`` a signed link that verifies the address (valid EMAIL_TOKEN_MAX_AGE seconds).

    ``then``: a path of this site where the person was going when they signed up (an invitation to
    co-edit a dossier): carried in the signed link, they land there once verified."""
    payload = {"uid": user.id, "email": user.email, "fp": verification_fingerprint(user)}
    if safe_next(then):
        payload["then"] = then
    token = tokens.make_token(tokens.VERIFY_EMAIL, payload)
    notify(user.email, "verify_email",
           {"name": one_line(user.display_name, max_length=80), "link": external_url("auth.verify_email", token=token)},
           dedupe_key=f"verify_email:{user.id}:{_token_key(token)}", user=user)


def send_password_reset_email(user: User) -> None:
    """Mail ``user`` a single-use link to choose a new password (valid RESET_TOKEN_MAX_AGE seconds)."""
    token = tokens.make_token(tokens.RESET_PASSWORD, {"uid": user.id, "fp": password_fingerprint(user)})
    notify(user.email, "reset_password",
           {"name": one_line(user.display_name, max_length=80), "link": external_url("auth.reset_password", token=token)},
           dedupe_key=f"reset_password:{user.id}:{_token_key(token)}", user=user)


# What a request asks for by address is queued, never done during the request: the request does the
# same work whether the address has an account or not (one outbox row ``account_mail``), and the task
# looks the account up and mails it or not. Nothing in the answer, nor its timing, tells them apart.
MAIL_VERIFY = "verify"  # a verification link, if the account exists, is active and not yet verified
MAIL_RESET = "reset"  # a password reset link, if the account exists and is active
ACCOUNT_MAILS = (MAIL_VERIFY, MAIL_RESET)
_TEMPLATES = {MAIL_VERIFY: "verify_email", MAIL_RESET: "reset_password"}
# Per address and kind: the request limits are per IP, so without this anyone could flood one mailbox
# from many addresses. Counted in the database, so it holds across workers and processes.
ACCOUNT_MAILS_PER_HOUR = 3
MAX_THEN_LENGTH = 500  # the path carried through a verification link (an invitation link is ~150)


def queue_account_mail(kind: str, email: str, *, then: str | None = None) -> None:
    if kind not in ACCOUNT_MAILS:
        raise ValueError(kind)
    extra = {"then": then} if kind == MAIL_VERIFY and safe_next(then) and len(then) <= MAX_THEN_LENGTH else {}
    jobs.schedule("account_mail", kind=kind, email=normalise_email(email), **extra)


def send_account_mail(kind: str, email: str, *, then: str | None = None) -> None:
    """The ``account_mail`` task: mail what ``queue_account_mail`` asked for, if the account allows it."""
    user = find_user_by_email(email)
    if user is None or not user.is_active or _mails_in_last_hour(user.email, _TEMPLATES[kind]) >= ACCOUNT_MAILS_PER_HOUR:
        return
    if kind == MAIL_RESET:
        send_password_reset_email(user)
        audit.record("user.password_reset_requested", user, actor=None)
    elif kind == MAIL_VERIFY and not user.is_email_verified:
        send_verification_email(user, then=then)
        audit.record("user.verification_sent", user, actor=None)


def _mails_in_last_hour(email: str, template: str) -> int:
    return db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.recipient == email, Notification.template == template,
        Notification.created_at >= utcnow() - timedelta(hours=1)))


def _replaceable(user: User) -> bool:
    """An unverified self-registered applicant account: whoever registers the address again replaces
    its credentials (nobody proved they own the address yet). Accounts created by an administrator or
    with other roles are never touched this way."""
    return (user.is_active and not user.is_email_verified and user.roles == [Role.APPLICANT]
            and user.last_login_at is None)


def register_applicant(email: str, password: str, *, full_name: str, then: str | None = None) -> User | None:
    """Create an unverified applicant account and queue the verification link.

    An address that already has an unverified, self-registered account is registered again: the new
    password and name replace the old ones (the first registrant may have been someone else, who never
    saw the mail), which also kills the links mailed before. A verified or managed account is left
    alone (returns ``None``). In every case the password is hashed and one ``account_mail`` is queued,
    and the page shown is the same.
    """
    existing = find_user_by_email(email)
    if existing is None:
        user = create_user(email, password, full_name=full_name, roles=(Role.APPLICANT,))
        audit.record("user.registered", user, actor=user, summary={"after": {"roles": [Role.APPLICANT.value]}})
    elif _replaceable(existing):
        problems = password_problems(password, email=existing.email)
        if problems:
            raise DomainError(" ".join(problems), field="password")
        user = existing
        user.full_name = full_name.strip()
        user.password_hash = hash_password(password)
        user.session_token = secrets.token_hex(16)
        user.password_changed_at = utcnow()
        audit.record("user.registered_again", user, actor=None,
                     summary={"after": {"roles": [Role.APPLICANT.value]}})
    else:
        hash_password(password)
        audit.record("user.register_existing", existing, actor=None)
        user = None
    queue_account_mail(MAIL_VERIFY, email, then=then)
    return user


def resend_verification(email: str, *, then: str | None = None) -> None:
    """Queue a new verification link for ``email`` (sent if it names an active, unverified account)."""
    queue_account_mail(MAIL_VERIFY, email, then=then)


def read_verification_token(token: str) -> User:
    """The account a verification token names, while its credentials are those it was mailed for.

    Raises ``TokenError`` for a bad, expired or outdated token (address or password changed since).
    """
    payload = tokens.read_token(tokens.VERIFY_EMAIL, token)
    user = db.session.get(User, payload.get("uid")) if isinstance(payload.get("uid"), int) else None
    if user is None or not user.is_active or user.email != payload.get("email"):
        raise TokenError()
    if not user.is_email_verified and not tokens.same_fingerprint(verification_fingerprint(user),
                                                                  payload.get("fp", "")):
        raise TokenError()
    return user


def verification_then(token: str) -> str | None:
    """The path carried by a verification link (``send_verification_email``), if any and safe."""
    try:
        return safe_next(tokens.read_token(tokens.VERIFY_EMAIL, token).get("then"))
    except TokenError:
        return None


def confirm_email(token: str, password: str) -> User:
    """Verify the address a token names, given the password chosen at registration.

    The link alone proves the mailbox, the password proves who registered: both are needed, so a link
    opened by someone else (a mail scanner, a forwarded mail) verifies nothing, and an address
    registered by a stranger cannot be confirmed by its owner with the stranger's password.
    Raises ``TokenError`` (bad link) or ``LoginError("invalid")`` (wrong password, audited).
    """
    user = read_verification_token(token)
    if not verify_password(user.password_hash, password):
        audit.record("user.login_failed", user, actor=None,
                     summary={"email_sha256": email_digest(user.email), "reason": "verification_password"})
        raise LoginError("invalid", N_("Mot de passe incorrect."))
    if not user.is_email_verified:
        user.email_verified_at = utcnow()
        audit.record("user.email_verified", user, actor=user, summary={"after": {"email": user.email}})
    return user


def authenticate(email: str, password: str) -> User:
    """The account if the credentials are right and the address verified; ``LoginError`` otherwise.

    Every failure is audited without an actor, with a digest of the address rather than the address.
    A password hashed with outdated parameters is rehashed.
    """
    user = find_user_by_email(email) if email else None
    if not verify_password(user.password_hash if user else None, password) or not user.is_active:
        audit.record("user.login_failed", user, actor=None, object_type="users",
                     summary={"email_sha256": email_digest(email), "reason": "invalid"})
        raise LoginError("invalid", N_("Adresse électronique ou mot de passe incorrect."))
    if not user.is_email_verified:
        audit.record("user.login_failed", user, actor=None,
                     summary={"email_sha256": email_digest(email), "reason": "unverified"})
        raise LoginError("unverified", N_("Votre adresse électronique n'a pas encore été vérifiée."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def record_login(user: User) -> None:
    user.last_login_at = utcnow()
    audit.record("user.logged_in", user, actor=user)


def record_logout(user: User) -> None:
    """Log out: the session token rotates, so a copy of this session's cookie stops working too.

    (Every session of the account ends: sessions are only told apart by this one token.)
    """
    user.session_token = secrets.token_hex(16)
    audit.record("user.logged_out", user, actor=user)


def end_other_sessions(user: User) -> None:
    """Rotate the session token: every session but the one the caller logs in again is ended."""
    user.session_token = secrets.token_hex(16)
    audit.record("user.sessions_ended", user, actor=user)


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change a password from the account page: the current one is required, the usual rules apply,
    every other session ends (the caller logs the current one in again)."""
    if not verify_password(user.password_hash, current_password or ""):
        audit.record("user.password_change_failed", user, actor=user)
        raise DomainError(N_("Le mot de passe actuel n'est pas le bon."), field="current_password")
    set_password(user, new_password, by=user)


def request_password_reset(email: str) -> None:
    """Queue a reset link for ``email`` (sent if it names an active account)."""
    queue_account_mail(MAIL_RESET, email)


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
