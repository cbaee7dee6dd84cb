"""Submitting and withdrawing a dossier.

``submit_dossier`` happens exactly once even on a double click or from two tabs: the status moves
under the dossier's row lock, through ``set_dossier_status`` guarded by ``expected_from=draft`` (and
the row's version counter); the loser waits for the lock, re-reads a submitted dossier and queues
nothing. The receipt PDF and its mail are produced by jobs queued in the same transaction (dedupe keys
per dossier), so they also happen once.

A dossier whose files are all sent may be submitted while some are still being verified (SHA-256,
antivirus: the ``process_attachment`` job): the verification queue's delay must never be the submission's.
The receipt (it prints each file's SHA-256) and the eligibility check (its "documents" rule reads each scan)
then wait: the verification job calls ``after_verification`` when it is done, and the last pending file
queues them. A file the antivirus blocks still blocks the submission.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from ptce_aap import jobs
from ptce_aap.domain import dossier_checks
from ptce_aap.domain.eligibility import CallFacts, siren_of
from ptce_aap.domain.formatting import paris_today
from ptce_aap.domain.messages import N_
from ptce_aap.enums import CallStatus, DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.dossiers import Dossier
from ptce_aap.permissions import dossier_is_withdrawable
from ptce_aap.services.dossiers import call_rules, set_dossier_status


class AlreadySubmitted(DomainError):
    category = "info"

    def __init__(self):
        super().__init__(N_("Ce dossier a déjà été déposé : il n'a pas été déposé une seconde fois."))


def receipt_number_for(dossier: Dossier) -> str:
    return f"PTCE-{dossier.call.closes_at.year}-{dossier.id:06d}"


def blocking_problems(dossier: Dossier, *, now: datetime, rules: CallFacts | None = None) -> list[dossier_checks.Problem]:
    rules = rules if rules is not None else call_rules(dossier.call, dossier=dossier)
    return dossier_checks.check_dossier(dossier, rules, today=paris_today(now))


def submit_dossier(dossier: Dossier, *, by, now: datetime) -> Dossier:
    """Submit a complete draft before the deadline (server clock). Caller commits."""
    call = dossier.call
    if dossier.status != DossierStatus.DRAFT:
        raise AlreadySubmitted()
    if call.status != CallStatus.OPEN or now >= call.closes_at:
        raise DomainError(N_("La date limite de dépôt est dépassée : le dossier ne peut plus être déposé."))
    if now < call.opens_at:
        raise DomainError(N_("L'appel à projets n'est pas encore ouvert."))
    # Lock the row, then check the dossier as it is now: a co-editor's save that committed after this
    # request loaded the dossier is seen; one that comes later waits and then meets a submitted dossier.
    db.session.execute(sa.select(Dossier.id).where(Dossier.id == dossier.id).with_for_update())
    db.session.refresh(dossier)
    for collection in ("members", "financing_lines", "attachments"):
        db.session.expire(dossier, [collection])
    if dossier.status != DossierStatus.DRAFT:
        raise AlreadySubmitted()
    rules = call_rules(call, dossier=dossier)
    siren = siren_of(dossier.carrier_siret)
    if siren in rules.taken_sirens:  # one dossier per pole per call: say why, not just "incomplete"
        raise DomainError(dossier_checks.one_per_call_message(siren, rules.taken_sirens[siren]),
                          field="carrier_siret")
    problems = blocking_problems(dossier, now=now, rules=rules)
    if problems:
        raise DomainError(N_("Le dossier est incomplet : corrigez les points signalés avant de le déposer."))
    receipt = receipt_number_for(dossier)
    # Files still in the verification queue do not hold the submission back (a pole never misses the deadline
    # because the queue is slow); they are recorded with it.
    pending = dossier_checks.pending_verification(dossier)
    details = {"receipt": receipt}
    if pending:
        details["pending_attachments"] = [a.id for a in pending]
    # Under the row lock, the status just re-read is the truth: the guard makes the move happen once.
    set_dossier_status(dossier, DossierStatus.SUBMITTED, by=by, expected_from=DossierStatus.DRAFT, at=now,
                       details=details)
    dossier.submitted_at = now
    dossier.receipt_number = receipt
    dossier.updated_at = now
    dossier.updated_by_id = by.id
    try:
        db.session.flush()
    except StaleDataError:  # without a row lock (SQLite), the version counter tells the second request
        raise AlreadySubmitted() from None
    if not pending:  # otherwise the receipt and the check wait for the verification (``after_verification``)
        _schedule_follow_ups(dossier)
    # The pool's conflicts of interest with this dossier (SIREN matches, co-editors), after the commit.
    jobs.schedule("detect_conflicts", dedupe_key=f"conflicts:submit:{dossier.id}", call_id=dossier.call_id)
    db.session.flush()
    return dossier


def _schedule_follow_ups(dossier: Dossier) -> None:
    """The receipt (each document's SHA-256) and the eligibility check ("documents": each scan) of a
    submission, once its files are verified; once per dossier (dedupe keys)."""
    jobs.schedule("generate_receipt", dedupe_key=f"receipt:{dossier.id}", dossier_id=dossier.id)
    jobs.schedule("eligibility_check", dedupe_key=f"eligibility:submit:{dossier.id}", dossier_id=dossier.id)


def after_verification(dossier_id: int) -> str:
    """Run by the verification job (``process_attachment``) after it committed a file's verdict: when the
    dossier was submitted while its files were still being verified and none is left, queue the receipt and
    the eligibility check. Returns what happened; the caller commits.

    The dossier's row lock orders this with ``submit_dossier``: whichever comes second sees the other's
    commit (the verdict, or the submission), so the follow-ups are queued once in every interleaving —
    by the submission when no file was pending, by the verification of the last pending file otherwise.
    No attachment row is locked here (the job committed it before), so no lock is taken in the opposite
    order of ``confirm_upload``'s (dossier, then attachments)."""
    dossier = db.session.execute(
        sa.select(Dossier).where(Dossier.id == dossier_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if dossier is None:
        return "missing"
    if dossier.status == DossierStatus.DRAFT or dossier.receipt_number is None:
        return "draft"
    db.session.expire(dossier, ["attachments"])
    if dossier_checks.pending_verification(dossier):
        return "waiting"
    _schedule_follow_ups(dossier)
    return "scheduled"


def withdraw_dossier(dossier: Dossier, *, by, reason: str = "") -> None:
    """Withdraw a submitted dossier before the committee (``permissions.dossier_is_withdrawable``)."""
    if not dossier_is_withdrawable(dossier):
        raise DomainError(N_("Ce dossier ne peut plus être retiré."))
    set_dossier_status(dossier, DossierStatus.WITHDRAWN, by=by, expected_from=dossier.status,
                       reason=reason.strip()[:2000])
