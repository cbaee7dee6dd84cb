"""The database itself refuses what the rules forbid (PostgreSQL): ranges, "one" rules, deleting history."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ptce_aap.enums import (
    ConflictSource,
    DecisionOutcome,
    FinancingKind,
    InstitutionKind,
    OpinionStatus,
    ReviewStage,
    Role,
)
from ptce_aap.models import (
    Assignment,
    CallCategory,
    ConflictOfInterest,
    Criterion,
    Decision,
    Dossier,
    FinancingLine,
    Institution,
    Member,
    Publication,
    RegionalGroup,
    RegionalOpinion,
    Review,
    ReviewerPoolMember,
    ReviewScore,
    User,
)
from ptce_aap.models.base import utcnow


def refused(db, change) -> str:
    """Run ``change()`` then flush; the database must refuse it. Returns the constraint's name."""
    change()
    with pytest.raises(IntegrityError) as caught:
        db.session.flush()
    db.session.rollback()
    return caught.value.orig.diag.constraint_name


@pytest.fixture
def dossier(make_dossier):
    return make_dossier(complete=True)


@pytest.fixture
def scored(db, dossier, reviewer):
    """A submitted review of ``dossier`` by ``reviewer``, one score per criterion."""
    assignment = Assignment(dossier_id=dossier.id, reviewer_id=reviewer.id, institution_id=reviewer.institution_id)
    review = Review(assignment=assignment, submitted_at=utcnow(),
                    scores=[ReviewScore(criterion_id=c.id, score=3) for c in dossier.call.criteria])
    db.session.add_all([assignment, review])
    db.session.commit()
    return review


# --- ranges ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "constraint"), [
    ("envelope_eur", Decimal("-1"), "ck_calls_envelope_not_negative"),
    ("max_amount_eur", Decimal("-0.01"), "ck_calls_max_amount_not_negative"),
    ("max_state_share", Decimal("1.5"), "ck_calls_state_share_fraction"),
    ("max_state_share", Decimal("0"), "ck_calls_state_share_fraction"),
    ("reviewers_per_dossier", 0, "ck_calls_reviewers_per_dossier_positive"),
    ("max_upload_bytes", 0, "ck_calls_max_upload_positive"),
    ("disagreement_threshold", Decimal("0"), "ck_calls_disagreement_threshold_fraction"),
])
def test_call_out_of_range_is_refused(db, make_call, field, value, constraint):
    call = make_call()
    assert refused(db, lambda: setattr(call, field, value)) == constraint


def test_call_closing_before_it_opens_is_refused(db, make_call):
    call = make_call()
    assert refused(db, lambda: setattr(call, "closes_at", call.opens_at)) == "ck_calls_closes_after_opening"


@pytest.mark.parametrize(("field", "value", "constraint"), [
    ("weight", 0, "ck_criteria_weight_positive"),
    ("max_score", 0, "ck_criteria_max_score_positive"),
])
def test_criterion_out_of_range_is_refused(db, make_call, field, value, constraint):
    criterion = make_call().criteria[0]
    assert refused(db, lambda: setattr(criterion, field, value)) == constraint


def test_negative_amounts_and_counts_are_refused(db, make_call, dossier, reviewer):
    call = make_call()
    assert refused(db, lambda: db.session.add(CallCategory(call_id=call.id, code="a", label="A", quota=-1))) == (
        "ck_call_categories_quota_not_negative")
    assert refused(db, lambda: db.session.add(CallCategory(
        call_id=call.id, code="b", label="B", max_amount_eur=Decimal("-1")))) == (
        "ck_call_categories_max_amount_not_negative")
    assert refused(db, lambda: setattr(dossier, "amount_requested_eur", Decimal("-5"))) == (
        "ck_dossiers_amount_requested_not_negative")
    assert refused(db, lambda: db.session.add(FinancingLine(
        dossier_id=dossier.id, kind=FinancingKind.EXPENSE, amount_eur=Decimal("-1")))) == "ck_financing_lines_amount_not_negative"
    assert refused(db, lambda: db.session.add(ReviewerPoolMember(
        call_id=call.id, user_id=reviewer.id, capacity=-1))) == "ck_reviewer_pool_members_capacity_not_negative"


