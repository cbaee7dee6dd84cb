"""Eligibility use cases: run the rules on a dossier, live advice on a draft, override, re-run for a call.

The rules themselves are pure (``domain.eligibility``); this module builds their inputs from the ORM,
stores each run as an ``EligibilityCheck`` (history kept: every run or override is a new row), moves the
dossier between ``submitted``, ``eligible`` and ``ineligible`` through ``set_dossier_status`` and queues
the applicants' mails. Nothing here commits: the caller (view or task) does.

An admin's override stands: the automatic runs (after submission, or a call's re-run) leave a dossier
whose latest check is an override alone, until the admin re-checks that dossier explicitly
(``run_check``) or overrides it again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ptce_aap import audit, jobs
from ptce_aap.domain import dossier_checks
from ptce_aap.domain import eligibility as rules
from ptce_aap.domain.eligibility import AttachmentFacts, CallFacts, DossierFacts, MemberFacts, Verdict
from ptce_aap.domain.messages import N_
from ptce_aap.domain.text import one_line
from ptce_aap.enums import AttachmentStatus, DecisionOutcome, DossierStatus, JobKind, JobStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Attachment, Dossier, EligibilityCheck, PoleMembership
from ptce_aap.models.outbox import JobRun
from ptce_aap.services.dossiers import set_dossier_status
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url

# The states in which a dossier's eligibility may be (re)examined.
CHECKABLE = (DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE, DossierStatus.INELIGIBLE)
AUTO_REASON = "Vérification automatique des conditions d’éligibilité."
RERUN_PREFIX = "eligibility_rerun:"
RERUN_STALE_AFTER = timedelta(hours=1)  # a re-run still "running" after this is presumed dead


# --- Facts -------------------------------------------------------------------------------------------

def previously_funded_sirens(call: Call, *, siren: str | None = None) -> frozenset[str]:
    """SIRENs of the structures porteuses that were laureates of another PTCE call on the platform; with
    ``siren``, only that SIREN's (through the indexed ``carrier_siren``: one dossier's check reads a row or
    none, not every laureate of every other call)."""
    query = (sa.select(Dossier.carrier_siret).join(Decision, Decision.dossier_id == Dossier.id)
             .where(Decision.is_current, Decision.outcome == DecisionOutcome.LAUREATE, Dossier.call_id != call.id))
    if siren is not None:
        query = query.where(Dossier.carrier_siren == siren)
    return frozenset(found for found in (rules.siren_of(s) for s in db.session.scalars(query)) if found)


def dossier_call_facts(dossier: Dossier) -> CallFacts:
    """``call_facts`` for one dossier: of the earlier laureates, only its own structure porteuse's SIREN is
    looked up (the rule looks for nothing else; without a valid SIRET it fails before looking)."""
    siren = rules.siren_of(dossier.carrier_siret or "")
    return call_facts(dossier.call, previously_funded=previously_funded_sirens(dossier.call, siren=siren)
                      if siren else frozenset())


def call_facts(call: Call, *, previously_funded: frozenset[str] | None = None) -> CallFacts:
    return CallFacts(
        settings=dict(call.eligibility_settings or {}),
        required_documents=tuple((dt.code, dt.label) for dt in call.document_types if dt.is_required),
        max_amount_eur=call.max_amount_eur,
        max_state_share=call.max_state_share,
        closes_at=call.closes_at,
        category_codes=tuple(c.code for c in call.categories),
        category_caps={c.code: c.max_amount_eur for c in call.categories if c.max_amount_eur is not None},
        previously_funded_sirens=(previously_funded if previously_funded is not None
                                  else previously_funded_sirens(call)),
    )


def _value(enum_or_none) -> str | None:
    return None if enum_or_none is None else enum_or_none.value


def refused_after_submission(attachment, dossier: Dossier) -> bool:
    """Refused by the verification after the dossier was submitted (the submission did not wait for it)."""
    return (attachment.status == AttachmentStatus.REJECTED and dossier.submitted_at is not None
            and attachment.processed_at is not None and attachment.processed_at >= dossier.submitted_at)


def dossier_facts(dossier: Dossier, *, as_draft: bool = False) -> DossierFacts:
    expenses, resources = dossier_checks.totals(dossier.financing_lines)
    return DossierFacts(
        carrier_siret=dossier.carrier_siret or "",
        carrier_legal_form=_value(dossier.carrier_legal_form),
        members=tuple(MemberFacts(name=m.name, category=_value(m.category), siret=m.siret or "",
                                  department=m.department or "", is_legal_person=m.is_legal_person)
                      for m in dossier.members),
        departments=tuple(dossier.departments or ()),
        expenses_eur=expenses,
        resources_eur=resources,
        financing_line_count=len(dossier.financing_lines),
        amount_requested_eur=dossier.amount_requested_eur,
        total_budget_eur=dossier.total_budget_eur,
        attachments=tuple(AttachmentFacts(document_type_code=a.document_type_code, status=a.status.value,
                                          scan_status=a.scan_status.value, filename=a.filename,
                                          rejection_reason=a.rejection_reason or "",
                                          refused_after_submission=refused_after_submission(a, dossier))
                          for a in dossier.attachments),
        submitted_at=None if as_draft else dossier.submitted_at,
        category_code=dossier.category_code,
    )


def live_advice(dossier: Dossier, *, now: datetime | None = None, facts: CallFacts | None = None) -> Verdict:
    """The rules run on a draft, as advice: the deadline rule tells whether it can still be submitted."""
    return rules.evaluate(dossier_facts(dossier, as_draft=True), facts or dossier_call_facts(dossier),
                          now=now or utcnow())


# --- Reading checks ----------------------------------------------------------------------------------

def latest_check(dossier: Dossier) -> EligibilityCheck | None:
    return db.session.scalar(
        sa.select(EligibilityCheck).where(EligibilityCheck.dossier_id == dossier.id)
        .order_by(EligibilityCheck.id.desc()).limit(1))


def latest_checks(dossier_ids: Iterable[int]) -> dict[int, EligibilityCheck]:
    """{dossier_id: its latest check} in one query."""
    ids = list(dossier_ids)
    if not ids:
        return {}
    latest_ids = (sa.select(sa.func.max(EligibilityCheck.id))
                  .where(EligibilityCheck.dossier_id.in_(ids)).group_by(EligibilityCheck.dossier_id))
    checks = db.session.scalars(sa.select(EligibilityCheck).where(EligibilityCheck.id.in_(latest_ids)))
    return {c.dossier_id: c for c in checks}


def latest_check_id_subquery():
    """A correlated scalar subquery: the id of ``Dossier``'s latest check (for list queries)."""
    return (sa.select(sa.func.max(EligibilityCheck.id)).where(EligibilityCheck.dossier_id == Dossier.id)
            .correlate(Dossier).scalar_subquery())


