"""PostgreSQL, Redis and the object store lost while the app serves (issue 13): each is cut through a TCP proxy
(``tests/fixtures/proxy.py``: the machine's services are shared, never stopped), the app under test talks to the
proxy. While a part is gone, pages answer the calm French 503 page (JSON under /api/v1/ and to the autosave),
never a 500 or a trace; what a cut request had started is rolled back whole; once the part is back, the same app
answers again without a restart.
"""

from __future__ import annotations

import contextlib
import html
import io
import time
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from ptce_aap.enums import DossierStatus, OutboxStatus, Role
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.outbox import OutboxEntry
from ptce_aap.models.reviews import Assignment, Review
from tests.conftest import CSRF_META, FreshContextClient
from tests.fixtures import proxy
from tests.fixtures.builders import DEFAULT_PASSWORD
from tests.fixtures.services import REDIS_TEST_DB, empty_prefixes
from tests.fixtures.workers import close_app
from tests.integration.test_faults import login
from tests.integration.test_never_lose_a_word import _form
from tests.integration.test_reviews import AUTOSAVE, base_of, form_data

pg_proxy = proxy.pg_proxy  # fixtures of tests/fixtures/proxy.py

JSON = {"Accept": "application/json"}
UNAVAILABLE_FR = "Le service est momentanément indisponible. Réessayez dans quelques instants."


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def assert_calm_503(response) -> None:
    body = text(response)
    assert response.status_code == 503, body[:500]
    assert response.mimetype == "text/html"
    assert "<h1>Service momentanément indisponible</h1>" in body
    assert UNAVAILABLE_FR in body
    assert "Traceback" not in body and "psycopg" not in body and "OperationalError" not in body
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Cache-Control"] == "no-store"


def assert_json_503(response) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    error = response.get_json()["error"]
    assert (error["code"], error["title"], error["message"]) == (
        503, "Service momentanément indisponible", UNAVAILABLE_FR)
    assert "psycopg" not in response.get_data(as_text=True)


def through(proxy, database_url: str) -> str:
    return database_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")


def audit_actions(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


@pytest.fixture
def pg_app(app, pg_proxy, test_settings):
    """An app on the test database through the proxy (production's engine options: ``pool_pre_ping``). Its
    context is not pushed: the test itself reads the database directly, its clients go through the proxy."""
    from ptce_aap import create_app

    other = create_app({"SQLALCHEMY_DATABASE_URI": through(pg_proxy, test_settings["DATABASE_URL"])})
    other.test_client_class = FreshContextClient
    assert other.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is True
    yield other
    close_app(other)


def engine_of(other):
    from ptce_aap.extensions import db

    with other.app_context():
        return db.engine


def cut_when(engine, proxy, predicate):
    """Cut the proxy just before the first statement matching ``predicate`` is sent: mid-transaction."""
    fired = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not fired and predicate(statement):
            fired.append(statement)
            proxy.down()

    event.listen(engine, "before_cursor_execute", before)
    return fired


# --- PostgreSQL ------------------------------------------------------------------------------------------

def test_postgresql_lost_while_serving_answers_503_then_recovers_without_a_restart(
        db, pg_app, pg_proxy, make_dossier, applicant):
    dossier = make_dossier(owner=applicant)
    dossier_id, user_id, version = dossier.id, applicant.get_id(), dossier.version
    db.session.commit()
    page = f"/porteur/dossiers/{dossier_id}"
    client = login(pg_app, user_id)
    assert client.get(page).status_code == 200  # the pool now holds a live connection through the proxy
    token = CSRF_META.search(client.get(f"{page}/projet").get_data(as_text=True)).group(1)
    before = pg_proxy.connections

    pg_proxy.down()  # the database's host is gone: live connections cut, new ones refused

    assert_calm_503(client.get(page))
    assert_calm_503(client.get("/"))
    assert_calm_503(client.get(f"{page}/projet"))
    # The autosave (static/dossier.js) gets JSON it shows calmly, and keeps the typed text in the browser.
    autosave = client.post(f"{page}/projet", data={"version": version, "summary": "Tapé pendant la panne",
                                                    "csrf_token": token},
                           headers={"X-Autosave": "1", **JSON})
    assert_json_503(autosave)
    assert_json_503(client.get("/api/v1/calls", headers={"Authorization": "Bearer quelconque"}))
    assert client.get("/healthz/live").status_code == 200  # the liveness probe does no I/O
    health = client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] != "ok"

    pg_proxy.up()  # back: the next request works, on a new connection (the dead ones were pinged away)
    assert client.get(page).status_code == 200
    assert pg_proxy.connections > before
    saved = client.post(f"{page}/projet", data={"version": version, "summary": "Tapé après la panne"},
                        headers={"X-Autosave": "1", **JSON})
    assert (saved.status_code, saved.get_json()["ok"], saved.get_json()["version"]) == (200, True, version + 1)
    db.session.expire_all()
    assert db.session.get(Dossier, dossier_id).summary == "Tapé après la panne"


