"""An invited co-editor without an account keeps the invitation through sign-up and e-mail verification;
a used invitation link never offers « Accepter » again; the invitation stays bound to its address."""

import time
from urllib.parse import quote

import sqlalchemy as sa

from ptce_aap.models.dossiers import Invitation, PoleMembership
from tests.integration.test_accounts import PASSWORD, confirm, csrf_data, link_in, text

INVITED = "claire.co@example.org"


def _invite(client, login_as, make_dossier, applicant, worker, smtp, email=INVITED):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    assert client.post(f"/porteur/dossiers/{dossier.id}/coediteurs", data={"email": email}).status_code == 302
    worker()
    [message] = [m for m in smtp.wait_for(1) if email in m["To"]]
    path = link_in(message, "/porteur/invitations/")
    client.post("/compte/deconnexion")
    smtp.clear()
    return dossier, path


def _register(client, register_url, email, full_name="Claire Co"):
    return client.post(register_url, data=csrf_data(client, register_url, {
        "full_name": full_name, "email": email, "password": PASSWORD, "password_confirm": PASSWORD,
        "accept_terms": "y"}))


def test_the_invitation_survives_sign_up_and_verification(app, client, login_as, make_dossier, applicant, db, worker,
                                                          smtp):
    dossier, path = _invite(client, login_as, make_dossier, applicant, worker, smtp)

    # No account: the link leads to the login page, which says where it leads and offers to sign up.
    response = client.get(path)
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/compte/connexion?next=")
    page = text(client.get(login_url))
    assert "Invitation à co-rédiger le dossier du pôle « Pôle Coopérations du Val »" in page
    assert f"Connectez-vous avec l’adresse {INVITED}, à laquelle l’invitation a été envoyée." in page
    register_url = f"/compte/inscription?next={quote(path, safe='/')}"
    assert register_url in client.get(login_url).get_data(as_text=True).replace("&amp;", "&")

    # Sign-up: the invited address already typed, the invitation said.
    form = client.get(register_url).get_data(as_text=True)
    assert f'value="{INVITED}"' in form
    assert "une fois cette adresse vérifiée, vous arriverez sur l’invitation pour l’accepter" in text(
        client.get(register_url))
    response = _register(client, register_url, INVITED)
    assert response.status_code == 302 and response.headers["Location"] == "/compte/verifiez-vos-courriels"
    check = client.get("/compte/verifiez-vos-courriels").get_data(as_text=True).replace("&amp;", "&")
    assert f"/compte/connexion?next={quote(path, safe='/')}" in check  # going on stays on the invitation path

    # Verification, possibly in another browser (the mail's link carries the invitation, not the session).
    worker()
    [message] = smtp.wait_for(1)
    verify = link_in(message, "/compte/verifier/")
    client = app.test_client()  # another browser: nothing kept in the session of the first one
    response = confirm(client, verify)
    assert response.status_code == 302
    assert response.headers["Location"] == path  # lands on the invitation, not on « pas encore de dossier »
    page = text(client.get(path))
    assert "Vous êtes invité(e) à compléter les dossiers du pôle « Pôle Coopérations du Val »." in page
    response = client.post(path, data=csrf_data(client, path, {}))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/porteur/dossiers/{dossier.id}"  # straight to the dossier
    assert "Vous pouvez désormais compléter les dossiers du pôle" in text(client.get(response.headers["Location"]))
    member = db.session.scalar(sa.select(PoleMembership).filter_by(pole_id=dossier.pole_id, is_owner=False))
    assert member is not None and member.user.email == INVITED


