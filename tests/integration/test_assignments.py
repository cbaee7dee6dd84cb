"""Assignments through the service: the bulk conflict rule agrees with ``permissions.reviewer_assignment``,
the proposal is confirmed only while nothing changed, manual add/remove, a reviewer's decline."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from ptce_aap import permissions
from ptce_aap.domain.assignment import Reason
from ptce_aap.enums import AssignmentStatus, ConflictSource, Role
from ptce_aap.errors import DomainError
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import PoleMembership
from ptce_aap.models.outbox import Notification
from ptce_aap.models.reviews import Assignment, ConflictOfInterest, Review
from ptce_aap.services import assignments


@pytest.fixture
def setting(db, make_call, make_eligible_dossier, make_pool_member, make_institution, admin_user):
    """A call with 3 eligible dossiers and 4 reviewers from 2 institutions."""
    call = make_call(review_deadline_at=utcnow().replace(microsecond=0) + timedelta(days=40))
    dossiers = [make_eligible_dossier(call=call, pole_name=f"Pôle {name}") for name in ("Alpha", "Bêta", "Gamma")]
    anct, cdc = make_institution("ANCT"), make_institution("Caisse des Dépôts")
    members = [make_pool_member(call, institution=inst, capacity=2) for inst in (anct, anct, cdc, cdc)]
    return {"call": call, "dossiers": dossiers, "members": members, "admin": admin_user,
            "institutions": (anct, cdc)}


def live(db, dossier):
    return db.session.scalars(sa.select(Assignment).where(
        Assignment.dossier_id == dossier.id,
        Assignment.status.notin_([AssignmentStatus.DECLINED, AssignmentStatus.DECLINED_CONFLICT]))).all()


def test_a_proposal_confirmed_creates_assignments_and_one_mail_per_reviewer(app, db, setting):
    call, admin = setting["call"], setting["admin"]
    with app.test_request_context():
        view = assignments.propose(call)
        assert view.proposal.uncovered == []
        assert len(view.proposal.new) == 6
        created = assignments.confirm(call, view.proposal.new, view.fingerprint, by=admin)
        db.session.commit()
    assert len(created) == 6
    for dossier in setting["dossiers"]:
        rows = live(db, dossier)
        assert len(rows) == 2
        assert len({a.institution_id for a in rows}) == 2
        assert all(a.due_at == call.review_deadline_at and a.assigned_by_id == admin.id for a in rows)
    mails = db.session.scalars(sa.select(Notification).where(Notification.template == "reviewer_assignment")).all()
    assert sorted(m.recipient for m in mails) == sorted(m.user.email for m in setting["members"])
    for mail in mails:
        assert mail.context["count"] == len(mail.context["dossiers"])
    total = sum(m.context["count"] for m in mails)
    assert total == 6
    assert max(m.context["count"] for m in mails) == 2  # loads balanced: 6 over 4 reviewers, at most 2


def test_a_stale_proposal_is_refused(app, db, setting, make_assignment):
    call, admin = setting["call"], setting["admin"]
    with app.test_request_context():
        view = assignments.propose(call)
    # meanwhile a reviewer declares a conflict on the first dossier
    member = setting["members"][0]
    db.session.add(ConflictOfInterest(reviewer_id=member.user_id, call_id=call.id,
                                      pole_id=setting["dossiers"][0].pole_id, source=ConflictSource.DECLARED))
    db.session.commit()
    with app.test_request_context(), pytest.raises(assignments.StaleProposal):
        assignments.confirm(call, view.proposal.new, view.fingerprint, by=admin)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Assignment.id))) == 0
    with app.test_request_context():  # a changed pair list is refused too, even with the state unchanged
        view = assignments.propose(call)
        with pytest.raises(assignments.StaleProposal):
            assignments.confirm(call, view.proposal.new[1:], view.fingerprint, by=admin)


def test_uncoverable_dossiers_are_reported_with_their_reason(app, db, setting):
    call = setting["call"]
    anct_only = setting["members"][:2]
    for member in setting["members"][2:]:
        db.session.add(ConflictOfInterest(reviewer_id=member.user_id, call_id=call.id,
                                          pole_id=setting["dossiers"][0].pole_id, source=ConflictSource.ADMIN))
    db.session.commit()
    view = assignments.propose(call)
    assert [(u.dossier_id, u.reason) for u in view.proposal.uncovered] == [
        (setting["dossiers"][0].id, Reason.ONE_INSTITUTION)]
    assert all(r not in {m.user_id for m in anct_only} or d != setting["dossiers"][0].id
               for d, r in view.proposal.new)


def test_existing_assignments_are_kept_and_counted(app, db, setting, make_assignment):
    dossier = setting["dossiers"][0]
    anct_member = setting["members"][0]
    make_assignment(dossier, anct_member.user, institution_id=anct_member.institution_id)
    view = assignments.propose(setting["call"])
    added = [r for d, r in view.proposal.new if d == dossier.id]
    assert len(added) == 1
    assert added[0] in {m.user_id for m in setting["members"][2:]}  # the other institution
    assert view.proposal.load_before[anct_member.user_id] == 1


def test_the_bulk_conflict_rule_agrees_with_the_access_rule(app, db, make_call, make_eligible_dossier,
                                                            make_pool_member, make_assignment, make_user):
    """Random conflicts of every kind and co-editors: a pair is blocked iff ``reviewer_assignment`` refuses."""
    rng = random.Random(20261130)
    call = make_call()
    dossiers = [make_eligible_dossier(call=call, pole_name=f"Pôle {i}") for i in range(5)]
    members = [make_pool_member(call) for _ in range(5)]
    other_call = make_call()
    for dossier in dossiers:
        dossier.departments = rng.sample(["69", "01", "38", "75"], 2)
    db.session.commit()
    for member in members:
        user = member.user
        for dossier in dossiers:
            make_assignment(dossier, user)
        for _ in range(rng.randint(0, 3)):
            dossier = rng.choice(dossiers)
            target = rng.choice(["pole", "carrier", "member", "department", "institution", "cleared", "other"])
            conflict = ConflictOfInterest(reviewer_id=user.id, call_id=call.id, source=ConflictSource.DECLARED)
            if target == "pole":
                conflict.pole_id = dossier.pole_id
            elif target == "carrier":
                conflict.siren = dossier.carrier_siren
            elif target == "member":
                conflict.siren = rng.choice(dossier.members).siren
            elif target == "department":
                conflict.department = rng.choice(dossier.departments)
            elif target == "institution":
                conflict.institution_id = member.institution_id
            elif target == "cleared":
                conflict.pole_id = dossier.pole_id
                conflict.cleared_at, conflict.cleared_by_id, conflict.cleared_reason = utcnow(), user.id, "vu"
            else:
                conflict.call_id = other_call.id
                conflict.pole_id = dossier.pole_id
            exists = db.session.scalar(sa.select(ConflictOfInterest.id).where(
                ConflictOfInterest.reviewer_id == user.id, ConflictOfInterest.call_id == conflict.call_id,
                sa.or_(ConflictOfInterest.pole_id == conflict.pole_id, ConflictOfInterest.siren == conflict.siren,
                       ConflictOfInterest.department == conflict.department,
                       ConflictOfInterest.institution_id == conflict.institution_id)))
            if exists is None:
                db.session.add(conflict)
                db.session.commit()
        if rng.random() < 0.3:
            db.session.add(PoleMembership(pole_id=rng.choice(dossiers).pole_id, user_id=user.id))
            db.session.commit()
    extra = make_pool_member(call)  # a department conflict for sure (the random draw may miss one)
    for dossier in dossiers:
        make_assignment(dossier, extra.user)
    db.session.add(ConflictOfInterest(reviewer_id=extra.user_id, call_id=call.id, source=ConflictSource.DECLARED,
                                      department=dossiers[4].departments[0]))
    db.session.commit()
    members.append(extra)
    blocked = assignments.blocked_pairs(call)
    expected = set()
    for member in members:
        for dossier in dossiers:
            with app.test_request_context():
                if permissions.reviewer_assignment(member.user, dossier) is None:
                    expected.add((dossier.id, member.user_id))
    assert blocked == expected
    # A page of dossiers (the admin's assignment page) reads only the conflicts that can name them: same answer.
    for page in ([dossiers[0]], dossiers[1:3], dossiers[3:]):
        ids = {d.id for d in page}
        assert assignments.blocked_pairs(call, dossier_ids=ids, reviewer_ids={m.user_id for m in members}) == {
            pair for pair in expected if pair[0] in ids}
    assert blocked and len(blocked) < len(members) * len(dossiers)


def test_manual_assign_and_unassign(app, db, setting, make_user):
    admin = setting["admin"]
    dossier = setting["dossiers"][0]
    anct1, anct2, cdc1, _cdc2 = (m.user for m in setting["members"])
    with app.test_request_context():
        first = assignments.assign(dossier, anct1, by=admin)
        db.session.commit()
        with pytest.raises(DomainError, match="déjà affecté"):
            assignments.assign(dossier, anct1, by=admin)
        with pytest.raises(DomainError, match="deux institutions différentes"):
            assignments.assign(dossier, anct2, by=admin)
        assignments.assign(dossier, cdc1, by=admin)
        db.session.commit()
        outsider = make_user(roles=(Role.REVIEWER,))
        with pytest.raises(DomainError, match="vivier"):
            assignments.assign(dossier, outsider, by=admin)
    assert first.institution_id == setting["institutions"][0].id
    mails = db.session.scalars(sa.select(Notification).where(Notification.template == "reviewer_assignment")).all()
    assert sorted(m.recipient for m in mails) == sorted([anct1.email, cdc1.email])
    with app.test_request_context():
        assignments.unassign(first, by=admin)
        db.session.commit()
    assert [a.reviewer_id for a in live(db, dossier)] == [cdc1.id]


def test_capacity_and_conflict_refuse_a_manual_assignment(app, db, setting, make_assignment):
    call, admin = setting["call"], setting["admin"]
    member = setting["members"][2]
    for dossier in setting["dossiers"][:2]:
        make_assignment(dossier, member.user, institution_id=member.institution_id)
    with app.test_request_context(), pytest.raises(DomainError, match="charge maximale"):
        assignments.assign(setting["dossiers"][2], member.user, by=admin)
    db.session.rollback()
    other = setting["members"][3]
    db.session.add(ConflictOfInterest(reviewer_id=other.user_id, call_id=call.id,
                                      department=setting["dossiers"][2].departments[0]))
    db.session.commit()
    with app.test_request_context(), pytest.raises(DomainError, match="conflit d'intérêts"):
        assignments.assign(setting["dossiers"][2], other.user, by=admin)


def test_an_assignment_with_a_review_started_cannot_be_removed(app, db, setting, make_assignment):
    member = setting["members"][0]
    assignment = make_assignment(setting["dossiers"][0], member.user)
    db.session.add(Review(assignment_id=assignment.id))
    db.session.commit()
    with app.test_request_context(), pytest.raises(DomainError, match="commencé"):
        assignments.unassign(assignment, by=setting["admin"])


def test_a_decline_for_conflict_records_it_alerts_the_admin_and_suggests_a_replacement(app, db, setting):
    call, admin = setting["call"], setting["admin"]
    dossier = setting["dossiers"][0]
    anct1, _anct2, cdc1, _cdc2 = (m.user for m in setting["members"])
    with app.test_request_context():
        assignment = assignments.assign(dossier, anct1, by=admin)
        assignments.assign(dossier, cdc1, by=admin)
        db.session.commit()
        with pytest.raises(DomainError, match="Seul le rapporteur"):
            assignments.decline(assignment, by=cdc1, reason="x", for_conflict=False)
        with pytest.raises(DomainError, match="raison"):
            assignments.decline(assignment, by=anct1, reason="  ", for_conflict=True)
        assignments.decline(assignment, by=anct1, reason="J'ai conseillé ce pôle.", for_conflict=True)
        db.session.commit()
        assert permissions.reviewer_assignment(anct1, dossier) is None
    assert assignment.status == AssignmentStatus.DECLINED_CONFLICT
    assert assignment.declined_at is not None and assignment.decline_reason == "J'ai conseillé ce pôle."
    conflict = db.session.scalar(sa.select(ConflictOfInterest).where(ConflictOfInterest.reviewer_id == anct1.id))
    assert (conflict.pole_id, conflict.source, conflict.call_id) == (dossier.pole_id, ConflictSource.DECLARED, call.id)
    alert = db.session.scalar(sa.select(Notification).where(Notification.template == "assignment_declined"))
    assert alert.recipient == admin.email
    assert alert.context["conflict"] is True
    assert alert.context["suggestion"] == [setting["members"][1].user.display_name]  # the other ANCT reviewer
    assert (dossier.id, anct1.id) in assignments.blocked_pairs(call)
    with app.test_request_context(), pytest.raises(DomainError, match="déjà été rendue ou déclinée"):
        assignments.decline(assignment, by=anct1, reason="encore", for_conflict=False)


def test_a_plain_decline_ends_access_without_a_conflict(app, db, setting):
    dossier = setting["dossiers"][1]
    anct1 = setting["members"][0].user
    with app.test_request_context():
        assignment = assignments.assign(dossier, anct1, by=setting["admin"])
        db.session.commit()
        assignments.decline(assignment, by=anct1, reason="Pas disponible ce mois-ci.", for_conflict=False)
        db.session.commit()
        assert permissions.reviewer_assignment(anct1, dossier) is None
    assert assignment.status == AssignmentStatus.DECLINED
    assert db.session.scalar(sa.select(sa.func.count(ConflictOfInterest.id))) == 0
    with app.test_request_context():
        view = assignments.propose(setting["call"])
    assert (dossier.id, anct1.id) not in view.proposal.new  # never proposed again for that dossier
