"""Every background task, in one place: ids in, one service call, one commit.

A task is registered with ``@task`` when ``create_app`` imports this module; ``jobs.run_outbox_entry``
(RQ worker or inline) runs it by name. Services never commit: the task's ``jobs.transaction()`` does, once.
A task must be idempotent: it may run twice (a worker killed mid-run, a row requeued). Raise to be
retried; raise ``jobs.GiveUp`` to stop.
"""

from __future__ import annotations

from ptce_aap import jobs
from ptce_aap.extensions import db
from ptce_aap.jobs import task
from ptce_aap.models.calls import Call
from ptce_aap.services import (
    accounts,
    attachment_processing,
    conflicts,
    decision_letters,
    documents_zip,
    eligibility_runs,
    minutes,
    notifications,
    receipts,
    submission,
)


@task("noop")
def task_noop(**kwargs) -> None:
    """Does nothing; used by health checks and tests of the outbox."""


@task("send_notification")
def task_send_notification(notification_id: int) -> str:
    """Send one ``Notification`` by mail, at most once. A failed attempt is committed too (it counts
    towards ``MAIL_MAX_ATTEMPTS``); the row lock taken by ``deliver`` lasts until this commit."""
    with jobs.transaction(keep_failure=True):
        return notifications.deliver(notification_id)


@task("process_attachment")
def task_process_attachment(attachment_id: int) -> str:
    """Fingerprint, type-check and scan a confirmed upload (row locked until the commit); then, in a second
    transaction (no attachment lock held), queue the receipt and the eligibility check of a dossier submitted
    while its files were being verified, if this was the last one. A crash between the two leaves this job
    unfinished: run again, the first step finds the file verified and the second one is done then."""
    with jobs.transaction():
        outcome = attachment_processing.process_attachment(attachment_id)
        dossier_id = attachment_processing.dossier_id_of(attachment_id)
    if dossier_id is not None and outcome != "busy":
        with jobs.transaction():
            submission.after_verification(dossier_id)
    return outcome


@task("delete_stored_object")
def task_delete_stored_object(backend: str, key: str) -> str:
    """Remove the object of a deleted or replaced attachment (no-op while a row still points to it)."""
    with jobs.transaction():
        return attachment_processing.delete_stored_object(backend, key)


@task("generate_receipt")
def task_generate_receipt(dossier_id: int) -> str:
    """Store the receipt of a submitted dossier and queue its mails."""
    with jobs.transaction():
        return receipts.issue_receipt(dossier_id)


@task("generate_minutes")
def task_generate_minutes(session_id: int, by_id: int | None = None) -> str:
    """The procès-verbal of a committee session: rendered, stored, its fingerprint recorded."""
    with jobs.transaction():
        return minutes.generate_minutes(session_id, by_id=by_id)


@task("issue_decision_letter")
def task_issue_decision_letter(decision_id: int) -> str:
    """Store the letter of a notified decision (its SHA-256 audited) and queue its mails."""
    with jobs.transaction():
        return decision_letters.issue_letter(decision_id)


@task("eligibility_check")
def task_eligibility_check(dossier_id: int, force: bool = False) -> str:
    """The eligibility check after a submission: check, status and mails in one commit."""
    with jobs.transaction():
        return eligibility_runs.check_after_submission(dossier_id, force=force)


@task("eligibility_rerun")
def task_eligibility_rerun(job_run_id: int, call_id: int) -> str:
    """A call's eligibility re-run. Each batch is committed (``checkpoint``) so that the admin's page
    shows the progress and a retried run resumes after the last committed batch; a failed try is
    recorded on the ``JobRun`` in its own transaction before the error goes on to be retried."""
    try:
        with jobs.transaction():
            return eligibility_runs.rerun(job_run_id, call_id, checkpoint=db.session.commit)
    except Exception as exc:
        with jobs.transaction():
            eligibility_runs.record_failure(job_run_id, exc, last_attempt=jobs.is_last_attempt())
        raise


@task("eligibility_rerun_batch")
def task_eligibility_rerun_batch(job_run_id: int, call_id: int, dossier_ids: list[int]) -> str:
    """One batch of a call's re-run (scheduled by ``eligibility_rerun``): its checks, mails and progress in
    one commit; a failed try is recorded on the ``JobRun`` like the run's."""
    try:
        with jobs.transaction():
            return eligibility_runs.rerun_batch(job_run_id, call_id, dossier_ids)
    except Exception as exc:
        with jobs.transaction():
            eligibility_runs.record_failure(job_run_id, exc, last_attempt=jobs.is_last_attempt())
        raise


@task("documents_zip")
def task_documents_zip(job_run_id: int, call_id: int) -> str:
    """The ZIP of a call's documents: progress committed every few files (``checkpoint``); a failed try is
    recorded on the ``JobRun`` in its own transaction before the error goes on to be retried."""
    try:
        with jobs.transaction():
            return documents_zip.build(job_run_id, call_id, checkpoint=db.session.commit)
    except Exception as exc:
        with jobs.transaction():
            documents_zip.record_failure(job_run_id, exc, last_attempt=jobs.is_last_attempt())
        raise


@task("account_mail")
def task_account_mail(kind: str, email: str, then: str | None = None) -> str:
    """A verification or reset link asked for by address; sent only if the account allows it."""
    with jobs.transaction():
        return accounts.send_account_mail(kind, email, then=then) or "done"


@task("detect_conflicts")
def task_detect_conflicts(call_id: int) -> str:
    """Conflict detection over a call after a submission (idempotent: rows already there are kept)."""
    with jobs.transaction():
        call = db.session.get(Call, call_id)
        if call is None:
            return "no call"
        added, removed = conflicts.detect_conflicts(call)
        return f"added {added}, removed {removed}"
