"""Submitting a dossier: pre-check, deadline on the server clock, exactly once, receipt PDF and mail."""

import io
import threading
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from ptce_aap.enums import DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Dossier, DossierTransition
from ptce_aap.models.outbox import Notification, OutboxEntry
from ptce_aap.services import submission


def _reload(db, dossier_id):
    db.session.expire_all()
    return db.session.get(Dossier, dossier_id)


def test_incomplete_dossier_lists_every_blocking_problem_with_links(client, login_as, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}/deposer").get_data(as_text=True)
    assert "points bloquent le dépôt" in page
    assert f'href="/porteur/dossiers/{dossier.id}/identite#carrier_siret"' in page
    assert "SIRET de la structure porteuse : à renseigner." in page
    assert f'href="/porteur/dossiers/{dossier.id}/pieces#doc-statuts"' in page
    assert "Je confirme le dépôt" not in page
    response = client.post(f"/porteur/dossiers/{dossier.id}/deposer")
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).status_code == 200


def test_submit_then_receipt_pdf_and_mail(client, login_as, make_dossier, applicant, db, worker, smtp):
    from pypdf import PdfReader

    dossier = make_dossier(owner=applicant, complete=True)
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}/deposer").get_data(as_text=True)
    assert "Je confirme le dépôt du dossier" in page
    response = client.post(f"/porteur/dossiers/{dossier.id}/deposer")
    assert response.status_code == 302
    d = _reload(db, dossier.id)
    assert d.status == DossierStatus.SUBMITTED
    assert d.receipt_number == f"PTCE-{d.call.closes_at.year}-{d.id:06d}"
    assert [(t.from_status, t.to_status) for t in d.transitions][-1] == (DossierStatus.DRAFT, DossierStatus.SUBMITTED)
    worker()  # generate the receipt, which queues the mail
    worker()  # send the mail
    d = _reload(db, dossier.id)
    assert d.receipt_key.endswith(f"{d.receipt_number}.pdf")
    mails = smtp.wait_for(2)  # the receipt, and the eligibility result
    assert len(mails) == 2
    mail = next(m for m in mails if m["Subject"].startswith("Accusé de réception"))
    assert mail["To"] == applicant.email
    assert d.receipt_number in mail.get_body(("plain",)).get_content()
    pdf_parts = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert [p.get_filename() for p in pdf_parts] == [f"recepisse-{d.receipt_number}.pdf"]
    # The receipt downloaded through its short-lived link carries the number, time and each document's SHA-256.
    download = client.get(f"/porteur/dossiers/{d.id}/recepisse")
    assert download.status_code == 302
    fetched = requests.get(download.headers["Location"], timeout=10)
    assert fetched.status_code == 200
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(fetched.content)).pages)
    assert d.receipt_number in text
    assert "Pôle Coopérations du Val" in text
    assert "73282932000074" in text
    for attachment in d.attachments:
        assert attachment.sha256 in "".join(text.split())
    assert "(heure de Paris)" in text
    # Now read-only.
    client.post(f"/porteur/dossiers/{d.id}/projet", data={"version": d.version, "summary": "après"})
    assert _reload(db, dossier.id).summary != "après"


