"""Account flows end to end: registration, email verification, login, logout, password reset.

Mails go through the real outbox, RQ worker and SMTP server; links are read from the mails' text.
"""

from __future__ import annotations

import hashlib
import html
import re
import time

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from ptce_aap.enums import Role
from ptce_aap.models.accounts import User
from ptce_aap.models.audit import AuditEvent
from ptce_aap.passwords import verify_password

PASSWORD = "Mot-de-passe-2026!"
NEW_PASSWORD = "Nouveau-secret-2027?"
BAD_CREDENTIALS = "Adresse électronique ou mot de passe incorrect."


@pytest.fixture
def new_client(app):
    """``new_client()``: another browser, with its own cookies."""
    return app.test_client


# --- helpers -------------------------------------------------------------------------------------

def text(response) -> str:
    """The page as a person reads it: tags removed, entities decoded, spaces collapsed."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def comparable(response, *emails: str) -> str:
    """The page body without what legitimately differs between two requests (CSRF token, typed address)."""
    body = re.sub(r'(name="csrf[-_]token"(?: type="hidden")? (?:content|value)=)"[^"]*"', r'\1""',
                  response.get_data(as_text=True))
    for email in emails:
        body = body.replace(email, "EMAIL")
    return body


def mail_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message, path_prefix: str) -> str:
    """The path of the first link to ``path_prefix`` in the text part of ``message``."""
    match = re.search(r"http://localhost(" + re.escape(path_prefix) + r"[^\s<>\"')]+)", mail_text(message))
    assert match, f"no {path_prefix} link in:\n{mail_text(message)}"
    return match.group(1)


def csrf_data(client, form_url: str, data: dict) -> dict:
    """``data`` plus the form's CSRF token when the page has one (as a browser would send it)."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(form_url).get_data(as_text=True))
    return {**data, "csrf_token": match.group(1)} if match else data


def confirm(client, path: str, password: str = PASSWORD):
    """Open a verification link and confirm it with the password chosen at registration."""
    return client.post(path, data=csrf_data(client, path, {"password": password}))


def register(client, *, email="jeanne@example.org", full_name="Jeanne Dupont", password=PASSWORD,
             confirm=None, accept=True):
    data = {"full_name": full_name, "email": email, "password": password,
            "password_confirm": password if confirm is None else confirm}
    if accept:
        data["accept_terms"] = "y"
    return client.post("/compte/inscription", data=data)


def login(client, email, password=PASSWORD, next_url=None):
    url = "/compte/connexion" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password})


def user_by_email(db, email) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def actions(db, user=None) -> list[str]:
    query = sa.select(AuditEvent.action).order_by(AuditEvent.id)
    if user is not None:
        query = query.where(AuditEvent.object_type == "users", AuditEvent.object_id == str(user.id))
    return list(db.session.scalars(query))


def time_travel(monkeypatch, seconds: int) -> None:
    """Make itsdangerous believe ``seconds`` have passed (tokens carry their creation time)."""
    now = int(time.time()) + seconds
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now)


def is_logged_in(client) -> bool:
    return client.get("/porteur/").status_code == 200


# --- registration and email verification ---------------------------------------------------------

def test_register_then_verification_link_and_password_verify_and_log_in(client, db, smtp, worker):
    response = register(client, email="Jeanne@Example.org ")

    assert response.status_code == 302
    assert response.headers["Location"] == "/compte/verifiez-vos-courriels"
    page = text(client.get("/compte/verifiez-vos-courriels"))
    assert "Consultez votre messagerie" in page
    assert ("Un courriel va être envoyé à l’adresse jeanne@example.org avec un lien pour confirmer votre "
            "adresse et activer votre compte.") in page
    assert "Ce lien est valable 48 heures." in page
    user = user_by_email(db, "jeanne@example.org")
    assert user.full_name == "Jeanne Dupont"
    assert (user.is_applicant, user.is_reviewer, user.is_admin) == (True, False, False)
    assert user.email_verified_at is None
    assert verify_password(user.password_hash, PASSWORD)
    assert "user.registered" in actions(db, user)
    assert not is_logged_in(client)

    worker()
    [message] = smtp.wait_for(1)
    assert message["To"] == "jeanne@example.org"
    path = link_in(message, "/compte/verifier/")

    opened = client.get(path)  # the link alone shows a form: it verifies nothing, logs nobody in
    assert opened.status_code == 200
    assert "Confirmer votre adresse électronique" in text(opened)
    assert user_by_email(db, "jeanne@example.org").email_verified_at is None
    assert not is_logged_in(client)
    response = confirm(client, path)

    assert response.status_code == 302
    assert response.headers["Location"] == "/porteur/"
    page = text(client.get("/porteur/"))
    assert "Votre adresse électronique est vérifiée. Bienvenue sur la plateforme !" in page
    assert "Jeanne Dupont Se déconnecter" in page  # the header names the logged-in user
    user = user_by_email(db, "jeanne@example.org")
    assert user.email_verified_at is not None
    assert user.last_login_at is not None
    assert actions(db, user)[-2:] == ["user.email_verified", "user.logged_in"]
    verified = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.email_verified"))
    assert verified.actor_id == user.id


