"""ptce_aap.tokens on its own: a token is read back only for its purpose, with its key, in its time."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from itsdangerous import TimestampSigner

from ptce_aap import tokens
from ptce_aap.tokens import (
    INVITATION,
    PURPOSES,
    RESET_PASSWORD,
    REVIEWER_INVITATION,
    STORAGE_DOWNLOAD,
    STORAGE_UPLOAD,
    VERIFY_EMAIL,
    Purpose,
    TokenError,
    TokenExpired,
    make_token,
    read_token,
)


@pytest.fixture
def app():
    app = Flask("tokens-unit")
    app.config.update(SECRET_KEY="s" * 40, EMAIL_TOKEN_MAX_AGE=48 * 3600, RESET_TOKEN_MAX_AGE=3600,
                      INVITATION_TOKEN_MAX_AGE=7 * 24 * 3600, REVIEWER_INVITATION_TOKEN_MAX_AGE=14 * 24 * 3600)
    with app.app_context():
        yield app


def time_travel(monkeypatch, seconds: int) -> None:
    """Make itsdangerous believe ``seconds`` have passed (tokens carry their creation time)."""
    now = int(time.time()) + seconds
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now)


def test_a_token_gives_back_its_payload(app):
    token = make_token(INVITATION, {"i": 12, "e": "jeanne@example.org"})
    assert read_token(INVITATION, token) == {"i": 12, "e": "jeanne@example.org"}


def test_every_purpose_has_its_own_salt():
    assert len({p.salt for p in PURPOSES.values()}) == len(PURPOSES) == 6
    assert set(PURPOSES) == {"verify_email", "reset_password", "invitation", "reviewer_invitation",
                             "storage_download", "storage_upload"}


@pytest.mark.parametrize("made_for, read_as", [
    (VERIFY_EMAIL, RESET_PASSWORD),
    (RESET_PASSWORD, VERIFY_EMAIL),
    (VERIFY_EMAIL, INVITATION),
    (INVITATION, VERIFY_EMAIL),
    (RESET_PASSWORD, REVIEWER_INVITATION),
    (REVIEWER_INVITATION, RESET_PASSWORD),
    (INVITATION, REVIEWER_INVITATION),
    (REVIEWER_INVITATION, INVITATION),
    (STORAGE_DOWNLOAD, STORAGE_UPLOAD),
    (STORAGE_UPLOAD, STORAGE_DOWNLOAD),
])
def test_a_token_is_refused_for_another_purpose(app, made_for, read_as):
    token = make_token(made_for, {"uid": 1})
    with pytest.raises(TokenError) as excinfo:
        read_token(read_as, token)
    assert excinfo.value.expired is False
    assert read_token(made_for, token) == {"uid": 1}


def test_a_purpose_not_declared_here_is_refused(app):
    lookalike = Purpose("invitation", INVITATION.salt, INVITATION.max_age)
    with pytest.raises(ValueError, match="unknown token purpose"):
        make_token(lookalike, {"i": 1})
    with pytest.raises(ValueError, match="unknown token purpose"):
        read_token(lookalike, make_token(INVITATION, {"i": 1}))


def test_a_token_signed_with_another_key_is_refused(app):
    token = make_token(INVITATION, {"i": 1})
    app.config["SECRET_KEY"] = "t" * 40
    with pytest.raises(TokenError):
        read_token(INVITATION, token)
    with pytest.raises(TokenError):
        read_token(STORAGE_DOWNLOAD, make_token(STORAGE_DOWNLOAD, {"k": "a"}, secret_key="one"), secret_key="two")


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # the signature
    lambda t: "e" + t[1:] if t[0] != "e" else "f" + t[1:],  # the payload
    lambda t: t.split(".")[0],  # no signature at all
    lambda t: "",
    lambda t: "pas-un-jeton",
])
def test_a_tampered_token_is_refused(app, tamper):
    token = make_token(VERIFY_EMAIL, {"uid": 7, "email": "a@example.org"})
    with pytest.raises(TokenError) as excinfo:
        read_token(VERIFY_EMAIL, tamper(token))
    assert not isinstance(excinfo.value, TokenExpired)


def test_a_token_expires_after_the_max_age_of_its_setting(app, monkeypatch):
    token = make_token(RESET_PASSWORD, {"uid": 7})
    time_travel(monkeypatch, 3600 - 5)
    assert read_token(RESET_PASSWORD, token) == {"uid": 7}
    time_travel(monkeypatch, 3600 + 5)
    with pytest.raises(TokenExpired) as excinfo:
        read_token(RESET_PASSWORD, token)
    assert excinfo.value.expired is True
    assert isinstance(excinfo.value, TokenError)


def test_the_setting_is_read_when_the_token_is_checked(app):
    token = make_token(INVITATION, {"i": 1})
    app.config["INVITATION_TOKEN_MAX_AGE"] = -1
    with pytest.raises(TokenExpired):
        read_token(INVITATION, token)


def test_storage_tokens_live_at_most_seven_days(app, monkeypatch):
    token = make_token(STORAGE_UPLOAD, {"k": "a/b"}, secret_key="x")
    time_travel(monkeypatch, 7 * 24 * 3600 + 5)
    with pytest.raises(TokenExpired):
        read_token(STORAGE_UPLOAD, token, secret_key="x")


def test_a_payload_must_be_a_dict(app):
    with pytest.raises(TypeError):
        make_token(INVITATION, ["i", 1])  # type: ignore[arg-type]
    from itsdangerous import URLSafeTimedSerializer

    not_a_dict = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=INVITATION.salt).dumps([1, 2])
    with pytest.raises(TokenError, match="malformed"):
        read_token(INVITATION, not_a_dict)


def test_signing_without_a_secret_key_is_an_error(app):
    app.config["SECRET_KEY"] = ""
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        make_token(INVITATION, {"i": 1})


def test_a_fingerprint_changes_with_any_part_and_with_the_key(app):
    first = tokens.fingerprint(7, "hash-1", "session-1")
    assert len(first) == 32
    assert tokens.fingerprint(7, "hash-1", "session-1") == first
    assert tokens.fingerprint(7, "hash-2", "session-1") != first
    assert tokens.fingerprint(7, "hash-1", "session-2") != first
    assert tokens.fingerprint(7, "hash-1", "session-1", secret_key="other") != first
    assert tokens.same_fingerprint(first, first)
    assert not tokens.same_fingerprint(first, tokens.fingerprint(8, "hash-1", "session-1"))
    assert not tokens.same_fingerprint(first, None)
