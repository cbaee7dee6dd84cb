"""Messages and requests for complements (issue 11, point 4), the whole loop through the pages: the secretariat
asks for named sections and documents until a date, the pole is mailed, only those parts change, the answer
(with a file) submits the dossier again with the same receipt number and a re-issued receipt, the secretariat
is mailed. And the refusals: someone else's dossier, a reviewer, after the due date, a closed request."""

import html
import io
import re
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.enums import AttachmentStatus, DossierStatus, Role
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.models.messages import DossierMessage
from ptce_aap.services import messages as service
from ptce_aap.services import submission
from tests.unit.test_documents import pdf_bytes


def _reload(db, dossier_id) -> Dossier:
    db.session.expire_all()
    return db.session.get(Dossier, dossier_id)


def _text(response) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def _due_on(days: int = 10) -> str:
    return (utcnow() + timedelta(days=days)).date().isoformat()


@pytest.fixture
def submitted(db, make_dossier, applicant):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    return dossier


def _ask(client, dossier, **overrides):
    data = {"request_body": "Merci de préciser la stratégie et de joindre les statuts signés.",
            "sections": ["projet"], "document_types": ["statuts"],
            "due_on": _due_on(), "due_time": "17:00", **overrides}
    return client.post(f"/admin/dossiers/{dossier.id}/complements", data=data)


def _open_request(db, dossier) -> DossierMessage:
    return db.session.scalars(sa.select(DossierMessage).where(
        DossierMessage.dossier_id == dossier.id, DossierMessage.kind == "request")
        .order_by(DossierMessage.id.desc())).first()