def test_register_with_errors_keeps_what_was_typed_and_creates_nothing(client, db, smtp):
    response = register(client, email="jeanne@example.org", full_name="Jeanne Dupont", password="court",
                        confirm="autre", accept=False)

    assert response.status_code == 200
    page = text(response)
    assert "Le formulaire contient 3 erreurs" in page
    assert ("Mot de passe : Le mot de passe doit contenir au moins 12 caractères. Le mot de passe doit mêler "
            "au moins trois types de caractères parmi : minuscules, majuscules, chiffres et caractères "
            "spéciaux.") in page
    assert "Confirmation du mot de passe : Les deux mots de passe ne sont pas identiques." in page
    assert ("J’accepte les conditions d’utilisation de la plateforme : Vous devez accepter les conditions "
            "d’utilisation pour créer un compte.") in page
    body = response.get_data(as_text=True)
    assert 'value="Jeanne Dupont"' in body
    assert 'value="jeanne@example.org"' in body
    assert "court" not in body  # passwords are never sent back
    assert '<p id="password-desc-error" class="fr-error-text">' in body  # next to the field too
    assert 'aria-invalid="true"' in body
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_register_refuses_password_containing_the_address(client, db):
    response = register(client, email="jeanne.dupont@example.org", password="Jeanne.Dupont-2026")

    assert response.status_code == 200
    assert "Le mot de passe ne doit pas contenir votre adresse électronique." in text(response)
    assert user_by_email(db, "jeanne.dupont@example.org") is None


def test_register_with_existing_address_looks_the_same_and_changes_nothing(client, new_client, db, make_user, smtp,
                                                                           worker):
    owner = make_user("porteur@example.org", full_name="Julie Porteur")
    old_hash = owner.password_hash

    existing = register(client, email="porteur@example.org", full_name="Intrus", password="Autre-secret-2026!")
    existing_page = client.get("/compte/verifiez-vos-courriels")
    other = new_client()
    fresh = register(other, email="nouveau@example.org")
    fresh_page = other.get("/compte/verifiez-vos-courriels")

    assert (existing.status_code, existing.headers["Location"]) == (fresh.status_code, fresh.headers["Location"])
    assert existing_page.status_code == fresh_page.status_code == 200
    assert comparable(existing_page, "porteur@example.org") == comparable(fresh_page, "nouveau@example.org")
    owner = user_by_email(db, "porteur@example.org")
    assert (owner.full_name, owner.password_hash) == ("Julie Porteur", old_hash)
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 2
    worker()
    assert [m["To"] for m in smtp.wait_for(1)] == ["nouveau@example.org"]  # no mail to the verified owner


def test_register_again_with_an_unverified_address_replaces_its_credentials(client, db, make_user, smtp, worker):
    """Whoever registered the address first never proved it was theirs: the new registration wins."""
    make_user("lent@example.org", verified=False, full_name="Paul Lent")

    response = register(client, email="lent@example.org", full_name="Autre Nom", password=NEW_PASSWORD)

    assert response.headers["Location"] == "/compte/verifiez-vos-courriels"
    owner = user_by_email(db, "lent@example.org")
    assert owner.full_name == "Autre Nom"
    assert verify_password(owner.password_hash, NEW_PASSWORD)
    assert not verify_password(owner.password_hash, PASSWORD)
    assert owner.email_verified_at is None
    worker()
    [message] = smtp.wait_for(1)
    assert message["To"] == "lent@example.org"
    path = link_in(message, "/compte/verifier/")
    assert "Ce n’est pas le mot de passe choisi" in text(confirm(client, path, PASSWORD))
    assert user_by_email(db, "lent@example.org").email_verified_at is None
    confirm(client, path, NEW_PASSWORD)
    assert user_by_email(db, "lent@example.org").email_verified_at is not None
    assert is_logged_in(client)


