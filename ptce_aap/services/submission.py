"""Submitting and withdrawing a dossier.

``submit_dossier`` happens exactly once even on a double click or from two tabs: the status moves
with a conditional UPDATE (``WHERE status = 'draft'``); the loser sees the dossier already submitted
and queues nothing. The receipt PDF and its mail are produced by jobs queued in the same
transaction (dedupe keys per dossier), so they also happen once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ptce_aap import audit, jobs
from ptce_aap.domain import dossier_checks
from ptce_aap.enums import CallStatus, DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.i18n import PARIS
from ptce_aap.models.dossiers import Dossier, DossierTransition
from ptce_aap.services.dossiers import call_rules, set_dossier_status


class AlreadySubmitted(DomainError):
    def __init__(self):
        super().__init__("Ce dossier a déjà été déposé : il n'a pas été déposé une seconde fois.")


def receipt_number_for(dossier: Dossier) -> str:
    return f"PTCE-{dossier.call.closes_at.year}-{dossier.id:06d}"


def blocking_problems(dossier: Dossier, *, now: datetime) -> list[dossier_checks.Problem]:
    return dossier_checks.check_dossier(dossier, call_rules(dossier.call), today=now.astimezone(PARIS).date())


def submit_dossier(dossier: Dossier, *, by, now: datetime) -> Dossier:
    """Submit a complete draft before the deadline (server clock). Caller commits."""
    call = dossier.call
    if dossier.status != DossierStatus.DRAFT:
        raise AlreadySubmitted()
    if call.status != CallStatus.OPEN or now >= call.closes_at:
        raise DomainError("La date limite de dépôt est dépassée : le dossier ne peut plus être déposé.")
    if now < call.opens_at:
        raise DomainError("L'appel à projets n'est pas encore ouvert.")
    # Lock the row, then check the dossier as it is now: a co-editor's save that committed after this
    # request loaded the dossier is seen; one that comes later waits and then meets a submitted dossier.
    db.session.execute(sa.select(Dossier.id).where(Dossier.id == dossier.id).with_for_update())
    db.session.refresh(dossier)
    for collection in ("members", "financing_lines", "attachments"):
        db.session.expire(dossier, [collection])
    if dossier.status != DossierStatus.DRAFT:
        raise AlreadySubmitted()
    problems = blocking_problems(dossier, now=now)
    if problems:
        raise DomainError("Le dossier est incomplet : corrigez les points signalés avant de le déposer.")
    receipt = receipt_number_for(dossier)
    claimed = db.session.execute(
        sa.update(Dossier)
        .where(Dossier.id == dossier.id, Dossier.status == DossierStatus.DRAFT)
        .values(status=DossierStatus.SUBMITTED, submitted_at=now, receipt_number=receipt,
                version=Dossier.version + 1, updated_at=now, updated_by_id=by.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise AlreadySubmitted()
    db.session.add(DossierTransition(dossier_id=dossier.id, from_status=DossierStatus.DRAFT,
                                     to_status=DossierStatus.SUBMITTED, actor_id=by.id, at=now))
    audit.record("dossier.submitted", dossier, actor=by,
                 summary={"before": {"status": "draft"}, "after": {"status": "submitted", "receipt": receipt}})
    jobs.schedule("generate_receipt", dedupe_key=f"receipt:{dossier.id}", dossier_id=dossier.id)
    jobs.schedule("eligibility_check", dedupe_key=f"eligibility:submit:{dossier.id}", dossier_id=dossier.id)
    db.session.flush()
    db.session.refresh(dossier)
    return dossier


WITHDRAWABLE = {DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE, DossierStatus.INELIGIBLE, DossierStatus.IN_REVIEW,
                DossierStatus.REVIEWED}


def can_withdraw(dossier: Dossier) -> bool:
    """Before the committee: the call is not yet in deliberation, and no decision is taken."""
    return dossier.status in WITHDRAWABLE and dossier.call.status in {CallStatus.OPEN, CallStatus.CLOSED,
                                                                      CallStatus.REVIEW}


def withdraw_dossier(dossier: Dossier, *, by, reason: str = "") -> None:
    if not can_withdraw(dossier):
        raise DomainError("Ce dossier ne peut plus être retiré.")
    set_dossier_status(dossier, DossierStatus.WITHDRAWN, by=by, reason=reason.strip()[:2000])