def check_history(dossier: Dossier) -> list[tuple[EligibilityCheck, object]]:
    """Every check of the dossier, newest first, each with its actor (a ``User`` or ``None``)."""
    return [tuple(row) for row in db.session.execute(
        sa.select(EligibilityCheck, User).outerjoin(User, User.id == EligibilityCheck.actor_id)
        .where(EligibilityCheck.dossier_id == dossier.id).order_by(EligibilityCheck.id.desc())).all()]


def applicant_view(dossier: Dossier) -> dict:
    """What ``templates/applicants/_eligibility.html`` needs: ``{"latest", "advice", "labels"}``.

    A draft gets the live advice; a submitted dossier its latest check (``None`` while it is pending).
    """
    if dossier.status == DossierStatus.DRAFT:
        return {"latest": None, "advice": live_advice(dossier), "labels": rules.RULE_LABELS}
    return {"latest": latest_check(dossier), "advice": None, "labels": rules.RULE_LABELS}


def failed_results(check: EligibilityCheck) -> list[dict]:
    return [r for r in (check.results or []) if not r.get("passed")]


# --- Running and overriding --------------------------------------------------------------------------

def _target(is_eligible: bool) -> DossierStatus:
    return DossierStatus.ELIGIBLE if is_eligible else DossierStatus.INELIGIBLE


def _require_checkable(dossier: Dossier) -> None:
    if dossier.status not in CHECKABLE:
        raise DomainError(N_("L’éligibilité d’un dossier « %(status)s » ne peut pas être examinée : seuls les "
                             "dossiers déposés, recevables ou irrecevables le peuvent.", status=dossier.status))