def test_submission_cut_in_the_middle_leaves_nothing_half_written(db, pg_app, pg_proxy, make_dossier, applicant,
                                                                  caplog):
    """The link dies after the dossier's row was updated, before the outbox rows are written: the whole
    transaction is gone (no status, no receipt number, no job, no audit); submitting again works, once."""
    dossier = make_dossier(owner=applicant, complete=True)
    dossier_id, user_id = dossier.id, applicant.get_id()
    db.session.commit()
    audit_before = audit_actions(db)
    client = login(pg_app, user_id)
    form = client.get(f"/porteur/dossiers/{dossier_id}/deposer")
    assert form.status_code == 200

    fired = cut_when(engine_of(pg_app), pg_proxy, lambda sql: sql.startswith("INSERT INTO outbox"))
    response = client.post(f"/porteur/dossiers/{dossier_id}/deposer")
    assert fired, "the submission wrote no outbox row: the cut point moved"
    assert_calm_503(response)

    db.session.expire_all()
    row = db.session.get(Dossier, dossier_id)
    assert (row.status, row.receipt_number, row.submitted_at) == (DossierStatus.DRAFT, None, None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0
    assert audit_actions(db) == audit_before
    assert "outbox dispatch failed" not in caplog.text  # nothing was committed: nothing to hand over

    pg_proxy.up()
    client.get(f"/porteur/dossiers/{dossier_id}/deposer")
    again = client.post(f"/porteur/dossiers/{dossier_id}/deposer")
    assert (again.status_code, again.headers["Location"]) == (302, f"/porteur/dossiers/{dossier_id}")
    db.session.expire_all()
    row = db.session.get(Dossier, dossier_id)
    assert row.status == DossierStatus.SUBMITTED
    assert row.receipt_number == f"PTCE-{row.call.closes_at.year}-{dossier_id:06d}"
    assert sorted(db.session.scalars(sa.select(OutboxEntry.task))) == [
        "detect_conflicts", "eligibility_check", "generate_receipt"]
    assert audit_actions(db)[len(audit_before):] == ["dossier.status_changed"]


def test_members_save_cut_between_delete_and_insert_keeps_the_old_members(
        db, pg_app, pg_proxy, make_dossier, applicant):
    """Saving the members section replaces the rows: cut after the old rows were deleted, before the new ones
    are inserted — the old members are all still there."""
    dossier = make_dossier(owner=applicant, complete=True)
    dossier_id, user_id = dossier.id, applicant.get_id()
    members_before = sorted(m.name for m in dossier.members)
    assert len(members_before) >= 2
    db.session.commit()
    client = login(pg_app, user_id)
    url = f"/porteur/dossiers/{dossier_id}/membres"
    fields = _form(client, url)
    assert fields, "the members section form was not found"
    fired = cut_when(engine_of(pg_app), pg_proxy, lambda sql: sql.startswith("INSERT INTO members"))
    response = client.post(url, data=fields)
    assert fired, "the save inserted no member: the cut point moved"
    assert_calm_503(response)

    db.session.expire_all()
    assert sorted(m.name for m in db.session.get(Dossier, dossier_id).members) == members_before
    pg_proxy.up()
    assert client.get(url).status_code == 200


# --- Redis --------------------------------------------------------------------------------------------------

redis_proxy = proxy.redis_proxy
s3_proxy = proxy.s3_proxy


@contextlib.contextmanager
def kept_limiter():
    """``create_app`` binds the one ``limiter`` to the new app's storage: give it back to the session's app."""
    from ptce_aap.extensions import limiter

    saved = dict(limiter.__dict__)
    try:
        yield
    finally:
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)


def make_app(overrides: dict):
    from ptce_aap import create_app

    other = create_app(overrides)
    other.test_client_class = FreshContextClient
    return other


@pytest.fixture
def redis_app(app, redis_proxy):
    """An app whose queue and rate limits are in Redis (as in production), through the proxy."""
    url = redis_proxy.url("redis://127.0.0.1:{port}/" + str(REDIS_TEST_DB))
    with kept_limiter():
        other = make_app({"REDIS_URL": url, "RATELIMIT_STORAGE_URI": url, "RQ_QUEUE": f"ptce-resil-{uuid.uuid4().hex[:8]}",
                          "RATELIMIT_KEY_PREFIX": f"resil-{uuid.uuid4().hex[:8]}"})
        yield other
        with other.app_context():
            from ptce_aap import jobs

            if redis_proxy.is_up:
                jobs.get_queue().empty()
        close_app(other)


