"""The deadline rush: a dossier whose files are all sent but still in the verification queue (SHA-256,
antivirus) is submitted at once; the receipt (each file's SHA-256) and the eligibility check (each scan) wait
for the last pending file, and happen exactly once, also after a crash between the file's verdict and them."""

from __future__ import annotations

import hashlib
import html
import io
import uuid

import pytest
import requests
import sqlalchemy as sa

from ptce_aap.enums import AttachmentStatus, DossierStatus, OutboxStatus, ScanStatus
from ptce_aap.models.dossiers import Attachment, Dossier, EligibilityCheck
from ptce_aap.models.outbox import Notification, OutboxEntry
from ptce_aap.storage import get_storage
from tests.fixtures.services import empty_prefixes
from tests.unit.test_documents import EICAR, docx_bytes, pdf_bytes, png_bytes, running_clamd

FOLLOW_UPS = ("generate_receipt", "eligibility_check")


@pytest.fixture(autouse=True)
def _clean_up(_app):
    yield
    empty_prefixes(get_storage(_app), "dossiers/", "receipts/")


@pytest.fixture(scope="module")
def clamd_address(tmp_path_factory):
    with running_clamd(tmp_path_factory.mktemp("clamd")) as address:
        yield address


def _pending_file(db, dossier, data: bytes, *, code: str, filename: str) -> Attachment:
    """A confirmed upload waiting for its ``process_attachment`` job (object in the store, row ``processing``,
    its job queued), in place of the complete dossier's file of that type."""
    from ptce_aap import jobs

    for old in [a for a in dossier.attachments if a.document_type_code == code]:
        db.session.delete(old)
    storage = get_storage()
    key = f"dossiers/{dossier.id}/{uuid.uuid4().hex}/{filename}"
    storage.put(key, io.BytesIO(data), content_type="application/octet-stream")
    attachment = Attachment(dossier_id=dossier.id, document_type_code=code, filename=filename,
                            storage_backend=storage.name, storage_key=key, size=len(data), mime=None,
                            declared_mime="", status=AttachmentStatus.PROCESSING, scan_status=ScanStatus.PENDING)
    db.session.add(attachment)
    db.session.flush()
    jobs.schedule("process_attachment", dedupe_key=f"process_attachment:{attachment.id}",
                  attachment_id=attachment.id)
    db.session.commit()
    jobs.dispatch_outbox()
    return attachment


def _reload(db, model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def _follow_ups(db, dossier_id: int) -> list[tuple[str, str]]:
    rows = db.session.execute(sa.select(OutboxEntry.task, OutboxEntry.status).where(
        OutboxEntry.task.in_(FOLLOW_UPS), OutboxEntry.kwargs["dossier_id"].as_integer() == dossier_id)
        .order_by(OutboxEntry.task)).all()
    return [(task, status.value) for task, status in rows]


def _checks(db, dossier_id: int) -> list[EligibilityCheck]:
    return list(db.session.scalars(sa.select(EligibilityCheck).where(EligibilityCheck.dossier_id == dossier_id)))


def _mails(db, template: str) -> list[Notification]:
    return list(db.session.scalars(sa.select(Notification).where(Notification.template == template)))


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _submit(client, dossier):
    response = client.post(f"/porteur/dossiers/{dossier.id}/deposer")
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"])


def _receipt_text(client, dossier_id: int) -> str:
    from pypdf import PdfReader

    download = client.get(f"/porteur/dossiers/{dossier_id}/recepisse")
    assert download.status_code == 302
    fetched = requests.get(download.headers["Location"], timeout=10)
    assert fetched.status_code == 200
    return "".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(fetched.content)).pages).split())


