"""After submission every message tells the truth: no « ajoutez… » on a dossier that can no longer be
changed, nothing says a withdrawn dossier will be examined, the withdrawal reason is in the history, and
the admin dashboard counts withdrawn dossiers apart from the submitted ones."""

import re

import pytest

from ptce_aap import mail
from ptce_aap.enums import DossierStatus, LegalForm, MemberCategory
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Dossier
from ptce_aap.services import eligibility as service
from ptce_aap.services import submission

EXAMINED = "sera examiné par les rapporteurs"
INSTRUCTIONS = re.compile(r"\b(Ajoutez|ajoutez|Corrigez|corrigez|Confiez|indiquez-le|choisissez-l|Ajustez|saisissez|"
                          r"remplacez-le|envoyez-le)\b")


def _reload(db, dossier_id):
    db.session.expire_all()
    return db.session.get(Dossier, dossier_id)


def _submitted(db, make_dossier, owner, **kw):
    dossier = make_dossier(owner=owner, complete=True, **kw)
    submission.submit_dossier(dossier, by=owner, now=utcnow())
    db.session.commit()
    return dossier


def _plain(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def _withdraw(client, dossier, reason):
    response = client.post(f"/porteur/dossiers/{dossier.id}/retrait", data={"reason": reason, "confirm": "y"})
    assert response.status_code == 302


def test_withdrawn_dossier_never_says_it_will_be_examined_and_shows_its_reason(client, login_as, make_dossier,
                                                                                applicant, db):
    dossier = _submitted(db, make_dossier, applicant)
    service.run_check(dossier)
    db.session.commit()
    login_as(applicant)
    page = _plain(client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True))
    assert f"Il {EXAMINED}." in page  # eligible and in the running: said

    _withdraw(client, dossier, "Le pôle se réorganise : nous candidaterons l'an prochain.")
    assert _reload(db, dossier.id).status == DossierStatus.WITHDRAWN
    page = _plain(client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True))
    assert EXAMINED not in page and "examiné par les rapporteurs" not in page
    assert "Ce dossier a été retiré le" in page and "il ne sera pas examiné" in page
    assert "Motif du retrait : Le pôle se réorganise : nous candidaterons l'an prochain." in page
    history = page.split("Historique du dossier")[1]
    assert re.search(r"Retiré \(Julie Porteur\) — motif : Le pôle se réorganise", history)
    assert "l’avait déclaré recevable" in page  # the past check, told as past

    dashboard = _plain(client.get("/porteur/").get_data(as_text=True))
    assert EXAMINED not in dashboard
    assert "Retiré (Julie Porteur) — motif : Le pôle se réorganise" in dashboard


def test_withdrawn_before_its_check_is_not_said_to_be_checked(client, login_as, make_dossier, applicant, db):
    dossier = _submitted(db, make_dossier, applicant)
    login_as(applicant)
    page = _plain(client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True))
    assert "La vérification des conditions d’éligibilité de votre dossier est en cours" in page
    _withdraw(client, dossier, "")
    page = _plain(client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True))
    assert "est en cours" not in page and "Vous en recevrez le résultat" not in page
    assert "Vous avez retiré ce dossier avant l’examen de son éligibilité : il ne sera pas examiné." in page
    assert "Retiré (Julie Porteur) — sans motif indiqué" in page


@pytest.mark.parametrize("status,expected", [
    (DossierStatus.ELIGIBLE, f"Il {EXAMINED}."),
    (DossierStatus.IN_REVIEW, "Il est en cours d’examen par les rapporteurs."),
    (DossierStatus.REVIEWED, None),
    (DossierStatus.LAUREATE, None),
    (DossierStatus.WAITLISTED, None),
    (DossierStatus.REJECTED, None),
    (DossierStatus.WITHDRAWN, "Vous avez retiré ce dossier : il ne sera pas examiné."),
])
def test_the_eligibility_block_speaks_of_each_status_truly(status, expected, client, login_as, make_dossier,
                                                           applicant, db):
    dossier = _submitted(db, make_dossier, applicant)
    service.run_check(dossier)
    dossier.status = status  # as later steps would leave it (test set-up only)
    db.session.commit()
    login_as(applicant)
    page = _plain(client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True))
    block = page.split("Examen de l’éligibilité")[1].split("Actions")[0]
    if expected:
        assert expected in block
    if status != DossierStatus.ELIGIBLE:
        assert EXAMINED not in page


