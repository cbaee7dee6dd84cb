"""Bearer tokens of the read-only API (SPEC §7, issue 12 point 3).

A token is ``ptce_`` followed by a random secret; only its SHA-256 is stored (``ApiToken.token_sha256``), with
its first characters (``prefix``) to tell tokens apart. Only an administrator may hold one. Creating and
revoking are audited; ``authenticate`` reads a presented token, ``touch`` notes its use (at most once a minute).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ptce_aap import audit
from ptce_aap.domain.messages import N_
from ptce_aap.domain.money import ascii_int
from ptce_aap.enums import ApiScope, Role
from ptce_aap.errors import DomainError, Problems
from ptce_aap.extensions import db
from ptce_aap.models.accounts import ApiToken, User
from ptce_aap.models.base import utcnow

TOKEN_PREFIX = "ptce_"  # noqa: S105 -- the visible start of every token, not a secret
PREFIX_LENGTH = 12
DEFAULT_DAYS = 90
MAX_DAYS = 366
LABEL_MAX = 100  # ApiToken.label's column
TOUCH_EVERY = timedelta(minutes=1)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _days(days: int | str) -> int:
    """``days`` (a number, or the text typed in the admin page's form) as a validity from 1 to ``MAX_DAYS``."""
    value = days if isinstance(days, int) else ascii_int(str(days or "").strip(), maximum=10 ** 6)
    if value is None:
        raise DomainError(N_("Indiquez la durée de validité en jours, par un nombre entier de 1 à %(max)s.",
                             max=MAX_DAYS), field="days")
    if not 1 <= value <= MAX_DAYS:
        raise DomainError(N_("La durée de validité d'un jeton va de 1 à %(max)s jours.", max=MAX_DAYS), field="days")
    return value


def _label(label: str | None, *, required: bool) -> str:
    text = (label or "").strip()
    if required and not text:
        raise DomainError(N_("Indiquez le libellé du jeton (à quoi il sert)."), field="label")
    if len(text) > LABEL_MAX:
        raise DomainError(N_("Le libellé d'un jeton ne doit pas dépasser %(max)s caractères.", max=LABEL_MAX),
                          field="label")
    return text or "API"


def _scopes(scopes) -> set[ApiScope]:
    wanted = set(ApiScope) if scopes is None else {ApiScope(s) for s in scopes}
    if not wanted:
        raise DomainError(N_("Un jeton d'API doit avoir au moins un droit."), field="scopes")
    return wanted


def create(user: User, *, days: int | str = DEFAULT_DAYS, label: str = "", scopes=None, by=None,
           label_required: bool = False) -> tuple[ApiToken, str]:
    """A new token for an administrator, valid ``days`` days, holding ``scopes`` (``ApiScope`` values; every
    scope when None): the row and the token itself (shown once). Every problem is refused at once, each with
    its field (``days``, ``label``, ``scopes``: the admin page's form); the label may be left empty unless
    ``label_required`` (the command names such a token « API »)."""
    if not user.has_role(Role.ADMIN):
        raise DomainError(N_("Seul un compte administrateur peut recevoir un jeton d'API."))
    problems = Problems()
    label = problems.check(_label, label, required=label_required)
    days = problems.check(_days, days)
    wanted = problems.check(_scopes, scopes)
    problems.raise_any()
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    token = ApiToken(user_id=user.id, label=label, token_sha256=digest(raw),
                     prefix=raw[:PREFIX_LENGTH], scopes=[s.value for s in ApiScope if s in wanted], created_at=now,
                     expires_at=now + timedelta(days=days))
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.create", token, actor=by,
                 summary={"after": {"user": user.email, "prefix": token.prefix, "label": token.label,
                                    "scopes": token.scopes, "expires_at": token.expires_at.isoformat()}})
    return token, raw


def revoke(token: ApiToken, *, by) -> None:
    if token.revoked_at is not None:
        raise DomainError(N_("Ce jeton est déjà révoqué."))
    token.revoked_at = utcnow()
    audit.record("api_token.revoke", token, actor=by, summary={"before": {"prefix": token.prefix}})


def authenticate(raw: str) -> ApiToken | None:
    """The stored token matching ``raw`` (whatever its state), or None. The digest is looked up by index and then
    compared in constant time."""
    if not raw or len(raw) > 200:
        return None
    wanted = digest(raw)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_sha256 == wanted))
    if token is None or not hmac.compare_digest(token.token_sha256, wanted):
        return None
    return token


def touch(token: ApiToken) -> bool:
    """Note the token's use, at most once every ``TOUCH_EVERY`` (no write on most requests). True: written."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return False
    token.last_used_at = now
    return True


def record_download(token: ApiToken, attachment) -> None:
    """Note in the audit trail that a token fetched a dossier's file (who, with which token, which file): a file
    read by a program leaves a trace, should the token leak."""
    audit.record("attachment.downloaded", attachment, actor=token.user,
                 summary={"after": {"via": "api", "token": token.prefix, "dossier_id": attachment.dossier_id,
                                    "filename": attachment.filename, "sha256": attachment.sha256}})


def listing(page: int, per_page: int = 50):
    """A page of every token, the newest first, with its owner (two queries: the count and the page)."""
    return db.paginate(sa.select(ApiToken).options(joinedload(ApiToken.user))
                       .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()),
                       page=page, per_page=per_page, error_out=False)