def run_check(dossier: Dossier, *, by=None, facts: CallFacts | None = None) -> EligibilityCheck:
    """Run the call's rules on a submitted dossier, store the check and move its status if the verdict
    changed (``submitted`` → ``eligible``/``ineligible``, or between the two). Audited; caller commits."""
    _require_checkable(dossier)
    read_status = dossier.status
    verdict = rules.evaluate(dossier_facts(dossier), facts or dossier_call_facts(dossier))
    check = EligibilityCheck(dossier_id=dossier.id, is_eligible=verdict.is_eligible,
                             results=[r.as_dict() for r in verdict.results], is_override=False,
                             actor_id=getattr(by, "id", None), ran_at=utcnow())
    db.session.add(check)
    target = _target(verdict.is_eligible)
    if read_status != target:
        set_dossier_status(dossier, target, by=by, expected_from=read_status, reason=AUTO_REASON)
    audit.record("dossier.eligibility_checked", dossier, actor=by, summary={
        "after": {"is_eligible": verdict.is_eligible, "failed": [r.code for r in verdict.failed]}})
    return check


def override(dossier: Dossier, *, is_eligible: bool, reason: str, by) -> EligibilityCheck:
    """The admin decides the verdict, with a written reason (required, kept and shown to the applicant).

    Stores an ``EligibilityCheck`` with ``is_override`` (the rule-by-rule results of the latest run are
    kept for reference), moves the status, audits, and tells the pole if the status changed."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(N_("Indiquez le motif de votre décision : il est obligatoire et sera conservé dans "
                             "l’historique du dossier."), field="reason")
    _require_checkable(dossier)
    previous = latest_check(dossier)
    before_status = dossier.status
    check = EligibilityCheck(dossier_id=dossier.id, is_eligible=is_eligible,
                             results=list(previous.results) if previous else [], is_override=True,
                             override_reason=reason, actor_id=by.id, ran_at=utcnow())
    db.session.add(check)
    target = _target(is_eligible)
    if before_status != target:
        set_dossier_status(dossier, target, by=by, expected_from=before_status, reason=reason)
    audit.record("dossier.eligibility_overridden", dossier, actor=by, summary={
        "before": {"status": before_status.value, "is_eligible": previous.is_eligible if previous else None},
        "after": {"status": dossier.status.value, "is_eligible": is_eligible}, "reason": reason})
    db.session.flush()
    if dossier.status != before_status:
        notify_result(dossier, check)
    return check


# --- Telling the pole --------------------------------------------------------------------------------

def pole_recipients(pole_ids: Iterable[int]) -> dict[int, list]:
    """{pole_id: [User, …]} of the people of each pole, in one query."""
    ids = list(set(pole_ids))
    recipients: dict[int, list] = defaultdict(list)
    if not ids:
        return recipients
    rows = db.session.execute(
        sa.select(PoleMembership.pole_id, User).join(User, User.id == PoleMembership.user_id)
        .where(PoleMembership.pole_id.in_(ids), User.is_disabled.is_(False)).order_by(PoleMembership.id))
    for pole_id, user in rows:
        recipients[pole_id].append(user)
    return recipients


def mail_context(dossier: Dossier, check: EligibilityCheck) -> dict:
    if check.is_eligible:
        verdict_text = "dossier recevable : il remplit les conditions d’éligibilité de l’appel à projets"
    else:
        verdict_text = "dossier irrecevable : il ne remplit pas les conditions d’éligibilité de l’appel à projets"
    if check.is_override:
        verdict_text += " (décision de l’administration)"
        failed = [] if check.is_eligible else [{"message": f"Motif : {check.override_reason}"}]
    else:
        failed = [{"message": r["message"] + ("" if r.get("mode") == "blocking"
                                              else " (point d’attention, non bloquant)")}
                  for r in failed_results(check)]
    return {"pole_name": one_line(dossier.pole_name, max_length=200), "verdict_text": verdict_text, "failed": failed,
            "next_steps": next_steps(dossier, check, has_points=bool(failed)),
            "link": external_url("applicants.dossier", dossier_id=dossier.id)}


def secretariat_text() -> str:
    """« secrétariat de l’appel à projets (adresse) », with its address when the platform has one."""
    address = current_app.config.get("SECRETARIAT_EMAIL")
    return "secrétariat de l’appel à projets" + (f" ({address})" if address else "")


def next_steps(dossier: Dossier, check: EligibilityCheck, *, has_points: bool) -> list[str]:
    """What the pole can do after the result, the dossier being submitted: it can no longer be changed, so
    never « ajoutez… » but who to write to. The same sentences on the dossier page and in the mail."""
    receipt = f" en indiquant votre numéro de récépissé {dossier.receipt_number}" if dossier.receipt_number else ""
    if not check.is_eligible:
        return [f"Un dossier déposé ne peut plus être modifié. Si ce résultat vous paraît erroné (une pièce ou une "
                f"information mal prise en compte), écrivez au {secretariat_text()}{receipt} : il peut réexaminer "
                "votre dossier et revenir sur ce résultat."]
    steps = ["Votre dossier sera examiné par les rapporteurs."]
    if has_points:
        steps.append("Les points d’attention ci-dessus ne rendent pas le dossier irrecevable : ils éclairent son "
                     "examen. Un dossier déposé ne peut plus être modifié ; pour apporter une précision, écrivez "
                     f"au {secretariat_text()}{receipt}.")
    return steps


def notify_result(dossier: Dossier, check: EligibilityCheck, recipients: list | None = None) -> None:
    """Queue the "eligibility_result" mail to every person of the pole (once per check and person)."""
    if check.id is None:
        db.session.flush()
    if recipients is None:
        recipients = pole_recipients([dossier.pole_id]).get(dossier.pole_id, [])
    context = mail_context(dossier, check)
    for user in recipients:
        notify(user.email, "eligibility_result", {"name": one_line(user.display_name, max_length=80), **context},
               dedupe_key=f"eligibility_result:{check.id}:{user.id}", user=user)


# --- Re-running a call -------------------------------------------------------------------------------

def rerun_name(call: Call) -> str:
    return f"{RERUN_PREFIX}{call.id}"


def call_id_of_run(run: JobRun) -> int | None:
    return run.call_id


def checkable_count(call: Call) -> int:
    return db.session.scalar(sa.select(sa.func.count(Dossier.id))
                             .where(Dossier.call_id == call.id, Dossier.status.in_(CHECKABLE))) or 0


def rerun_for_call(call: Call, *, by) -> JobRun:
    """Queue one background job re-running the rules on every submitted/eligible/ineligible dossier of
    the call; returns its ``JobRun`` (progress). A re-run already under way is returned instead of a
    second one. Audited; caller commits."""
    pending = db.session.scalar(
        sa.select(JobRun).where(JobRun.call_id == call.id, JobRun.kind == JobKind.ELIGIBILITY_RERUN,
                                JobRun.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                                JobRun.created_at > utcnow() - RERUN_STALE_AFTER)
        .order_by(JobRun.id.desc()).limit(1))
    if pending is not None:
        return pending
    total = checkable_count(call)
    run = JobRun(kind=JobKind.ELIGIBILITY_RERUN, call_id=call.id, name=rerun_name(call),
                 status=JobStatus.QUEUED, done=0, total=total, message="En attente de traitement.",
                 created_by_id=by.id, created_at=utcnow())
    db.session.add(run)
    db.session.flush()
    jobs.schedule("eligibility_rerun", dedupe_key=f"eligibility_rerun:{run.id}", job_run_id=run.id,
                  call_id=call.id)
    audit.record("call.eligibility_rerun", call, actor=by, summary={"after": {"job_run": run.id, "total": total}})
    return run


def progress(run: JobRun) -> dict:
    """The JSON of the progress endpoint."""
    return {"status": run.status.value, "status_label": str(run.status.label), "done": run.done,
            "total": run.total, "message": run.message}


def reschedule_missing_checks() -> int:
    """Submitted dossiers with no eligibility check and no check job waiting (its job failed for good)
    get a new job. Run by ``flask ptce tick``; the caller commits."""
    return len(jobs.reschedule_orphans(
        "eligibility_check", Dossier.id, Dossier.status == DossierStatus.SUBMITTED,
        Dossier.id.not_in(sa.select(EligibilityCheck.dossier_id)),
        # Files still being verified: the verification job queues the check once they are.
        Dossier.id.not_in(sa.select(Attachment.dossier_id).where(Attachment.status == AttachmentStatus.PROCESSING)),
        arg="dossier_id"))