def test_submission_with_a_file_being_verified_is_accepted_and_the_receipt_waits_for_it(
        client, login_as, make_dossier, applicant, db, worker):
    dossier = make_dossier(owner=applicant, complete=True)
    data = pdf_bytes(2)
    pending = _pending_file(db, dossier, data, code="rib", filename="rib.pdf")
    login_as(applicant)

    page = _text(_submit(client, dossier))
    d = _reload(db, Dossier, dossier.id)
    assert d.status == DossierStatus.SUBMITTED
    # One message: a short flash, and the box that says what waits and why.
    assert f"Votre dossier a été déposé sous le n° {d.receipt_number}." in page
    assert page.count("en cours de vérification (antivirus") == 1
    assert "Dossier déposé — documents en cours de vérification" in page
    assert "le récépissé de dépôt, qui indique l’empreinte de chaque document, vous sera envoyé par courriel" in page
    # No link to a receipt not made yet (it would only reload the page): a text says when it comes.
    assert "Télécharger le récépissé (PDF)" not in page
    assert "Récépissé : disponible après la vérification des documents" in page
    cards = _text(client.get("/porteur/"))
    assert f"récépissé n° {d.receipt_number}" in cards
    assert "1 document en cours de vérification : le récépissé vous sera envoyé par courriel ensuite." in cards
    assert d.transitions[-1].to_status == DossierStatus.SUBMITTED
    assert _follow_ups(db, d.id) == []  # nothing waits on a file not verified yet
    refused = client.get(f"/porteur/dossiers/{d.id}/recepisse")
    assert "dès que les documents du dossier auront été vérifiés" in _text(client.get(refused.headers["Location"]))

    worker()  # the verification, then (queued by it) the receipt and the check, then the mails
    worker()
    d = _reload(db, Dossier, dossier.id)
    verified = _reload(db, Attachment, pending.id)
    assert (verified.status, verified.sha256) == (AttachmentStatus.READY, hashlib.sha256(data).hexdigest())
    assert sorted(_follow_ups(db, d.id)) == [("eligibility_check", "done"), ("generate_receipt", "done")]
    assert d.receipt_key.endswith(f"{d.receipt_number}.pdf")
    assert [c.is_eligible for c in _checks(db, d.id)] == [True]
    assert d.status == DossierStatus.ELIGIBLE
    text = _receipt_text(client, d.id)
    for attachment in d.attachments:  # the real fingerprint of the file verified after the submission too
        assert attachment.sha256 in text
    assert [m.recipient for m in _mails(db, "submission_receipt")] == [applicant.email]
    page = _text(client.get(f"/porteur/dossiers/{d.id}"))
    assert "Dossier déposé — documents en cours de vérification" not in page
    assert "Télécharger le récépissé (PDF)" in page and "Récépissé : disponible après" not in page
    assert "en cours de vérification" not in _text(client.get("/porteur/"))

    # Never twice: the verification's follow-up run again (a retried job) queues nothing more.
    from ptce_aap.tasks import task_process_attachment

    assert task_process_attachment(pending.id) == "already ready"
    worker()
    assert len(_follow_ups(db, d.id)) == 2
    assert len(_mails(db, "submission_receipt")) == 1 and len(_checks(db, d.id)) == 1


def test_a_file_verified_before_the_submission_commits_leaves_the_follow_ups_to_the_submission(
        client, login_as, make_dossier, applicant, db, worker):
    """The other order: the verification ends while the dossier is a draft (it queues nothing), then the
    submission, which sees no pending file, queues the receipt and the check itself."""
    dossier = make_dossier(owner=applicant, complete=True)
    pending = _pending_file(db, dossier, pdf_bytes(1), code="rib", filename="rib.pdf")
    worker()
    assert _reload(db, Attachment, pending.id).status == AttachmentStatus.READY
    assert _follow_ups(db, dossier.id) == []
    login_as(applicant)
    page = _text(_submit(client, dossier))
    assert "Récépissé n° " in page and "en cours de vérification" not in page
    assert sorted(task for task, _status in _follow_ups(db, dossier.id)) == sorted(FOLLOW_UPS)