def test_deadline_is_checked_with_the_server_clock(make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    closes_at = dossier.call.closes_at
    with pytest.raises(DomainError, match="La date limite de dépôt est dépassée"):
        submission.submit_dossier(dossier, by=applicant, now=closes_at + timedelta(seconds=1))
    db.session.rollback()
    submission.submit_dossier(dossier, by=applicant, now=closes_at - timedelta(seconds=1))
    db.session.commit()
    assert _reload(db, dossier.id).status == DossierStatus.SUBMITTED


def test_submission_one_second_after_closing_is_refused(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    dossier.call.closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}/deposer").get_data(as_text=True)
    assert "La date limite de dépôt est dépassée" in page
    response = client.post(f"/porteur/dossiers/{dossier.id}/deposer", follow_redirects=True)
    assert "La date limite de dépôt est dépassée : le dossier ne peut plus être déposé." in response.get_data(
        as_text=True)
    assert _reload(db, dossier.id).status == DossierStatus.DRAFT


def test_two_simultaneous_submits_make_one_submission_one_receipt_one_mail(
        _app, client, login_as, make_dossier, applicant, db, worker, smtp):
    dossier = make_dossier(owner=applicant, complete=True)
    login_as(applicant)
    with client.session_transaction() as sess:
        session_data = dict(sess)
    barrier = threading.Barrier(2)
    codes = []
    dossier_id = dossier.id

    def submit():
        c = _app.test_client()
        with c.session_transaction() as sess:
            sess.update(session_data)
        barrier.wait()
        response = c.post(f"/porteur/dossiers/{dossier_id}/deposer")
        codes.append(response.status_code)

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [302, 302]
    worker()
    worker()
    d = _reload(db, dossier.id)
    assert d.status == DossierStatus.ELIGIBLE
    submitted = db.session.scalars(sa.select(DossierTransition).where(
        DossierTransition.dossier_id == d.id, DossierTransition.to_status == DossierStatus.SUBMITTED)).all()
    assert len(submitted) == 1
    assert db.session.scalar(sa.select(sa.func.count(OutboxEntry.id)).where(OutboxEntry.task == "generate_receipt")) == 1
    assert db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
        Notification.template == "submission_receipt")) == 1
    assert len(smtp.wait_for(2)) == 2  # one receipt, one eligibility result
    assert len(smtp.messages) == 2


def test_withdraw_after_submission_with_confirmation(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    login_as(applicant)
    refused = client.post(f"/porteur/dossiers/{dossier.id}/retrait", data={"reason": "Projet reporté"})
    assert "Cochez la case pour confirmer le retrait." in refused.get_data(as_text=True)
    assert 'Projet reporté' in refused.get_data(as_text=True)
    assert _reload(db, dossier.id).status == DossierStatus.SUBMITTED
    client.post(f"/porteur/dossiers/{dossier.id}/retrait", data={"reason": "Projet reporté", "confirm": "y"})
    d = _reload(db, dossier.id)
    assert d.status == DossierStatus.WITHDRAWN
    assert d.transitions[-1].reason == "Projet reporté"


@pytest.mark.parametrize("method,path", [
    ("get", "/deposer"), ("post", "/deposer"), ("get", "/recepisse"), ("get", "/retrait"), ("post", "/retrait"),
    ("post", "/coediteurs"),
])
def test_another_applicant_cannot_reach_submission_urls(client, login_as, make_dossier, make_user, applicant, db,
                                                        method, path):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    intruder = make_user("intrus@example.org")
    make_dossier(owner=intruder, pole_name="Autre pôle", complete=True)
    login_as(intruder)
    response = getattr(client, method)(f"/porteur/dossiers/{dossier.id}{path}", data={"confirm": "y",
                                                                                       "email": "x@y.fr"})
    assert response.status_code == 404
    assert _reload(db, dossier.id).status == DossierStatus.SUBMITTED


def test_submit_page_warns_of_article_9_rules_the_dossier_would_fail(client, login_as, make_dossier, applicant, db):
    from decimal import Decimal

    dossier = make_dossier(owner=applicant, complete=True)
    dossier.total_budget_eur = Decimal("150000")  # 90 000 € asked: 60 % of the budget, over the 50 % cap
    # A consistent plan of 150 000 € (a budget below its expenses is an error of the budget section itself).
    dossier.financing_lines[0].amount_eur = Decimal("120000")
    dossier.financing_lines[3].amount_eur = Decimal("60000")
    db.session.commit()
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}/deposer").get_data(as_text=True)
    assert "ce dossier risque d’être déclaré irrecevable" in page
    assert "Condition obligatoire :" in page
    assert "150" in page[page.index("eligibility-advice"):]
    assert "Je confirme le dépôt du dossier" in page  # still possible: the check decides after submission


def test_submit_page_calls_an_indicative_rule_indicative_not_a_risk_of_rejection(client, login_as, make_dossier,
                                                                                 applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    dossier.members[0].department = "13"  # far from the Rhône and the Ain: the indicative rule fails
    db.session.commit()
    login_as(applicant)
    summary = client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True)
    assert "votre dossier remplit les conditions d’éligibilité" in summary
    page = client.get(f"/porteur/dossiers/{dossier.id}/deposer").get_data(as_text=True)
    assert "risque d’être déclaré irrecevable" not in page  # the summary and the submit page agree
    indicative = page[page.index('id="eligibility-indicative"'):]
    assert "Critères indicatifs non remplis" in indicative and "ne rendent pas le dossier irrecevable" in indicative
    assert "Structure membre 1 (13)" in indicative