def test_ineligible_result_tells_what_was_found_not_what_to_change(client, login_as, make_dossier, applicant, db,
                                                                    app):
    dossier = make_dossier(owner=applicant, complete=True)
    dossier.carrier_legal_form = LegalForm.COLLECTIVITE
    dossier.members[1].category = MemberCategory.ESS
    dossier.members[3].department = "75"
    db.session.commit()
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    check = service.run_check(dossier)
    db.session.commit()
    assert _reload(db, dossier.id).status == DossierStatus.INELIGIBLE
    for result in check.results:
        assert not INSTRUCTIONS.search(result["message"]), result["message"]
    assert any("Structure membre 4 (75)" in r["message"] for r in check.results)

    app.config["SECRETARIAT_EMAIL"] = "secretariat-ptce@example.gouv.fr"
    try:
        context = {"name": "Julie Porteur", **service.mail_context(_reload(db, dossier.id), check)}
        _subject, text, html = mail.render_email("eligibility_result", context)
        login_as(applicant)
        page = client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True)
    finally:
        app.config["SECRETARIAT_EMAIL"] = None
    text = " ".join(text.split())
    assert not INSTRUCTIONS.search(text), INSTRUCTIONS.search(text)
    assert ("Un dossier déposé ne peut plus être modifié. Si ce résultat vous paraît erroné (une pièce ou une "
            "information mal prise en compte), écrivez au secrétariat de l’appel à projets "
            f"(secretariat-ptce@example.gouv.fr) en indiquant votre numéro de récépissé {dossier.receipt_number}") \
        in text
    assert "secretariat-ptce@example.gouv.fr" in html
    block = _plain(page.split('id="eligibilite"')[1].split("<h2>Actions</h2>")[0])
    assert not INSTRUCTIONS.search(block), INSTRUCTIONS.search(block)
    assert "La structure porteuse est une collectivité : une collectivité ne peut pas porter le pôle." in block
    assert 'href="mailto:secretariat-ptce@example.gouv.fr"' in page


def test_eligible_result_with_an_attention_point_says_what_can_be_done(make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    dossier.members[3].department = "75"  # advisory rule: eligible, with a point of attention
    db.session.commit()
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    check = service.run_check(dossier)
    db.session.commit()
    assert check.is_eligible
    _subject, text, _html = mail.render_email("eligibility_result", {"name": "", **service.mail_context(dossier, check)})
    text = " ".join(text.split())
    assert not INSTRUCTIONS.search(text)
    assert f"Votre dossier {EXAMINED}." in text
    assert "pour apporter une précision, écrivez au secrétariat de l’appel à projets en indiquant votre numéro" in text


def test_draft_advice_still_says_what_to_change(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    dossier.members[3].department = "75"
    db.session.commit()
    login_as(applicant)
    page = _plain(client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True))
    assert "Ajoutez ces départements aux départements couverts par le pôle" in page  # a draft can be changed


def test_receipt_mail_of_a_dossier_withdrawn_meanwhile_announces_no_examination(app):
    context = {"name": "Julie", "pole_name": "Pôle", "receipt_number": "PTCE-2026-000001",
               "submitted_at_text": "3 mars 2026 à 10 h 12", "link": "/porteur/dossiers/1"}
    _s, text, html = mail.render_email("submission_receipt", {**context, "withdrawn": False})
    assert "Prochaine étape" in text and "Prochaine étape" in html
    _s, text, html = mail.render_email("submission_receipt", {**context, "withdrawn": True})
    assert "Prochaine étape" not in text and "Prochaine étape" not in html
    assert "il ne sera pas examiné" in text and "il ne sera pas examiné" in html


def test_admin_sees_the_withdrawal_reason_and_counts_withdrawn_apart(client, login_as, make_dossier, make_user,
                                                                     make_call, applicant, admin_user, db):
    call = make_call()
    kept = _submitted(db, make_dossier, applicant, call=call, pole_name="Pôle Alpha")
    other = make_user("autre@example.org", full_name="Paul Autre")
    gone = _submitted(db, make_dossier, other, call=call, pole_name="Pôle Bêta")
    _submitted(db, make_dossier, make_user("tiers@example.org"), call=call, pole_name="Pôle Gamma")
    make_dossier(owner=other, call=call, pole_name="Brouillon")
    login_as(other)
    _withdraw(client, gone, "Fusion avec un autre pôle.")
    login_as(admin_user)
    page = client.get("/admin/").get_data(as_text=True)
    row = page.split(f'data-call="{call.slug}"')[1].split("</tr>")[0]
    assert '<td data-count="submitted">2</td>' in row  # « Dossiers déposés »: not the withdrawn one
    assert '<td data-count="withdrawn">1</td>' in row
    assert "Dossiers retirés" in page

    page = _plain(client.get(f"/admin/dossiers/{gone.id}").get_data(as_text=True))
    assert "Motif du retrait : Fusion avec un autre pôle." in page
    history = page.split("Historique du dossier")[1].split("Historique des vérifications")[0]
    assert "Retiré Paul Autre Fusion avec un autre pôle." in history
    assert _reload(db, kept.id).status == DossierStatus.SUBMITTED
