"""The status machines refuse every transition their table does not allow, before touching anything.

Dossier: ``DOSSIER_TRANSITIONS`` (SPEC §2), written only by ``services.dossiers.set_dossier_status``.
Call: ``CALL_TRANSITIONS``, written only by ``services.calls.set_call_status``. The allowed moves and the
guards are tested against the database in ``tests/integration/test_status_changes.py``.
Assignment: ``ASSIGNMENT_TRANSITIONS``, written only by ``services.assignments.set_assignment_status`` (the
decline there, the review's start, submission and reopening in ``services.reviews``).
"""

from __future__ import annotations

import re

import pytest

from ptce_aap.enums import (
    ASSIGNMENT_TRANSITIONS,
    CALL_TRANSITIONS,
    DOSSIER_TRANSITIONS,
    AssignmentStatus,
    CallStatus,
    DossierStatus,
)
from ptce_aap.errors import DomainError
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.reviews import Assignment
from ptce_aap.services.assignments import set_assignment_status
from ptce_aap.services.calls import set_call_status
from ptce_aap.services.dossiers import set_dossier_status

ILLEGAL_DOSSIER_MOVES = [(a, b) for a in DossierStatus for b in DossierStatus if b not in DOSSIER_TRANSITIONS[a]]
ILLEGAL_ASSIGNMENT_MOVES = [(a, b) for a in AssignmentStatus for b in AssignmentStatus
                            if b not in ASSIGNMENT_TRANSITIONS[a]]
ILLEGAL_CALL_MOVES = [(a, b) for a in CallStatus for b in CallStatus if b not in CALL_TRANSITIONS[a]]


def _ids(pair) -> str:
    return f"{pair[0].value}->{pair[1].value}"


@pytest.mark.parametrize("current,target", ILLEGAL_DOSSIER_MOVES, ids=map(_ids, ILLEGAL_DOSSIER_MOVES))
def test_dossier_illegal_transition_is_refused_and_changes_nothing(current, target):
    dossier = Dossier(id=1, status=current)
    with pytest.raises(DomainError, match=f"^Transition impossible : {current.label} → {target.label}.$"):
        set_dossier_status(dossier, target, by=None)
    assert dossier.status == current


@pytest.mark.parametrize("target", [s for s in DossierStatus if s != DossierStatus.DRAFT])
def test_a_new_dossier_can_only_become_a_draft(target):
    with pytest.raises(DomainError, match=f"^Transition impossible : — → {target.label}.$"):
        set_dossier_status(Dossier(status=None), target, by=None, expected_from=None)


def test_dossier_expected_from_mismatch_is_refused_before_the_table():
    dossier = Dossier(id=1, status=DossierStatus.SUBMITTED)
    with pytest.raises(DomainError, match="^Le statut de ce dossier a changé entre-temps"):
        set_dossier_status(dossier, DossierStatus.SUBMITTED, by=None, expected_from=DossierStatus.DRAFT)
    with pytest.raises(DomainError, match="désormais : Déposé"):
        set_dossier_status(dossier, DossierStatus.WITHDRAWN, by=None,
                           expected_from={DossierStatus.ELIGIBLE, DossierStatus.INELIGIBLE})
    assert dossier.status == DossierStatus.SUBMITTED


def test_every_dossier_and_call_status_has_a_row_in_its_table():
    assert set(DOSSIER_TRANSITIONS) == set(DossierStatus)
    assert set(CALL_TRANSITIONS) == set(CallStatus)
    assert set(ASSIGNMENT_TRANSITIONS) == set(AssignmentStatus)
    assert CALL_TRANSITIONS[CallStatus.ARCHIVED] == set()


@pytest.mark.parametrize("current,target", ILLEGAL_CALL_MOVES, ids=map(_ids, ILLEGAL_CALL_MOVES))
def test_call_illegal_transition_is_refused_and_changes_nothing(current, target):
    call = Call(id=1, status=current)
    with pytest.raises(DomainError, match=(f"^Transition impossible pour l'appel à projets : "
                                           f"{current.label} → {target.label}.$")):
        set_call_status(call, target, by=None)
    assert call.status == current
    assert call.published_at is None


@pytest.mark.parametrize("current,target", ILLEGAL_ASSIGNMENT_MOVES, ids=map(_ids, ILLEGAL_ASSIGNMENT_MOVES))
def test_assignment_illegal_transition_is_refused_and_changes_nothing(current, target):
    assignment = Assignment(id=1, status=current)
    with pytest.raises(DomainError, match=re.escape(f"Transition impossible : {current.label} → {target.label}.")):
        set_assignment_status(assignment, target)
    assert assignment.status == current


def test_assignment_moves_of_the_review_and_of_a_decline():
    """Started, handed in, reopened, handed in again; declined from assigned or in progress (then final)."""
    assignment = Assignment(id=1, status=AssignmentStatus.ASSIGNED)
    for target in (AssignmentStatus.IN_PROGRESS, AssignmentStatus.SUBMITTED, AssignmentStatus.IN_PROGRESS,
                   AssignmentStatus.SUBMITTED):
        before = assignment.status
        assert set_assignment_status(assignment, target) == before
        assert assignment.status == target
    for start in (AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS):
        for declined in (AssignmentStatus.DECLINED, AssignmentStatus.DECLINED_CONFLICT):
            assignment = Assignment(id=1, status=start)
            set_assignment_status(assignment, declined)
            assert assignment.status == declined
    assert ASSIGNMENT_TRANSITIONS[AssignmentStatus.DECLINED] == ASSIGNMENT_TRANSITIONS[
        AssignmentStatus.DECLINED_CONFLICT] == set()


def test_a_new_assignment_starts_assigned():
    """A row not yet flushed has no status: it counts as ``assigned`` (the column's default)."""
    assignment = Assignment()
    set_assignment_status(assignment, AssignmentStatus.IN_PROGRESS)
    assert assignment.status == AssignmentStatus.IN_PROGRESS
    with pytest.raises(DomainError):
        set_assignment_status(Assignment(), AssignmentStatus.SUBMITTED)
