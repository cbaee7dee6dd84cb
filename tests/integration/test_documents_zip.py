"""The ZIP of a call's documents (issue 11, point 3): asked for with a confirmation (POST, CSRF), built by the
background job with its progress on the JobRun (a real RQ worker here; inline in the embedded default, see
the last test), then downloaded through a presigned link; one folder per dossier, safe and unique names,
only the current documents of submitted dossiers."""

from __future__ import annotations

import io
import re
import uuid
import zipfile

import pytest
import sqlalchemy as sa

from ptce_aap.enums import AttachmentStatus, JobKind, JobStatus, Role, ScanStatus
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.models.outbox import JobRun
from ptce_aap.services import documents_zip as service
from ptce_aap.storage import get_storage
from tests.integration.test_eligibility import _bulk_dossiers
from tests.integration.test_embedded import embedded  # noqa: F401 -- the embedded app fixture


@pytest.fixture(autouse=True)
def _tasks():
    from ptce_aap import tasks as module  # registers the tasks, as create_app does

    return module


def _put(db, dossier_id: int, filename: str, content: bytes, *, status=AttachmentStatus.READY) -> str:
    key = f"dossiers/{dossier_id}/zip-test-{uuid.uuid4().hex}.bin"
    storage = get_storage()
    storage.put(key, io.BytesIO(content), content_type="application/pdf")
    db.session.add(Attachment(dossier_id=dossier_id, document_type_code="statuts", filename=filename,
                              storage_backend=storage.name, storage_key=key, size=len(content), status=status,
                              scan_status=ScanStatus.CLEAN, created_at=utcnow()))
    db.session.commit()
    return key


@pytest.fixture
def documents(db, make_call, make_dossier):
    """Two submitted dossiers with documents (a name repeated, a name with separators and a leading dot), a
    quarantined file, a draft's file and another call's file — the last three stay out of the archive."""
    call = make_call()
    first, second = _bulk_dossiers(db, call, 2)
    db.session.execute(sa.delete(Attachment).where(Attachment.dossier_id.in_([first, second])))
    db.session.execute(sa.update(Dossier).where(Dossier.id == second).values(pole_name="Pôle: « Sud/Est »"))
    db.session.commit()
    _put(db, first, "Statuts.pdf", b"statuts 1")
    _put(db, first, "Statuts.pdf", b"statuts 2")
    _put(db, first, "../../.bashrc", b"malin")
    _put(db, second, "Budget prévisionnel.pdf", b"budget" * 20000)
    _put(db, second, "virus.pdf", b"X5O!P%@AP", status=AttachmentStatus.QUARANTINED)
    draft = make_dossier(call=call, pole_name="Pôle Brouillon")
    _put(db, draft.id, "brouillon.pdf", b"draft")
    other = _bulk_dossiers(db, make_call(), 1, ineligible_every=99)[0]
    db.session.execute(sa.delete(Attachment).where(Attachment.dossier_id == other))
    _put(db, other, "autre.pdf", b"other call")
    return call, first, second


EXPECTED = {
    "{first:05d} Pôle 0000/Statuts.pdf": b"statuts 1",
    "{first:05d} Pôle 0000/Statuts (2).pdf": b"statuts 2",
    "{first:05d} Pôle 0000/bashrc": b"malin",
    "{second:05d} Pôle_ « Sud_Est »/Budget prévisionnel.pdf": b"budget" * 20000,
}


def _expected(first, second):
    return {k.format(first=first, second=second): v for k, v in EXPECTED.items()}


