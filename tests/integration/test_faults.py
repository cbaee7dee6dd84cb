"""Faults on the real parts, and nothing lost: Redis stopped during a submission, a worker killed in the
middle of a job, storage down while a document is processed.

The SMTP server down then back up is covered by
``tests/integration/test_mail.py::test_smtp_down_keeps_the_notification_pending_then_sends_it_once_when_back``
(and its embedded twin ``test_embedded_mode_with_smtp_down_retries_at_the_next_tick``).

Where recovery waits on a clock (RQ's retry interval, the heartbeat of a dead worker, the lock of a dead
scheduler, the inline back-off), the test moves that one clock forward, through the same data the real
component reads, and says so; everything else runs as in production.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.enums import AttachmentStatus, DossierStatus, NotificationStatus, OutboxStatus, ScanStatus
from ptce_aap.models.accounts import User
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.models.outbox import Notification, OutboxEntry
from ptce_aap.services import notifications
from ptce_aap.storage import get_storage
from tests.conftest import FreshContextClient
from tests.fixtures import workers
from tests.fixtures.services import empty_prefixes, free_port
from tests.fixtures.workers import other_app, run_worker_burst
from tests.integration.test_jobs import run_due_retries
from tests.unit.test_documents import pdf_bytes

private_redis = workers.private_redis  # fixtures shared with test_jobs_workers.py
stalling_smtp = workers.stalling_smtp
worker_process = workers.worker_process

JSON = {"Accept": "application/json"}


# --- Helpers --------------------------------------------------------------------------------------

def login(app, user_id: str):
    """A test client of ``app`` logged in as the user ``user_id`` (the session ``login_as`` would set).

    Read ids before entering another app's context: an expired object of the test's session loaded
    there would take a connection from the other app's engine and keep it after that engine is gone.
    """
    from flask_login.utils import _create_identifier

    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
        session["_id"] = identifier
    return client


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def outbox(db) -> list[tuple[str, OutboxStatus, int]]:
    """Every outbox row as (task, status, attempts), in creation order."""
    db.session.expire_all()
    return [(e.task, e.status, e.attempts)
            for e in db.session.scalars(sa.select(OutboxEntry).order_by(OutboxEntry.id))]


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- Redis stopped during a submission ---------------------------------------------------------------

def test_redis_down_during_submission_saves_it_and_the_jobs_run_once_redis_is_back(
        app, db, make_dossier, applicant, private_redis, smtp):
    """The submission's two jobs (receipt, eligibility check) and their two mails, once each."""
    dossier_id = make_dossier(owner=applicant, complete=True).id
    user_id, email = applicant.get_id(), applicant.email
    private_redis.stop()

    with other_app({"REDIS_URL": private_redis.url, "RQ_QUEUE": "ptce"},
                   client_class=FreshContextClient) as redis_app:
        client = login(redis_app, user_id)
        started = time.monotonic()
        response = client.post(f"/porteur/dossiers/{dossier_id}/deposer")
        elapsed = time.monotonic() - started

        # The applicant is told it worked — and it did: the submission is committed, its jobs wait.
        assert response.status_code == 302
        assert response.headers["Location"] == f"/porteur/dossiers/{dossier_id}"
        assert elapsed < 5  # redis-py's short retries, not a hanging request
        db.session.expire_all()
        submitted = db.session.get(Dossier, dossier_id)
        receipt = f"PTCE-{submitted.call.closes_at.year}-{dossier_id:06d}"
        assert (submitted.status, submitted.receipt_number, submitted.receipt_key) == (
            DossierStatus.SUBMITTED, receipt, None)
        page = text(client.get(response.headers["Location"]))
        assert f"Votre dossier a été déposé. Récépissé n° {receipt} : il vous est aussi envoyé par courriel." in page
        not_yet = client.get(f"/porteur/dossiers/{dossier_id}/recepisse", follow_redirects=True)
        assert "Le récépissé est en cours de préparation : réessayez dans quelques instants." in text(not_yet)

        jobs_of_submission = ["generate_receipt", "eligibility_check", "detect_conflicts"]
        assert outbox(db) == [(task, OutboxStatus.PENDING, 0) for task in jobs_of_submission]
        first = db.session.scalars(sa.select(OutboxEntry).order_by(OutboxEntry.id)).first()
        assert first.last_error.startswith(f"Redis : Error 111 connecting to 127.0.0.1:{private_redis.port}.")
        assert smtp.messages == []

        # Redis is back on the same port: cron's ``flask ptce tick`` hands the rows over, a worker runs them.
        private_redis.start()
        tick = redis_app.test_cli_runner().invoke(args=["ptce", "tick"])
        assert tick.exit_code == 0, tick.output
        assert tick.output.strip().endswith("0 tâche(s) relancée(s), 3 transmise(s)")
        run_worker_burst()  # the three jobs, then the mails they queued (dispatched when each job succeeded)

        db.session.expire_all()
        submitted = db.session.get(Dossier, dossier_id)
        assert submitted.receipt_key == f"receipts/{submitted.call_id}/{dossier_id}/{receipt}.pdf"
        assert submitted.status == DossierStatus.ELIGIBLE
        mails = smtp.wait_for(2)
        assert sorted((m["To"], m["Subject"]) for m in mails) == [
            (email, f"Accusé de réception de votre candidature n° {receipt}"),  # plain spaces in headers
            (email, "Résultat de l'examen d'éligibilité — Pôle Coopérations du Val"),
        ]

        # Nothing lost, nothing twice — also after another tick and worker run.
        assert redis_app.test_cli_runner().invoke(args=["ptce", "tick"]).output.strip().endswith(
            "0 tâche(s) relancée(s), 0 transmise(s)")
        run_worker_burst()
        smtp.wait_for(3, timeout=0.5)
        assert len(smtp.messages) == 2
        assert count(db, Dossier) == 1
        assert count(db, Notification) == 2
        assert set(db.session.scalars(sa.select(Notification.status))) == {NotificationStatus.SENT}
        assert sorted(outbox(db)) == sorted(
            [(task, OutboxStatus.DONE, 1) for task in jobs_of_submission]
            + [("send_notification", OutboxStatus.DONE, 1)] * 2)


