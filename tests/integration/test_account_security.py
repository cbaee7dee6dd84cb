"""Attacks on accounts (issue #8): takeover before sign-up, sessions that outlive logout, enumeration by
the work a request does, the platform as a phishing relay. Each test fails on the code before the fix.

Posts carry the form's CSRF token when the page has one, so they hold with CSRF on or off.
"""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.dossiers import Invitation
from ptce_aap.models.outbox import Notification, OutboxEntry
from ptce_aap.passwords import verify_password
from tests.integration.test_accounts import (
    BAD_CREDENTIALS,
    NEW_PASSWORD,
    PASSWORD,
    csrf_data,
    is_logged_in,
    link_in,
    text,
    user_by_email,
)

STRANGER_PASSWORD = "Mot-de-passe-Intrus-1!"


@pytest.fixture
def new_client(app):
    return app.test_client


def post(client, url, data, form_url=None):
    return client.post(url, data=csrf_data(client, form_url or url, data))


def register(client, email, password, full_name):
    return post(client, "/compte/inscription", {"full_name": full_name, "email": email, "password": password,
                                                "password_confirm": password, "accept_terms": "y"})


def login(client, email, password=PASSWORD):
    return post(client, "/compte/connexion", {"email": email, "password": password})


def logout(client):
    return post(client, "/compte/deconnexion", {}, form_url="/porteur/")


def actions(db, user) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "users", AuditEvent.object_id == str(user.id)).order_by(AuditEvent.id)))


# --- 1. account taken over before its owner signs up --------------------------------------------------

def test_a_stranger_who_registered_the_owners_address_first_never_gets_in(new_client, db, smtp, worker):
    stranger, owner, scanner = new_client(), new_client(), new_client()
    register(stranger, "owner@example.org", STRANGER_PASSWORD, "Nom Intrus")
    worker()  # the stranger's verification mail goes to the owner's mailbox
    register(owner, "owner@example.org", PASSWORD, "Olga Owner")

    user = user_by_email(db, "owner@example.org")
    assert user.full_name == "Olga Owner"  # the owner's registration replaced the stranger's
    assert verify_password(user.password_hash, PASSWORD)
    assert not verify_password(user.password_hash, STRANGER_PASSWORD)
    worker()
    first, second = (link_in(m, "/compte/verifier/") for m in smtp.wait_for(2))

    # A mail scanner opens both links: nothing is verified, nobody is logged in.
    for path in (first, second):
        scanner.get(path)
    assert user_by_email(db, "owner@example.org").email_verified_at is None
    assert not is_logged_in(scanner)
    # The first link was mailed for the stranger's registration: it died with it.
    assert scanner.get(first).status_code == 400
    # The link alone does not open a session, and cannot be confirmed with the stranger's password.
    assert "Ce n’est pas le mot de passe choisi" in text(post(scanner, second, {"password": STRANGER_PASSWORD}))
    assert not is_logged_in(scanner)

    confirmed = post(owner, second, {"password": PASSWORD})
    assert confirmed.headers["Location"] == "/porteur/"
    assert is_logged_in(owner)
    assert BAD_CREDENTIALS in text(login(stranger, "owner@example.org", STRANGER_PASSWORD))
    assert not is_logged_in(stranger)


def test_a_verified_account_is_never_replaced_by_a_new_registration(client, db, make_user, smtp, worker):
    owner = make_user("owner@example.org", full_name="Olga Owner")
    old_hash = owner.password_hash

    register(client, "owner@example.org", STRANGER_PASSWORD, "Nom Intrus")

    user = user_by_email(db, "owner@example.org")
    assert (user.full_name, user.password_hash) == ("Olga Owner", old_hash)
    worker()
    assert smtp.wait_for(0) == []


# --- 2. sessions end -------------------------------------------------------------------------------

def copy_session(source, target) -> None:
    cookie = source.get_cookie("ptce_session")
    target.set_cookie("ptce_session", cookie.value)


def test_logout_kills_a_copy_of_the_session_cookie(client, new_client, make_user):
    make_user("porteur@example.org")
    login(client, "porteur@example.org")
    thief = new_client()
    copy_session(client, thief)
    assert is_logged_in(thief)  # the copy works while the session lives

    logout(client)

    assert not is_logged_in(client)
    assert not is_logged_in(thief)