def form_login(other, email: str):
    client = other.test_client()
    response = client.post("/compte/connexion", data={"email": email, "password": DEFAULT_PASSWORD})
    assert (response.status_code, response.headers.get("Location", "")[:1]) == (302, "/"), text(response)[:500]
    return client


def test_redis_lost_during_submission_and_review_nothing_fails_and_the_jobs_run_once_it_is_back(
        db, redis_app, redis_proxy, make_dossier, applicant, make_user, make_assignment, smtp):
    """Rate limits go on in memory (login, autosave), the submission is committed with its jobs waiting in the
    outbox, a reviewer goes on scoring; once Redis is back, ``flask ptce tick`` hands the jobs over and each
    mail leaves once."""
    from ptce_aap.services import submission
    from tests.fixtures.workers import run_worker_burst

    dossier = make_dossier(owner=applicant, complete=True)
    owner = make_user("autre@example.org")
    reviewed = make_dossier(owner=owner, complete=True, pole_name="Pôle des Tisserands")
    submission.submit_dossier(reviewed, by=owner, now=utcnow())
    reviewer = make_user("rapporteur@example.org", roles=(Role.REVIEWER,), institution="ANCT")
    make_assignment(reviewed, reviewer)
    db.session.execute(sa.delete(OutboxEntry))  # the reviewed dossier's own jobs: not this test's
    dossier_id, reviewed_id, email = dossier.id, reviewed.id, applicant.email
    criteria = list(reviewed.call.criteria)
    db.session.commit()
    applicant_client = form_login(redis_app, applicant.email)  # Redis up: the pools are warm

    redis_proxy.down()

    reviewer_client = form_login(redis_app, "rapporteur@example.org")  # the login limit, now in memory
    started = time.monotonic()
    project = f"/porteur/dossiers/{dossier_id}/projet"
    saved = applicant_client.post(project, headers={"X-Autosave": "1", **JSON}, data={
        **_form(applicant_client, project), "summary": "Tapé pendant la panne de Redis"})
    assert (saved.status_code, saved.get_json()["ok"]) == (200, True)
    applicant_client.get(f"/porteur/dossiers/{dossier_id}/deposer")
    submitted = applicant_client.post(f"/porteur/dossiers/{dossier_id}/deposer")
    assert (submitted.status_code, submitted.headers["Location"]) == (302, f"/porteur/dossiers/{dossier_id}")
    assert time.monotonic() - started < 10  # short timeouts and retries, not a hanging request
    db.session.expire_all()
    row = db.session.get(Dossier, dossier_id)
    receipt = f"PTCE-{row.call.closes_at.year}-{dossier_id:06d}"
    assert (row.status, row.receipt_number, row.summary) == (
        DossierStatus.SUBMITTED, receipt, "Tapé pendant la panne de Redis")
    waiting = db.session.scalars(sa.select(OutboxEntry).order_by(OutboxEntry.id)).all()
    assert [(e.task, e.status) for e in waiting] == [
        (task, OutboxStatus.PENDING) for task in ("generate_receipt", "eligibility_check", "detect_conflicts")]
    assert waiting[0].last_error.startswith("Redis : ")
    # The reviewer scores meanwhile (the autosave's per-user limit, in memory now).
    form = reviewer_client.get(f"/rapporteur/dossiers/{reviewed_id}/evaluation")
    scored = reviewer_client.post(f"/rapporteur/dossiers/{reviewed_id}/evaluation", headers=AUTOSAVE, data=form_data(
        criteria, [4, 3, None, None, None, None], version=1, base=base_of(text(form))))
    assert (scored.status_code, scored.get_json()["ok"], scored.get_json()["version"]) == (200, True, 2)
    health = reviewer_client.get("/healthz")
    assert health.status_code == 503 and health.get_json()["queue"] != "ok"

    db.session.expire_all()
    pending = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)
                                .where(OutboxEntry.status == OutboxStatus.PENDING))
    redis_proxy.up()
    with redis_app.app_context():
        tick = redis_app.test_cli_runner().invoke(args=["ptce", "tick"])
        assert tick.exit_code == 0, tick.output
        handed = int(tick.output.strip().rsplit(", ", 1)[1].split()[0])
        assert handed >= pending == 3, tick.output  # the submission's 3 jobs (+ what tick itself planned)
        run_worker_burst()
        run_worker_burst()  # the mails the jobs queued
    db.session.expire_all()
    row = db.session.get(Dossier, dossier_id)
    assert row.receipt_key and row.status == DossierStatus.ELIGIBLE
    smtp.wait_for(4, timeout=1)
    # (tick also re-planned the eligibility check of the reviewed dossier, whose rows the set-up removed)
    assert sorted(m["Subject"] for m in smtp.to(email)) == [
        f"Accusé de réception de votre candidature n° {receipt}",
        "Résultat de l'examen d'éligibilité — Pôle Coopérations du Val"]
    assert set(db.session.scalars(sa.select(OutboxEntry.status))) == {OutboxStatus.DONE}
    review = db.session.scalar(sa.select(Review).join(Review.assignment).where(Assignment.dossier_id == reviewed_id))
    assert sorted(s.score for s in review.scores if s.score is not None) == [3, 4]