def test_the_whole_loop(client, login_as, submitted, applicant, admin_user, db, worker, smtp):
    from pypdf import PdfReader

    jobs.dispatch_outbox()  # submitted by the service, outside a request
    worker()  # the first receipt and the eligibility check
    worker()  # their mails
    first = _reload(db, submitted.id)
    number, first_key = first.receipt_number, first.receipt_key
    assert first_key and first.status in (DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE)
    smtp.clear()

    # The secretariat asks for the project section and the statutes, until a date in Paris time.
    login_as(admin_user)
    page = _text(client.get(f"/admin/dossiers/{submitted.id}"))
    assert "Demander des compléments" in page and "Aucun échange pour l'instant." in page
    response = _ask(client, submitted)
    assert response.status_code == 302 and response.headers["Location"].endswith("#echanges")
    d = _reload(db, submitted.id)
    assert d.status == DossierStatus.CORRECTION
    request_row = _open_request(db, d)
    assert (request_row.sections, request_row.document_types) == (["projet"], ["statuts"])
    page = _text(client.get(f"/admin/dossiers/{submitted.id}"))
    assert "Compléments demandés" in page and "Clore la demande sans réponse" in page
    assert "Le secrétariat de l'appel (Camille Admin)" in page  # admins read who wrote
    assert "17:00 (heure de Paris)" in page

    # The pole is mailed, signed by the secretariat, the date in Paris time.
    worker()
    mail = smtp.wait_for(1)[0]
    assert mail["To"] == applicant.email and mail["Subject"].startswith("Compléments demandés")
    body = mail.get_body(("plain",)).get_content()
    assert "Merci de préciser la stratégie" in body and "17:00 (heure de Paris)" in body
    assert "— Le secrétariat de l'appel" in body and "Camille" not in body
    smtp.clear()

    # The applicant sees the request, signed « Le secrétariat de l'appel », never the admin's name.
    login_as(applicant)
    page = _text(client.get(f"/porteur/dossiers/{d.id}"))
    assert "Le secrétariat de l'appel vous demande des compléments" in page
    assert "Camille Admin" not in page and "Le secrétariat de l'appel" in page
    assert "Compléments demandés" in page
    # Only the named parts may change: the project yes, the identity no; the statutes yes, the budget file no.
    refused = client.post(f"/porteur/dossiers/{d.id}/identite", data={"version": d.version, "pole_name": "Autre"})
    assert refused.status_code == 302
    assert _reload(db, d.id).pole_name == "Pôle Coopérations du Val"
    readonly = _text(client.get(f"/porteur/dossiers/{d.id}/identite"))
    assert "Cette partie n'est pas modifiable : elle n'est pas concernée par la demande" in readonly
    assert "modifiez-la, puis répondez" in _text(client.get(f"/porteur/dossiers/{d.id}/projet"))
    d = _reload(db, d.id)
    form = {"version": d.version, "summary": d.summary, "strategy": "Une stratégie précisée, chiffrée.",
            "innovation": d.innovation, "territorial_anchoring": d.territorial_anchoring,
            "expected_impacts": d.expected_impacts, "jobs_existing_fte": "4,5", "jobs_to_create_fte": "6"}
    assert client.post(f"/porteur/dossiers/{d.id}/projet", data=form).status_code == 302
    assert _reload(db, d.id).strategy == "Une stratégie précisée, chiffrée."
    other_type = client.post(f"/porteur/dossiers/{d.id}/pieces/envoi", content_type="multipart/form-data", data={
        "document_type": "budget", "fichier": (io.BytesIO(pdf_bytes(2)), "budget.pdf")})
    assert other_type.status_code == 409
    assert "n'est pas demandé par la demande de compléments" in _text(other_type)
    pieces = _text(client.get(f"/porteur/dossiers/{d.id}/pieces"))
    assert "Cette pièce n'est pas concernée par la demande de compléments en cours." in pieces

    # The answer waits for the requested document, then for its check.
    answer_url = f"/porteur/dossiers/{d.id}/demandes/{request_row.id}/repondre"
    early = client.post(answer_url, data={"body": "Voici nos compléments."})
    assert early.status_code == 422
    assert "Envoyez d'abord le document demandé : « Statuts de la structure porteuse »." in _text(early)
    assert "Voici nos compléments." in early.get_data(as_text=True)  # what was typed is kept
    new_statutes = pdf_bytes(4)
    uploaded = client.post(f"/porteur/dossiers/{d.id}/pieces/envoi", content_type="multipart/form-data", data={
        "document_type": "statuts", "fichier": (io.BytesIO(new_statutes), "statuts-signes.pdf")})
    assert uploaded.status_code == 302
    checking = client.post(answer_url, data={"body": "Voici nos compléments."})
    assert checking.status_code == 422 and "encore en cours de vérification" in _text(checking)
    worker()  # the file's check
    statutes = db.session.scalars(sa.select(Attachment).where(
        Attachment.dossier_id == d.id, Attachment.document_type_code == "statuts")).one()
    assert statutes.status == AttachmentStatus.READY and statutes.filename == "statuts-signes.pdf"
    empty = client.post(answer_url, data={"body": "   "})
    assert empty.status_code == 422 and "Écrivez votre message." in _text(empty)
    page = _text(client.get(answer_url))
    assert "statuts-signes.pdf" in page and "Projet et emplois" in page

    response = client.post(answer_url, data={"body": "Voici nos compléments : stratégie et statuts."})
    assert response.status_code == 302
    d = _reload(db, d.id)
    assert d.status == DossierStatus.SUBMITTED and d.receipt_number == number
    assert [t.to_status for t in d.transitions].count(DossierStatus.SUBMITTED) == 2
    answer = db.session.scalars(sa.select(DossierMessage).where(DossierMessage.kind == "answer")).one()
    assert answer.files == [{"document_type": "statuts", "filename": "statuts-signes.pdf",
                             "sha256": statutes.sha256, "size": statutes.size}]
    assert client.post(f"/porteur/dossiers/{d.id}/projet", data={**form, "version": d.version,
                                                                  "strategy": "après"}).status_code == 302
    assert _reload(db, d.id).strategy == "Une stratégie précisée, chiffrée."  # frozen again
    again = client.post(answer_url, data={"body": "Une seconde fois."})
    assert again.status_code == 302 and _reload(db, d.id).status == DossierStatus.SUBMITTED

    # The receipt is re-issued: the same number, the new fingerprints; the pole and the secretariat are mailed.
    worker()
    worker()
    d = _reload(db, d.id)
    assert d.receipt_key != first_key and d.receipt_key.endswith(f"{number}-v2.pdf")
    mails = smtp.wait_for(3)
    admin_mail = next(m for m in mails if m["To"] == admin_user.email)
    assert admin_mail["Subject"].startswith("Compléments reçus") and number in admin_mail["Subject"]
    assert "Voici nos compléments" not in admin_mail.get_body(("plain",)).get_content()
    receipt_mail = next(m for m in mails if m["Subject"].startswith("Récépissé mis à jour"))
    assert receipt_mail["To"] == applicant.email and number in receipt_mail["Subject"]
    assert "Les compléments demandés par le secrétariat de l’appel" in receipt_mail.get_body(("plain",)).get_content()
    download = client.get(f"/porteur/dossiers/{d.id}/recepisse")
    fetched = requests.get(download.headers["Location"], timeout=10)
    text = "".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(fetched.content)).pages).split())
    assert number in text and statutes.sha256 in text and "version2durécépissé" in text
    assert len([t for t in d.transitions if t.from_status == DossierStatus.DRAFT]) == 1

    # The thread is in the applicant's page, the admin's page and the reading view.
    page = _text(client.get(f"/porteur/dossiers/{d.id}"))
    assert "Répondue le" in page and "Voici nos compléments : stratégie et statuts." in page
    login_as(admin_user)
    reading = _text(client.get(f"/admin/dossiers/{d.id}/lecture"))
    assert "Échanges avec le secrétariat de l'appel" in reading and statutes.sha256 in reading
    assert "Réponse du porteur aux compléments demandés" in reading  # the audit trail names it