def test_a_session_cookie_does_not_work_from_another_browser(client, new_client, make_user):
    make_user("porteur@example.org")
    login(client, "porteur@example.org")
    thief = new_client()
    copy_session(client, thief)

    assert thief.get("/porteur/", headers={"User-Agent": "Autre navigateur/1.0"}).status_code == 302
    assert is_logged_in(client)


def test_a_session_ends_12_hours_after_login_however_active(client, make_user, monkeypatch):
    from ptce_aap import auth_setup

    make_user("porteur@example.org")
    start = auth_setup._now()
    login(client, "porteur@example.org")
    for hours in (4, 8, 11.9):  # each request within the 8 h idle limit
        monkeypatch.setattr(auth_setup, "_now", lambda h=hours: int(start + h * 3600))
        assert is_logged_in(client), hours
    monkeypatch.setattr(auth_setup, "_now", lambda: start + 12 * 3600 + 1)

    assert not is_logged_in(client)


# --- 2b. the account page ---------------------------------------------------------------------------

def test_account_page_is_linked_from_the_header_and_needs_a_login(client, make_user):
    assert client.get("/compte/").headers["Location"].startswith("/compte/connexion")
    make_user("porteur@example.org", full_name="Julie Porteur")
    login(client, "porteur@example.org")

    assert 'href="/compte/"' in client.get("/porteur/").get_data(as_text=True)
    page = text(client.get("/compte/"))
    assert "Mon compte" in page and "Changer de mot de passe" in page and "Déconnecter mes autres sessions" in page


def test_change_password_needs_the_current_one_and_the_rules(client, db, make_user):
    make_user("porteur@example.org")
    login(client, "porteur@example.org")

    wrong = post(client, "/compte/mot-de-passe", {"current_password": "pas-le-bon", "password": NEW_PASSWORD,
                                                 "password_confirm": NEW_PASSWORD}, form_url="/compte/")
    weak = post(client, "/compte/mot-de-passe", {"current_password": PASSWORD, "password": "court",
                                                "password_confirm": "court"}, form_url="/compte/")

    assert wrong.status_code == weak.status_code == 400
    assert re.search(r'id="current_password-desc-error" class="fr-error-text">Ce n’est pas votre mot de passe '
                     r"actuel\.<", wrong.get_data(as_text=True))
    assert "Le mot de passe doit contenir au moins 12 caractères." in text(weak)
    user = user_by_email(db, "porteur@example.org")
    assert verify_password(user.password_hash, PASSWORD)
    assert "user.password_change_failed" in actions(db, user)


def test_change_password_ends_the_other_sessions_and_keeps_this_one(client, new_client, db, make_user):
    make_user("porteur@example.org")
    login(client, "porteur@example.org")
    elsewhere = new_client()
    login(elsewhere, "porteur@example.org")

    response = post(client, "/compte/mot-de-passe", {"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                    "password_confirm": NEW_PASSWORD}, form_url="/compte/")

    assert response.headers["Location"] == "/compte/"
    assert "Votre mot de passe est modifié." in text(client.get("/compte/"))
    assert is_logged_in(client)
    assert not is_logged_in(elsewhere)
    user = user_by_email(db, "porteur@example.org")
    assert user.password_hash.startswith("$argon2id$")
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert actions(db, user)[-1] == "user.password_changed"
    assert BAD_CREDENTIALS in text(login(elsewhere, "porteur@example.org", PASSWORD))
    assert login(elsewhere, "porteur@example.org", NEW_PASSWORD).headers["Location"] == "/porteur/"


def test_log_out_the_other_sessions(client, new_client, db, make_user):
    make_user("porteur@example.org")
    login(client, "porteur@example.org")
    elsewhere = new_client()
    login(elsewhere, "porteur@example.org")

    response = post(client, "/compte/sessions/fermer", {}, form_url="/compte/")

    assert response.headers["Location"] == "/compte/"
    assert "Vos autres sessions sont fermées. Celle-ci reste ouverte." in text(client.get("/compte/"))
    assert is_logged_in(client)
    assert not is_logged_in(elsewhere)
    assert actions(db, user_by_email(db, "porteur@example.org"))[-1] == "user.sessions_ended"


# --- 3. the same work for known and unknown addresses ------------------------------------------------

def _work_done(db, request) -> list[tuple[str, dict]]:
    """The outbox rows and notifications a request added, the address replaced by EMAIL."""
    before = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(OutboxEntry.id), 0)))
    notifications_before = db.session.scalar(sa.select(sa.func.count(Notification.id)))
    email = request()
    db.session.expire_all()
    rows = db.session.scalars(sa.select(OutboxEntry).where(OutboxEntry.id > before).order_by(OutboxEntry.id))
    assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == notifications_before
    return [(row.task, {k: ("EMAIL" if v == email else v) for k, v in row.kwargs.items()}) for row in rows]


