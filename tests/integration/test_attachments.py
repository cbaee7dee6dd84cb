"""Attachments on real parts: PostgreSQL, the moto S3 server (presigned POST over real HTTP with
``requests``), a real RQ worker, the local backend through the app, and clamd when installed.

moto does not enforce the POST policy (size, type): these tests rely on that to check that the server
verifies every upload itself.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import re
import tracemalloc
import uuid
from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from ptce_aap.enums import AttachmentStatus, DossierStatus, ScanStatus
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.dossiers import Attachment
from ptce_aap.models.outbox import OutboxEntry
from ptce_aap.storage import S3Storage, get_storage
from tests.fixtures.services import empty_prefixes, free_port
from tests.unit.test_documents import (
    EICAR,
    docx_bytes,
    exe_bytes,
    pdf_bytes,
    png_bytes,
    running_clamd,
)

JSON = {"Accept": "application/json"}
NNBSP = "\u202f"
NOT_RECEIVED = "Le fichier n'a pas été reçu : l'envoi a peut-être été interrompu. Réessayez."


# --- Helpers --------------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _clean_up(_app):
    """moto keeps objects in memory: remove what each test stored under dossiers/ and incoming/. Jobs a test queued
    without running them are dropped too, so that no later test's ``worker()`` sees them."""
    yield
    from ptce_aap.jobs import get_queue

    empty_prefixes(get_storage(_app), "dossiers/", "incoming/")
    with _app.app_context():
        get_queue().empty()


def _url(dossier, tail: str = "") -> str:
    return f"/porteur/dossiers/{dossier.id}/pieces{tail}"


def _start(client, dossier, *, code="statuts", filename="statuts.pdf", size=100, content_type="application/pdf"):
    return client.post(_url(dossier, "/televersement"), headers=JSON, json={
        "document_type": code, "filename": filename, "size": size, "content_type": content_type})


def _send_to_store(started: dict, data: bytes, filename: str) -> requests.Response:
    """The browser's multipart POST straight to S3 (moto), fields first and the file last."""
    return requests.post(started["url"], data=started["fields"], files={"file": (filename, data)}, timeout=10)


def _confirm(client, dossier, attachment_id: int, **body):
    return client.post(_url(dossier, f"/{attachment_id}/confirmer"), headers=JSON, json=body)


def _upload(client, dossier, data: bytes, *, filename="statuts.pdf", code="statuts", size=None, replaces=None):
    """The whole JavaScript flow; returns (attachment id, confirm response)."""
    started = _start(client, dossier, code=code, filename=filename, size=len(data) if size is None else size)
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    assert _send_to_store(body, data, filename).status_code == 204
    extra = {"replaces": replaces} if replaces is not None else {}
    return body["attachment_id"], _confirm(client, dossier, body["attachment_id"], **extra)


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _reload(db, attachment_id: int) -> Attachment | None:
    db.session.expire_all()
    return db.session.get(Attachment, attachment_id)


def _actions(db, attachment_id: int) -> list[str]:
    return list(db.session.scalars(sa.select(AuditEvent.action).where(
        AuditEvent.object_type == "attachments", AuditEvent.object_id == str(attachment_id)).order_by(AuditEvent.id)))


def _stored(db, dossier, data: bytes, *, code="statuts", filename="statuts.pdf", status=AttachmentStatus.READY,
            scan=ScanStatus.NOT_SCANNED, storage=None) -> Attachment:
    """An attachment already through the pipeline (object in the store + row)."""
    storage = storage or get_storage()
    key = f"dossiers/{dossier.id}/{uuid.uuid4().hex}/{filename}"
    storage.put(key, io.BytesIO(data), content_type="application/pdf")
    attachment = Attachment(dossier_id=dossier.id, document_type_code=code, filename=filename,
                            storage_backend=storage.name, storage_key=key, size=len(data),
                            sha256=hashlib.sha256(data).hexdigest(), mime="application/pdf",
                            declared_mime="application/pdf", status=status, scan_status=scan)
    db.session.add(attachment)
    db.session.commit()
    return attachment


# --- The JavaScript flow on S3 --------------------------------------------------------------------

def test_pdf_through_presigned_post_ends_ready_with_fingerprint(client, login_as, make_dossier, applicant, db,
                                                                 worker):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    data = pdf_bytes(3)

    started = _start(client, dossier, filename="Statuts signés.pdf", size=len(data))
    assert started.status_code == 201
    body = started.get_json()
    assert body["fields"]["Content-Type"] == "application/pdf"
    row = _reload(db, body["attachment_id"])
    assert (row.status, row.storage_backend, row.filename) == (AttachmentStatus.UPLOADING, "s3", "Statuts signés.pdf")
    # The form may only write a staging key; the file is verified under a final key no form can reach.
    staging = row.storage_key
    token = re.fullmatch(rf"incoming/{dossier.id}/([0-9a-f]{{32}})", staging).group(1)
    assert body["fields"]["key"] == staging

    assert _send_to_store(body, data, "Statuts signés.pdf").status_code == 204
    confirmed = _confirm(client, dossier, body["attachment_id"])
    assert confirmed.status_code == 200
    assert confirmed.get_json()["status"] == "processing"
    assert confirmed.get_json()["redirect"].endswith(f"/porteur/dossiers/{dossier.id}/pieces#doc-statuts")
    row = _reload(db, body["attachment_id"])
    assert (row.status, row.mime, row.size) == (AttachmentStatus.PROCESSING, "application/pdf", len(data))
    assert row.storage_key == f"dossiers/{dossier.id}/{token}/Statuts-signes.pdf"
    assert get_storage().head(row.storage_key).content_type == "application/pdf"

    assert worker() >= 1
    assert get_storage().exists(staging) is False  # dropped after the commit
    row = _reload(db, body["attachment_id"])
    assert row.status == AttachmentStatus.READY
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    assert (row.size, row.page_count, row.scan_status) == (len(data), 3, ScanStatus.NOT_SCANNED)
    assert row.processed_at is not None
    assert _actions(db, row.id) == ["attachment.upload_started", "attachment.received", "attachment.ready"]
    actors = set(db.session.scalars(sa.select(AuditEvent.actor_id).where(
        AuditEvent.object_type == "attachments", AuditEvent.action != "attachment.ready")))
    assert actors == {applicant.id}

    page = _text(client.get(_url(dossier)))
    assert "Statuts signés.pdf" in page
    assert hashlib.sha256(data).hexdigest() in page.replace("<wbr>", "")
    assert "Non analysé" in page
    assert "Statuts de la structure porteuse : document à fournir." not in page
    assert "Derniers comptes approuvés : document à fournir." in page