def test_bad_request_keeps_what_was_typed(client, login_as, submitted, admin_user, db):
    login_as(admin_user)
    response = _ask(client, submitted, **{"sections": [], "document_types": [],
                                          "due_on": "2020-01-01",
                                          "request_body": "Texte <b>gardé</b>"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Texte &lt;b&gt;gardé&lt;/b&gt;" in page
    text = _text(response)
    assert "Choisissez au moins une partie du dossier ou un document à compléter." in text
    assert "La date limite de réponse doit être dans le futur." in text
    assert _reload(db, submitted.id).status != DossierStatus.CORRECTION
    message = client.post(f"/admin/dossiers/{submitted.id}/message", data={"message_body": ""})
    assert message.status_code == 400 and "Écrivez votre message." in _text(message)
    assert db.session.scalar(sa.select(sa.func.count(DossierMessage.id))) == 0


def test_message_is_mailed_escaped_and_signed(client, login_as, submitted, applicant, admin_user, db, worker, smtp):
    login_as(admin_user)
    response = client.post(f"/admin/dossiers/{submitted.id}/message",
                           data={"message_body": "Bonjour <script>alert(1)</script>\nà bientôt"})
    assert response.status_code == 302
    worker()
    mail = next(m for m in smtp.wait_for(3) if m["Subject"].startswith("Message du secrétariat"))
    assert "&lt;script&gt;" in mail.get_body(("html",)).get_content()
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{submitted.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "Camille Admin" not in page
    assert _reload(db, submitted.id).status != DossierStatus.CORRECTION  # a message reopens nothing


def test_refusals_other_applicant_reviewer_due_date_closed(client, login_as, submitted, applicant, admin_user,
                                                           make_user, db, worker, smtp):
    request_row = service.request_complements(submitted, body="Précisez.", sections=["projet"], document_types=[],
                                              due_on=_due_on(), by=admin_user, now=utcnow())
    db.session.commit()
    answer_url = f"/porteur/dossiers/{submitted.id}/demandes/{request_row.id}/repondre"

    login_as(make_user("autre@example.org"))  # another pole's applicant: the dossier does not exist for them
    assert client.get(answer_url).status_code == 404
    assert client.post(answer_url, data={"body": "Je réponds."}).status_code == 404
    login_as(make_user("rap@example.org", roles=(Role.REVIEWER,)))
    assert client.get(answer_url).status_code == 403
    assert client.post(f"/admin/dossiers/{submitted.id}/complements", data={}).status_code == 403
    assert client.post(f"/admin/dossiers/{submitted.id}/message", data={"message_body": "x"}).status_code == 403

    # Past the due date: nothing changes any more, the answer is refused.
    request_row = db.session.get(DossierMessage, request_row.id)
    request_row.due_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    login_as(applicant)
    d = _reload(db, submitted.id)
    late = client.post(answer_url, data={"body": "En retard."})
    assert late.status_code == 302
    assert _reload(db, submitted.id).status == DossierStatus.CORRECTION
    client.post(f"/porteur/dossiers/{d.id}/projet", data={"version": d.version, "strategy": "tard"})
    assert _reload(db, d.id).strategy != "tard"
    with pytest.raises(Exception, match="date limite"):
        service.answer_request(db.session.get(DossierMessage, request_row.id), body="x", by=applicant,
                               now=utcnow())
    db.session.rollback()

    # The secretariat closes it: submitted again, the request answers no more.
    login_as(admin_user)
    closed = client.post(f"/admin/dossiers/{submitted.id}/complements/{request_row.id}/clore")
    assert closed.status_code == 302
    d = _reload(db, submitted.id)
    assert d.status == DossierStatus.SUBMITTED
    assert db.session.get(DossierMessage, request_row.id).closed_at is not None
    worker()  # the receipt re-issued as the dossier now stands, then its mail: it says the request was closed
    worker()
    receipt_mail = next(m for m in smtp.wait_for(2) if m["Subject"].startswith("Récépissé mis à jour"))
    assert "a été close" in receipt_mail.get_body(("plain",)).get_content()
    assert _reload(db, submitted.id).receipt_key.endswith("-v2.pdf")
    login_as(applicant)
    response = client.post(answer_url, data={"body": "Trop tard."})
    assert response.status_code == 302  # submitted again, checked again: the answer changed nothing
    assert _reload(db, d.id).status in (DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE)
    assert "Close par le secrétariat le" in _text(client.get(f"/porteur/dossiers/{d.id}"))
    with pytest.raises(Exception, match="plus ouverte"):
        service.answer_request(db.session.get(DossierMessage, request_row.id), body="x", by=applicant,
                               now=utcnow())
    db.session.rollback()


def test_no_request_on_a_draft_nor_two_at_once(client, login_as, make_dossier, submitted, applicant, admin_user,
                                               db):
    draft = make_dossier(owner=applicant, pole_name="Pôle brouillon")
    login_as(admin_user)
    assert _ask(client, draft).status_code == 302
    assert _reload(db, draft.id).status == DossierStatus.DRAFT
    assert db.session.scalar(sa.select(sa.func.count(DossierMessage.id))) == 0
    assert _ask(client, submitted).status_code == 302
    assert _ask(client, submitted).status_code == 302  # the second one is refused, the first stays
    assert db.session.scalar(sa.select(sa.func.count(DossierMessage.id))) == 1


def test_reviewer_reading_view_signs_the_secretariat(client, login_as, make_eligible_dossier, make_user,
                                                    make_assignment, admin_user, db):
    dossier = make_eligible_dossier()
    reviewer = make_user("lecteur@example.org", roles=(Role.REVIEWER,), full_name="Louis Lecteur")
    make_assignment(dossier, reviewer)
    service.send_message(dossier, body="Une précision demandée.", by=admin_user)
    db.session.commit()
    login_as(reviewer)
    page = _text(client.get(f"/rapporteur/dossiers/{dossier.id}"))
    assert "Une précision demandée." in page and "Le secrétariat de l'appel" in page
    assert "Camille Admin" not in page


def test_answer_refused_while_a_reopened_section_is_incomplete(client, login_as, submitted, applicant, admin_user,
                                                               db):
    request_row = service.request_complements(submitted, body="Reprenez le projet.", sections=["projet"],
                                              document_types=[], due_on=_due_on(), by=admin_user, now=utcnow())
    db.session.commit()
    login_as(applicant)
    d = _reload(db, submitted.id)
    emptied = {"version": d.version, "summary": "", "strategy": d.strategy, "innovation": d.innovation,
               "territorial_anchoring": d.territorial_anchoring, "expected_impacts": d.expected_impacts,
               "jobs_existing_fte": "4,5", "jobs_to_create_fte": "6"}
    assert client.post(f"/porteur/dossiers/{d.id}/projet", data=emptied).status_code == 302
    response = client.post(f"/porteur/dossiers/{d.id}/demandes/{request_row.id}/repondre",
                           data={"body": "Projet repris."})
    assert response.status_code == 422
    assert "Le dossier est incomplet : corrigez les points signalés dans « Projet et emplois »" in _text(response)
    assert "Projet repris." in response.get_data(as_text=True)
    assert _reload(db, d.id).status == DossierStatus.CORRECTION


def test_answer_mails_every_admin_when_the_author_left(submitted, applicant, admin_user, make_user, db):
    from ptce_aap.models.outbox import Notification

    other_admin = make_user("admin2@example.org", roles=(Role.ADMIN,))
    request_row = service.request_complements(submitted, body="Précisez.", sections=["projet"], document_types=[],
                                              due_on=_due_on(), by=admin_user, now=utcnow())
    admin_user.is_disabled = True
    db.session.commit()
    service.answer_request(request_row, body="Précisé.", by=applicant, now=utcnow())
    db.session.commit()
    recipients = set(db.session.scalars(sa.select(Notification.recipient).where(
        Notification.template == "complements_answered")))
    assert recipients == {other_admin.email}


def test_the_review_does_not_start_while_a_pole_owes_complements(submitted, admin_user, db):
    from ptce_aap.enums import CallStatus
    from ptce_aap.errors import DomainError
    from ptce_aap.services.calls import set_call_status

    request = service.request_complements(submitted, body="Joignez les statuts.", sections=["projet"],
                                          document_types=[], due_on=_due_on(), by=admin_user, now=utcnow())
    call = submitted.call
    call.status = CallStatus.CLOSED  # test set-up: the deadline passed (its own path is tested with the calls)
    db.session.commit()
    with pytest.raises(DomainError, match="1 dossier"):
        set_call_status(call, CallStatus.REVIEW, by=admin_user)
    db.session.rollback()
    service.close_request(request, by=admin_user, now=utcnow())
    set_call_status(call, CallStatus.REVIEW, by=admin_user)
    assert call.status == CallStatus.REVIEW


def test_the_pole_replies_to_a_message_in_the_thread_and_the_secretariat_is_mailed(
        client, login_as, submitted, applicant, admin_user, db, worker, smtp):
    from ptce_aap.models.audit import AuditEvent

    login_as(admin_user)
    client.post(f"/admin/dossiers/{submitted.id}/message", data={"message_body": "Pouvez-vous préciser le budget ?"})
    message = db.session.scalars(sa.select(DossierMessage).where(DossierMessage.dossier_id == submitted.id)).one()
    reply_url = f"/porteur/dossiers/{submitted.id}/messages/{message.id}/repondre"
    worker()
    smtp.clear()
    status_before = _reload(db, submitted.id).status

    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{submitted.id}").get_data(as_text=True)
    assert f'href="{reply_url}"' in page  # « Répondre » under the message
    form = client.get(reply_url)
    assert form.status_code == 200 and "Pouvez-vous préciser le budget ?" in _text(form)
    empty = client.post(reply_url, data={"body": "   "})
    assert empty.status_code == 422 and 'id="body-desc-error"' in empty.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(DossierMessage.id))) == 1
    response = client.post(reply_url, data={"body": "Le budget 2027 est joint en annexe 3.\nCordialement"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#echanges")

    reply = db.session.scalars(sa.select(DossierMessage).where(DossierMessage.reply_to_id == message.id)).one()
    assert (reply.kind.value, reply.author_id, reply.body) == (
        "answer", applicant.id, "Le budget 2027 est joint en annexe 3.\nCordialement")
    assert _reload(db, submitted.id).status == status_before  # a reply changes nothing of the dossier
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "dossier.message_answered"))
    assert event.actor_id == applicant.id and event.summary == {"before": {"message": message.id},
                                                                "after": {"answer": reply.id}}
    worker()
    [mail] = [m for m in smtp.wait_for(1) if admin_user.email in m["To"]]
    assert mail["Subject"].startswith("Réponse du pôle")
    plain = mail.get_body(("plain",)).get_content()
    assert "Le budget 2027 est joint en annexe 3." in plain and f"#message-{reply.id}" in plain
    thread = _text(client.get(f"/porteur/dossiers/{submitted.id}"))
    assert "Réponse du porteur" in thread and "Répondu le" in thread
    login_as(admin_user)
    admin_page = _text(client.get(f"/admin/dossiers/{submitted.id}"))
    assert "Le budget 2027 est joint en annexe 3." in admin_page
    assert "Destinataires : Julie Porteur (porteur@example.org)" in admin_page  # whom a message reaches


def test_a_reply_is_refused_to_others_on_a_request_and_on_a_withdrawn_dossier(
        client, login_as, submitted, applicant, admin_user, make_user, db):
    message = service.send_message(submitted, body="Bonjour.", by=admin_user)
    request_row = service.request_complements(submitted, body="Précisez.", sections=["projet"], document_types=[],
                                              due_on=_due_on(), by=admin_user, now=utcnow())
    db.session.commit()
    reply_url = f"/porteur/dossiers/{submitted.id}/messages/{message.id}/repondre"

    login_as(make_user("autre@example.org"))  # another pole's applicant: the dossier does not exist for them
    assert client.get(reply_url).status_code == 404
    assert client.post(reply_url, data={"body": "Je réponds."}).status_code == 404
    login_as(make_user("rap@example.org", roles=(Role.REVIEWER,)))
    assert client.post(reply_url, data={"body": "Je réponds."}).status_code == 403
    login_as(applicant)
    assert client.post(reply_url, data={"body": "Sans jeton."}, csrf=False).status_code == 400
    # A request for complements is answered on its own page (which submits the dossier again), not here.
    assert client.post(f"/porteur/dossiers/{submitted.id}/messages/{request_row.id}/repondre",
                       data={"body": "x"}).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(DossierMessage.id))) == 2

    d = _reload(db, submitted.id)
    d.status = DossierStatus.WITHDRAWN  # set-up: withdrawal has its own tests
    db.session.commit()
    refused = client.post(reply_url, data={"body": "Après retrait."})
    assert refused.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(DossierMessage.id))) == 2
    assert f'href="{reply_url}"' not in client.get(f"/porteur/dossiers/{submitted.id}").get_data(as_text=True)
    with pytest.raises(Exception, match="retiré"):
        service.reply_to_message(db.session.get(DossierMessage, message.id), body="x", by=applicant, now=utcnow())
    db.session.rollback()