# --- The object store ---------------------------------------------------------------------------------------

@pytest.fixture
def s3_app(app, s3_proxy):
    """An app whose object store is the session's moto server, through the proxy."""
    from ptce_aap import jobs
    from ptce_aap.storage import get_storage

    with kept_limiter():
        other = make_app({"S3_ENDPOINT_URL": s3_proxy.url("http://127.0.0.1:{port}"),
                          "RQ_QUEUE": f"ptce-resil-{uuid.uuid4().hex[:8]}"})
        yield other
        with other.app_context():
            jobs.get_queue().empty()
        close_app(other)
    empty_prefixes(get_storage(app), "incoming/", "dossiers/")


STORAGE_503 = "Le stockage des fichiers est momentanément indisponible. Réessayez dans quelques instants."


def test_object_store_lost_during_an_upload_refuses_calmly_keeps_nothing_half_done_then_works_again(
        db, s3_app, s3_proxy, make_dossier, applicant):
    import requests

    from ptce_aap.enums import AttachmentStatus
    from ptce_aap.models.dossiers import Attachment
    from tests.unit.test_documents import pdf_bytes

    dossier = make_dossier(owner=applicant)
    dossier_id, user_id = dossier.id, applicant.get_id()
    db.session.commit()
    data = pdf_bytes(1)
    client = login(s3_app, user_id)
    pieces = f"/porteur/dossiers/{dossier_id}/pieces"
    started = client.post(f"{pieces}/televersement", headers=JSON, json={
        "document_type": "statuts", "filename": "statuts.pdf", "size": len(data), "content_type": "application/pdf"})
    assert started.status_code == 201
    body = started.get_json()
    assert body["url"].startswith(f"http://127.0.0.1:{s3_proxy.port}/")
    assert requests.post(body["url"], data=body["fields"], files={"file": ("statuts.pdf", data)},
                         timeout=10).status_code == 204
    attachment_id = body["attachment_id"]
    audit_before = audit_actions(db)

    s3_proxy.down()  # the store is gone between the browser's upload and the confirmation

    began = time.monotonic()
    confirmed = client.post(f"{pieces}/{attachment_id}/confirmer", headers=JSON, json={})
    assert time.monotonic() - began < 10  # short connect timeout, two attempts: not botocore's minutes
    assert confirmed.status_code == 503
    assert confirmed.get_json()["error"]["message"] == STORAGE_503  # what static/attachments.js shows
    db.session.expire_all()
    row = db.session.get(Attachment, attachment_id)
    assert (row.status, row.sha256) == (AttachmentStatus.UPLOADING, None)  # may be confirmed again
    assert audit_actions(db) == audit_before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 0

    # Without JavaScript the file goes through the app: refused in French beside the document, nothing kept.
    sent = client.post(f"{pieces}/envoi", data={"document_type": "statuts",
                                                "fichier": (io.BytesIO(data), "statuts.pdf", "application/pdf")},
                       content_type="multipart/form-data")
    assert sent.status_code == 503
    assert ("Le stockage des fichiers est momentanément indisponible : le fichier n'a pas été enregistré. "
            "Réessayez dans quelques minutes.") in text(sent)
    db.session.expire_all()
    assert db.session.scalars(sa.select(Attachment.id)).all() == [attachment_id]
    assert client.get(pieces).status_code == 200  # the page itself needs no store

    s3_proxy.up()
    confirmed = client.post(f"{pieces}/{attachment_id}/confirmer", headers=JSON, json={})
    assert (confirmed.status_code, confirmed.get_json()["status"]) == (200, "processing")
    assert audit_actions(db)[len(audit_before):] == ["attachment.received"]
