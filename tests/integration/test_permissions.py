"""Who may do what (``ptce_aap.permissions``): a truth table, one row per kind of person, one column per
predicate, on a world where another pole's dossier sits beside the one asked about (so that a leak shows)."""

from __future__ import annotations

import pytest
from flask_login import AnonymousUserMixin

from ptce_aap import permissions as p
from ptce_aap.enums import AssignmentStatus, CallStatus, ConflictSource, DossierStatus, Role
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment, PoleMembership
from ptce_aap.models.reviews import Assignment, ConflictOfInterest, Review
from ptce_aap.services import submission

PEOPLE = ["owner", "coeditor", "other_applicant", "admin", "reviewer_assigned", "reviewer_conflict",
          "reviewer_not_assigned", "anonymous"]

# Columns: the predicate and the state the dossier (and its call) is put in before asking.
COLUMNS = ["view", "edit", "submit", "withdraw", "download", "manage_pole", "edit_review", "decide", "manage_call"]

TRUTH = {
    #                         view   edit   submit withdr download pole  review decide call
    "owner":                 (True, True, True, True, True, True, False, False, False),
    "coeditor":              (True, True, True, True, True, False, False, False, False),
    "other_applicant":       (False, False, False, False, False, False, False, False, False),
    "admin":                 (True, False, False, False, True, False, False, True, True),
    "reviewer_assigned":     (True, False, False, False, True, False, True, False, False),
    "reviewer_conflict":     (False, False, False, False, False, False, False, False, False),
    "reviewer_not_assigned": (False, False, False, False, False, False, False, False, False),
    "anonymous":             (False, False, False, False, False, False, False, False, False),
}


@pytest.fixture
def world(db, make_user, make_dossier, open_call):
    """Two poles' dossiers on one call; reviewers assigned to the first, one of them with a conflict, one
    assigned only to the other pole's dossier."""
    owner = make_user("owner@example.org")
    coeditor = make_user("coediteur@example.org")
    other = make_user("autre@example.org")
    dossier = make_dossier(call=open_call, owner=owner, complete=True)
    other_dossier = make_dossier(call=open_call, owner=other, pole_name="Autre pôle", complete=True)
    db.session.add(PoleMembership(pole_id=dossier.pole_id, user_id=coeditor.id))
    reviewers = {name: make_user(f"{name}@example.org", roles=(Role.REVIEWER,), institution="ANCT")
                 for name in ("reviewer_assigned", "reviewer_conflict", "reviewer_not_assigned")}
    reviews = {}
    for name, target in (("reviewer_assigned", dossier), ("reviewer_conflict", dossier),
                         ("reviewer_not_assigned", other_dossier)):
        assignment = Assignment(dossier_id=target.id, reviewer_id=reviewers[name].id)
        db.session.add(assignment)
        db.session.flush()
        reviews[name] = Review(assignment_id=assignment.id)
        db.session.add(reviews[name])
    db.session.add(ConflictOfInterest(reviewer_id=reviewers["reviewer_conflict"].id, call_id=dossier.call_id,
                                      pole_id=dossier.pole_id, reason="Ancien salarié de la structure porteuse"))
    db.session.commit()
    people = {"owner": owner, "coeditor": coeditor, "other_applicant": other,
              "admin": make_user("admin@example.org", roles=(Role.ADMIN,)), "anonymous": AnonymousUserMixin(),
              **reviewers}
    return {"people": people, "dossier": dossier, "other": other_dossier, "reviews": reviews,
            "attachment": dossier.attachments[0]}


def _ask(world, user, name: str) -> tuple[bool, ...]:
    dossier, call = world["dossier"], world["dossier"].call
    # A review of this dossier: the person's own when they have one here, else the assigned reviewer's.
    review = world["reviews"][name if name in ("reviewer_assigned", "reviewer_conflict") else "reviewer_assigned"]
    row = {}
    dossier.status, call.status = DossierStatus.DRAFT, CallStatus.OPEN
    row["view"] = p.can_view_dossier(user, dossier)
    row["edit"] = p.can_edit_dossier(user, dossier)
    row["submit"] = p.can_submit_dossier(user, dossier)
    row["download"] = p.can_download_attachment(user, world["attachment"])
    row["manage_pole"] = p.can_manage_pole(user, dossier.pole)
    row["edit_review"] = p.can_edit_review(user, review)
    row["manage_call"] = p.can_manage_call(user, call)
    dossier.status = DossierStatus.SUBMITTED
    row["withdraw"] = p.can_withdraw_dossier(user, dossier)
    dossier.status, call.status = DossierStatus.REVIEWED, CallStatus.DELIBERATION
    row["decide"] = p.can_decide(user, dossier)
    return tuple(row[c] for c in COLUMNS)


@pytest.mark.parametrize("name", PEOPLE)
def test_permission_truth_table(world, name):
    actual = _ask(world, world["people"][name], name)
    assert dict(zip(COLUMNS, actual, strict=True)) == dict(zip(COLUMNS, TRUTH[name], strict=True))


@pytest.mark.parametrize("name", ["other_applicant", "reviewer_not_assigned"])
def test_another_poles_dossier_is_theirs_to_see_but_never_leaks_to_the_first(world, name):
    """The other applicant and the reviewer assigned elsewhere do see the other pole's dossier (so the
    world is not empty), and still nothing of the first one."""
    user = world["people"][name]
    assert p.can_view_dossier(user, world["other"]) is True
    if name == "reviewer_not_assigned":
        assert p.can_edit_review(user, world["reviews"][name]) is True
    assert p.can_view_dossier(user, world["dossier"]) is False
    assert p.can_download_attachment(user, world["attachment"]) is False
    assert p.can_view_dossier(world["people"]["owner"], world["other"]) is False
    assert p.can_view_dossier(world["people"]["reviewer_assigned"], world["other"]) is False