def test_negative_score_is_refused_zero_is_kept(db, scored):
    score = scored.scores[0]
    assert refused(db, lambda: setattr(db.session.get(ReviewScore, score.id), "score", -1)) == (
        "ck_review_scores_score_not_negative")
    db.session.get(ReviewScore, score.id).score = 0
    db.session.commit()
    assert db.session.get(ReviewScore, score.id).score == 0


def test_decision_rules_are_checked(db, dossier):
    assert refused(db, lambda: db.session.add(Decision(dossier_id=dossier.id, outcome=DecisionOutcome.LAUREATE))) == (
        "ck_decisions_laureate_has_amount")
    assert refused(db, lambda: db.session.add(Decision(
        dossier_id=dossier.id, outcome=DecisionOutcome.LAUREATE, amount_eur=Decimal("80000"),
        payment_period_start=date(2027, 6, 1), payment_period_end=date(2027, 1, 1)))) == (
        "ck_decisions_payment_period_ordered")


def test_publication_version_and_institution_siren_are_checked(db, make_call):
    call = make_call()
    assert refused(db, lambda: db.session.add(Publication(call_id=call.id, version=0))) == (
        "ck_publications_version_positive")
    assert refused(db, lambda: db.session.add(Institution(name="DGCS", kind=InstitutionKind.MINISTRY,
                                                          siren="12345678"))) == "ck_institutions_siren_9_digits"


# --- conflicts: exactly one target, one row per reviewer × call × target ------------------------------

def test_conflict_needs_exactly_one_target(db, dossier, reviewer):
    def conflict(**targets):
        return lambda: db.session.add(ConflictOfInterest(reviewer_id=reviewer.id, call_id=dossier.call_id, **targets))

    assert refused(db, conflict()) == "ck_conflicts_of_interest_exactly_one_target"
    assert refused(db, conflict(pole_id=dossier.pole_id, siren="732829320")) == (
        "ck_conflicts_of_interest_exactly_one_target")
    assert refused(db, conflict(siren="7328")) == "ck_conflicts_of_interest_siren_9_digits"


def test_one_conflict_per_reviewer_and_target_other_targets_allowed(db, dossier, reviewer):
    def add(**target):
        db.session.add(ConflictOfInterest(reviewer_id=reviewer.id, call_id=dossier.call_id,
                                          source=ConflictSource.DETECTED, **target))

    add(pole_id=dossier.pole_id)
    add(siren="732829320")
    add(department="69")
    add(institution_id=reviewer.institution_id)
    db.session.commit()
    for target, index in [({"pole_id": dossier.pole_id}, "uq_conflicts_of_interest_pole_id"),
                          ({"siren": "732829320"}, "uq_conflicts_of_interest_siren"),
                          ({"department": "69"}, "uq_conflicts_of_interest_department"),
                          ({"institution_id": reviewer.institution_id}, "uq_conflicts_of_interest_institution_id")]:
        assert refused(db, lambda t=target: add(**t)) == index
    assert db.session.scalar(sa.select(sa.func.count(ConflictOfInterest.id))) == 4


def test_clearing_a_conflict_records_who(db, dossier, reviewer, admin_user):
    conflict = ConflictOfInterest(reviewer_id=reviewer.id, call_id=dossier.call_id, siren="732829320",
                                  source=ConflictSource.DETECTED)
    db.session.add(conflict)
    db.session.commit()
    assert conflict.is_active
    assert refused(db, lambda: setattr(conflict, "cleared_at", utcnow())) == (
        "ck_conflicts_of_interest_cleared_with_author")
    conflict.cleared_at, conflict.cleared_by_id, conflict.cleared_reason = utcnow(), admin_user.id, "Homonyme."
    db.session.commit()
    assert not conflict.is_active


