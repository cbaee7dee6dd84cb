"""Eligibility runs made by tasks (``ptce_aap.tasks``): the check after a submission, a call's re-run.

- ``check_after_submission(dossier_id)``: the check ``submit_dossier`` schedules. Runs the rules, stores
  the check, moves the dossier to ``eligible``/``ineligible`` and queues the pole's mails — the task
  commits it all at once; the mails are dispatched after it. Safe to run again: if the check was already
  committed (a worker killed after its commit, a requeued row), it only makes sure the mails of that check
  are queued (deduplicated per check and person), so each person gets exactly one mail. ``force=True``
  runs the rules again and adds a new check (history kept).
- ``rerun(job_run_id, call_id, checkpoint=…)``: the admin's "Relancer l'éligibilité" for a whole call, in
  batches; ``checkpoint()`` (the task's commit) is called after each batch so that the progress
  (``JobRun.done``/``total``) shows. Retried after a crash, it resumes: dossiers already re-checked by this
  run are not checked twice. Mails go only to poles whose status changed. ``record_failure`` writes
  what the admin sees when a try fails.

Nothing here commits by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ptce_aap.domain import dossier_checks
from ptce_aap.domain.formatting import format_number
from ptce_aap.enums import DossierStatus, JobStatus
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, EligibilityCheck
from ptce_aap.models.outbox import JobRun
from ptce_aap.services import eligibility as service

logger = logging.getLogger("ptce_aap.eligibility")

BATCH_SIZE = 100


def _count(n: int, singular: str, plural: str) -> str:
    return f"{format_number(n)} {singular if n < 2 else plural}"  # French: 0 and 1 take the singular


def _progress(run: JobRun) -> str:
    return f"Dossiers vérifiés : {format_number(run.done)} sur {format_number(run.total)}."


def check_after_submission(dossier_id: int, force: bool = False) -> str:
    """Check one dossier (row locked until the caller's commit). Returns the verdict or why not."""
    dossier = db.session.execute(
        sa.select(Dossier).where(Dossier.id == dossier_id).with_for_update()).scalar_one_or_none()
    if dossier is None:
        return "missing"
    if dossier.status not in service.CHECKABLE:  # withdrawn, or already in review: left alone
        return f"skipped ({dossier.status.value})"
    if dossier_checks.pending_verification(dossier):  # scheduled again once they are verified (``submission``)
        return "waiting for the verification of its documents"
    latest = service.latest_check(dossier)
    if latest is not None and latest.is_override and not force:
        return "overridden"  # the admin's decision stands
    if force or latest is None or dossier.status == DossierStatus.SUBMITTED or _before_verification(latest, dossier):
        check = service.run_check(dossier, by=None)
    else:
        check = latest  # already checked and committed: only (re)queue its mails, deduplicated
    service.notify_result(dossier, check)
    return "eligible" if check.is_eligible else "ineligible"


def _before_verification(check: EligibilityCheck, dossier: Dossier) -> bool:
    """The check ran before the verification of a file ended (an admin's re-check while the dossier's files
    were in the queue): it read no scan, it is run again."""
    verified = [a.processed_at for a in dossier.attachments if a.processed_at is not None]
    return bool(verified) and check.ran_at < max(verified)


def _batches(items: list[int], size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def rerun(job_run_id: int, call_id: int, *, checkpoint: Callable[[], None]) -> str:
    """Re-run the rules on the call's checkable dossiers, calling ``checkpoint()`` after each batch."""
    run = db.session.get(JobRun, job_run_id)
    call = db.session.scalar(sa.select(Call).where(Call.id == call_id)
                             .options(selectinload(Call.document_types), selectinload(Call.categories)))
    if run is None or call is None:
        return "missing"
    if run.status in (JobStatus.DONE, JobStatus.FAILED):
        return f"already {run.status.value}"
    return _rerun(run, call, checkpoint)


def record_failure(job_run_id: int, exc: Exception, *, last_attempt: bool) -> None:
    """After a failed try (its changes rolled back): tell the admin, and end the run if no try is left."""
    run = db.session.get(JobRun, job_run_id)
    if last_attempt:
        run.status = JobStatus.FAILED
        run.finished_at = utcnow()
        run.message = (f"La vérification s’est arrêtée sur une erreur ({_progress(run)[:-1].lower()}) : "
                       f"relancez-la. ({type(exc).__name__})")
    else:
        run.message = (f"Incident ({_progress(run)[:-1].lower()}) : nouvelle tentative automatique dans "
                       "quelques instants.")


def _rerun(run: JobRun, call: Call, checkpoint: Callable[[], None]) -> str:
    ids = list(db.session.scalars(
        sa.select(Dossier.id).where(Dossier.call_id == call.id, Dossier.status.in_(service.CHECKABLE))
        .order_by(Dossier.id)))
    already: set[int] = set()
    if run.status == JobStatus.RUNNING:  # a retried run resumes: skip what it already re-checked
        already = set(db.session.scalars(
            sa.select(EligibilityCheck.dossier_id).distinct()
            .join(Dossier, Dossier.id == EligibilityCheck.dossier_id)
            .where(Dossier.call_id == call.id, EligibilityCheck.ran_at >= run.created_at)))
    todo = [i for i in ids if i not in already]
    run.status = JobStatus.RUNNING
    run.total = len(ids)
    run.done = len(ids) - len(todo)
    run.message = _progress(run)
    checkpoint()
    facts = service.call_facts(call)
    kept_overrides = changed = 0
    for batch in _batches(todo, BATCH_SIZE):
        dossiers = db.session.scalars(
            sa.select(Dossier).where(Dossier.id.in_(batch)).order_by(Dossier.id).with_for_update()
            .options(selectinload(Dossier.members), selectinload(Dossier.financing_lines),
                     selectinload(Dossier.attachments))).all()
        latest = service.latest_checks(batch)
        changed_now = []
        for dossier in dossiers:
            if dossier.status not in service.CHECKABLE or dossier_checks.pending_verification(dossier):
                continue  # left alone; a dossier whose files are being verified is checked once they are
            previous = latest.get(dossier.id)
            if previous is not None and previous.is_override:
                kept_overrides += 1
                continue
            before = dossier.status
            check = service.run_check(dossier, by=None, facts=facts)
            if dossier.status != before:
                changed_now.append((dossier, check))
        if changed_now:
            recipients = service.pole_recipients(d.pole_id for d, _check in changed_now)
            for dossier, check in changed_now:
                service.notify_result(dossier, check, recipients.get(dossier.pole_id, []))
        changed += len(changed_now)
        run.done += len(batch)
        run.message = _progress(run)
        checkpoint()
    counts = dict(db.session.execute(
        sa.select(Dossier.status, sa.func.count(Dossier.id))
        .where(Dossier.call_id == call.id, Dossier.status.in_([DossierStatus.ELIGIBLE, DossierStatus.INELIGIBLE]))
        .group_by(Dossier.status)).all())
    parts = [_count(run.total, "dossier vérifié", "dossiers vérifiés") + " : "
             + _count(counts.get(DossierStatus.ELIGIBLE, 0), "recevable", "recevables") + ", "
             + _count(counts.get(DossierStatus.INELIGIBLE, 0), "irrecevable", "irrecevables") + "."]
    parts.append(_count(changed, "statut a changé", "statuts ont changé") + " lors de cette vérification.")
    if kept_overrides:
        parts.append(_count(kept_overrides, "verdict forcé par l’administration a été conservé",
                            "verdicts forcés par l’administration ont été conservés") + ".")
    run.status = JobStatus.DONE
    run.done = run.total
    run.finished_at = utcnow()
    run.message = "Terminé. " + " ".join(parts)
    logger.info("eligibility re-run done", extra={"job_run": run.id, "total": run.total, "changed": changed})
    return "done"