def test_admin_confirms_follows_the_progress_and_downloads(client, login_as, admin_user, documents, db, worker):
    call, first, second = documents
    login_as(admin_user)
    listing = client.get(f"/admin/appels/{call.slug}/dossiers").get_data(as_text=True)
    assert f'href="/admin/appels/{call.slug}/archive"' in listing
    confirm = client.get(f"/admin/appels/{call.slug}/archive").get_data(as_text=True)
    assert "4 pièces seront ajoutées à l’archive" in confirm and 'method="post"' in confirm
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 0  # GET changes nothing
    assert client.post(f"/admin/appels/{call.slug}/archive", csrf=False).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 0
    response = client.post(f"/admin/appels/{call.slug}/archive")
    run = db.session.scalar(sa.select(JobRun))
    assert response.headers["Location"] == f"/admin/taches/{run.id}"
    assert (run.kind, run.status, run.total) == (JobKind.DOCUMENTS_ZIP, JobStatus.QUEUED, 4)
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "call.documents_zip_requested"))
    assert event.summary == {"after": {"job_run": run.id, "total": 4}} and event.actor_id == admin_user.id
    # Asked again while it is queued: the same run.
    assert client.post(f"/admin/appels/{call.slug}/archive").headers["Location"] == f"/admin/taches/{run.id}"
    page = client.get(f"/admin/taches/{run.id}").get_data(as_text=True)
    assert "Archive ZIP des pièces" in page and "Pièces ajoutées à l’archive" in page
    assert re.search(r'<p data-progress-done-only hidden>', page)
    assert client.get(f"/admin/taches/{run.id}/archive").status_code == 404  # not built yet
    assert worker() >= 1
    progress = client.get(f"/admin/taches/{run.id}.json").get_json()
    assert progress["status"] == "done" and progress["done"] == progress["total"] == 4
    assert progress["message"] == "Terminé. L’archive contient 4 pièces de 2 dossiers."
    page = client.get(f"/admin/taches/{run.id}").get_data(as_text=True)
    assert "<p data-progress-done-only>" in page and f'href="/admin/taches/{run.id}/archive"' in page
    download = client.get(f"/admin/taches/{run.id}/archive")
    assert download.status_code == 302 and "X-Amz-Signature=" in download.headers["Location"]
    db.session.expire_all()
    with get_storage().open_stream(service.archive_key(db.session.get(JobRun, run.id))) as stream:
        archive = zipfile.ZipFile(io.BytesIO(stream.read()))
    assert {name: archive.read(name) for name in archive.namelist()} == _expected(first, second)


def test_a_missing_object_is_left_out_and_said(db, admin_user, documents):
    call, first, second = documents
    key = db.session.scalar(sa.select(Attachment.storage_key).where(Attachment.dossier_id == second,
                                                                    Attachment.status == AttachmentStatus.READY))
    get_storage().delete(key)
    run = service.start(call, by=admin_user)
    db.session.commit()
    assert service.build(run.id, call.id, checkpoint=db.session.commit) == "done"
    db.session.commit()
    assert run.message == ("Terminé. L’archive contient 3 pièces de 2 dossiers. 1 pièce introuvable dans le "
                           "stockage n’y figure pas.")
    with get_storage().open_stream(service.archive_key(run)) as stream:
        names = zipfile.ZipFile(io.BytesIO(stream.read())).namelist()
    assert names == [n for n in _expected(first, second) if not n.endswith("Budget prévisionnel.pdf")]
    assert service.build(run.id, call.id, checkpoint=db.session.commit) == "already done"


@pytest.mark.parametrize("page_size", [1, 2])
def test_documents_read_in_pages_keep_every_file_and_unique_names(db, admin_user, documents, monkeypatch, page_size):
    """The rows are read ``PAGE_SIZE`` at a time: a page ending inside a dossier's folder (two « Statuts.pdf »)
    loses no file and still numbers the second name; the archive is valid byte for byte."""
    call, first, second = documents
    monkeypatch.setattr(service, "PAGE_SIZE", page_size)
    run = service.start(call, by=admin_user)
    db.session.commit()
    assert service.build(run.id, call.id, checkpoint=db.session.commit) == "done"
    db.session.commit()
    assert (run.done, run.total) == (4, 4)
    assert run.message == "Terminé. L’archive contient 4 pièces de 2 dossiers."
    with get_storage().open_stream(service.archive_key(run)) as stream:
        archive = zipfile.ZipFile(io.BytesIO(stream.read()))
    assert archive.testzip() is None
    assert {name: archive.read(name) for name in archive.namelist()} == _expected(first, second)


@pytest.mark.parametrize("who", ["applicant", "reviewer"])
def test_the_archive_is_refused_to_applicants_and_reviewers(who, client, login_as, db, admin_user, documents,
                                                            applicant, reviewer):
    call, _first, _second = documents
    run = service.start(call, by=admin_user)
    db.session.commit()
    service.build(run.id, call.id, checkpoint=db.session.commit)
    db.session.commit()
    login_as({"applicant": applicant, "reviewer": reviewer}[who])
    for method, url in (("get", f"/admin/appels/{call.slug}/archive"), ("post", f"/admin/appels/{call.slug}/archive"),
                        ("get", f"/admin/taches/{run.id}/archive"), ("get", f"/admin/taches/{run.id}")):
        assert getattr(client, method)(url).status_code == 403, url
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id))) == 1


