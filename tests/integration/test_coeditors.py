"""Co-editors: invitation by mail with a signed, expiring link; joining; removal; attribution of changes."""

import re

import pytest
import sqlalchemy as sa

from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.dossiers import Dossier, PoleMembership


def _invite_link(smtp, email):
    mails = [m for m in smtp.wait_for(1) if email in m["To"]]
    assert len(mails) == 1
    text = mails[0].get_body(("plain",)).get_content()
    return re.search(r"https?://\S+/porteur/invitations/\S+", text).group(0)


def test_invite_accept_edit_then_removed(client, login_as, make_dossier, applicant, make_user, db, worker, smtp):
    dossier = make_dossier(owner=applicant)
    dossier_id, pole_id = dossier.id, dossier.pole_id
    login_as(applicant)
    response = client.post(f"/porteur/dossiers/{dossier_id}/coediteurs", data={"email": "Co.Editrice@Example.org"})
    assert response.status_code == 302
    worker()
    link = _invite_link(smtp, "co.editrice@example.org")
    path = link.split("://", 1)[1].split("/", 1)[1]
    coeditor = make_user("co.editrice@example.org", full_name="Claire Co")
    login_as(coeditor)
    assert client.get(f"/porteur/dossiers/{dossier_id}").status_code == 404  # not yet a member
    page = client.get("/" + path).get_data(as_text=True)
    assert "Vous êtes invité(e) à compléter les dossiers du pôle « Pôle Coopérations du Val »." in page
    client.post("/" + path)
    assert client.get(f"/porteur/dossiers/{dossier_id}").status_code == 200
    client.post(f"/porteur/dossiers/{dossier_id}/projet", data={"version": 1, "summary": "Écrit par Claire"})
    db.session.expire_all()
    assert db.session.get(Dossier, dossier_id).updated_by_id == coeditor.id
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "dossier.updated")).one()
    assert event.actor_id == coeditor.id
    # The co-editor cannot remove people; the creator can.
    assert client.post(f"/porteur/dossiers/{dossier_id}/coediteurs/{applicant.id}/retirer").status_code == 403
    login_as(applicant)
    client.post(f"/porteur/dossiers/{dossier_id}/coediteurs/{coeditor.id}/retirer")
    assert db.session.scalar(sa.select(PoleMembership).filter_by(pole_id=pole_id, user_id=coeditor.id)) is None
    login_as(coeditor)
    assert client.get(f"/porteur/dossiers/{dossier_id}").status_code == 404
    # The old link no longer works once revoked.
    assert "Cette invitation a été annulée." in client.get("/" + path).get_data(as_text=True)


def test_invitation_for_another_address_is_refused(client, login_as, make_dossier, applicant, make_user, worker,
                                                   smtp):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    client.post(f"/porteur/dossiers/{dossier.id}/coediteurs", data={"email": "invitee@example.org"})
    worker()
    path = _invite_link(smtp, "invitee@example.org").split("://", 1)[1].split("/", 1)[1]
    other = make_user("someone.else@example.org")
    login_as(other)
    response = client.post("/" + path)
    assert response.status_code == 403
    assert "Cette invitation a été envoyée à invitee@example.org" in response.get_data(as_text=True)


@pytest.mark.parametrize("token,message", [
    ("garbage", "Ce lien d&#39;invitation n&#39;est pas valide."),
])
def test_tampered_invitation_link(client, login_as, applicant, token, message):
    login_as(applicant)
    response = client.get(f"/porteur/invitations/{token}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_expired_invitation_link(app, client, login_as, make_dossier, applicant, make_user, db):
    from ptce_aap.services import coeditors

    dossier = make_dossier(owner=applicant)
    invitation = coeditors.invite(dossier.pole, "late@example.org", by=applicant)
    db.session.commit()
    token = coeditors.invitation_token(invitation)
    late = make_user("late@example.org")
    login_as(late)
    app.config["INVITATION_TOKEN_MAX_AGE"] = -1
    try:
        response = client.get(f"/porteur/invitations/{token}")
    finally:
        app.config["INVITATION_TOKEN_MAX_AGE"] = 7 * 24 * 3600
    assert response.status_code == 400
    assert "Ce lien d&#39;invitation a expiré" in response.get_data(as_text=True)


def test_invalid_email_keeps_what_was_typed(client, login_as, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = client.post(f"/porteur/dossiers/{dossier.id}/coediteurs", data={"email": "pas-une-adresse"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Saisissez une adresse électronique valide" in page
    assert 'value="pas-une-adresse"' in page


def test_pending_invitation_can_be_cancelled_and_its_link_dies(client, login_as, make_dossier, applicant, make_user,
                                                              db, worker, smtp):
    from ptce_aap.models.dossiers import Invitation

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    client.post(f"/porteur/dossiers/{dossier.id}/coediteurs", data={"email": "erreur@example.org"})
    worker()
    path = _invite_link(smtp, "erreur@example.org").split("://", 1)[1].split("/", 1)[1]
    invitation = db.session.scalars(sa.select(Invitation)).one()
    page = client.post(f"/porteur/dossiers/{dossier.id}/invitations/{invitation.id}/annuler",
                       follow_redirects=True).get_data(as_text=True)
    assert "L&#39;invitation envoyée à erreur@example.org est annulée." in page
    login_as(make_user("erreur@example.org"))
    assert "Cette invitation a été annulée." in client.get("/" + path).get_data(as_text=True)
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "pole.invitation_cancelled")).one()
    assert event.actor_id == applicant.id
