"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

import argon2
from flask import current_app
from flask_babel import gettext as _

_hashers: dict[str, argon2.PasswordHasher] = {}


def _hasher() -> argon2.PasswordHasher:
    profile = current_app.config.get("PASSWORD_HASH_PROFILE", "default")
    if profile not in _hashers:
        if profile == "cheapest":  # tests only: ~1 ms instead of ~120 ms
            _hashers[profile] = argon2.PasswordHasher.from_parameters(argon2.profiles.CHEAPEST)
        else:
            _hashers[profile] = argon2.PasswordHasher()
    return _hashers[profile]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check so that timing does not reveal unknown accounts.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (argon2.exceptions.VerifyMismatchError, argon2.exceptions.InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def password_problems(password: str, *, email: str = "") -> list[str]:
    """French messages for each rule the password breaks (empty when it is acceptable)."""
    min_length = current_app.config.get("PASSWORD_MIN_LENGTH", 12)
    problems = []
    if len(password) < min_length:
        problems.append(_("Le mot de passe doit contenir au moins %(n)d caractères.", n=min_length))
    classes = sum([any(c.islower() for c in password), any(c.isupper() for c in password),
                   any(c.isdigit() for c in password), any(not c.isalnum() for c in password)])
    if classes < 3:
        problems.append(_("Le mot de passe doit mêler au moins trois types de caractères parmi : minuscules, "
                          "majuscules, chiffres et caractères spéciaux."))
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in password.lower():
        problems.append(_("Le mot de passe ne doit pas contenir votre adresse électronique."))
    if len(password) > 256:
        problems.append(_("Le mot de passe ne doit pas dépasser 256 caractères."))
    return problems