# --- A worker killed in the middle of a job ----------------------------------------------------------

class StalledSend:
    """A ``flask ptce worker`` process whose work horse is sending one notification and waits for the
    SMTP server's answer to ``RCPT TO`` (the stalling server), with the row locked."""

    def __init__(self, db, private_redis, stalling_smtp, worker_process):
        from flask import current_app

        self.queue_name = current_app.config["RQ_QUEUE"]
        self.env = {**os.environ, "REDIS_URL": private_redis.url, "RQ_QUEUE": self.queue_name,
                    "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(stalling_smtp.port)}
        self.notification_id = notifications.notify(
            "camille@example.org", "verify_email", {"name": "Camille", "link": "/compte/verifier/jeton"},
            dedupe_key="verify:killed-worker").id
        db.session.commit()
        assert jobs.dispatch_outbox() == 1
        self.job_id = jobs.job_id(db.session.scalars(sa.select(OutboxEntry)).one())
        self.queue = jobs.get_queue()
        self.worker = worker_process(env=self.env)
        assert stalling_smtp.entered.wait(timeout=20), self.worker.output()

    def job(self):
        from rq.job import Job

        return Job.fetch(self.job_id, connection=self.queue.connection)

    def make_retry_due(self) -> None:
        """Move the retry RQ scheduled (first interval: 10 s) to now."""
        self.queue.scheduled_job_registry.schedule(self.job(), datetime.now(UTC) - timedelta(seconds=1))


def _assert_killed_attempt_left_no_trace(db, send: StalledSend) -> None:
    _wait_until_unlocked(db, send.notification_id)  # PostgreSQL ended the dead horse's transaction
    notification = db.session.get(Notification, send.notification_id)
    assert (notification.status, notification.attempts, notification.sent_at) == (
        NotificationStatus.PENDING, 0, None)  # the attempt died with its transaction
    assert outbox(db) == [("send_notification", OutboxStatus.ENQUEUED, 1)]


def _assert_sent_once(db, send: StalledSend, stalling_smtp, smtp) -> None:
    from rq.job import JobStatus

    messages = stalling_smtp.capture.wait_for(1)
    assert [(m["To"], m["Subject"]) for m in messages] == [
        ("camille@example.org", "Confirmez votre adresse électronique")]
    _wait_for(lambda: outbox(db) == [("send_notification", OutboxStatus.DONE, 2)], "the outbox row is done")
    notification = db.session.get(Notification, send.notification_id)
    assert (notification.status, notification.attempts, notification.last_error) == (
        NotificationStatus.SENT, 1, "")
    _wait_for(lambda: send.job().get_status() == JobStatus.FINISHED, "RQ marked the job finished")
    stalling_smtp.capture.wait_for(2, timeout=0.5)
    assert len(stalling_smtp.capture.messages) == 1
    assert smtp.messages == []
    assert count(db, Notification) == 1
    assert len(outbox(db)) == 1


def test_worker_killed_while_sending_a_mail_the_job_is_retried_and_one_mail_arrives(
        app, db, private_redis, stalling_smtp, smtp, worker_process):
    """The whole worker (worker, work horse, scheduler) is SIGKILLed while its work horse waits for the
    SMTP server's answer to ``RCPT TO`` — as when its machine or container dies.

    What RQ does then (``rq`` 3.0): the job stays "started" until a worker's maintenance finds its
    execution expired (heartbeat TTL: 30 + 60 s) and, retries being left, schedules it again after the
    first retry interval (10 s); the dead scheduler's lock lives on for 61 s. Those three clocks are
    moved forward here (RQ's own ``StartedJobRegistry.cleanup(timestamp=…)``, the scheduled time, the
    lock's expiry); the recovery itself is a new ``flask ptce worker --burst`` process.
    """
    from rq.job import JobStatus
    from rq.scheduler import RQScheduler

    with other_app({"REDIS_URL": private_redis.url, "RQ_QUEUE": f"ptce-faults-{uuid.uuid4().hex[:8]}"}):
        send = StalledSend(db, private_redis, stalling_smtp, worker_process)
        # Mid-flight: RQ has the job started; the work horse holds the notification's row lock, so a
        # second runner of the same notification would skip it.
        assert send.job().get_status() == JobStatus.STARTED
        assert notifications.deliver(send.notification_id) == "busy"

        assert send.worker.kill() == -9
        _assert_killed_attempt_left_no_trace(db, send)
        assert send.job().get_status() == JobStatus.STARTED  # RQ does not know yet
        assert jobs.requeue_stale(older_than=timedelta(0)) == 0  # RQ still owns the job: left alone
        assert stalling_smtp.capture.messages == []
        stalling_smtp.release.set()  # the SMTP server answers again

        # RQ's maintenance, as it will run once the dead execution's heartbeat has expired:
        send.queue.started_job_registry.cleanup(timestamp=time.time() + 120)
        job = send.job()
        assert (job.get_status(), job.retries_left) == (JobStatus.SCHEDULED, len(jobs.RETRY_INTERVALS) - 1)
        assert jobs.requeue_stale(older_than=timedelta(0)) == 0  # a retry is scheduled: still RQ's
        send.make_retry_due()
        lock = RQScheduler.get_locking_key(send.queue_name)
        assert send.queue.connection.delete(lock) == 1  # the dead scheduler's lock, as if expired

        second = worker_process("--burst", env=send.env)
        assert second.wait(timeout=60) == 0, second.output()
        _assert_sent_once(db, send, stalling_smtp, smtp)


def test_work_horse_killed_while_sending_a_mail_its_worker_retries_it_and_one_mail_arrives(
        app, db, private_redis, stalling_smtp, smtp, worker_process):
    """Only the work horse is SIGKILLed (what the kernel's OOM killer would pick): the worker sees its
    horse die and RQ schedules the retry at once. Only the retry interval (10 s) is moved forward; the
    same running worker's scheduler enqueues the job and the worker sends the mail."""
    from rq.job import JobStatus

    with other_app({"REDIS_URL": private_redis.url, "RQ_QUEUE": f"ptce-faults-{uuid.uuid4().hex[:8]}"}):
        send = StalledSend(db, private_redis, stalling_smtp, worker_process)
        horses = [pid for pid in workers.descendants(send.worker.pid) if os.getpgid(pid) == pid]
        assert len(horses) == 1  # RQ's work horse leads its own process group; the scheduler does not
        os.kill(horses[0], signal.SIGKILL)

        _wait_for(lambda: send.job().get_status() == JobStatus.SCHEDULED, "RQ scheduled the retry")
        assert send.job().retries_left == len(jobs.RETRY_INTERVALS) - 1
        _assert_killed_attempt_left_no_trace(db, send)
        assert stalling_smtp.capture.messages == []
        stalling_smtp.release.set()

        send.make_retry_due()
        _assert_sent_once(db, send, stalling_smtp, smtp)
        assert send.worker.process.poll() is None  # the worker lived through it
        os.killpg(send.worker.pid, signal.SIGTERM)  # warm shutdown
        assert send.worker.wait(timeout=15) == 0, send.worker.output()


def _wait_for(condition, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _wait_until_unlocked(db, notification_id: int, timeout: float = 10) -> None:
    def unlocked() -> bool:
        row = db.session.execute(sa.select(Notification.id).where(Notification.id == notification_id)
                                 .with_for_update(skip_locked=True)).scalar_one_or_none()
        db.session.rollback()
        return row is not None

    _wait_for(unlocked, "the killed worker's row lock is released", timeout)


# --- Storage down during document processing ---------------------------------------------------------

class MotoServer:
    """A second moto S3 server, stopped and started by the test. moto keeps its data in the process,
    so it serves the same bucket and objects as the session's server."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
def second_s3(_app):
    server = MotoServer(free_port())
    server.start()
    yield server
    server.stop()
    empty_prefixes(get_storage(_app), "incoming/", "dossiers/")


def _pieces(dossier_id: int, tail: str = "") -> str:
    return f"/porteur/dossiers/{dossier_id}/pieces{tail}"


def _attachment(db, attachment_id: int) -> Attachment:
    db.session.expire_all()
    return db.session.get(Attachment, attachment_id)


def _processing_row(db) -> OutboxEntry:
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxEntry).filter_by(task="process_attachment")).one()


def _stored_keys(prefix: str) -> list[str]:
    storage = get_storage()
    return [item["Key"] for item in storage.client.list_objects_v2(
        Bucket=storage.bucket, Prefix=prefix).get("Contents", [])]


def test_storage_down_during_processing_keeps_the_file_processing_until_the_retry_succeeds(
        app, db, make_dossier, applicant, private_redis, second_s3):
    dossier_id = make_dossier(owner=applicant).id
    user_id = applicant.get_id()
    data = pdf_bytes(2)

    with other_app({"REDIS_URL": private_redis.url, "RQ_QUEUE": "ptce", "S3_ENDPOINT_URL": second_s3.url},
                   client_class=FreshContextClient) as s3_app:
        # Objects an earlier test left under the same dossier id (ids restart with each test) are not ours.
        left_before = set(_stored_keys(f"dossiers/{dossier_id}/"))
        client = login(s3_app, user_id)
        started = client.post(_pieces(dossier_id, "/televersement"), headers=JSON, json={
            "document_type": "statuts", "filename": "statuts.pdf", "size": len(data),
            "content_type": "application/pdf"})
        assert started.status_code == 201
        body = started.get_json()
        assert body["url"].startswith(second_s3.url)
        sent = requests.post(body["url"], data=body["fields"], files={"file": ("statuts.pdf", data)}, timeout=10)
        assert sent.status_code == 204
        attachment_id = body["attachment_id"]
        confirmed = client.post(_pieces(dossier_id, f"/{attachment_id}/confirmer"), headers=JSON, json={})
        assert (confirmed.status_code, confirmed.get_json()["status"]) == (200, "processing")
        tasks = [task for task, _status, _attempts in outbox(db)]  # + the staging copy's clean-up, if any
        assert tasks.count("process_attachment") == 1
        assert set(outbox(db)) == {(task, OutboxStatus.ENQUEUED, 0) for task in tasks}

        second_s3.stop()  # the store goes down before the worker gets to the file
        run_worker_burst()

        row = _attachment(db, attachment_id)
        assert (row.status, row.scan_status, row.sha256, row.processed_at) == (
            AttachmentStatus.PROCESSING, ScanStatus.PENDING, None, None)
        entry = _processing_row(db)
        assert (entry.status, entry.attempts) == (OutboxStatus.ENQUEUED, 1)
        assert entry.last_error.startswith(
            f'EndpointConnectionError: Could not connect to the endpoint URL: "{second_s3.url}/')
        assert set(outbox(db)) == {(task, OutboxStatus.ENQUEUED, 1) for task in tasks}  # all wait for RQ
        assert jobs.job_id(entry) in jobs.get_queue().scheduled_job_registry.get_job_ids()
        # Honest status for the applicant meanwhile, on the page and in the polled state.
        assert "Vérification en cours" in text(client.get(_pieces(dossier_id)))
        assert client.get(_pieces(dossier_id, "/etat")).get_json() == {"attachments": [
            {"id": attachment_id, "status": "processing", "label": "Vérification en cours",
             "scan_status": "pending"}]}

        second_s3.start()  # back, same address
        assert run_due_retries() == len(tasks)  # RQ's retries, made due now

        row = _attachment(db, attachment_id)
        assert (row.status, row.sha256, row.size, row.page_count, row.scan_status) == (
            AttachmentStatus.READY, hashlib.sha256(data).hexdigest(), len(data), 2, ScanStatus.NOT_SCANNED)
        assert set(outbox(db)) == {(task, OutboxStatus.DONE, 2) for task in tasks}
        assert set(db.session.scalars(sa.select(OutboxEntry.last_error))) == {""}
        assert client.get(_pieces(dossier_id, "/etat")).get_json()["attachments"][0]["status"] == "ready"
        assert sorted(set(_stored_keys(f"dossiers/{dossier_id}/")) - left_before) == [row.storage_key]
        assert count(db, Attachment) == 1
        assert len(outbox(db)) == len(tasks)
        assert count(db, Notification) == 0


def test_storage_down_in_inline_mode_keeps_the_file_processing_until_a_later_tick(
        app, db, make_dossier, applicant, second_s3):
    """The embedded mode (no Redis): the job runs in the dispatch after the commit; on failure its row
    goes back to pending and ``flask ptce tick`` runs it again after the back-off."""
    from ptce_aap.services import attachments

    dossier_id = make_dossier(owner=applicant).id
    user_id = applicant.id
    data = pdf_bytes(1)

    with other_app({"REDIS_URL": None, "S3_ENDPOINT_URL": second_s3.url}) as inline_app:
        assert inline_app.config["JOBS_INLINE"]
        dossier, user = db.session.get(Dossier, dossier_id), db.session.get(User, user_id)
        attachment = attachments.start_upload(dossier, document_type_code="statuts", filename="statuts.pdf",
                                              size=len(data), content_type="application/pdf", by=user)
        get_storage().put(attachment.storage_key, io.BytesIO(data), content_type="application/pdf")
        attachments.confirm_upload(attachment, dossier, by=user)
        db.session.commit()
        attachment_id = attachment.id

        tasks = [task for task, _status, _attempts in outbox(db)]  # + the staging copy's clean-up, if any
        assert tasks.count("process_attachment") == 1

        second_s3.stop()
        # The dispatch after the request runs the jobs inline: they fail without raising.
        assert jobs.dispatch_outbox() == len(tasks)
        assert _attachment(db, attachment_id).status == AttachmentStatus.PROCESSING
        assert set(outbox(db)) == {(task, OutboxStatus.PENDING, 1) for task in tasks}
        assert _processing_row(db).last_error.startswith("EndpointConnectionError")
        assert jobs.dispatch_outbox() == 0  # not due before the back-off

        second_s3.start()
        for entry in db.session.scalars(sa.select(OutboxEntry)):  # the back-off's time has passed
            entry.enqueued_at -= timedelta(seconds=jobs.RETRY_INTERVALS[0] + 1)
        db.session.commit()
        tick = inline_app.test_cli_runner().invoke(args=["ptce", "tick"])
        assert tick.exit_code == 0, tick.output
        assert tick.output.strip().endswith(f"0 tâche(s) relancée(s), {len(tasks)} transmise(s)")

        row = _attachment(db, attachment_id)
        assert (row.status, row.sha256, row.page_count) == (
            AttachmentStatus.READY, hashlib.sha256(data).hexdigest(), 1)
        assert set(outbox(db)) == {(task, OutboxStatus.DONE, 2) for task in tasks}
        assert len(outbox(db)) == len(tasks)
        assert _stored_keys(f"dossiers/{dossier_id}/") == [row.storage_key]
        assert count(db, Attachment) == 1
        assert count(db, Notification) == 0


def test_storage_down_longer_than_every_retry_does_not_leave_the_file_processing_forever(
        app, db, make_dossier, applicant, private_redis, second_s3):
    from ptce_aap.models.base import utcnow
    from ptce_aap.services import attachments, submission

    dossier_id, user_id = make_dossier(owner=applicant).id, applicant.id
    data = pdf_bytes(1)

    with other_app({"REDIS_URL": private_redis.url, "RQ_QUEUE": "ptce", "S3_ENDPOINT_URL": second_s3.url}) as s3_app:
        dossier, user = db.session.get(Dossier, dossier_id), db.session.get(User, user_id)
        attachment = attachments.start_upload(dossier, document_type_code="statuts", filename="statuts.pdf",
                                              size=len(data), content_type="application/pdf", by=user)
        get_storage().put(attachment.storage_key, io.BytesIO(data), content_type="application/pdf")
        attachments.confirm_upload(attachment, dossier, by=user)
        db.session.commit()
        attachment_id = attachment.id
        jobs.dispatch_outbox()

        second_s3.stop()  # down for longer than every retry RQ has
        run_worker_burst()
        for _retry in jobs.RETRY_INTERVALS:
            run_due_retries()
        entry = _processing_row(db)
        assert (entry.status, entry.attempts) == (OutboxStatus.FAILED, jobs.MAX_ATTEMPTS)
        assert _attachment(db, attachment_id).status == AttachmentStatus.PROCESSING

        second_s3.start()  # back; cron's tick and the worker run as usual
        tick = s3_app.test_cli_runner().invoke(args=["ptce", "tick"])
        assert tick.exit_code == 0, tick.output
        run_worker_burst()

        row = _attachment(db, attachment_id)
        problems = [p.message for p in submission.blocking_problems(row.dossier, now=utcnow())]
        assert "« statuts.pdf » est en cours de vérification : patientez quelques instants." not in problems
        assert row.status in (AttachmentStatus.READY, AttachmentStatus.REJECTED)
        if row.status == AttachmentStatus.READY:  # processed again once the store was back
            assert row.sha256 == hashlib.sha256(data).hexdigest()
        else:  # or given up honestly: the applicant is asked to send it again
            assert "à nouveau" in row.rejection_reason
        assert count(db, Attachment) == 1