PHISHING = "Alpha\n\nIMPORTANT : votre dossier sera supprimé, réactivez-le sur https://evil.example/ptce"


def test_a_name_on_several_lines_is_kept_as_a_draft_but_blocks_submission(client, login_as, make_dossier, applicant,
                                                                          db):
    dossier = make_dossier(owner=applicant, complete=True)
    login_as(applicant)
    response = client.post(f"/porteur/dossiers/{dossier.id}/identite",
                           data={"version": dossier.version, "pole_name": PHISHING})
    assert response.status_code == 302  # a draft keeps what was typed
    page = client.get(f"/porteur/dossiers/{dossier.id}/identite").get_data(as_text=True)
    message = "Nom du pôle : saisissez-le sur une seule ligne, sans retour à la ligne."
    assert message in page
    assert f'<p id="pole_name-desc-error" class="fr-error-text">{message}</p>' in page  # next to the field
    d = _reload(db, dossier.id)
    d.pole_name = "Pôle Coopérations du Val"
    d.carrier_legal_name = "Coopérative ptce-gouv.fr/reactivation"
    d.members[0].name = "Beta\nCliquez ici"
    db.session.commit()
    page = client.get(f"/porteur/dossiers/{dossier.id}/membres").get_data(as_text=True)
    assert 'id="members-0-name-desc-error"' in page
    page = client.get(f"/porteur/dossiers/{dossier.id}/deposer").get_data(as_text=True)
    assert "Raison sociale de la structure porteuse : il ne doit pas contenir d’adresse web" in page
    assert "Membre n° 1, nom : saisissez-le sur une seule ligne" in page
    assert "Je confirme le dépôt" not in page
    client.post(f"/porteur/dossiers/{dossier.id}/deposer")
    assert _reload(db, dossier.id).status == DossierStatus.DRAFT


def test_mails_and_receipt_quote_names_on_one_line(client, login_as, make_dossier, applicant, db, worker, smtp):
    """Rows written before the rule: the mails and the receipt PDF fold the name on one line."""
    from pypdf import PdfReader

    dossier = make_dossier(owner=applicant, complete=True)
    login_as(applicant)
    assert client.post(f"/porteur/dossiers/{dossier.id}/deposer").status_code == 302
    dossier = _reload(db, dossier.id)
    dossier.pole_name = "Alpha\n\nIMPORTANT\u2028réactivez"
    dossier.carrier_legal_name = "Coop\r\nBeta"
    applicant.full_name = "Alice\nSupport"
    db.session.commit()
    worker()
    worker()
    mails = smtp.wait_for(2)
    for mail in mails:
        assert "\n" not in str(mail["Subject"]) and "IMPORTANT" not in str(mail["Subject"]).split("Alpha")[0]
        body = mail.get_body(("plain",)).get_content()
        assert "Alpha IMPORTANT réactivez" in body
        assert "Alice Support" in body or "Alice" not in body
    eligibility = next(m for m in mails if m["Subject"].startswith("Résultat"))
    assert "Alpha IMPORTANT réactivez" in str(eligibility["Subject"])
    receipt = next(m for m in mails if m["Subject"].startswith("Accusé de réception"))
    pdf = next(p for p in receipt.iter_attachments() if p.get_content_type() == "application/pdf")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages)
    assert "Alpha IMPORTANT réactivez" in text
    assert "Coop Beta" in text


@pytest.mark.parametrize(("address", "shown"), [
    ("12 place de la Halle, 26400 Crest", "12 place de la Halle, 26400 Crest"),  # the commune once, not twice
    ("12 place de la Halle", "12 place de la Halle Crest"),
])
def test_receipt_address_names_the_commune_once(client, login_as, make_dossier, applicant, db, address, shown):
    from pypdf import PdfReader

    from ptce_aap.services.receipts import render_receipt_pdf

    dossier = make_dossier(owner=applicant, complete=True)
    login_as(applicant)
    assert client.post(f"/porteur/dossiers/{dossier.id}/deposer").status_code == 302
    dossier = _reload(db, dossier.id)
    dossier.address, dossier.commune_name = address, "Crest"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(render_receipt_pdf(dossier))).pages)
    assert shown in text
    assert "Crest Crest" not in text