def test_verification_link_used_twice_says_already_verified(client, new_client, db, smtp, worker):
    register(client)
    worker()
    path = link_in(smtp.wait_for(1)[0], "/compte/verifier/")
    confirm(client, path)
    other = new_client()

    response = other.get(path)

    assert response.status_code == 302
    assert response.headers["Location"] == "/compte/connexion"
    assert "Votre adresse électronique est déjà vérifiée. Vous pouvez vous connecter." in text(
        other.get("/compte/connexion"))
    assert not is_logged_in(other)
    assert actions(db).count("user.email_verified") == 1


def test_expired_verification_link_is_refused(client, db, smtp, worker, monkeypatch):
    register(client)
    worker()
    path = link_in(smtp.wait_for(1)[0], "/compte/verifier/")
    time_travel(monkeypatch, 48 * 3600 + 5)

    response = client.get(path)

    assert response.status_code == 400
    page = text(response)
    assert "Lien expiré" in page
    assert "Ce lien a expiré. Demandez-en un nouveau ci-dessous." in page
    assert user_by_email(db, "jeanne@example.org").email_verified_at is None
    assert not is_logged_in(client)


@pytest.mark.parametrize("tamper", ["signature", "payload", "truncated"])
def test_tampered_verification_link_is_refused(client, db, smtp, worker, tamper):
    register(client)
    worker()
    path = link_in(smtp.wait_for(1)[0], "/compte/verifier/")
    token = path.rsplit("/", 1)[1]
    payload, timestamp, signature = token.split(".")
    flip = {"A": "B"}.get(signature[-2], "A")
    token = {"signature": f"{payload}.{timestamp}.{signature[:-2]}{flip}{signature[-1]}",
             "payload": f"{payload[:-2]}xy.{timestamp}.{signature}",
             "truncated": f"{payload}.{timestamp}"}[tamper]

    response = client.get(f"/compte/verifier/{token}")

    assert response.status_code == 400
    assert ("Ce lien n’est pas valide. Vérifiez qu’il a été copié en entier, ou demandez-en un nouveau "
            "ci-dessous.") in text(response)
    assert user_by_email(db, "jeanne@example.org").email_verified_at is None


def test_resend_verification_mails_a_new_link_and_says_the_same_for_unknown_addresses(client, new_client, db,
                                                                                     make_user, smtp, worker):
    make_user("lent@example.org", verified=False)
    make_user("verifie@example.org", verified=True)

    known = client.post("/compte/verification/renvoyer", data={"email": "lent@example.org"})
    known_page = client.get("/compte/verifiez-vos-courriels")
    answers = []
    for email in ("inconnu@example.org", "verifie@example.org"):
        other = new_client()
        other.post("/compte/verification/renvoyer", data={"email": email})
        answers.append((email, other.get("/compte/verifiez-vos-courriels")))

    assert known.headers["Location"] == "/compte/verifiez-vos-courriels"
    for email, page in answers:
        assert comparable(page, email) == comparable(known_page, "lent@example.org")
    worker()
    [message] = smtp.wait_for(1)
    assert message["To"] == "lent@example.org"
    confirm(client, link_in(message, "/compte/verifier/"))
    assert user_by_email(db, "lent@example.org").email_verified_at is not None


def test_resend_verification_form_is_prefilled_from_the_login_message(client):
    page = client.get("/compte/verification/renvoyer?email=lent@example.org").get_data(as_text=True)

    assert 'value="lent@example.org"' in page


# --- login and logout ----------------------------------------------------------------------------

