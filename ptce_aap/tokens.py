"""Signed, salted, expiring tokens: the one place where the app signs data it hands out.

A token is made for one ``Purpose`` (mailed links: email verification, password reset, invitation to
co-edit a dossier, invitation to join a call's reviewers; the local storage's download links and upload policies). Each purpose has its own salt, so a token made for
one can never be read as another, and its own maximum age: seconds, or the name of the setting that gives
them, read when the token is checked (changing the setting affects links already sent).

    token = make_token(INVITATION, {"i": invitation.id, "e": invitation.email})
    payload = read_token(INVITATION, token)    # a dict, or TokenError / TokenExpired

Tokens are signed with ``SECRET_KEY`` (or an explicit ``secret_key``, for the local storage backend, which
also works without an app). They are not encrypted: their payload can be read by whoever holds them, so
put ids in them, never secrets. ``fingerprint`` makes a token stop working when what it was made from
changes (a reset link carries a fingerprint of the password hash, hence is single-use).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

STORAGE_MAX_AGE = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live; the same bound for local ones


@dataclass(frozen=True)
class Purpose:
    """What a token is for. ``max_age``: seconds, or the name of the setting holding them."""

    name: str
    salt: str
    max_age: int | str


# The salts are those tokens were made with so far: changing one invalidates every link already sent.
VERIFY_EMAIL = Purpose("verify_email", "ptce-aap.verify-email.v1", "EMAIL_TOKEN_MAX_AGE")
RESET_PASSWORD = Purpose("reset_password", "ptce-aap.reset-password.v1", "RESET_TOKEN_MAX_AGE")
INVITATION = Purpose("invitation", "ptce-aap.invitation.v1", "INVITATION_TOKEN_MAX_AGE")
# A new reviewer's first password (``services.reviewer_invitations``): single use, like a reset link.
REVIEWER_INVITATION = Purpose("reviewer_invitation", "ptce-aap.reviewer-invitation.v1",
                              "REVIEWER_INVITATION_TOKEN_MAX_AGE")
STORAGE_DOWNLOAD = Purpose("storage_download", "storage-get", STORAGE_MAX_AGE)
STORAGE_UPLOAD = Purpose("storage_upload", "storage-post", STORAGE_MAX_AGE)

PURPOSES = {p.name: p for p in (VERIFY_EMAIL, RESET_PASSWORD, INVITATION, REVIEWER_INVITATION, STORAGE_DOWNLOAD,
                                 STORAGE_UPLOAD)}


class TokenError(Exception):
    """The token cannot be used: altered, made elsewhere or for another purpose, or malformed.
    ``expired`` tells the two cases apart, so that a page can say which."""

    expired = False

    def __init__(self, message: str = "invalid token"):
        super().__init__(message)


class TokenExpired(TokenError):
    """The token was valid but its time is over."""

    expired = True

    def __init__(self, message: str = "token expired"):
        super().__init__(message)


def _secret(secret_key: str | None) -> str:
    secret = secret_key if secret_key is not None else current_app.config["SECRET_KEY"]
    if not secret:
        raise RuntimeError("signing a token needs a SECRET_KEY")
    return secret


def _serializer(purpose: Purpose, secret_key: str | None) -> URLSafeTimedSerializer:
    if PURPOSES.get(purpose.name) is not purpose:
        raise ValueError(f"unknown token purpose: {purpose!r}")
    return URLSafeTimedSerializer(_secret(secret_key), salt=purpose.salt)


def max_age_of(purpose: Purpose) -> int:
    """The purpose's maximum age in seconds (read from the settings when it names one)."""
    if isinstance(purpose.max_age, str):
        return int(current_app.config[purpose.max_age])
    return purpose.max_age


def make_token(purpose: Purpose, payload: dict, *, secret_key: str | None = None) -> str:
    """A URL-safe token carrying ``payload`` (JSON-serialisable) and its creation time."""
    if not isinstance(payload, dict):
        raise TypeError("a token's payload is a dict")
    return _serializer(purpose, secret_key).dumps(payload)


def read_token(purpose: Purpose, token: str, *, secret_key: str | None = None) -> dict:
    """The payload of a token made by ``make_token`` for ``purpose``.

    Raises ``TokenExpired`` when older than the purpose's maximum age, ``TokenError`` when it was not made
    here for this purpose (or was altered, or carries no dict).
    """
    try:
        payload = _serializer(purpose, secret_key).loads(token, max_age=max_age_of(purpose))
    except SignatureExpired as exc:
        raise TokenExpired() from exc
    except BadSignature as exc:
        raise TokenError() from exc
    if not isinstance(payload, dict):
        raise TokenError("malformed token")
    return payload


def fingerprint(*parts: object, secret_key: str | None = None) -> str:
    """A short keyed digest of ``parts``: put in a token, it makes the token stop working as soon as one
    of the parts changes (``same_fingerprint`` compares in constant time)."""
    material = ":".join(str(part) for part in parts).encode()
    return hmac.new(_secret(secret_key).encode(), material, hashlib.sha256).hexdigest()[:32]


def same_fingerprint(expected: str, given: object) -> bool:
    return hmac.compare_digest(expected, str(given))
