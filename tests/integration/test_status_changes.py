"""Status changes go through their one write path: ``set_dossier_status`` (start, submit, withdraw, every
later step) and ``set_call_status`` (transition table plus guards); each is recorded and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from ptce_aap.enums import CALL_TRANSITIONS, DOSSIER_TRANSITIONS, CallStatus, DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.models.audit import AuditEvent
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import DossierTransition
from ptce_aap.services import submission
from ptce_aap.services.calls import set_call_status
from ptce_aap.services.dossiers import UnexpectedStatus, set_dossier_status


def _transitions(db, dossier):
    return db.session.execute(sa.select(DossierTransition.from_status, DossierTransition.to_status,
                                        DossierTransition.actor_id)
                              .where(DossierTransition.dossier_id == dossier.id)
                              .order_by(DossierTransition.id)).all()


def _audits(db, action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.id)).all()


def test_start_records_the_first_transition_to_draft(make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant)
    assert dossier.status == DossierStatus.DRAFT
    assert _transitions(db, dossier) == [(None, DossierStatus.DRAFT, applicant.id)]
    event = _audits(db, "dossier.status_changed")[0]
    assert event.summary == {"before": {"status": None}, "after": {"status": "draft"}, "reason": ""}


def test_submit_goes_through_set_dossier_status_once(make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    version, now = dossier.version, utcnow()
    submission.submit_dossier(dossier, by=applicant, now=now)
    db.session.commit()
    assert _transitions(db, dossier)[-1] == (DossierStatus.DRAFT, DossierStatus.SUBMITTED, applicant.id)
    transition = dossier.transitions[-1]
    assert transition.at == dossier.submitted_at == now
    event = _audits(db, "dossier.status_changed")[-1]
    assert event.summary == {"before": {"status": "draft"},
                             "after": {"status": "submitted", "receipt": dossier.receipt_number}, "reason": ""}
    assert dossier.version == version + 1  # one UPDATE of the row
    with pytest.raises(submission.AlreadySubmitted):
        submission.submit_dossier(dossier, by=applicant, now=now)


def test_withdraw_goes_through_set_dossier_status_with_its_reason(make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    submission.withdraw_dossier(dossier, by=applicant, reason="  Projet reporté  ")
    db.session.commit()
    assert _transitions(db, dossier)[-1] == (DossierStatus.SUBMITTED, DossierStatus.WITHDRAWN, applicant.id)
    assert dossier.transitions[-1].reason == "Projet reporté"
    assert _audits(db, "dossier.status_changed")[-1].summary["reason"] == "Projet reporté"


@pytest.mark.parametrize("call_status", [CallStatus.DELIBERATION, CallStatus.PUBLISHED])
def test_withdraw_is_refused_once_the_committee_deliberates(make_dossier, applicant, db, call_status):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    dossier.call.status = call_status
    with pytest.raises(DomainError, match="^Ce dossier ne peut plus être retiré.$"):
        submission.withdraw_dossier(dossier, by=applicant)
    assert dossier.status == DossierStatus.SUBMITTED


def test_every_allowed_dossier_transition_is_recorded_and_audited(make_dossier, admin_user, db):
    dossier = make_dossier()
    pairs = [(a, b) for a, targets in DOSSIER_TRANSITIONS.items() for b in sorted(targets)]
    for current, target in pairs:
        dossier.status = current  # arrange: put the dossier in the state under test
        set_dossier_status(dossier, target, by=admin_user, expected_from=current, reason=f"{current}>{target}")
        assert dossier.status == target
    db.session.commit()
    recorded = _transitions(db, dossier)[1:]
    assert recorded == [(a, b, admin_user.id) for a, b in pairs]
    assert len(_audits(db, "dossier.status_changed")) == len(pairs) + 1


def test_expected_from_refuses_a_status_changed_meanwhile(make_dossier, applicant, db):
    dossier = make_dossier(owner=applicant, complete=True)
    submission.submit_dossier(dossier, by=applicant, now=utcnow())
    db.session.commit()
    with pytest.raises(UnexpectedStatus) as refused:
        set_dossier_status(dossier, DossierStatus.ELIGIBLE, by=None, expected_from=DossierStatus.INELIGIBLE)
    assert refused.value.current == DossierStatus.SUBMITTED
    assert len(_transitions(db, dossier)) == 2


# --- calls ------------------------------------------------------------------------------------------------

def test_every_allowed_call_transition_is_audited(make_call, admin_user, db):
    call = make_call(status=CallStatus.DRAFT)
    pairs = [(a, b) for a, targets in CALL_TRANSITIONS.items() for b in sorted(targets)]
    for current, target in pairs:
        call.status = current  # arrange
        set_call_status(call, target, by=admin_user)
        assert call.status == target
    db.session.commit()
    events = _audits(db, "call.status_changed")
    assert [(e.summary["before"]["status"], e.summary["after"]["status"]) for e in events] == [
        (a.value, b.value) for a, b in pairs]
    assert {e.actor_id for e in events} == {admin_user.id}
    assert call.published_at is not None


def test_a_call_cannot_leave_draft_without_a_grid(make_call, admin_user, db):
    call = make_call(status=CallStatus.DRAFT)
    call.criteria = []
    db.session.flush()
    with pytest.raises(DomainError, match="^L'appel à projets ne peut pas être ouvert sans grille de notation.$"):
        set_call_status(call, CallStatus.OPEN, by=admin_user)
    assert call.status == CallStatus.DRAFT
    assert _audits(db, "call.status_changed") == []


@pytest.mark.parametrize("current", [CallStatus.DRAFT, CallStatus.CLOSED])
def test_a_call_cannot_open_or_reopen_once_its_deadline_is_past(make_call, admin_user, db, current):
    now = utcnow()
    call = make_call(status=current, opens_at=now - timedelta(days=40), closes_at=now - timedelta(seconds=1))
    with pytest.raises(DomainError, match="sa date de clôture est passée.$") as refused:
        set_call_status(call, CallStatus.OPEN, by=admin_user)
    assert refused.value.field == "closes_at"
    assert call.status == current


def test_a_closed_call_reopens_before_review_but_not_after(make_call, admin_user, db):
    call = make_call(status=CallStatus.CLOSED)
    set_call_status(call, CallStatus.OPEN, by=admin_user)
    assert call.status == CallStatus.OPEN
    call.status = CallStatus.REVIEW
    with pytest.raises(DomainError, match="En instruction → Ouvert"):
        set_call_status(call, CallStatus.OPEN, by=admin_user)