@pytest.mark.parametrize(("roles", "home"), [
    ((Role.APPLICANT,), "/porteur/"),
    ((Role.REVIEWER,), "/rapporteur/"),
    ((Role.ADMIN,), "/admin/"),
    ((Role.APPLICANT, Role.REVIEWER), "/rapporteur/"),
    ((Role.REVIEWER, Role.ADMIN), "/admin/"),
])
def test_login_redirects_to_the_space_of_the_highest_role(client, db, make_user, roles, home):
    user = make_user("compte@example.org", roles=roles, full_name="Alex Compte")

    response = login(client, "Compte@Example.org")

    assert response.status_code == 302
    assert response.headers["Location"] == home
    page = client.get(home)
    assert page.status_code == 200
    assert "Vous êtes connecté(e). Bonjour Alex Compte !" in text(page)
    user = user_by_email(db, "compte@example.org")
    assert user.last_login_at is not None
    assert actions(db, user)[-1] == "user.logged_in"


def test_wrong_password_and_unknown_address_give_the_same_answer(client, new_client, db, make_user):
    make_user("porteur@example.org")

    wrong = login(client, "porteur@example.org", "Pas-le-bon-2026!")
    unknown = login(new_client(), "inconnu@example.org", "Pas-le-bon-2026!")

    assert wrong.status_code == unknown.status_code == 200
    assert BAD_CREDENTIALS in text(wrong)
    assert BAD_CREDENTIALS in text(unknown)
    assert comparable(wrong, "porteur@example.org") == comparable(unknown, "inconnu@example.org")
    assert 'value="porteur@example.org"' in wrong.get_data(as_text=True)  # the address is kept
    assert not is_logged_in(client)
    failures = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.login_failed")
                                  .order_by(AuditEvent.id)).all()
    assert [f.actor_id for f in failures] == [None, None]
    assert [f.summary for f in failures] == [
        {"email_sha256": hashlib.sha256(b"porteur@example.org").hexdigest()[:16], "reason": "invalid"},
        {"email_sha256": hashlib.sha256(b"inconnu@example.org").hexdigest()[:16], "reason": "invalid"},
    ]
    assert user_by_email(db, "porteur@example.org").last_login_at is None


def test_disabled_account_gets_the_generic_answer(client, db, make_user):
    user = make_user("ancien@example.org")
    user.is_disabled = True
    db.session.commit()

    response = login(client, "ancien@example.org")

    assert BAD_CREDENTIALS in text(response)
    assert not is_logged_in(client)


def test_login_with_empty_fields_shows_field_errors(client):
    response = client.post("/compte/connexion", data={"email": "", "password": ""})

    page = text(response)
    assert "Le formulaire contient 2 erreurs" in page
    assert "Adresse électronique : Indiquez votre adresse électronique." in page
    assert "Mot de passe : Saisissez votre mot de passe." in page


def test_unverified_account_is_refused_with_an_offer_to_resend(client, db, make_user):
    make_user("lent@example.org", verified=False)

    response = login(client, "lent@example.org")

    assert response.status_code == 200
    page = text(response)
    assert "Votre adresse électronique n’a pas encore été vérifiée." in page
    assert "Recevoir un nouveau lien de vérification" in page
    assert 'href="/compte/verification/renvoyer?email=lent@example.org"' in response.get_data(as_text=True)
    assert BAD_CREDENTIALS not in page
    assert not is_logged_in(client)
    failure = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.login_failed"))
    assert failure.summary["reason"] == "unverified"


def test_unverified_account_with_wrong_password_gets_the_generic_answer(client, make_user):
    make_user("lent@example.org", verified=False)

    page = text(login(client, "lent@example.org", "Pas-le-bon-2026!"))

    assert BAD_CREDENTIALS in page
    assert "n’a pas encore été vérifiée" not in page


@pytest.mark.parametrize(("next_url", "expected"), [
    ("/porteur/?onglet=1", "/porteur/?onglet=1"),
    ("https://evil.example/", "/porteur/"),
    ("//evil.example/", "/porteur/"),
    ("/\\evil.example/", "/porteur/"),
    ("javascript:alert(1)", "/porteur/"),
])
def test_login_follows_next_only_to_local_paths(client, make_user, next_url, expected):
    make_user("porteur@example.org")

    response = client.post("/compte/connexion", query_string={"next": next_url},
                           data={"email": "porteur@example.org", "password": PASSWORD})

    assert response.headers["Location"] == expected