def test_forgotten_password_does_the_same_work_for_known_and_unknown_addresses(new_client, db, make_user):
    make_user("porteur@example.org")
    make_user("lent@example.org", verified=False)

    def forgot(email):
        return lambda: post(new_client(), "/compte/mot-de-passe-oublie", {"email": email}) and email

    work = [_work_done(db, forgot(email)) for email in ("porteur@example.org", "lent@example.org",
                                                         "inconnu@example.org")]

    assert work[0] == work[1] == work[2] == [("account_mail", {"kind": "reset", "email": "EMAIL"})]


def test_registration_and_resend_do_the_same_work_for_every_address(new_client, db, make_user):
    make_user("porteur@example.org")
    make_user("lent@example.org", verified=False)

    def registering(email):
        return lambda: register(new_client(), email, NEW_PASSWORD, "Nom Prénom") and email

    def resending(email):
        return lambda: post(new_client(), "/compte/verification/renvoyer", {"email": email}) and email

    for action in (registering, resending):
        work = [_work_done(db, action(email)) for email in ("porteur@example.org", "lent@example.org",
                                                              f"{action.__name__}@example.org")]
        assert work[0] == work[1] == work[2] == [("account_mail", {"kind": "verify", "email": "EMAIL"})]


def test_queued_reset_mail_goes_only_to_an_existing_account(client, db, make_user, smtp, worker):
    make_user("porteur@example.org")
    post(client, "/compte/mot-de-passe-oublie", {"email": "inconnu@example.org"})
    post(client, "/compte/mot-de-passe-oublie", {"email": "Porteur@Example.org"})

    worker()

    assert [m["To"] for m in smtp.wait_for(1)] == ["porteur@example.org"]


# --- 4. names on one line; invitations limited in the database ----------------------------------------

@pytest.mark.parametrize(("name", "message"), [
    ("Jeanne\nCliquez ici", "Saisissez le nom sur une seule ligne, sans retour à la ligne."),
    ("Jeanne\u202eDupont", "Le nom contient des caractères invisibles ou de contrôle : retirez-les."),
    ("Jeanne https://exemple.test/x", "Le nom ne doit pas contenir d’adresse web."),
])
def test_names_are_single_line_plain_text(client, db, name, message):
    response = register(client, "jeanne@example.org", PASSWORD, name)

    assert response.status_code == 200
    assert 'id="full_name-desc-error" class="fr-error-text"' in response.get_data(as_text=True)
    assert f"Prénom et nom : {message}" in text(response)
    assert user_by_email(db, "jeanne@example.org") is None


def test_a_pole_name_on_several_lines_is_refused(db, make_call, applicant):
    from ptce_aap.errors import DomainError
    from ptce_aap.services.dossiers import start_dossier

    with pytest.raises(DomainError, match="une seule ligne"):
        start_dossier(make_call(), pole_name="Pôle\n\nUrgent : https://exemple.test/connexion", by=applicant)


def test_invitation_mail_quotes_user_names_on_one_line(make_dossier, applicant, db):
    from ptce_aap import mail
    from ptce_aap.services import coeditors

    dossier = make_dossier(owner=applicant)
    dossier.pole.name = "Pôle\r\n\r\nVotre compte expire : https://exemple.test/connexion"  # stored before the rule
    applicant.full_name = "Julie\nService des comptes"
    invitation = coeditors.invite(dossier.pole, "invitee@example.org", by=applicant)
    db.session.flush()
    notification = db.session.scalar(sa.select(Notification).where(
        Notification.dedupe_key == f"invitation:{invitation.id}"))

    _, body, html = mail.render_email("invitation", notification.context, recipient="invitee@example.org")

    line = next(line for line in body.splitlines() if "vous invite" in line)
    assert "«\u00a0Julie Service des comptes\u00a0»" in line
    assert "«\u00a0Pôle Votre compte expire : https://exemple.test/connexion\u00a0»" in line
    assert "<a href=\"https://exemple.test" not in html
    assert "<br>Votre compte" not in html and "\n\nVotre compte" not in body


