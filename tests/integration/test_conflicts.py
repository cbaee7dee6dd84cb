"""Conflicts of interest (issue 10, point 4): the three sources, detection on each SIREN path and for
co-editors, idempotent re-detection, clearing with a reason, and access lost at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap import permissions as p
from ptce_aap.enums import ConflictSource, InstitutionKind, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import PoleMembership
from ptce_aap.models.reviews import ConflictOfInterest
from ptce_aap.services import conflicts as service
from ptce_aap.services import submission

CARRIER = "732829320"  # the first complete dossier's structure porteuse (builders.VALID_SIRETS[0])
MEMBER = "356000000"  # its first member (ESS)
COLLECTIVITY = "443061841"  # its third member, a collectivité


@pytest.fixture
def call_world(db, make_call, make_dossier, make_user, make_pool_member, make_institution):
    """A call with one submitted dossier (and a draft), and a pool of reviewers without SIREN."""
    call = make_call()
    owner = make_user("porteur@example.org")
    dossier = make_dossier(call=call, owner=owner, complete=True, pole_name="Pôle Alpha")
    submission.submit_dossier(dossier, by=owner, now=utcnow())
    db.session.commit()
    draft = make_dossier(call=call, pole_name="Pôle Brouillon")
    return {"call": call, "dossier": dossier, "owner": owner, "draft": draft}


def rows(db, call, **where):
    db.session.expire_all()
    return db.session.scalars(sa.select(ConflictOfInterest).filter_by(call_id=call.id, **where)
                              .order_by(ConflictOfInterest.id)).all()


# --- detection ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("siren, kind, says", [
    (CARRIER, InstitutionKind.STATE_AGENCY, "structure porteuse du pôle « Pôle Alpha »"),
    (MEMBER, InstitutionKind.CDC, "structure membre du pôle « Pôle Alpha »"),
    (COLLECTIVITY, InstitutionKind.REGION, "collectivité membre du pôle « Pôle Alpha »"),
])
def test_detection_on_each_siren_path(db, call_world, make_pool_member, make_institution, siren, kind, says):
    call = call_world["call"]
    member = make_pool_member(call, institution=make_institution(kind=kind, siren=siren))
    bystander = make_pool_member(call, institution=make_institution(siren="110002011"))

    assert service.detect_conflicts(call) == (1, 0)
    db.session.commit()

    [conflict] = rows(db, call)
    assert (conflict.reviewer_id, conflict.siren, conflict.source) == (member.user_id, siren, ConflictSource.DETECTED)
    assert says in conflict.reason
    assert rows(db, call, reviewer_id=bystander.user_id) == []


def test_a_co_editor_in_the_pool_is_detected(db, call_world, make_pool_member, make_user):
    call, dossier = call_world["call"], call_world["dossier"]
    coeditor = make_user("coediteur@example.org", roles=(Role.APPLICANT, Role.REVIEWER))
    db.session.add(PoleMembership(pole_id=dossier.pole_id, user_id=coeditor.id))
    db.session.commit()
    make_pool_member(call, coeditor)
    db.session.commit()

    service.detect_conflicts(call)
    db.session.commit()

    [conflict] = rows(db, call)
    assert (conflict.reviewer_id, conflict.pole_id, conflict.source) == (coeditor.id, dossier.pole_id,
                                                                         ConflictSource.DETECTED)
    assert conflict.reason == "La personne co-édite le dossier du pôle « Pôle Alpha »."


def test_drafts_are_not_looked_at(db, call_world, make_pool_member, make_user, make_institution):
    call, draft = call_world["call"], call_world["draft"]
    coeditor = make_user(roles=(Role.REVIEWER,))
    db.session.add(PoleMembership(pole_id=draft.pole_id, user_id=coeditor.id))
    db.session.commit()
    make_pool_member(call, coeditor, institution=make_institution(siren="110002011"))
    assert service.detect_conflicts(call) == (0, 0)


def test_re_detection_is_idempotent_keeps_cleared_rows_and_removes_what_no_longer_holds(
        db, call_world, make_pool_member, make_institution, admin_user):
    call = call_world["call"]
    institution = make_institution(siren=CARRIER)
    member = make_pool_member(call, institution=institution)
    assert service.detect_conflicts(call) == (1, 0)
    db.session.commit()
    assert service.detect_conflicts(call) == (0, 0)  # nothing twice
    db.session.commit()
    assert len(rows(db, call)) == 1

    [conflict] = rows(db, call)
    service.clear_conflict(conflict, reason="Direction sans lien avec l'instruction", by=admin_user)
    db.session.commit()
    assert service.detect_conflicts(call) == (0, 0)  # a cleared conflict stays cleared
    db.session.commit()
    [conflict] = rows(db, call)
    assert not conflict.is_active and conflict.cleared_reason == "Direction sans lien avec l'instruction"

    # Another reviewer whose institution's SIREN was wrong: corrected, the detected row goes.
    other = make_pool_member(call, institution=make_institution(siren=MEMBER))
    service.detect_conflicts(call)
    db.session.commit()
    other.institution.siren = "110002011"
    db.session.commit()
    assert service.detect_conflicts(call) == (0, 1)
    db.session.commit()
    assert [c.reviewer_id for c in rows(db, call)] == [member.user_id]  # the cleared one is kept


def test_a_declared_conflict_on_the_same_target_is_not_duplicated(db, call_world, make_pool_member, make_institution):
    call = call_world["call"]
    member = make_pool_member(call, institution=make_institution(siren=CARRIER))
    service.add_conflict(call, member.user, kind="siren", value="732 829 320", reason="Ancien salarié", by=member.user)
    db.session.commit()
    assert service.detect_conflicts(call) == (0, 0)
    [conflict] = rows(db, call)
    assert conflict.source == ConflictSource.DECLARED
    # Withdrawn, the detection finds it again at once.
    service.withdraw_conflict(conflict, by=member.user)
    db.session.commit()
    [conflict] = rows(db, call)
    assert conflict.source == ConflictSource.DETECTED


def test_detection_runs_after_a_submission(db, make_call, make_dossier, make_user, make_pool_member,
                                           make_institution, worker):
    call = make_call()
    member = make_pool_member(call, institution=make_institution(siren=CARRIER))
    owner = make_user()
    dossier = make_dossier(call=call, owner=owner, complete=True)
    submission.submit_dossier(dossier, by=owner, now=utcnow())
    db.session.commit()
    assert rows(db, call) == []  # after the commit, by a job
    jobs.dispatch_outbox()
    worker()
    [conflict] = rows(db, call)
    assert (conflict.reviewer_id, conflict.siren) == (member.user_id, CARRIER)


# --- declared and set -----------------------------------------------------------------------------------

def test_each_target_declared_or_set(db, call_world, make_pool_member, make_institution, admin_user):
    call, dossier = call_world["call"], call_world["dossier"]
    member = make_pool_member(call, institution=make_institution(siren="110002011"))
    reviewer = member.user
    service.add_conflict(call, reviewer, kind="pole", value=dossier.pole_id, reason="Ami du directeur", by=reviewer)
    service.add_conflict(call, reviewer, kind="siren", value="356 000 000", by=reviewer)
    service.add_conflict(call, reviewer, kind="department", value="69", by=admin_user)
    service.add_conflict(call, reviewer, kind="institution", by=admin_user)
    db.session.commit()

    found = [(c.source, c.pole_id, c.siren, c.department, c.institution_id, c.declared_by_id) for c in rows(db, call)]
    assert found == [
        (ConflictSource.DECLARED, dossier.pole_id, None, None, None, reviewer.id),
        (ConflictSource.DECLARED, None, MEMBER, None, None, reviewer.id),
        (ConflictSource.ADMIN, None, None, "69", None, admin_user.id),
        (ConflictSource.ADMIN, None, None, None, member.institution_id, admin_user.id),
    ]


@pytest.mark.parametrize("kind, value, field, message", [
    ("siren", "732829321", "siren", "Le SIREN doit comporter 9 chiffres"),
    ("siren", "abc", "siren", "Le SIREN doit comporter 9 chiffres"),
    ("department", "999", "department", "Choisissez un département de la liste."),
    ("pole", 10**6, "pole_id", "Choisissez un pôle ayant déposé un dossier dans cet appel."),
    ("other", None, "kind", "Choisissez ce sur quoi porte le conflit."),
])
def test_odd_targets_are_refused_beside_their_field(db, call_world, make_pool_member, kind, value, field, message):
    member = make_pool_member(call_world["call"])
    with pytest.raises(DomainError) as refused:
        service.add_conflict(call_world["call"], member.user, kind=kind, value=value, by=member.user)
    assert refused.value.field == field and refused.value.message.startswith(message)


def test_a_draft_pole_and_someone_outside_the_pool_are_refused(db, call_world, make_pool_member, make_user):
    call = call_world["call"]
    member = make_pool_member(call)
    with pytest.raises(DomainError, match="pôle ayant déposé"):
        service.add_conflict(call, member.user, kind="pole", value=call_world["draft"].pole_id, by=member.user)
    outsider = make_user(roles=(Role.REVIEWER,))
    with pytest.raises(DomainError, match="ne fait pas partie des rapporteurs"):
        service.add_conflict(call, outsider, kind="department", value="69", by=outsider)


def test_twice_the_same_target_is_refused(db, call_world, make_pool_member):
    member = make_pool_member(call_world["call"])
    service.add_conflict(call_world["call"], member.user, kind="department", value="01", by=member.user)
    with pytest.raises(DomainError, match="déjà enregistré"):
        service.add_conflict(call_world["call"], member.user, kind="department", value="01", by=member.user)


def test_clearing_needs_a_detected_active_conflict_and_a_reason(db, call_world, make_pool_member,
                                                               make_institution, admin_user):
    call = call_world["call"]
    member = make_pool_member(call, institution=make_institution(siren=CARRIER))
    service.detect_conflicts(call)
    declared = service.add_conflict(call, member.user, kind="department", value="01", by=member.user)
    db.session.commit()
    detected = rows(db, call, source=ConflictSource.DETECTED)[0]
    with pytest.raises(DomainError) as refused:
        service.clear_conflict(detected, reason="  ", by=admin_user)
    assert refused.value.field == "reason"
    with pytest.raises(DomainError, match="Seul un conflit détecté"):
        service.clear_conflict(declared, reason="motif", by=admin_user)
    with pytest.raises(DomainError, match="ne se supprime pas"):
        service.remove_conflict(detected, by=admin_user)
    service.clear_conflict(detected, reason="Aucun lien", by=admin_user)
    db.session.commit()
    assert (detected.cleared_by_id, detected.cleared_reason) == (admin_user.id, "Aucun lien")
    with pytest.raises(DomainError, match="déjà été levé"):
        service.clear_conflict(detected, reason="encore", by=admin_user)
    # Declaring on a cleared target says who to ask, instead of silently doing nothing.
    with pytest.raises(DomainError, match="levé par l'administration"):
        service.add_conflict(call, member.user, kind="siren", value=CARRIER, by=member.user)


def test_only_its_reviewer_withdraws_a_declared_conflict(db, call_world, make_pool_member, admin_user):
    call = call_world["call"]
    mine, theirs = make_pool_member(call), make_pool_member(call)
    declared = service.add_conflict(call, mine.user, kind="department", value="01", by=mine.user)
    set_by_admin = service.add_conflict(call, mine.user, kind="department", value="02", by=admin_user)
    db.session.commit()
    with pytest.raises(DomainError):
        service.withdraw_conflict(declared, by=theirs.user)
    with pytest.raises(DomainError):
        service.withdraw_conflict(set_by_admin, by=mine.user)
    service.remove_conflict(set_by_admin, by=admin_user)
    service.withdraw_conflict(declared, by=mine.user)
    db.session.commit()
    assert rows(db, call) == []


# --- access is lost at once -----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["pole", "siren_carrier", "siren_member", "department", "institution", "detected",
                                  "coeditor"])
def test_a_conflicted_reviewer_loses_access_at_once(db, app, call_world, make_pool_member, make_institution,
                                                    make_assignment, admin_user, kind):
    call, dossier = call_world["call"], call_world["dossier"]
    institution = make_institution(siren=CARRIER if kind in {"institution", "detected"} else "110002011")
    member = make_pool_member(call, institution=institution)
    reviewer = member.user
    make_assignment(dossier, reviewer)
    with app.test_request_context():
        assert p.reviewer_assignment(reviewer, dossier) is not None
        assert p.can_view_dossier(reviewer, dossier)

    if kind == "pole":
        service.add_conflict(call, reviewer, kind="pole", value=dossier.pole_id, by=reviewer)
    elif kind == "siren_carrier":
        service.add_conflict(call, reviewer, kind="siren", value=CARRIER, by=admin_user)
    elif kind == "siren_member":
        service.add_conflict(call, reviewer, kind="siren", value=COLLECTIVITY, by=reviewer)
    elif kind == "department":
        service.add_conflict(call, reviewer, kind="department", value="01", by=reviewer)
    elif kind == "institution":
        service.add_conflict(call, reviewer, kind="institution", by=reviewer)
    elif kind == "detected":
        service.detect_conflicts(call)
    else:
        db.session.add(PoleMembership(pole_id=dossier.pole_id, user_id=reviewer.id))
        db.session.flush()
        service.detect_conflicts(call)
        assert rows(db, call, reviewer_id=reviewer.id)[0].pole_id == dossier.pole_id
    db.session.commit()

    with app.test_request_context():
        assert p.reviewer_assignment(reviewer, dossier) is None
        assert not p.can_view_dossier(reviewer, dossier)


def test_access_comes_back_when_a_detected_conflict_is_cleared(db, app, call_world, make_pool_member,
                                                               make_institution, make_assignment, admin_user):
    call, dossier = call_world["call"], call_world["dossier"]
    member = make_pool_member(call, institution=make_institution(siren=MEMBER))
    make_assignment(dossier, member.user)
    service.detect_conflicts(call)
    db.session.commit()
    with app.test_request_context():
        assert p.reviewer_assignment(member.user, dossier) is None
    service.clear_conflict(rows(db, call)[0], reason="Antenne locale sans lien", by=admin_user)
    db.session.commit()
    with app.test_request_context():
        assert p.reviewer_assignment(member.user, dossier) is not None


def test_an_institution_without_siren_cannot_be_involved_anywhere(db, app, call_world, make_pool_member,
                                                                   make_assignment):
    """Its involvement is recorded (the secretariat sees it), but it names no dossier by itself."""
    call, dossier = call_world["call"], call_world["dossier"]
    member = make_pool_member(call)  # an institution without SIREN
    make_assignment(dossier, member.user)
    service.add_conflict(call, member.user, kind="institution", by=member.user)
    db.session.commit()
    with app.test_request_context():
        assert p.reviewer_assignment(member.user, dossier) is not None