def test_a_pending_file_of_a_refused_type_fails_the_documents_rule_and_the_pole_is_told(
        client, login_as, make_dossier, applicant, db, worker):
    dossier = make_dossier(owner=applicant, complete=True)
    pending = _pending_file(db, dossier, png_bytes(), code="rib", filename="rib.pdf")  # an image named .pdf
    login_as(applicant)
    _submit(client, dossier)
    worker()
    worker()

    d = _reload(db, Dossier, dossier.id)
    refused = _reload(db, Attachment, pending.id)
    assert refused.status == AttachmentStatus.REJECTED
    assert d.status == DossierStatus.INELIGIBLE  # still submitted, judged on what was verified
    [check] = _checks(db, d.id)
    documents = next(r for r in check.results if r["code"] == "documents")
    assert documents["passed"] is False
    assert documents["message"].startswith("« rib.pdf » a été refusé par la vérification faite après le dépôt. "
                                           "Motif : « rib.pdf » a été refusé : son contenu n'est pas un document PDF")
    # The dossier is frozen: not told to send it again, but that the secretariat may ask for it.
    assert "Vérifiez que vous avez choisi" not in documents["message"]
    assert documents["message"].endswith("La pièce obligatoire « RIB de la structure porteuse » manque donc au "
                                         "dossier : le secrétariat pourra vous demander de l’envoyer à nouveau.")
    [mail] = _mails(db, "eligibility_result")
    assert mail.recipient == applicant.email
    assert any("« rib.pdf » a été refusé par la vérification faite après le dépôt" in f["message"]
               for f in mail.context["failed"])
    assert [m.recipient for m in _mails(db, "submission_receipt")] == [applicant.email]  # the deposit stands
    page = _text(client.get(f"/porteur/dossiers/{d.id}"))
    assert "« rib.pdf » a été refusé par la vérification faite après le dépôt" in page
    # The summary does not call the documents complete, and the pieces page tells what happens next.
    row = page[page.index('data-section="pieces"'):]
    row = row[:row.index("</tr>")]
    assert "Complète" not in row and "RIB de la structure porteuse : document à fournir." in row
    pieces = _text(client.get(f"/porteur/dossiers/{d.id}/pieces"))
    assert "Ce dossier a été déposé : ses pièces ne sont plus modifiables." in pieces
    assert "Vérifiez que vous avez choisi" not in pieces and "nouveau" not in pieces.split("Ce dossier a été déposé")[1]
    assert ("Ce fichier a été refusé après le dépôt du dossier, qui ne peut plus être modifié : le secrétariat de "
            "l'appel vous contactera s'il a besoin de ce document.") in pieces


def test_a_refused_optional_file_or_a_second_file_of_a_verified_type_leaves_the_dossier_eligible(
        client, login_as, make_dossier, applicant, db, worker):
    """SPEC §3: every required type present and clean. A file of an optional type (« Autre document »), or a
    second file of a required type that has a verified one, refused after the submission, is said, not failed."""
    dossier = make_dossier(owner=applicant, complete=True)
    kept = {a.id for a in dossier.attachments}
    for code, name in (("autre", "autre.pdf"), ("engagements", "engagement-2.pdf")):
        storage = get_storage()
        key = f"dossiers/{dossier.id}/{uuid.uuid4().hex}/{name}"
        storage.put(key, io.BytesIO(png_bytes()), content_type="application/octet-stream")
        db.session.add(Attachment(dossier_id=dossier.id, document_type_code=code, filename=name,
                                  storage_backend=storage.name, storage_key=key, size=10, mime=None,
                                  declared_mime="", status=AttachmentStatus.PROCESSING,
                                  scan_status=ScanStatus.PENDING))
        db.session.flush()
    from ptce_aap import jobs

    for a in db.session.scalars(sa.select(Attachment).where(Attachment.dossier_id == dossier.id,
                                                            Attachment.id.not_in(kept))):
        jobs.schedule("process_attachment", dedupe_key=f"process_attachment:{a.id}", attachment_id=a.id)
    db.session.commit()
    jobs.dispatch_outbox()
    login_as(applicant)
    _submit(client, dossier)
    worker()
    worker()

    d = _reload(db, Dossier, dossier.id)
    assert sorted(a.status.value for a in d.attachments if a.id not in kept) == ["rejected", "rejected"]
    assert d.status == DossierStatus.ELIGIBLE
    [check] = _checks(db, d.id)
    documents = next(r for r in check.results if r["code"] == "documents")
    assert documents["passed"] is True
    assert "« autre.pdf » a été refusé par la vérification faite après le dépôt" in documents["message"]
    assert "« engagement-2.pdf » a été refusé par la vérification faite après le dépôt" in documents["message"]
    assert "il ne change pas l’éligibilité" in documents["message"]


