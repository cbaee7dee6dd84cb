"""Signed, expiring tokens for the links sent by mail (email verification, password reset).

Each purpose has its own salt, so a verification token can never be used as a reset token. A reset
token carries a fingerprint of the account's current password hash and session token: once the
password changes the fingerprint no longer matches, which makes the link single-use.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALTS = {
    "verify_email": "ptce-aap.verify-email.v1",
    "reset_password": "ptce-aap.reset-password.v1",
}


class TokenError(Exception):
    """The token cannot be used; ``expired`` tells why, so the page can say so."""

    def __init__(self, *, expired: bool = False):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALTS[purpose])


def make_token(purpose: str, payload: dict) -> str:
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict:
    """The payload of a token made by ``make_token`` for ``purpose``; ``TokenError`` otherwise."""
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError(expired=True) from exc
    except BadSignature as exc:
        raise TokenError() from exc
    if not isinstance(payload, dict):
        raise TokenError()
    return payload


def password_fingerprint(user) -> str:
    """Changes whenever the password (hash) or the session token changes."""
    key = current_app.config["SECRET_KEY"].encode()
    material = f"{user.id}:{user.password_hash or ''}:{user.session_token}".encode()
    return hmac.new(key, material, hashlib.sha256).hexdigest()[:32]


def fingerprint_matches(user, fingerprint: str) -> bool:
    return hmac.compare_digest(password_fingerprint(user), str(fingerprint))