def test_anonymous_is_sent_to_login_and_back(client, make_user):
    make_user("porteur@example.org")

    response = client.get("/porteur/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/compte/connexion?next=%2Fporteur%2F"
    login_page = client.get(response.headers["Location"])
    assert "Connectez-vous pour accéder à cette page." in text(login_page)
    assert 'action="/compte/connexion?next=/porteur/"' in login_page.get_data(as_text=True)
    assert login(client, "porteur@example.org", next_url="%2Fporteur%2F").headers["Location"] == "/porteur/"


def test_login_page_redirects_a_logged_in_user_home(client, login_as, make_user):
    login_as(make_user(roles=(Role.REVIEWER,)))

    response = client.get("/compte/connexion")

    assert response.headers["Location"] == "/rapporteur/"


def test_logout_is_post_only_audited_and_ends_the_session(client, db, make_user):
    user = make_user("porteur@example.org")
    login(client, "porteur@example.org")
    assert is_logged_in(client)

    response = client.post("/compte/deconnexion")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "Vous êtes déconnecté(e)." in text(client.get("/"))
    assert not is_logged_in(client)
    assert actions(db, user)[-1] == "user.logged_out"


def test_logout_by_get_is_refused_and_keeps_the_session(client, make_user):
    make_user("porteur@example.org")
    login(client, "porteur@example.org")

    response = client.get("/compte/deconnexion")

    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    assert "Méthode non autorisée" in text(response)
    assert is_logged_in(client)


def test_password_is_rehashed_when_its_parameters_are_outdated(client, db, make_user):
    import argon2

    user = make_user("porteur@example.org")
    user.password_hash = argon2.PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(PASSWORD)
    db.session.commit()
    old_hash = user.password_hash

    assert login(client, "porteur@example.org").status_code == 302

    user = user_by_email(db, "porteur@example.org")
    assert user.password_hash != old_hash
    assert verify_password(user.password_hash, PASSWORD)


# --- forgotten password --------------------------------------------------------------------------

def test_password_reset_flow_changes_the_password_and_ends_other_sessions(client, new_client, db, make_user, smtp,
                                                                          worker):
    user = make_user("porteur@example.org", full_name="Julie Porteur")
    old_token = user.session_token
    elsewhere = new_client()
    login(elsewhere, "porteur@example.org")
    assert is_logged_in(elsewhere)

    response = client.post("/compte/mot-de-passe-oublie", data={"email": "porteur@example.org"})

    assert response.headers["Location"] == "/compte/verifiez-vos-courriels"
    page = text(client.get("/compte/verifiez-vos-courriels"))
    assert ("Si un compte existe pour l’adresse porteur@example.org, un courriel vient de lui être envoyé avec "
            "un lien pour choisir un nouveau mot de passe.") in page
    assert "Ce lien est valable 1 heure et ne peut servir qu’une fois." in page
    worker()
    [message] = smtp.wait_for(1)
    assert message["To"] == "porteur@example.org"
    path = link_in(message, "/compte/reinitialiser/")

    form = client.get(path)
    assert form.status_code == 200
    assert "Choisir un nouveau mot de passe" in text(form)
    weak = client.post(path, data={"password": "faible", "password_confirm": "faible"})
    assert weak.status_code == 200
    assert "Le mot de passe doit contenir au moins 12 caractères." in text(weak)
    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert response.headers["Location"] == "/compte/connexion"
    assert ("Votre mot de passe a été modifié. Connectez-vous avec votre nouveau mot de passe."
            in text(client.get("/compte/connexion")))
    user = user_by_email(db, "porteur@example.org")
    assert user.session_token != old_token
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert actions(db, user)[-3:] == ["user.password_reset_requested", "user.password_changed",
                                      "user.password_reset"]
    assert not is_logged_in(elsewhere)  # the other session was logged out
    assert BAD_CREDENTIALS in text(login(client, "porteur@example.org", PASSWORD))
    assert login(client, "porteur@example.org", NEW_PASSWORD).headers["Location"] == "/porteur/"


def test_reset_link_works_only_once(client, new_client, db, make_user, smtp, worker):
    make_user("porteur@example.org")
    client.post("/compte/mot-de-passe-oublie", data={"email": "porteur@example.org"})
    worker()
    path = link_in(smtp.wait_for(1)[0], "/compte/reinitialiser/")
    client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    again = new_client().get(path)
    post_again = new_client().post(path, data={"password": "Encore-autre-2028!",
                                                   "password_confirm": "Encore-autre-2028!"})

    assert again.status_code == post_again.status_code == 400
    assert "Ce lien n’est pas valide ou a déjà été utilisé. Demandez-en un nouveau ci-dessous." in text(again)
    assert verify_password(user_by_email(db, "porteur@example.org").password_hash, NEW_PASSWORD)


def test_older_reset_link_dies_when_the_password_changes(client, db, make_user, smtp, worker, monkeypatch):
    make_user("porteur@example.org")
    client.post("/compte/mot-de-passe-oublie", data={"email": "porteur@example.org"})
    worker()  # the link is made by the job, when it runs
    time_travel(monkeypatch, 60)
    client.post("/compte/mot-de-passe-oublie", data={"email": "porteur@example.org"})
    worker()
    first, second = (link_in(m, "/compte/reinitialiser/") for m in smtp.wait_for(2))

    client.post(second, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    assert client.get(first).status_code == 400


def test_expired_reset_link_is_refused(client, db, make_user, smtp, worker, monkeypatch):
    make_user("porteur@example.org")
    client.post("/compte/mot-de-passe-oublie", data={"email": "porteur@example.org"})
    worker()
    path = link_in(smtp.wait_for(1)[0], "/compte/reinitialiser/")
    time_travel(monkeypatch, 3600 + 5)

    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    assert response.status_code == 400
    assert "Ce lien a expiré. Demandez-en un nouveau ci-dessous." in text(response)
    assert verify_password(user_by_email(db, "porteur@example.org").password_hash, PASSWORD)


def test_tampered_reset_link_and_verification_token_used_for_reset_are_refused(client, db, make_user, smtp,
                                                                               worker):
    make_user("porteur@example.org")
    register(client, email="jeanne@example.org")
    client.post("/compte/mot-de-passe-oublie", data={"email": "porteur@example.org"})
    worker()
    messages = smtp.wait_for(2)
    verify_token = link_in(smtp.to("jeanne@example.org")[0], "/compte/verifier/").rsplit("/", 1)[1]
    reset_path = link_in(smtp.to("porteur@example.org")[0], "/compte/reinitialiser/")
    assert len(messages) == 2

    cross = client.get(f"/compte/reinitialiser/{verify_token}")
    tampered = client.get(reset_path[:-3] + ("abc" if not reset_path.endswith("abc") else "xyz"))

    for response in (cross, tampered):
        assert response.status_code == 400
        assert "Ce lien n’est pas valide ou a déjà été utilisé." in text(response)


def test_forgot_password_with_unknown_address_looks_the_same_and_sends_nothing(client, new_client, db, make_user,
                                                                               smtp, worker):
    make_user("porteur@example.org")

    unknown = client.post("/compte/mot-de-passe-oublie", data={"email": "inconnu@example.org"})
    unknown_page = client.get("/compte/verifiez-vos-courriels")
    other = new_client()
    known = other.post("/compte/mot-de-passe-oublie", data={"email": "porteur@example.org"})
    known_page = other.get("/compte/verifiez-vos-courriels")

    assert (unknown.status_code, unknown.headers["Location"]) == (known.status_code, known.headers["Location"])
    assert comparable(unknown_page, "inconnu@example.org") == comparable(known_page, "porteur@example.org")
    worker()
    assert [m["To"] for m in smtp.wait_for(1)] == ["porteur@example.org"]


def test_reset_link_verifies_an_unverified_address(client, db, make_user, smtp, worker):
    make_user("lent@example.org", verified=False)
    client.post("/compte/mot-de-passe-oublie", data={"email": "lent@example.org"})
    worker()
    path = link_in(smtp.wait_for(1)[0], "/compte/reinitialiser/")

    client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    assert user_by_email(db, "lent@example.org").email_verified_at is not None
    assert login(client, "lent@example.org", NEW_PASSWORD).headers["Location"] == "/porteur/"
