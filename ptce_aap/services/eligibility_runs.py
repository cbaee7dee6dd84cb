"""Eligibility runs made by tasks (``ptce_aap.tasks``): the check after a submission, a call's re-run.

- ``check_after_submission(dossier_id)``: the check ``submit_dossier`` schedules. Runs the rules, stores
  the check, moves the dossier to ``eligible``/``ineligible`` and queues the pole's mails — the task
  commits it all at once; the mails are dispatched after it. Safe to run again: if the check was already
  committed (a worker killed after its commit, a requeued row), it only makes sure the mails of that check
  are queued (deduplicated per check and person), so each person gets exactly one mail. ``force=True``
  runs the rules again and adds a new check (history kept).
- ``rerun(job_run_id, call_id, checkpoint=…)``: the admin's "Relancer l'éligibilité" for a whole call, in
  batches of ``BATCH_SIZE`` dossiers: it checks the first batch itself and schedules every other one as a job
  of its own (``rerun_batch``, task ``eligibility_rerun_batch``), so that every free worker takes part (10,000
  dossiers in one job kept one worker busy for minutes while the others waited). Each batch commits its
  checks, mails and progress together: ``JobRun.done`` is added to in one UPDATE, and the batch that brings it
  to ``total`` writes the summary (``_finish``, from the database: the statuses changed are the run's
  automatic transitions). ``checkpoint()`` (the task's commit) shows the run started. Retried after a crash,
  it resumes: dossiers already re-checked by this run are not checked twice. Mails go only to poles whose
  status changed. ``record_failure`` writes what the admin sees when a try fails.

Nothing here commits by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ptce_aap import jobs
from ptce_aap.domain import dossier_checks
from ptce_aap.domain.formatting import format_number
from ptce_aap.enums import DossierStatus, JobStatus
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, DossierTransition, EligibilityCheck
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
        already = _checked_since(run, call.id)
    todo = [i for i in ids if i not in already]
    run.status = JobStatus.RUNNING
    run.total = len(ids)
    run.done = len(ids) - len(todo)
    run.message = _progress(run)
    checkpoint()
    batches = list(_batches(todo, BATCH_SIZE))
    if not batches:
        _finish(run, call.id)
        return "done"
    # The other batches are jobs of their own, taken by whichever workers are free; they are dispatched when
    # this task commits (a failure below rolls them back with the rest: the retry schedules them again).
    for batch in batches[1:]:
        jobs.schedule("eligibility_rerun_batch", dedupe_key=f"eligibility_rerun:{run.id}:{batch[0]}",
                      job_run_id=run.id, call_id=call.id, dossier_ids=batch)
    return _check_batch(run, call, batches[0])


def rerun_batch(job_run_id: int, call_id: int, dossier_ids: list[int]) -> str:
    """One batch of a call's re-run (a job of its own, see ``rerun``): checks, mails, the run's progress
    counted atomically; the batch that completes the count writes the run's summary."""
    run = db.session.get(JobRun, job_run_id)
    call = db.session.scalar(sa.select(Call).where(Call.id == call_id)
                             .options(selectinload(Call.document_types), selectinload(Call.categories)))
    if run is None or call is None:
        return "missing"
    if run.status == JobStatus.FAILED:  # ended on an error: the admin starts a new run
        return "already failed"
    return _check_batch(run, call, dossier_ids)


def _checked_since(run: JobRun, call_id: int, among: list[int] | None = None) -> set[int]:
    """Dossiers of the call already checked by this run (a check since the run was asked for)."""
    query = (sa.select(EligibilityCheck.dossier_id).distinct()
             .join(Dossier, Dossier.id == EligibilityCheck.dossier_id)
             .where(Dossier.call_id == call_id, EligibilityCheck.ran_at >= run.created_at))
    if among is not None:
        query = query.where(EligibilityCheck.dossier_id.in_(among))
    return set(db.session.scalars(query))


def _check_batch(run: JobRun, call: Call, batch: list[int]) -> str:
    """Check the dossiers of ``batch`` (rows locked until the caller's commit) not yet checked by this run,
    queue the mails of those whose status changed, then add the batch to the run's ``done`` in one UPDATE (row
    lock until the commit: batches committing at once count one after the other). Returns "done" if this
    batch completed the run."""
    facts = service.call_facts(call)
    dossiers = db.session.scalars(
        sa.select(Dossier).where(Dossier.id.in_(batch)).order_by(Dossier.id).with_for_update()
        .options(selectinload(Dossier.members), selectinload(Dossier.financing_lines),
                 selectinload(Dossier.attachments))).all()
    already = _checked_since(run, call.id, batch)  # this batch run twice (a worker killed after its commit)
    latest = service.latest_checks(batch)
    changed_now = []
    for dossier in dossiers:
        if dossier.id in already or dossier.status not in service.CHECKABLE \
                or dossier_checks.pending_verification(dossier):
            continue  # left alone; a dossier whose files are being verified is checked once they are
        previous = latest.get(dossier.id)
        if previous is not None and previous.is_override:
            continue  # the admin's verdict stands (counted in the summary)
        before = dossier.status
        check = service.run_check(dossier, by=None, facts=facts)
        if dossier.status != before:
            changed_now.append((dossier, check))
    if changed_now:
        recipients = service.pole_recipients(d.pole_id for d, _check in changed_now)
        for dossier, check in changed_now:
            service.notify_result(dossier, check, recipients.get(dossier.pole_id, []))
    db.session.flush()
    # Every dossier of the batch counts, checked or left alone (as the run's total counts them all). Capped at
    # the total: a batch run twice (its worker killed between its commit and the outbox's) checks nothing
    # twice but may end the count early; its dossiers are checked all the same.
    added = len(batch)
    done, total = db.session.execute(
        sa.update(JobRun).where(JobRun.id == run.id)
        .values(done=sa.case((JobRun.done + added > JobRun.total, JobRun.total), else_=JobRun.done + added))
        .returning(JobRun.done, JobRun.total).execution_options(synchronize_session=False)).one()
    db.session.refresh(run)
    if run.status != JobStatus.RUNNING:
        return f"batch of {len(batch)} (run already {run.status.value})"
    if done < total:
        run.message = _progress(run)
        return f"batch of {len(batch)}"
    _finish(run, call.id)
    return "done"


def _finish(run: JobRun, call_id: int) -> None:
    """The run's summary, from the database once every batch is committed (they may have run in several
    workers): the call's verdicts, the statuses this run changed (its automatic transitions since it was
    asked for) and the admin's verdicts it kept."""
    counts = dict(db.session.execute(
        sa.select(Dossier.status, sa.func.count(Dossier.id))
        .where(Dossier.call_id == call_id, Dossier.status.in_([DossierStatus.ELIGIBLE, DossierStatus.INELIGIBLE]))
        .group_by(Dossier.status)).all())
    changed = db.session.scalar(
        sa.select(sa.func.count(DossierTransition.id)).join(Dossier, Dossier.id == DossierTransition.dossier_id)
        .where(Dossier.call_id == call_id, DossierTransition.at >= run.created_at,
               DossierTransition.actor_id.is_(None), DossierTransition.reason == service.AUTO_REASON)) or 0
    latest = (sa.select(EligibilityCheck.is_override)
              .where(EligibilityCheck.dossier_id == Dossier.id)
              .order_by(EligibilityCheck.id.desc()).limit(1).scalar_subquery())
    kept_overrides = db.session.scalar(
        sa.select(sa.func.count(Dossier.id))
        .where(Dossier.call_id == call_id, Dossier.status.in_(service.CHECKABLE), latest.is_(True))) or 0
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