def test_safe_names():
    assert service.safe_name("../../etc/passwd") == "passwd"
    assert service.safe_name('a<b>c:d"e|f?g*h.pdf') == "a_b_c_d_e_f_g_h.pdf"
    assert service.safe_name("...") == "fichier"
    assert service.safe_name("x" * 200 + ".pdf").endswith("x.pdf") and len(service.safe_name("x" * 200 + ".pdf")) == 80
    assert service._unique("a.pdf", taken := set()) == "a.pdf" and service._unique("A.pdf", taken) == "A (2).pdf"
    assert Role.ADMIN  # the roles module loads with the service


def test_the_archive_on_the_embedded_default_runs_inline(embedded):  # noqa: F811
    """``make run``: SQLite, local files served by the app's signed /stockage routes, the job inline after the
    request — confirm, and the archive is ready when the progress page opens; its link downloads it."""
    from urllib.parse import urlsplit

    from ptce_aap.enums import DossierStatus
    from ptce_aap.extensions import db
    from tests.integration.test_embedded import DEMO_ADMIN, DEMO_PASSWORD, submit_form

    with embedded.app_context():
        dossier_id = db.session.scalar(sa.select(Dossier.id).join(Dossier.call).where(
            Dossier.status != DossierStatus.DRAFT, sa.text("calls.slug = 'ptce-2026'")).order_by(Dossier.id).limit(1))
        pole_name = db.session.get(Dossier, dossier_id).pole_name
        _put(db, dossier_id, "Statuts signés.pdf", b"%PDF statuts")
    admin = embedded.test_client()
    assert submit_form(admin, "/compte/connexion", {"email": DEMO_ADMIN, "password": DEMO_PASSWORD}
                       ).headers["Location"] == "/admin/"
    # The instruction list's SQL on SQLite too: JSON lists, the first department, the score sort, the exports.
    with embedded.app_context():
        dossier = db.session.get(Dossier, dossier_id)
        department, region = dossier.departments[0], dossier.region_code
    for query in (f"departement={department}&region={region}&tri=departement", "tri=note&ordre=desc&desaccord=1",
                  f"q={pole_name[:5]}&eligibilite=recevable&conflit=1&note_min=10&domaine=culture"):
        response = admin.get(f"/admin/appels/ptce-2026/dossiers?{query}")
        assert response.status_code == 200, query
        assert admin.get(f"/admin/appels/ptce-2026/dossiers.xlsx?{query}").status_code == 200
    assert f'<tr data-dossier="{dossier_id}">' in admin.get(
        f"/admin/appels/ptce-2026/dossiers?departement={department}").get_data(as_text=True)
    csv_text = admin.get("/admin/appels/ptce-2026/dossiers.csv?tri=departement").get_data(as_text=True)
    assert pole_name in csv_text
    started = submit_form(admin, "/admin/appels/ptce-2026/archive")
    assert started.status_code == 302
    run_id = int(started.headers["Location"].rsplit("/", 1)[1])
    progress = admin.get(f"/admin/taches/{run_id}.json").get_json()
    assert progress["status"] == "done" and progress["total"] == 1, progress
    download = admin.get(f"/admin/taches/{run_id}/archive")
    location = urlsplit(download.headers["Location"])
    assert location.path.startswith("/stockage/fichier/")
    archive = zipfile.ZipFile(io.BytesIO(admin.get(f"{location.path}?{location.query}").get_data()))
    assert {n: archive.read(n) for n in archive.namelist()} == {
        f"{dossier_id:05d} {pole_name}/Statuts signés.pdf": b"%PDF statuts"}


def test_two_requests_at_the_same_instant_start_one_archive(_app, client, login_as, admin_user, documents, db):
    from tests.integration._race import race

    call, _first, _second = documents
    login_as(admin_user)
    codes = race(_app, client, 4, f"/admin/appels/{call.slug}/archive", page=f"/admin/appels/{call.slug}/archive")
    assert codes == [302] * 4
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(JobRun.id)).where(JobRun.kind == JobKind.DOCUMENTS_ZIP)) == 1
