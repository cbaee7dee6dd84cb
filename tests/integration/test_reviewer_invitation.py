"""A new reviewer's invitation (issue 10, point 3): the mailed link opens « Bienvenue — choisissez votre mot de
passe », sets the first password, verifies the address, logs the person in on the call's conflicts page; it
lasts 14 days, serves once, never logs in an account that has a password, is its own token purpose; the
admin can send it again (rate-limited, audited, deduplicated); an existing account keeps its notice."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from ptce_aap import tokens
from ptce_aap.enums import InstitutionKind, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.accounts import User
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.outbox import Notification
from ptce_aap.passwords import verify_password
from ptce_aap.services import accounts, reviewer_invitations
from ptce_aap.services import pool as pool_service

PASSWORD = "Un-mot-de-passe-2026!"
FORM = {"password": PASSWORD, "password_confirm": PASSWORD}
CSRF_MESSAGE = "Le formulaire a expiré ou n'est pas valide."


def text(response) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def time_travel(monkeypatch, seconds: int) -> None:
    now = int(time.time()) + seconds
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: now)


def path_of(notification: Notification) -> str:
    return notification.context["link"].split("localhost", 1)[1]


def mails(db, template="reviewer_invitation", email=None):
    query = sa.select(Notification).where(Notification.template == template).order_by(Notification.id)
    if email:
        query = query.where(Notification.recipient == email)
    return db.session.scalars(query).all()


def actions(db, action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.fixture
def invited(db, make_call, make_institution, admin_user):
    """A call and a person invited to its pool, without an account before: ``(call, member, link path)``."""
    call = make_call(title="AAP PTCE 2027")
    institution = make_institution("ANCT", kind=InstitutionKind.STATE_AGENCY)
    member = pool_service.invite_reviewer(call, "nina.invitee@exemple.fr", full_name="Nina Invitée", by=admin_user,
                                          settings=pool_service.MemberSettings(institution_id=institution.id))
    db.session.commit()
    [mail] = mails(db)
    return call, member, path_of(mail)


def user(db, email="nina.invitee@exemple.fr") -> User:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def test_the_welcome_page_names_the_call_the_secretariat_and_the_rules(client, db, invited):
    call, _member, path = invited
    assert path.startswith("/compte/invitation-rapporteur/")

    page = client.get(path)

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    body = text(page)
    assert "Bienvenue — choisissez votre mot de passe" in body
    assert "Vous êtes invité(e) comme rapporteur de l’appel à projets « AAP PTCE 2027 »" in body
    assert ("Invitation envoyée par Camille Admin, pour le secrétariat de l’appel (Ministère de l'Économie)."
            in body)
    assert "nina.invitee@exemple.fr" in body
    assert "Au moins 12 caractères" in body
    assert "Ce lien personnel est valable 14 jours" in body
    assert "toutes les sessions" not in body and "nouveau mot de passe" not in body.lower()
    assert user(db).password_hash is None  # opening the link (a mail scanner) changes nothing


def test_choosing_the_password_activates_logs_in_and_leads_to_the_conflicts_page(client, db, invited):
    call, member, path = invited

    weak = client.post(path, data={"password": "faible", "password_confirm": "faible"})
    assert weak.status_code == 200
    assert "Le mot de passe doit contenir au moins 12 caractères." in text(weak)
    mismatch = client.post(path, data={"password": PASSWORD, "password_confirm": PASSWORD + "x"})
    assert "Les deux mots de passe ne sont pas identiques." in text(mismatch)
    assert user(db).password_hash is None

    response = client.post(path, data=FORM)

    assert response.status_code == 302
    assert response.headers["Location"] == f"/rapporteur/appels/{call.slug}/conflits"
    landing = text(client.get(response.headers["Location"]))
    assert "Bienvenue Nina Invitée : votre compte est activé. Première étape : déclarez ici vos éventuels" in landing
    assert client.get("/rapporteur/").status_code == 200
    person = user(db)
    assert verify_password(person.password_hash, PASSWORD)
    assert person.is_email_verified and person.last_login_at is not None
    [accepted] = actions(db, "pool.invitation_accepted")
    assert (accepted.actor_id, accepted.object_id, accepted.summary) == (person.id, str(member.id),
                                                                       {"call_id": call.id})


def test_the_link_serves_once(app, client, db, invited):
    _call, _member, path = invited
    assert client.post(path, data=FORM).status_code == 302

    again = app.test_client()
    page = again.get(path)
    post = again.post(path, data={"password": "Autre-mot-de-passe-2027!",
                                  "password_confirm": "Autre-mot-de-passe-2027!"})

    assert page.status_code == post.status_code == 400
    assert "Invitation déjà utilisée" in text(page)
    assert "Cette invitation a déjà servi" in text(page) and "Mot de passe oublié" in text(page)
    assert verify_password(user(db).password_hash, PASSWORD)
    assert again.get("/rapporteur/").status_code == 302  # not logged in


def test_the_link_never_logs_in_an_account_that_has_a_password(app, client, db, invited):
    """Set through « Mot de passe oublié » meanwhile: the invitation link is dead (and would not log in)."""
    _call, _member, path = invited
    person = user(db)
    accounts.reset_password(person, "Choisi-ailleurs-2026!")
    db.session.commit()

    response = client.post(path, data=FORM)

    assert response.status_code == 400
    assert client.get("/rapporteur/").status_code == 302
    assert verify_password(user(db).password_hash, "Choisi-ailleurs-2026!")


def test_the_link_lasts_fourteen_days(client, db, invited, monkeypatch):
    _call, _member, path = invited
    time_travel(monkeypatch, 13 * 86400)
    assert client.get(path).status_code == 200

    time_travel(monkeypatch, 14 * 86400 + 5)
    response = client.post(path, data=FORM)

    assert response.status_code == 400
    body = text(response)
    assert "Invitation expirée" in body
    assert "Demandez au secrétariat de l’appel à projets de vous renvoyer l’invitation" in body
    assert "Mot de passe oublié" in body
    assert user(db).password_hash is None


def test_token_purposes_do_not_cross(app, client, db, invited, smtp, worker):
    _call, _member, path = invited
    person = user(db)
    invitation_token = path.rsplit("/", 1)[1]
    with app.test_request_context():
        reset_token = tokens.make_token(tokens.RESET_PASSWORD,
                                        {"uid": person.id, "fp": accounts.password_fingerprint(person)})
        # The same payload, signed for the invitation: refused on the reset page.
    assert client.get(f"/compte/invitation-rapporteur/{reset_token}").status_code == 400
    assert "Lien d’invitation non valide" in text(client.get(f"/compte/invitation-rapporteur/{reset_token}"))
    assert client.post(f"/compte/invitation-rapporteur/{reset_token}", data=FORM).status_code == 400
    assert client.get(f"/compte/reinitialiser/{invitation_token}").status_code == 400
    assert client.post(f"/compte/reinitialiser/{invitation_token}", data=FORM).status_code == 400
    tampered = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    assert client.get(tampered).status_code == 400
    assert user(db).password_hash is None
    assert client.get(f"/compte/reinitialiser/{reset_token}").status_code == 200  # each on its own page


def test_the_form_needs_its_csrf_token(client, db, invited):
    _call, _member, path = invited

    response = client.post(path, data=FORM, csrf=False)

    assert response.status_code == 400
    assert CSRF_MESSAGE in text(response)
    assert user(db).password_hash is None


def test_removed_from_the_pool_the_link_is_dead(client, db, invited, admin_user):
    _call, member, path = invited
    pool_service.remove_member(member, by=admin_user)
    db.session.commit()

    assert client.get(path).status_code == 400


def test_an_existing_account_keeps_its_notice_with_a_login_link(db, make_call, make_user, make_institution,
                                                               admin_user):
    call = make_call()
    existing = make_user("deja@exemple.fr", full_name="Déjà Inscrite")
    pool_service.invite_reviewer(call, existing.email, full_name="", by=admin_user,
                                 settings=pool_service.MemberSettings(institution_id=make_institution().id))
    db.session.commit()

    assert mails(db) == []
    [notice] = mails(db, "reviewer_added")
    assert notice.context["link"] == "http://localhost/rapporteur/"


def test_an_existing_account_that_never_chose_a_password_gets_the_invitation(db, make_call, make_institution,
                                                                             admin_user):
    first, second = make_call(), make_call()
    settings = pool_service.MemberSettings(institution_id=make_institution().id)
    pool_service.invite_reviewer(first, "lent@exemple.fr", full_name="Lent", settings=settings, by=admin_user)
    pool_service.invite_reviewer(second, "lent@exemple.fr", full_name="", settings=settings, by=admin_user)
    db.session.commit()

    invitations = mails(db)
    assert [m.context["call_title"] for m in invitations] == [first.title, second.title]
    assert mails(db, "reviewer_added") == []


def test_the_admin_resends_the_invitation_to_a_member_who_never_activated(client, login_as, db, invited,
                                                                          admin_user, smtp, worker):
    call, member, first_path = invited
    login_as(admin_user)
    pool_page = client.get(f"/admin/appels/{call.slug}/rapporteurs")
    assert "Renvoyer l’invitation" in text(pool_page)
    url = f"/admin/appels/{call.slug}/rapporteurs/{member.id}/invitation"

    response = client.post(url)

    assert response.status_code == 302
    assert "L’invitation a été renvoyée à nina.invitee@exemple.fr." in text(client.get(response.headers["Location"]))
    first, second = mails(db)
    assert second.recipient == "nina.invitee@exemple.fr" and second.dedupe_key != first.dedupe_key
    second_path = path_of(second)
    [event] = actions(db, "pool.invitation_resent")
    assert (event.actor_id, event.object_id) == (admin_user.id, str(member.id))
    assert event.summary == {"email": "nina.invitee@exemple.fr", "call_id": call.id}
    worker()
    assert [m["To"] for m in smtp.wait_for(2)] == ["nina.invitee@exemple.fr"] * 2
    assert any(second_path in m.get_body(preferencelist=("plain",)).get_content() for m in smtp.wait_for(2))
    # Both links work until a password is set; then both are dead.
    invitee = client.application.test_client()
    assert invitee.get(first_path).status_code == 200
    assert invitee.post(second_path, data=FORM).status_code == 302
    assert invitee.get(first_path).status_code == 400
    # Activated: no button any more, and the route refuses.
    assert "Renvoyer l’invitation" not in text(client.get(f"/admin/appels/{call.slug}/rapporteurs"))
    refused = client.post(url, follow_redirects=True)
    assert "Nina Invitée a déjà activé son compte" in text(refused)
    assert len(mails(db)) == 2


def test_resending_is_limited_per_address_and_numbered_for_the_outbox(db, invited, admin_user):
    call, member, _path = invited
    prefix = f"reviewer_invitation:{call.id}:{member.user_id}"

    reviewer_invitations.resend_invitation(member, by=admin_user)
    db.session.commit()
    reviewer_invitations.resend_invitation(member, by=admin_user)  # the third mail in the hour
    db.session.commit()

    # Each resend's key is the number of invitations queued before it: two requests racing on one click
    # compute the same key, and the outbox's unique key keeps one mail.
    assert [m.dedupe_key for m in mails(db)] == [prefix, f"{prefix}:1", f"{prefix}:2"]
    with pytest.raises(DomainError, match="3 invitations ont déjà été envoyées à nina.invitee@exemple.fr"):
        reviewer_invitations.resend_invitation(member, by=admin_user)
    db.session.rollback()
    assert len(mails(db)) == 3
    assert len(actions(db, "pool.invitation_resent")) == 2


def test_only_the_calls_admins_resend_and_not_to_other_pools(app, client, login_as, db, invited, make_user,
                                                             make_call):
    call, member, _path = invited
    login_as(make_user("rapporteur@exemple.fr", roles=(Role.REVIEWER,)))
    assert client.post(f"/admin/appels/{call.slug}/rapporteurs/{member.id}/invitation").status_code == 403
    other = make_call()
    login_as(make_user("admin2@exemple.fr", roles=(Role.ADMIN,)))
    assert client.post(f"/admin/appels/{other.slug}/rapporteurs/{member.id}/invitation").status_code == 404
    assert len(mails(db)) == 1


def test_knowing_the_address_gets_nobody_a_link(app, client, db, invited, smtp, worker):
    """Signing up or asking « Mot de passe oublié » with an invited address: no invitation link comes of it,
    the account is not taken over (the reset link goes to the mailbox, as for anyone), the invitation still works."""
    _call, _member, path = invited
    client.post("/compte/inscription", data={"email": "nina.invitee@exemple.fr", "full_name": "Intrus",
                                             "password": "Intrus-mot-de-passe-2026!",
                                             "password_confirm": "Intrus-mot-de-passe-2026!", "accept_terms": "y"})
    client.post("/compte/mot-de-passe-oublie", data={"email": "nina.invitee@exemple.fr"})
    worker()

    assert len(mails(db)) == 1  # the admin's invitation only
    person = user(db)
    assert (person.password_hash, person.full_name) == (None, "Nina Invitée")
    # Whatever is mailed goes to the invited mailbox only (the reset link, and the usual verification mail,
    # which needs a password this account does not have).
    messages = smtp.wait_for(3)
    assert {m["To"] for m in messages} == {"nina.invitee@exemple.fr"}
    assert "Réinitialisation de votre mot de passe" in [m["Subject"] for m in messages]
    assert app.test_client().get(path).status_code == 200