# --- "one" rules -------------------------------------------------------------------------------------

def test_one_assignment_per_dossier_reviewer_and_stage(db, dossier, reviewer):
    db.session.add(Assignment(dossier_id=dossier.id, reviewer_id=reviewer.id))
    db.session.commit()
    assert refused(db, lambda: db.session.add(Assignment(dossier_id=dossier.id, reviewer_id=reviewer.id))) == (
        "uq_assignments_dossier_id_reviewer_id_stage")
    db.session.add(Assignment(dossier_id=dossier.id, reviewer_id=reviewer.id, stage=ReviewStage.REGIONAL))
    db.session.commit()
    stages = db.session.scalars(sa.select(Assignment.stage).order_by(Assignment.id)).all()
    assert stages == [ReviewStage.NATIONAL, ReviewStage.REGIONAL]


def test_one_review_per_assignment(db, scored):
    assert refused(db, lambda: db.session.add(Review(assignment_id=scored.assignment_id))) == (
        "uq_reviews_assignment_id")


def test_review_version_counts_saves(db, scored):
    assert scored.version == 1
    scored.confidential_note = "Dossier solide."
    db.session.commit()
    assert scored.version == 2


def test_one_pool_membership_per_call_and_user(db, make_call, reviewer):
    call = make_call()
    group = RegionalGroup(call_id=call.id, region_code="84", name="Auvergne-Rhône-Alpes")
    db.session.add_all([group, ReviewerPoolMember(call_id=call.id, user_id=reviewer.id, regional_group=group,
                                                  capacity=8, activity_domains=["alimentation"])])
    db.session.commit()
    assert refused(db, lambda: db.session.add(ReviewerPoolMember(call_id=call.id, user_id=reviewer.id))) == (
        "uq_reviewer_pool_members_call_id_user_id")
    assert refused(db, lambda: db.session.add(RegionalGroup(call_id=call.id, region_code="84", name="Bis"))) == (
        "uq_regional_groups_call_id_region_code")


def test_one_regional_opinion_per_dossier_and_group(db, dossier):
    group = RegionalGroup(call_id=dossier.call_id, region_code="84", name="Auvergne-Rhône-Alpes")
    db.session.add(group)
    db.session.flush()
    db.session.add(RegionalOpinion(call_id=dossier.call_id, dossier_id=dossier.id, group_id=group.id, rank=1))
    db.session.commit()
    assert refused(db, lambda: db.session.add(RegionalOpinion(
        call_id=dossier.call_id, dossier_id=dossier.id, group_id=group.id))) == (
        "uq_regional_opinions_dossier_id_group_id")
    assert refused(db, lambda: setattr(db.session.scalar(sa.select(RegionalOpinion)), "status", OpinionStatus.SUBMITTED)) == (
        "ck_regional_opinions_submitted_is_complete")


def test_a_corrected_decision_keeps_the_history_one_current(db, dossier, admin_user):
    first = Decision(dossier_id=dossier.id, outcome=DecisionOutcome.WAITLISTED, decided_by_id=admin_user.id)
    db.session.add(first)
    db.session.commit()
    assert refused(db, lambda: db.session.add(Decision(dossier_id=dossier.id, outcome=DecisionOutcome.REJECTED))) == (
        "uq_decisions_current")

    first.is_current = False
    second = Decision(dossier_id=dossier.id, outcome=DecisionOutcome.LAUREATE, amount_eur=Decimal("90000"),
                      supersedes=first, reference="Arrêté 2027-12", decided_by_id=admin_user.id)
    db.session.add(second)
    db.session.commit()  # one flush: the old row stops being current as the new one is added
    current = db.session.scalars(sa.select(Decision).where(Decision.dossier_id == dossier.id, Decision.is_current))
    assert [(d.outcome, d.supersedes_id) for d in current] == [(DecisionOutcome.LAUREATE, first.id)]
    assert refused(db, lambda: db.session.add(Decision(
        dossier_id=dossier.id, outcome=DecisionOutcome.REJECTED, is_current=False, supersedes_id=first.id))) == (
        "uq_decisions_supersedes_id")