def test_a_used_invitation_link_offers_no_accept_again(client, login_as, make_dossier, make_user, applicant, db,
                                                       worker, smtp):
    dossier, path = _invite(client, login_as, make_dossier, applicant, worker, smtp)
    coeditor = make_user(INVITED, full_name="Claire Co")
    login_as(coeditor)
    client.post(path, data=csrf_data(client, path, {}))
    db.session.expire_all()
    assert db.session.scalar(sa.select(Invitation)).accepted_at is not None

    response = client.get(path)
    assert response.status_code == 200
    page = text(response)
    assert "Cette invitation a déjà été utilisée" in page
    assert "un lien d’invitation ne sert qu’une fois" in page
    assert "Accepter l’invitation" not in page
    assert f'href="/porteur/dossiers/{dossier.id}"' in response.get_data(as_text=True)  # theirs: go to it
    assert "Ouvrir le dossier" in page
    # Posting again (a second click, a replay) accepts nothing more and says the same.
    again = client.post(path, data=csrf_data(client, "/porteur/", {}))
    assert again.status_code == 409 and "Cette invitation a déjà été utilisée" in text(again)
    assert db.session.scalar(sa.select(sa.func.count(PoleMembership.id))) == 2

    # Someone else holding the used link: told it was used, no button, no link to the dossier.
    stranger = make_user("quelquun@example.org")
    login_as(stranger)
    response = client.get(path)
    page = text(response)
    assert "Cette invitation a déjà été utilisée" in page and "Accepter l’invitation" not in page
    assert f'href="/porteur/dossiers/{dossier.id}"' not in response.get_data(as_text=True)
    assert client.get(f"/porteur/dossiers/{dossier.id}").status_code == 404


def test_signing_up_with_another_address_does_not_take_the_invitation(client, login_as, make_dossier, applicant,
                                                                      db, worker, smtp):
    dossier, path = _invite(client, login_as, make_dossier, applicant, worker, smtp)
    register_url = f"/compte/inscription?next={quote(path, safe='/')}"
    _register(client, register_url, "intrus@example.org", full_name="Intrus")
    worker()
    [message] = smtp.wait_for(1)
    response = confirm(client, link_in(message, "/compte/verifier/"))
    assert response.headers["Location"] == path  # carried, but the invitation stays bound to its address
    refused = client.post(path, data=csrf_data(client, path, {}))
    assert refused.status_code == 403
    assert f"Cette invitation a été envoyée à {INVITED}" in text(refused)
    assert db.session.scalar(sa.select(sa.func.count(PoleMembership.id))) == 1
    assert client.get(f"/porteur/dossiers/{dossier.id}").status_code == 404


def test_only_a_path_of_this_site_is_carried(client, db, worker, smtp):
    for target in ("https://evil.example/x", "//evil.example/x"):
        smtp.clear()
        email = f"x{len(target)}@example.org"
        _register(client, f"/compte/inscription?next={quote(target)}", email)
        worker()
        [message] = smtp.wait_for(1)
        response = confirm(client, link_in(message, "/compte/verifier/"))
        assert response.headers["Location"] == "/porteur/"
        client.post("/compte/deconnexion")


def test_a_new_verification_link_keeps_the_invitation(client, login_as, make_dossier, applicant, db, worker, smtp):
    _dossier, path = _invite(client, login_as, make_dossier, applicant, worker, smtp)
    _register(client, f"/compte/inscription?next={quote(path, safe='/')}", INVITED)
    worker()
    smtp.wait_for(1)
    smtp.clear()
    check = client.get("/compte/verifiez-vos-courriels").get_data(as_text=True).replace("&amp;", "&")
    resend = next(part for part in check.split('href="')[1:] if part.startswith("/compte/verification/renvoyer"))
    resend = resend.split('"', 1)[0]
    assert "next=" in resend
    time.sleep(1.1)  # a link made in the same second as the first one is the same link (sent once)
    sent = client.post(resend, data=csrf_data(client, resend, {"email": INVITED}))
    assert sent.status_code == 302, text(sent)
    assert worker() >= 1
    [message] = smtp.wait_for(1)
    response = confirm(client, link_in(message, "/compte/verifier/"))
    assert response.headers["Location"] == path