def test_double_confirm_at_the_same_time_processes_once(_app, client, login_as, make_dossier, applicant, db):
    import threading

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    data = pdf_bytes(1)
    started = _start(client, dossier, size=len(data)).get_json()
    assert _send_to_store(started, data, "statuts.pdf").status_code == 204
    with client.session_transaction() as sess:
        cookie_session = dict(sess)
    barrier, results = threading.Barrier(2), []

    def confirm():
        c = _app.test_client()
        with c.session_transaction() as sess:
            sess.update(cookie_session)
        barrier.wait()
        results.append(_confirm(c, dossier, started["attachment_id"]).status_code)

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200, 200]
    assert _actions(db, started["attachment_id"]).count("attachment.received") == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)
                             .where(OutboxEntry.task == "process_attachment")) == 1


def test_process_job_is_idempotent(client, login_as, make_dossier, applicant, db, worker):
    from ptce_aap.tasks import task_process_attachment as process_attachment

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment_id, _response = _upload(client, dossier, pdf_bytes(1))
    worker()
    assert process_attachment(attachment_id) == "already ready"
    assert _actions(db, attachment_id).count("attachment.ready") == 1


def test_object_larger_than_the_limit_is_deleted_and_refused(client, login_as, make_call, make_dossier, applicant,
                                                              db):
    call = make_call(max_upload_bytes=1000)
    dossier = make_dossier(call=call, owner=applicant)
    login_as(applicant)
    data = pdf_bytes(1) + b"%" + os.urandom(5000)  # moto accepts 5 kB despite the 1..1000 policy
    attachment_id, response = _upload(client, dossier, data, size=900)  # the browser lied about the size

    assert response.status_code == 422
    message = f"Le fichier dépasse la taille maximale de 1{NNBSP}000 octets."
    assert response.get_json() == {"ok": False, "message": message}
    row = _reload(db, attachment_id)
    assert (row.status, row.rejection_reason) == (AttachmentStatus.REJECTED, message)
    assert get_storage().exists(row.storage_key) is False
    assert _actions(db, attachment_id)[-1] == "attachment.rejected"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)
                             .where(OutboxEntry.task == "process_attachment")) == 0


def test_declared_size_over_the_limit_is_refused_before_upload(client, login_as, make_call, make_dossier, applicant,
                                                               db):
    dossier = make_dossier(call=make_call(max_upload_bytes=2 * 1024 * 1024), owner=applicant)
    login_as(applicant)
    response = _start(client, dossier, size=3 * 1024 * 1024)
    assert response.status_code == 422
    assert response.get_json()["message"] == "Le fichier dépasse la taille maximale de 2 Mo."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


@pytest.mark.parametrize(("data", "what"), [(png_bytes(), "une image PNG"),
                                            (exe_bytes(), "un programme exécutable")])
def test_content_disguised_by_its_extension_is_refused(client, login_as, make_dossier, applicant, db, data, what):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment_id, response = _upload(client, dossier, data, filename="budget.pdf", code="budget")

    assert response.status_code == 422
    message = response.get_json()["message"]
    assert message.startswith("« budget.pdf » a été refusé : son contenu n'est pas un document PDF")
    assert f"(c'est {what})" in message
    row = _reload(db, attachment_id)
    assert row.status == AttachmentStatus.REJECTED
    assert get_storage().exists(row.storage_key) is False
    storage = get_storage()
    assert storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=f"dossiers/{dossier.id}/")["KeyCount"] == 0