def test_a_pending_file_found_infected_fails_the_documents_rule_and_the_pole_is_told(
        client, login_as, make_dossier, applicant, db, worker, clamd_address, monkeypatch, app):
    monkeypatch.setitem(app.config, "CLAMD_ADDRESS", clamd_address)
    dossier = make_dossier(owner=applicant, complete=True)
    infected = _pending_file(db, dossier, docx_bytes(extra=[("word/media/eicar.com", EICAR)]), code="budget",
                             filename="budget.docx")
    login_as(applicant)
    _submit(client, dossier)
    worker()
    worker()

    d = _reload(db, Dossier, dossier.id)
    assert _reload(db, Attachment, infected.id).status == AttachmentStatus.QUARANTINED
    assert d.status == DossierStatus.INELIGIBLE
    [check] = _checks(db, d.id)
    documents = next(r for r in check.results if r["code"] == "documents")
    assert (documents["passed"], documents["message"]) == (False, "« budget.docx » a été bloqué par l’antivirus.")
    [mail] = _mails(db, "eligibility_result")
    assert "« budget.docx » a été bloqué par l’antivirus." in [f["message"] for f in mail.context["failed"]]


def test_a_blocked_file_still_blocks_the_submission(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    db.session.add(Attachment(dossier_id=dossier.id, document_type_code="autre", filename="virus.pdf",
                              storage_backend="s3", storage_key=f"dossiers/{dossier.id}/x/virus.pdf", size=68,
                              status=AttachmentStatus.QUARANTINED, scan_status=ScanStatus.INFECTED))
    db.session.commit()
    login_as(applicant)
    response = client.post(f"/porteur/dossiers/{dossier.id}/deposer")
    assert "Le dossier est incomplet" in _text(client.get(response.headers["Location"]))
    assert _reload(db, Dossier, dossier.id).status == DossierStatus.DRAFT


def test_a_crash_between_the_verdict_and_the_follow_ups_is_resumed_by_the_retry(
        client, login_as, make_dossier, applicant, db, worker, monkeypatch):
    """The verdict is committed, then the worker dies before queuing the receipt: the job is not done, and its
    retry finds the file verified and queues the receipt and the check — once."""
    from ptce_aap import jobs
    from ptce_aap.services import eligibility, submission

    dossier = make_dossier(owner=applicant, complete=True)
    data = pdf_bytes(1)
    pending = _pending_file(db, dossier, data, code="rib", filename="rib.pdf")
    login_as(applicant)
    _submit(client, dossier)

    def killed(dossier_id):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(submission, "after_verification", killed)
    worker()
    entry = db.session.scalar(sa.select(OutboxEntry).where(OutboxEntry.dedupe_key == f"process_attachment:{pending.id}"))
    db.session.refresh(entry)
    assert (entry.status, entry.attempts) == (OutboxStatus.ENQUEUED, 1)  # RQ will retry it
    assert _reload(db, Attachment, pending.id).status == AttachmentStatus.READY
    assert _follow_ups(db, dossier.id) == []
    monkeypatch.undo()
    # The retry (RQ's, after its interval; or the stale-row recovery's if the worker died) runs the row again.
    jobs.get_queue().scheduled_job_registry.remove(jobs.job_id(entry))
    assert jobs.run_outbox_entry(entry.id) == "done"
    worker()
    worker()
    d = _reload(db, Dossier, dossier.id)
    assert sorted(_follow_ups(db, d.id)) == [("eligibility_check", "done"), ("generate_receipt", "done")]
    assert d.receipt_key is not None and len(_checks(db, d.id)) == 1
    assert hashlib.sha256(data).hexdigest() in _receipt_text(client, d.id)
    assert eligibility.reschedule_missing_checks() == 0


def test_the_tick_and_the_follow_up_jobs_leave_a_dossier_with_pending_files_alone(
        client, login_as, make_dossier, applicant, db):
    from ptce_aap.services import eligibility, eligibility_runs

    dossier = make_dossier(owner=applicant, complete=True)
    _pending_file(db, dossier, pdf_bytes(1), code="rib", filename="rib.pdf")
    login_as(applicant)
    _submit(client, dossier)
    db.session.expire_all()
    assert eligibility.reschedule_missing_checks() == 0
    assert eligibility_runs.check_after_submission(dossier.id) == "waiting for the verification of its documents"
    from ptce_aap.services import receipts

    assert receipts.issue_receipt(dossier.id) == "waiting for the verification of its documents"
    db.session.rollback()
    assert _checks(db, dossier.id) == [] and _reload(db, Dossier, dossier.id).receipt_key is None