def test_one_current_publication_per_call(db, make_call, admin_user):
    call = make_call()
    db.session.add(Publication(call_id=call.id, version=1, published_by_id=admin_user.id))
    db.session.commit()
    assert refused(db, lambda: db.session.add(Publication(call_id=call.id, version=2))) == "uq_publications_current"
    assert refused(db, lambda: db.session.add(Publication(call_id=call.id, version=1,
                                                          superseded_at=utcnow()))) == (
        "uq_publications_call_id_version")


# --- history survives --------------------------------------------------------------------------------

def test_deleting_a_scored_criterion_is_refused(db, scored):
    criterion = db.session.get(Criterion, scored.scores[0].criterion_id)
    assert refused(db, lambda: db.session.delete(criterion)) == "fk_review_scores_criterion_id_criteria"
    assert db.session.scalar(sa.select(sa.func.count(ReviewScore.id))) == len(scored.scores)


def test_deleting_a_reviewer_with_assignments_is_refused(db, dossier):
    reviewer = User(email="sans-historique@example.org", session_token="x" * 32, is_reviewer=True)  # no audit row
    db.session.add(reviewer)
    db.session.flush()
    db.session.add(Assignment(dossier_id=dossier.id, reviewer_id=reviewer.id))
    db.session.commit()
    assert refused(db, lambda: db.session.delete(reviewer)) == "fk_assignments_reviewer_id_users"


def test_deleting_an_assignment_with_a_review_is_refused(db, scored):
    assignment = scored.assignment
    assert refused(db, lambda: db.session.delete(assignment)) == "fk_reviews_assignment_id_assignments"


def test_deleting_a_user_with_audit_events_is_refused(db, make_user):
    user = make_user(roles=(Role.ADMIN,))  # "user.created" names the user as its actor
    assert refused(db, lambda: db.session.delete(user)) == "fk_audit_events_actor_id_users"


# --- derived columns ---------------------------------------------------------------------------------

def test_siren_follows_the_siret(db, dossier):
    assert dossier.carrier_siren == "732829320"
    assert [m.siren for m in dossier.members] == [m.siret[:9] for m in dossier.members]
    member = Member(dossier_id=dossier.id, siret="1234")
    assert member.siren == ""
    member.siret = "35600000000048"
    assert member.siren == "356000000"
    dossier.carrier_siret = "pas un siret"
    db.session.commit()
    assert db.session.scalar(sa.select(Dossier.carrier_siren).where(Dossier.id == dossier.id)) == ""


def test_api_token_is_usable_until_expiry_or_revocation(db, admin_user):
    from ptce_aap.models import ApiToken

    now = utcnow()
    token = ApiToken(user_id=admin_user.id, label="Tableau de bord", token_sha256="0" * 64, prefix="ptce_ab12",
                     scopes=["calls:read"], created_at=now, expires_at=now + timedelta(days=90))
    db.session.add(token)
    db.session.commit()
    assert token.is_usable_at(now + timedelta(days=89))
    assert not token.is_usable_at(now + timedelta(days=90))
    token.revoked_at = now
    assert not token.is_usable_at(now)
    assert refused(db, lambda: setattr(token, "expires_at", token.created_at)) == (
        "ck_api_tokens_expires_after_creation")


def test_deleting_a_committee_session_with_decisions_is_refused(db, dossier):
    from ptce_aap.models import CommitteeSession

    session = CommitteeSession(call_id=dossier.call_id, held_on=date(2027, 5, 12), place="Paris")
    db.session.add_all([session, Decision(dossier_id=dossier.id, outcome=DecisionOutcome.REJECTED, session=session)])
    db.session.commit()
    assert refused(db, lambda: db.session.delete(session)) == "fk_decisions_session_id_committee_sessions"