def test_invitations_per_dossier_are_counted_in_the_database_across_app_instances(
        app, login_as, make_dossier, applicant, db, monkeypatch):
    """Two app instances (two processes, in production) on one database: the count is shared."""
    from ptce_aap import create_app
    from tests.conftest import FreshContextClient

    other_app = create_app({"RQ_QUEUE": app.config["RQ_QUEUE"]})
    other_app.test_client_class = FreshContextClient
    for each in (app, other_app):
        monkeypatch.setitem(each.config, "INVITATIONS_PER_POLE_PER_DAY", 3)
    dossier = make_dossier(owner=applicant)
    url, page = f"/porteur/dossiers/{dossier.id}/coediteurs", f"/porteur/dossiers/{dossier.id}"
    clients = [login_as(applicant), other_app.test_client()]
    copy_session(clients[0], clients[1])  # the same browser, served by the other instance
    try:
        for n in range(3):
            assert post(clients[n % 2], url, {"email": f"invite{n}@example.org"}, form_url=page).status_code == 302
        refused = post(clients[1], url, {"email": "invite3@example.org"}, form_url=page)
        refused_page = text(clients[1].get(refused.headers["Location"]))
    finally:
        with other_app.app_context():
            db.engine.dispose()

    assert "Ce dossier a déjà envoyé 3 invitations ces dernières 24 heures : réessayez demain." in refused_page
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 3
    sent = text(clients[0].get(page))
    assert all(f"invite{n}@example.org" in sent for n in range(3))


def test_invitations_per_account_are_counted_in_the_database(app, make_dossier, applicant, db, monkeypatch):
    from ptce_aap.errors import DomainError
    from ptce_aap.services import coeditors

    monkeypatch.setitem(app.config, "INVITATIONS_PER_USER_PER_DAY", 2)
    first, second = make_dossier(owner=applicant), make_dossier(owner=applicant, pole_name="Autre pôle")
    coeditors.invite(first.pole, "a@example.org", by=applicant)
    coeditors.invite(second.pole, "b@example.org", by=applicant)
    db.session.commit()

    with pytest.raises(DomainError, match="Vous avez déjà envoyé 2 invitations ces dernières 24 heures"):
        coeditors.invite(second.pole, "c@example.org", by=applicant)


# --- request rate limits on every account POST that checks a password or sends a mail -----------------

@pytest.mark.parametrize("url", ["/compte/inscription", "/compte/verification/renvoyer", "/compte/mot-de-passe"])
def test_account_posts_are_rate_limited(client, make_user, url):
    if url == "/compte/mot-de-passe":
        make_user("porteur@example.org")
        login(client, "porteur@example.org")
    data = {"full_name": "Jeanne Dupont", "email": "x@example.org", "password": "court",
            "password_confirm": "court", "current_password": "pas-le-bon"}

    answers = [client.post(url, data=csrf_data(client, "/compte/" if url == "/compte/mot-de-passe" else url,
                                               data)).status_code for _ in range(11)]

    assert answers[-1] == 429
    assert 429 not in answers[:10]


def test_verification_confirmations_are_rate_limited(client, db, smtp, worker):
    register(client, "jeanne@example.org", PASSWORD, "Jeanne Dupont")
    worker()
    path = link_in(smtp.wait_for(1)[0], "/compte/verifier/")

    answers = [post(client, path, {"password": "Pas-le-bon-2026!"}).status_code for _ in range(10)]
    refused = post(client, path, {"password": PASSWORD})  # even with the right password

    assert 429 not in answers
    assert refused.status_code == 429
    assert user_by_email(db, "jeanne@example.org").email_verified_at is None


# --- account mails to one address: at most 3 of a kind per hour, counted in the database ----------------

@pytest.mark.parametrize(("url", "verified", "template"), [
    ("/compte/mot-de-passe-oublie", True, "reset_password"),
    ("/compte/verification/renvoyer", False, "verify_email"),
])
def test_fourth_account_mail_in_an_hour_to_one_address_is_not_sent(new_client, db, make_user, smtp, worker, url,
                                                                   verified, template):
    make_user("porteur@example.org", verified=verified)
    pages = []
    for _ in range(4):
        response = post(new_client(), url, {"email": "porteur@example.org"})  # a new client: another visitor
        pages.append((response.status_code, response.headers.get("Location")))
        worker()
        time.sleep(1.1)  # a link signed in another second: not the same mail twice (deduplicated)
    assert len(set(pages)) == 1  # the answer does not tell
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.recipient == "porteur@example.org", Notification.template == template)) == 3
    assert len(smtp.wait_for(3)) == 3