@pytest.mark.parametrize("filename", ["outil.exe", "script.sh", "sans-extension", "page.html"])
def test_unknown_extension_is_refused_at_request_time(client, login_as, make_dossier, applicant, db, filename):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = _start(client, dossier, filename=filename, content_type="application/octet-stream")
    assert response.status_code == 422
    assert response.get_json()["message"].startswith(f"« {filename} » n'est pas d'un format accepté.")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_unknown_document_type_is_refused(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    response = _start(client, dossier, code="passeport")
    assert (response.status_code, response.get_json()["message"]) == (400, "Choisissez le type de document à envoyer.")


def test_interrupted_upload_is_reported_and_not_ready(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment_id = _start(client, dossier).get_json()["attachment_id"]
    response = _confirm(client, dossier, attachment_id)  # the file never reached the store
    assert response.status_code == 409
    assert response.get_json() == {"ok": False, "message": NOT_RECEIVED}
    row = _reload(db, attachment_id)
    assert row.status == AttachmentStatus.UPLOADING
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0
    # The page's script then drops the unfinished upload.
    assert client.post(_url(dossier, f"/{attachment_id}/supprimer"), headers=JSON, json={}).get_json() == {"ok": True}
    assert _reload(db, attachment_id) is None


def test_abandoned_upload_is_shown_and_cleared_by_the_next_one(client, login_as, make_dossier, applicant, db):
    from ptce_aap.models.base import utcnow

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment_id = _start(client, dossier, filename="oublié.pdf").get_json()["attachment_id"]
    db.session.execute(sa.update(Attachment).where(Attachment.id == attachment_id)
                       .values(created_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    assert "Envoi interrompu" in _text(client.get(_url(dossier)))
    _start(client, dossier, filename="nouveau.pdf")
    assert _reload(db, attachment_id) is None
    assert _actions(db, attachment_id)[-1] == "attachment.deleted"


def test_purge_removes_only_old_unconfirmed_uploads(client, login_as, make_dossier, applicant, db, worker):
    from ptce_aap.models.base import utcnow
    from ptce_aap.services.attachments import purge_abandoned_uploads

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    data = pdf_bytes(1)
    old = _start(client, dossier, filename="ancien.pdf", size=len(data)).get_json()
    assert _send_to_store(old, data, "ancien.pdf").status_code == 204  # sent but never confirmed
    recent_id = _start(client, dossier, filename="recent.pdf").get_json()["attachment_id"]
    ready = _stored(db, dossier, data, code="rib", filename="rib.pdf")
    db.session.execute(sa.update(Attachment).where(Attachment.id.in_([old["attachment_id"], ready.id]))
                       .values(created_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    old_key = _reload(db, old["attachment_id"]).storage_key
    assert old_key.startswith(f"incoming/{dossier.id}/")  # the staging object of an upload never confirmed

    assert purge_abandoned_uploads() == 1
    db.session.commit()
    remaining = db.session.scalars(sa.select(Attachment.id).order_by(Attachment.id)).all()
    assert sorted(remaining) == sorted([recent_id, ready.id])
    from ptce_aap.jobs import dispatch_outbox

    dispatch_outbox()  # what ``flask ptce tick`` does after its commit
    worker()
    assert get_storage().exists(old_key) is False


# --- A replayed upload form cannot change a verified file -----------------------------------------
#
# A presigned POST stays valid for UPLOAD_EXPIRES whatever happens, and S3 (like moto) accepts it again:
# it is signed for a staging key only, and confirming copies the file to a final key that no form can
# reach before verifying it. What was checked, fingerprinted and scanned is what stays stored.

def _read_all(storage, key: str) -> bytes:
    return b"".join(storage.iter_chunks(key))


def _policy_expiration(fields: dict) -> float:
    import base64
    import json
    from datetime import datetime

    expiration = json.loads(base64.b64decode(fields["policy"]))["expiration"]
    return datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp()


def test_replayed_upload_form_cannot_change_a_verified_file_on_s3(client, login_as, make_dossier, applicant, db,
                                                                   worker):
    import time

    from ptce_aap.models.base import utcnow
    from ptce_aap.services.attachments import UPLOAD_EXPIRES, purge_abandoned_uploads

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    good, evil = pdf_bytes(1), exe_bytes()
    good_sha = hashlib.sha256(good).hexdigest()
    started = _start(client, dossier, size=len(good)).get_json()
    assert _policy_expiration(started["fields"]) <= time.time() + UPLOAD_EXPIRES + 5  # 10 minutes at most
    staging = started["fields"]["key"]
    assert staging.startswith(f"incoming/{dossier.id}/")
    assert _send_to_store(started, good, "statuts.pdf").status_code == 204
    assert _confirm(client, dossier, started["attachment_id"]).status_code == 200
    final = _reload(db, started["attachment_id"]).storage_key
    assert final.startswith(f"dossiers/{dossier.id}/") and final != staging
    storage = get_storage()

    # Replayed between the confirmation and the processing job: the job reads the final copy.
    assert _send_to_store(started, evil, "statuts.pdf").status_code == 204  # moto, like S3, takes it
    worker()
    row = _reload(db, started["attachment_id"])
    assert (row.status, row.sha256, row.storage_key) == (AttachmentStatus.READY, good_sha, final)

    # The reviewer's probe: replayed after processing.
    assert _send_to_store(started, evil, "statuts.pdf").status_code == 204
    assert _read_all(storage, staging).startswith(b"MZ")  # harmless: nothing points there
    assert _read_all(storage, final) == good
    assert hashlib.sha256(_read_all(storage, final)).hexdigest() == row.sha256
    download = client.get(_url(dossier, f"/{row.id}/telecharger"))
    assert requests.get(download.headers["Location"], timeout=10).content == good
    assert _confirm(client, dossier, row.id).status_code == 200  # confirming again changes nothing
    assert _reload(db, row.id).status == AttachmentStatus.READY and _read_all(storage, final) == good

    # The stray staging object is swept once stale; the verified file stays.
    assert purge_abandoned_uploads(now=utcnow() + timedelta(hours=2)) == 0
    db.session.commit()
    assert storage.exists(staging) is False
    assert _read_all(storage, final) == good
    assert _reload(db, row.id).status == AttachmentStatus.READY


def test_confirmation_verifies_the_copy_it_made(client, login_as, make_dossier, applicant, db, monkeypatch):
    """The staging object may still change until it is copied: what is verified is the copy."""
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    good = pdf_bytes(1)
    started = _start(client, dossier, size=len(good)).get_json()
    assert _send_to_store(started, good, "statuts.pdf").status_code == 204
    storage = get_storage()
    real_copy = type(storage).copy

    def replaced_just_before_the_copy(self, src, dst, **kwargs):
        self.put(src, io.BytesIO(exe_bytes()))  # a replayed form wins the race with the confirmation
        return real_copy(self, src, dst, **kwargs)

    monkeypatch.setattr(type(storage), "copy", replaced_just_before_the_copy)
    response = _confirm(client, dossier, started["attachment_id"])
    assert response.status_code == 422
    assert "(c'est un programme exécutable)" in response.get_json()["message"]
    row = _reload(db, started["attachment_id"])
    assert row.status == AttachmentStatus.REJECTED and row.storage_key.startswith(f"dossiers/{dossier.id}/")
    assert storage.client.list_objects_v2(Bucket=storage.bucket, Prefix=f"dossiers/{dossier.id}/")["KeyCount"] == 0


def test_upload_form_is_only_signed_for_a_waiting_staging_key(client, login_as, make_dossier, applicant, db):
    from ptce_aap.services.attachments import upload_form

    dossier = make_dossier(owner=applicant)
    verified = _stored(db, dossier, pdf_bytes(1))
    login_as(applicant)
    started = _start(client, dossier).get_json()
    waiting = _reload(db, started["attachment_id"])
    assert upload_form(waiting, dossier)["fields"]["key"] == waiting.storage_key
    with pytest.raises(ValueError, match="no upload form"):
        upload_form(verified, dossier)
    waiting.status = AttachmentStatus.REJECTED
    with pytest.raises(ValueError, match="no upload form"):
        upload_form(waiting, dossier)
    db.session.rollback()


def test_purge_sweeps_stale_staging_objects_nothing_points_to(client, login_as, make_dossier, applicant, db):
    from ptce_aap.models.base import utcnow
    from ptce_aap.services.attachments import purge_abandoned_uploads

    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    storage = get_storage()
    stray = f"incoming/{dossier.id}/{uuid.uuid4().hex}"  # e.g. a form replayed after its confirmation
    storage.put(stray, io.BytesIO(b"MZ"))
    data = pdf_bytes(1)
    waiting = _start(client, dossier, size=len(data)).get_json()  # a recent upload, not confirmed yet
    assert _send_to_store(waiting, data, "statuts.pdf").status_code == 204
    verified = _stored(db, dossier, data, code="rib", filename="rib.pdf")

    assert purge_abandoned_uploads() == 0  # nothing is stale yet
    db.session.commit()
    assert storage.exists(stray) and storage.exists(waiting["fields"]["key"])

    # An hour later the waiting upload is abandoned: its row and staging object go, as the stray one.
    assert purge_abandoned_uploads(now=utcnow() + timedelta(hours=2)) == 1
    db.session.commit()
    assert storage.exists(stray) is False
    assert storage.exists(waiting["fields"]["key"]) is False
    assert storage.exists(verified.storage_key)


def test_purge_goes_on_when_the_store_cannot_be_listed(app, db, monkeypatch, caplog):
    from ptce_aap.services import attachments as service

    def unreachable(*args, **kwargs):
        raise OSError("connexion refusée")

    monkeypatch.setattr(type(get_storage()), "iter_keys", unreachable)
    assert service.purge_abandoned_uploads() == 0
    assert "listing the staging uploads failed" in caplog.text


def test_submitted_dossier_refuses_uploads(client, login_as, make_dossier, applicant, db):
    from ptce_aap.services.dossiers import set_dossier_status

    dossier = make_dossier(owner=applicant, complete=True)
    set_dossier_status(dossier, DossierStatus.SUBMITTED, by=applicant)
    db.session.commit()
    login_as(applicant)
    response = _start(client, dossier)
    assert (response.status_code, response.get_json()["message"]) == (
        409, "Ce dossier a été déposé : ses pièces ne sont plus modifiables.")
    page = _text(client.get(_url(dossier)))
    assert "ses pièces ne sont plus modifiables" in page
    assert 'data-upload' not in page and ">Supprimer<" not in page


# --- Replace, delete, download --------------------------------------------------------------------

def test_replace_keeps_the_old_file_until_the_new_one_is_confirmed(client, login_as, make_dossier, applicant, db,
                                                                   worker):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    old = _stored(db, dossier, pdf_bytes(1), code="engagements", filename="lettre-A.pdf")
    other = _stored(db, dossier, pdf_bytes(1), code="engagements", filename="lettre-B.pdf")
    old_id, old_key = old.id, old.storage_key
    storage = get_storage()

    started = _start(client, dossier, code="engagements", filename="lettre-A-signée.pdf").get_json()
    new_data = pdf_bytes(2)
    assert _send_to_store(started, new_data, "lettre-A-signée.pdf").status_code == 204
    assert _reload(db, old_id) is not None and storage.exists(old_key)  # not yet confirmed

    assert _confirm(client, dossier, started["attachment_id"], replaces=old_id).status_code == 200
    assert _reload(db, old_id) is None
    assert _actions(db, old_id)[-1] == "attachment.replaced"
    assert storage.exists(old_key)  # the object goes after the commit, with the job
    worker()
    assert storage.exists(old_key) is False
    assert _reload(db, other.id).status == AttachmentStatus.READY and storage.exists(other.storage_key)
    assert _reload(db, started["attachment_id"]).status == AttachmentStatus.READY


def test_new_file_of_a_single_file_type_replaces_the_previous_one(client, login_as, make_dossier, applicant, db,
                                                                  worker):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    first_key = _stored(db, dossier, pdf_bytes(1), code="rib", filename="rib-2024.pdf").storage_key
    second_id, response = _upload(client, dossier, pdf_bytes(1), code="rib", filename="rib-2025.pdf")
    assert response.status_code == 200
    worker()
    names = db.session.scalars(sa.select(Attachment.filename).where(Attachment.dossier_id == dossier.id)).all()
    assert names == ["rib-2025.pdf"]
    assert get_storage().exists(first_key) is False
    assert _reload(db, second_id).status == AttachmentStatus.READY


def test_failed_replacement_keeps_the_old_file(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    old = _stored(db, dossier, pdf_bytes(1), code="rib", filename="rib.pdf")
    _new_id, response = _upload(client, dossier, png_bytes(), code="rib", filename="rib2.pdf", replaces=old.id)
    assert response.status_code == 422
    assert _reload(db, old.id).status == AttachmentStatus.READY
    assert get_storage().exists(old.storage_key)


def test_deletion_asks_for_confirmation_then_removes_row_and_object(client, login_as, make_dossier, applicant, db,
                                                                    worker):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment = _stored(db, dossier, pdf_bytes(1), filename="statuts.pdf")
    attachment_id, key = attachment.id, attachment.storage_key
    confirm_page = client.get(_url(dossier, f"/{attachment_id}/supprimer"))
    assert confirm_page.status_code == 200
    text = _text(confirm_page)
    assert "Supprimer « statuts.pdf » ?" in text and "Oui, supprimer le fichier" in text
    assert _reload(db, attachment_id) is not None

    response = client.post(_url(dossier, f"/{attachment_id}/supprimer"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/porteur/dossiers/{dossier.id}/pieces#doc-statuts")
    assert _reload(db, attachment_id) is None
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "attachment.deleted")).one()
    assert (event.actor_id, event.summary["before"]["filename"]) == (applicant.id, "statuts.pdf")
    worker()
    assert get_storage().exists(key) is False


def test_download_redirects_to_a_short_presigned_url(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    data = pdf_bytes(1)
    attachment = _stored(db, dossier, data, filename="Budget prévisionnel.pdf", code="budget")
    response = client.get(_url(dossier, f"/{attachment.id}/telecharger"))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(os.environ["S3_ENDPOINT_URL"])
    assert "Expires=60" in location or "X-Amz-Expires=60" in location
    fetched = requests.get(location, timeout=10)
    assert fetched.content == data
    assert "filename*=UTF-8''Budget%20pr%C3%A9visionnel.pdf" in fetched.headers["Content-Disposition"]


def test_quarantined_file_cannot_be_downloaded(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment = _stored(db, dossier, pdf_bytes(1), status=AttachmentStatus.QUARANTINED, scan=ScanStatus.INFECTED)
    response = client.get(_url(dossier, f"/{attachment.id}/telecharger"))
    assert response.status_code == 403
    assert "bloqué par l'antivirus" in _text(response)
    assert "Location" not in response.headers


def test_another_applicant_gets_404_on_every_attachment_url(client, login_as, make_dossier, make_user, applicant,
                                                            db):
    dossier = make_dossier(owner=applicant)
    attachment = _stored(db, dossier, pdf_bytes(1))
    pending = _start(login_as(applicant), dossier).get_json()["attachment_id"]
    intruder = make_user("intrus@example.org")
    own = make_dossier(owner=intruder, pole_name="Pôle de l'intrus")
    own_attachment = _stored(db, own, pdf_bytes(1))
    login_as(intruder)

    assert client.get(_url(dossier, f"/{attachment.id}/telecharger")).status_code == 404
    assert client.get(_url(dossier, f"/{attachment.id}/supprimer")).status_code == 404
    assert client.post(_url(dossier, f"/{attachment.id}/supprimer")).status_code == 404
    assert client.post(_url(dossier, f"/{pending}/confirmer"), headers=JSON, json={}).status_code == 404
    assert _start(client, dossier).status_code == 404
    assert client.get(_url(dossier, "/etat")).status_code == 404
    assert client.post(_url(dossier, "/envoi"), data={"document_type": "statuts"}).status_code == 404
    # Their own dossier's URL with someone else's attachment id: 404 too.
    assert client.get(_url(own, f"/{attachment.id}/telecharger")).status_code == 404
    assert client.post(_url(own, f"/{pending}/confirmer"), headers=JSON, json={}).status_code == 404
    assert client.post(_url(own, f"/{attachment.id}/supprimer")).status_code == 404
    # Nothing changed, and their own file is theirs to download.
    assert _reload(db, attachment.id).status == AttachmentStatus.READY
    assert _reload(db, pending).status == AttachmentStatus.UPLOADING
    assert client.get(_url(own, f"/{own_attachment.id}/telecharger")).status_code == 302


def test_state_endpoint_lists_statuses(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    attachment = _stored(db, dossier, pdf_bytes(1), status=AttachmentStatus.PROCESSING, scan=ScanStatus.PENDING)
    assert client.get(_url(dossier, "/etat")).get_json() == {"attachments": [
        {"id": attachment.id, "status": "processing", "label": "Vérification en cours", "scan_status": "pending"}]}


def test_page_lists_required_types_first_with_accessible_upload_forms(client, login_as, make_dossier, applicant,
                                                                      db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    _stored(db, dossier, pdf_bytes(1), filename="statuts.pdf")
    page = _text(client.get(_url(dossier)))
    order = [page.index(f'id="doc-{code}"') for code in ("statuts", "rib", "liste_membres", "soutien_collectivite",
                                                         "autre")]
    assert order == sorted(order)  # required ones (rib, liste_membres) before the optional ones
    assert '<label class="fr-label" for="fichier-rib">' in page
    assert 'id="fichier-rib" name="fichier"' in page
    assert 'aria-describedby="fichier-rib-hint fichier-rib-error"' in page
    assert 'id="fichier-rib-error" role="alert"' in page
    assert 'aria-live="polite"' in page
    assert 'enctype="multipart/form-data"' in page
    assert "Taille maximale : 20 Mo." in page
    assert "Remplacer le fichier envoyé" in page  # statuts: single-file type with a file


def test_page_query_count_does_not_grow_with_attachments(client, login_as, make_dossier, make_user, make_call, db):
    call = make_call()
    small_owner, big_owner = make_user(), make_user()
    small = make_dossier(call=call, owner=small_owner)
    big = make_dossier(call=call, owner=big_owner, pole_name="Grand pôle")
    db.session.add(Attachment(dossier_id=small.id, document_type_code="statuts", filename="s.pdf",
                              storage_backend="s3", storage_key=f"tests/{small.id}/s.pdf", size=10,
                              status=AttachmentStatus.READY, scan_status=ScanStatus.CLEAN))
    for i in range(40):
        db.session.add(Attachment(
            dossier_id=big.id, document_type_code=["statuts", "engagements", "autre", "vieux_type"][i % 4],
            filename=f"f{i}.pdf", storage_backend="s3", storage_key=f"tests/{big.id}/f{i}.pdf", size=10 * i,
            status=list(AttachmentStatus)[i % 5], scan_status=ScanStatus.CLEAN, sha256="a" * 64))
    db.session.commit()

    def count(owner, dossier):
        login_as(owner)
        statements = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        db.session.expire_all()
        sa.event.listen(db.engine, "before_cursor_execute", before)
        try:
            assert client.get(_url(dossier)).status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)
        return len(statements)

    assert count(big_owner, big) == count(small_owner, small)


# --- Without JavaScript, on the local backend ------------------------------------------------------

@pytest.fixture
def local_app(app, tmp_path):
    """An app on the local backend with inline jobs (no Redis), sharing the test database."""
    from ptce_aap import create_app
    from ptce_aap.extensions import db as _db
    from tests.conftest import FreshContextClient

    local = create_app({"STORAGE_BACKEND": "local", "LOCAL_STORAGE_DIR": str(tmp_path / "stockage"),
                        "REDIS_URL": None})
    local.test_client_class = FreshContextClient
    yield local
    with local.app_context():
        _db.engine.dispose()


def _post_multipart(client, url: str, fields: dict):
    """A multipart POST whose encoded body (a temporary file past 500 kB) is closed afterwards."""
    from werkzeug.test import stream_encode_multipart

    stream, length, boundary = stream_encode_multipart(fields)
    try:
        return client.post(url, input_stream=stream, content_length=length,
                           content_type=f'multipart/form-data; boundary="{boundary}"')
    finally:
        stream.close()


def _login(app, user):
    from flask_login.utils import _create_identifier

    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        session["_id"] = identifier
    return client


def test_form_without_javascript_streams_the_file_and_ends_ready(local_app, make_dossier, applicant, db, tmp_path):
    dossier = make_dossier(owner=applicant)
    client = _login(local_app, applicant)
    data = png_bytes() + os.urandom(6 * 1024 * 1024)  # an image with a large tail: spooled, never held whole

    tracemalloc.start()
    try:
        response = _post_multipart(client, _url(dossier, "/envoi"), {
            "document_type": "autre",
            "fichier": FileStorage(io.BytesIO(data), filename="Plan du pôle.png", content_type="image/png")})
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/porteur/dossiers/{dossier.id}/pieces#doc-autre")
    assert peak < 4 * 1024 * 1024  # the 6 MB file went through in chunks

    row = db.session.scalars(sa.select(Attachment).where(Attachment.dossier_id == dossier.id)).one()
    assert (row.status, row.storage_backend, row.mime) == (AttachmentStatus.READY, "local", "image/png")
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.size == len(data)
    assert row.page_count is None and row.scan_status == ScanStatus.NOT_SCANNED
    stored = tmp_path / "stockage" / row.storage_key
    assert stored.read_bytes() == data
    assert re.fullmatch(rf"dossiers/{dossier.id}/[0-9a-f]{{32}}/Plan-du-pole\.png", row.storage_key)
    assert not (tmp_path / "stockage" / "incoming").exists()  # no form, no staging: written where verified

    page = _text(client.get(_url(dossier)))
    assert "« Plan du pôle.png » a bien été reçu." in page
    download = client.get(_url(dossier, f"/{row.id}/telecharger"))
    assert download.status_code == 302 and "/stockage/fichier/" in download.headers["Location"]


def test_form_without_javascript_pdf_gets_its_page_count(local_app, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    client = _login(local_app, applicant)
    response = client.post(_url(dossier, "/envoi"), content_type="multipart/form-data", data={
        "document_type": "statuts", "fichier": (io.BytesIO(pdf_bytes(5)), "statuts.pdf")})
    assert response.status_code == 302
    row = db.session.scalars(sa.select(Attachment)).one()
    assert (row.status, row.page_count) == (AttachmentStatus.READY, 5)


def test_form_without_javascript_refuses_a_disguised_file_next_to_the_field(local_app, make_dossier, applicant,
                                                                          db, tmp_path):
    dossier = make_dossier(owner=applicant)
    client = _login(local_app, applicant)
    response = client.post(_url(dossier, "/envoi"), content_type="multipart/form-data", data={
        "document_type": "statuts", "fichier": (io.BytesIO(exe_bytes()), "statuts.pdf")})
    assert response.status_code == 422
    page = _text(response)
    assert 'role="alert"' in page and "(c'est un programme exécutable)" in page
    assert 'fr-upload-group--error' in page and 'id="fichier-statuts" name="fichier"' in page
    assert [p for p in (tmp_path / "stockage").rglob("*") if p.is_file() and ".meta" not in p.parts] == []
    assert db.session.scalars(sa.select(Attachment.status)).all() == [AttachmentStatus.REJECTED]


def test_form_without_javascript_without_file_says_so(local_app, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    client = _login(local_app, applicant)
    response = client.post(_url(dossier, "/envoi"), data={"document_type": "statuts"})
    assert response.status_code == 400
    assert "Choisissez un fichier à envoyer." in _text(response)


def test_presigned_flow_on_the_local_backend(local_app, make_dossier, applicant, db):
    """The same JavaScript flow when the store is the app's own /stockage route."""
    dossier = make_dossier(owner=applicant)
    client = _login(local_app, applicant)
    data = pdf_bytes(2)
    started = _start(client, dossier, filename="budget.pdf", code="budget", size=len(data)).get_json()
    assert started["url"].endswith("/stockage/depot")
    sent = client.post("/stockage/depot", content_type="multipart/form-data",
                       data={**started["fields"], "file": (io.BytesIO(data), "budget.pdf")})
    assert sent.status_code == 204
    assert _confirm(client, dossier, started["attachment_id"]).status_code == 200
    row = _reload(db, started["attachment_id"])
    assert (row.status, row.page_count, row.sha256) == (AttachmentStatus.READY, 2, hashlib.sha256(data).hexdigest())



def test_replayed_upload_form_cannot_change_a_verified_file_on_the_local_backend(local_app, make_dossier, applicant,
                                                                                 db, tmp_path, monkeypatch):
    """The local upload route refuses a form whose upload is no longer waiting; and even when it does not
    ask (as S3 cannot), the verified file under its final key stays what was checked."""
    from ptce_aap.models.base import utcnow
    from ptce_aap.services.attachments import purge_abandoned_uploads
    from ptce_aap.storage import base as storage_base

    dossier = make_dossier(owner=applicant)
    client = _login(local_app, applicant)
    good, evil = pdf_bytes(1), exe_bytes()
    started = _start(client, dossier, size=len(good)).get_json()
    staging = started["fields"]["key"]

    def replay(data: bytes):
        return client.post("/stockage/depot", content_type="multipart/form-data",
                           data={**started["fields"], "file": (io.BytesIO(data), "statuts.pdf")})

    assert replay(good).status_code == 204
    assert replay(good).status_code == 204  # until it is confirmed, the form may be sent again (a retry)
    assert _confirm(client, dossier, started["attachment_id"]).status_code == 200
    row = _reload(db, started["attachment_id"])
    assert (row.status, row.sha256) == (AttachmentStatus.READY, hashlib.sha256(good).hexdigest())
    final = tmp_path / "stockage" / row.storage_key
    assert row.storage_key.startswith(f"dossiers/{dossier.id}/") and final.read_bytes() == good
    assert not (tmp_path / "stockage" / staging).exists()

    refused = replay(evil)
    assert refused.status_code == 403
    assert "l’autorisation d’envoi n’est pas valide" in _text(refused)
    assert not (tmp_path / "stockage" / staging).exists()
    assert final.read_bytes() == good

    # Without the route's check, as on S3: the write lands on the staging key only, and is swept later.
    monkeypatch.setattr(storage_base, "_UPLOAD_CHECKS", {})
    assert replay(evil).status_code == 204
    assert (tmp_path / "stockage" / staging).read_bytes() == evil
    assert final.read_bytes() == good
    download = client.get(client.get(_url(dossier, f"/{row.id}/telecharger")).headers["Location"])
    assert download.get_data() == good
    with local_app.app_context():
        assert purge_abandoned_uploads(now=utcnow() + timedelta(hours=2)) == 0
        db.session.commit()
    assert not (tmp_path / "stockage" / staging).exists()
    assert final.read_bytes() == good
    assert _reload(db, row.id).sha256 == hashlib.sha256(good).hexdigest()


def test_local_upload_route_refuses_a_form_whose_upload_was_deleted(local_app, make_dossier, applicant, db,
                                                                    tmp_path):
    dossier = make_dossier(owner=applicant)
    client = _login(local_app, applicant)
    started = _start(client, dossier).get_json()
    assert client.post(_url(dossier, f"/{started['attachment_id']}/supprimer"), headers=JSON, json={}).status_code == 200
    sent = client.post("/stockage/depot", content_type="multipart/form-data",
                       data={**started["fields"], "file": (io.BytesIO(pdf_bytes(1)), "statuts.pdf")})
    assert sent.status_code == 403
    assert not (tmp_path / "stockage" / started["fields"]["key"]).exists()


# --- CSRF on the JSON endpoints ---------------------------------------------------------------------

def test_json_upload_needs_the_csrf_header(client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    page = _text(client.get(_url(dossier)))
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    body = {"document_type": "statuts", "filename": "statuts.pdf", "size": 10, "content_type": "application/pdf"}

    refused = client.post(_url(dossier, "/televersement"), headers=JSON, json=body, csrf=False)
    accepted = client.post(_url(dossier, "/televersement"), headers={**JSON, "X-CSRFToken": token}, json=body)

    assert refused.status_code == 400
    assert refused.json["error"]["code"] == 400
    assert accepted.status_code == 201


# --- Processing: storage down, antivirus -----------------------------------------------------------

def test_unreachable_storage_leaves_the_file_processing(app, make_dossier, applicant, db, monkeypatch):
    import boto3
    from botocore.config import Config
    from botocore.exceptions import EndpointConnectionError

    from ptce_aap import storage as storage_module
    from ptce_aap.tasks import task_process_attachment as process_attachment

    dossier = make_dossier(owner=applicant)
    attachment = _stored(db, dossier, pdf_bytes(1), status=AttachmentStatus.PROCESSING, scan=ScanStatus.PENDING)
    dead = S3Storage(bucket="ptce-dead", client=boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1", aws_access_key_id="x",
        aws_secret_access_key="x", config=Config(retries={"max_attempts": 1}, connect_timeout=1)))
    monkeypatch.setattr(storage_module, "storage_for", lambda name, app=None: dead)
    with pytest.raises(EndpointConnectionError):
        process_attachment(attachment.id)
    db.session.rollback()
    assert _reload(db, attachment.id).status == AttachmentStatus.PROCESSING


@pytest.fixture(scope="module")
def clamd_address(tmp_path_factory):
    with running_clamd(tmp_path_factory.mktemp("clamd")) as address:
        yield address


def test_antivirus_quarantines_an_infected_document_and_blocks_its_download(
        client, login_as, make_dossier, applicant, db, worker, clamd_address, monkeypatch, app):
    monkeypatch.setitem(app.config, "CLAMD_ADDRESS", clamd_address)
    dossier = make_dossier(owner=applicant)
    login_as(applicant)
    infected = docx_bytes(extra=[("word/media/eicar.com", EICAR)])
    bad_id, response = _upload(client, dossier, infected, filename="budget.docx", code="budget")
    assert response.status_code == 200  # a real docx: the type check passes
    clean_id, _response = _upload(client, dossier, pdf_bytes(1), filename="statuts.pdf")
    worker()

    bad = _reload(db, bad_id)
    assert (bad.status, bad.scan_status) == (AttachmentStatus.QUARANTINED, ScanStatus.INFECTED)
    assert "eicar" in bad.rejection_reason.lower()
    assert get_storage().exists(bad.storage_key)  # kept for inspection, but blocked
    assert _actions(db, bad_id)[-1] == "attachment.quarantined"
    assert client.get(_url(dossier, f"/{bad_id}/telecharger")).status_code == 403
    clean = _reload(db, clean_id)
    assert (clean.status, clean.scan_status) == (AttachmentStatus.READY, ScanStatus.CLEAN)
    page = _text(client.get(_url(dossier)))
    assert "« budget.docx » a été bloqué par l'antivirus : remplacez-le." in page
    assert "Infecté" in page and "Sain" in page


def test_antivirus_unreachable_is_retried_then_the_file_refused(app, make_dossier, applicant, db, monkeypatch):
    from ptce_aap.clamd import ClamdUnavailable
    from ptce_aap.services import attachment_processing
    from ptce_aap.tasks import task_process_attachment

    dossier = make_dossier(owner=applicant)
    attachment = _stored(db, dossier, pdf_bytes(1), status=AttachmentStatus.PROCESSING, scan=ScanStatus.PENDING)
    monkeypatch.setitem(app.config, "CLAMD_ADDRESS", f"127.0.0.1:{free_port()}")
    monkeypatch.setattr(attachment_processing, "is_last_attempt", lambda: False)
    with pytest.raises(ClamdUnavailable):
        task_process_attachment(attachment.id)
    db.session.rollback()
    assert _reload(db, attachment.id).status == AttachmentStatus.PROCESSING
    monkeypatch.setattr(attachment_processing, "is_last_attempt", lambda: True)
    assert task_process_attachment(attachment.id) == "rejected"  # never served unscanned
    refused = _reload(db, attachment.id)
    assert (refused.status, refused.scan_status) == (AttachmentStatus.REJECTED, ScanStatus.ERROR)
    assert refused.rejection_reason.startswith("L'antivirus n'a pas pu analyser ce fichier : envoyez-le de nouveau")


def test_a_file_still_being_checked_cannot_be_downloaded(app, client, login_as, make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    attachment = _stored(db, dossier, pdf_bytes(1), status=AttachmentStatus.PROCESSING, scan=ScanStatus.PENDING)
    login_as(applicant)
    response = client.get(f"/porteur/dossiers/{dossier.id}/pieces/{attachment.id}/telecharger")
    assert response.status_code == 404
    assert "Ce fichier n&#39;est pas disponible" in response.get_data(as_text=True)


def test_a_very_long_file_name_wraps_in_its_cell(client, login_as, make_dossier, applicant, db, app):
    """A name of 200 characters without a space must not push the size, status and actions columns out of
    view: its cell wraps anywhere (a class of the project's CSS; the CSP forbids inline styles)."""
    dossier = make_dossier(owner=applicant, complete=True)
    long_name = "compte-rendu-" + "x" * 183 + ".pdf"
    attachment = next(a for a in dossier.attachments if a.document_type_code == "statuts")
    attachment.filename = long_name
    db.session.commit()
    login_as(applicant)
    page = client.get(f"/porteur/dossiers/{dossier.id}/pieces").get_data(as_text=True)
    row = page[page.index(f'id="piece-{attachment.id}"'):]
    assert row[:row.index(long_name)].count('<th scope="row" class="ptce-file-name">') == 1
    with open(os.path.join(app.static_folder, "ptce.css"), encoding="utf-8") as f:
        css = f.read()
    rule = re.search(r"\.ptce-file-name, \.ptce-file-name a \{([^}]*)\}", css)
    assert rule and "overflow-wrap: anywhere" in rule.group(1)
    assert 'style="' not in row[:row.index("</tr>")]