def test_a_declined_assignment_shows_nothing(world, db):
    reviewer = world["people"]["reviewer_assigned"]
    world["reviews"]["reviewer_assigned"].assignment.status = AssignmentStatus.DECLINED_CONFLICT
    db.session.flush()
    assert p.can_view_dossier(reviewer, world["dossier"]) is False
    assert p.can_edit_review(reviewer, world["reviews"]["reviewer_assigned"]) is False


@pytest.mark.parametrize("conflict", [
    {"siren": "732829320"},  # the structure porteuse's SIREN (its SIRET is 73282932000074)
    {"siren": "356000000"},  # a member's SIREN
    {"pole_id": "same"},  # the pole, for this very call
    {"department": "DEPT"},  # one of the departments the pole covers
])
def test_any_conflict_on_the_dossier_hides_it_from_an_assigned_reviewer(world, db, conflict):
    reviewer, dossier = world["people"]["reviewer_assigned"], world["dossier"]
    assert p.can_view_dossier(reviewer, dossier) is True
    values = {k: (dossier.pole_id if v == "same" else dossier.departments[0] if v == "DEPT" else v)
              for k, v in conflict.items()}
    db.session.add(ConflictOfInterest(reviewer_id=reviewer.id, call_id=dossier.call_id, **values))
    db.session.flush()
    assert p.can_view_dossier(reviewer, dossier) is False
    assert p.can_edit_review(reviewer, world["reviews"]["reviewer_assigned"]) is False


def test_a_conflict_cleared_by_an_admin_no_longer_hides_the_dossier(world, db):
    reviewer, dossier = world["people"]["reviewer_assigned"], world["dossier"]
    admin = world["people"]["admin"]
    conflict = ConflictOfInterest(reviewer_id=reviewer.id, call_id=dossier.call_id, siren="732829320",
                                  source=ConflictSource.DETECTED)
    db.session.add(conflict)
    db.session.flush()
    assert p.can_view_dossier(reviewer, dossier) is False
    conflict.cleared_at, conflict.cleared_by_id, conflict.cleared_reason = utcnow(), admin.id, "Homonymie"
    db.session.flush()
    assert p.can_view_dossier(reviewer, dossier) is True


def test_a_conflict_for_another_call_does_not_hide_this_one(world, db, make_call):
    reviewer, dossier = world["people"]["reviewer_assigned"], world["dossier"]
    db.session.add(ConflictOfInterest(reviewer_id=reviewer.id, call_id=make_call().id, pole_id=dossier.pole_id))
    db.session.flush()
    assert p.can_view_dossier(reviewer, dossier) is True


def test_a_reviewer_who_coedits_the_pole_does_not_review_it(world, db):
    reviewer, dossier = world["people"]["reviewer_assigned"], world["dossier"]
    db.session.add(PoleMembership(pole_id=dossier.pole_id, user_id=reviewer.id))
    db.session.flush()
    assert p.can_view_dossier(reviewer, dossier) is False


def test_a_submitted_review_is_no_longer_editable(world, db):
    review = world["reviews"]["reviewer_assigned"]
    review.submitted_at = utcnow()
    db.session.flush()
    assert p.can_edit_review(world["people"]["reviewer_assigned"], review) is False
    assert p.can_view_dossier(world["people"]["reviewer_assigned"], world["dossier"]) is True


def test_a_reviewer_cannot_edit_someone_elses_review(world):
    assert p.can_edit_review(world["people"]["reviewer_assigned"], world["reviews"]["reviewer_conflict"]) is False


def test_an_attachment_of_another_pole_follows_its_own_dossier(world, db):
    attachment = db.session.get(Attachment, world["other"].attachments[0].id)
    assert p.can_download_attachment(world["people"]["other_applicant"], attachment) is True
    assert p.can_download_attachment(world["people"]["owner"], attachment) is False
    assert p.can_download_attachment(world["people"]["admin"], attachment) is True


@pytest.mark.parametrize("dossier_status,call_status", [
    (DossierStatus.SUBMITTED, CallStatus.DELIBERATION), (DossierStatus.REVIEWED, CallStatus.REVIEW),
    (DossierStatus.LAUREATE, CallStatus.DELIBERATION), (DossierStatus.WITHDRAWN, CallStatus.DELIBERATION),
])
def test_an_admin_decides_only_a_reviewed_dossier_while_the_call_deliberates(world, dossier_status, call_status):
    dossier = world["dossier"]
    dossier.status, dossier.call.status = dossier_status, call_status
    assert p.can_decide(world["people"]["admin"], dossier) is False


def test_the_dossier_page_offers_what_the_predicates_allow(client, login_as, world, db):
    """Templates ask the same predicates as views: submit while a draft, withdraw once submitted."""
    dossier = world["dossier"]
    login_as(world["people"]["coeditor"])
    draft_page = client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Vérifier et déposer le dossier" in draft_page
    assert "Retirer le dossier" not in draft_page
    submission.submit_dossier(dossier, by=world["people"]["owner"], now=utcnow())
    db.session.commit()
    submitted_page = client.get(f"/porteur/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Vérifier et déposer le dossier" not in submitted_page
    assert "Retirer le dossier" in submitted_page
    login_as(world["people"]["other_applicant"])
    assert client.get(f"/porteur/dossiers/{dossier.id}").status_code == 404
