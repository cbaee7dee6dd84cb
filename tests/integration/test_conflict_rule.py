"""The one conflict-of-interest rule (SPEC §9, issue 10 point 4): ``permissions.conflicted_pairs`` agrees
with a slow, obviously correct reference on random worlds — conflicts of every kind, cleared ones, other
calls' ones, co-editors, dossiers without a carrier SIREN, members without SIREN — and every other reader
(``conflicted_dossier_ids``, ``has_conflict_on``, ``reviewer_assignment``, ``blocked_pairs``) says the same,
in a constant number of queries."""

from __future__ import annotations

import random

import pytest

from ptce_aap import permissions
from ptce_aap.enums import ConflictSource, Role
from ptce_aap.models.accounts import Institution
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Dossier, Member, PoleMembership
from ptce_aap.models.reviews import Assignment, ConflictOfInterest
from ptce_aap.services import assignments
from tests.fixtures.queries import count_queries

SIRENS = ["111111111", "222222222", "333333333", "444444444", "555555555"]
DEPARTMENTS = ["01", "38", "69", "75", "2A"]


def concerns(conflict, reviewer, dossier, institutions) -> bool:
    """The rule's words, for one conflict row, one reviewer and one dossier."""
    names = ({dossier.carrier_siren} | {m.siren for m in dossier.members}) - {"", None}
    departments = {x for x in dossier.departments or [] if x}
    institution = institutions.get(conflict.institution_id)
    return (conflict.reviewer_id == reviewer.id and conflict.call_id == dossier.call_id
            and conflict.cleared_at is None
            and (conflict.pole_id == dossier.pole_id or conflict.siren in names or conflict.department in departments
                 or (institution is not None and institution.siren in names)))


def reference(db, reviewers, dossiers) -> set[tuple[int, int]]:
    """Pair by pair, straight from the words of the rule: a conflict row concerns it, or the reviewer owns or
    co-edits a dossier of the same call (a competitor: every dossier of that call)."""
    conflicts = db.session.query(ConflictOfInterest).all()
    institutions = {i.id: i for i in db.session.query(Institution).all()}
    memberships = db.session.query(PoleMembership).all()
    every_dossier = db.session.query(Dossier).all()
    competes = {(m.user_id, other.call_id) for m in memberships for other in every_dossier
                if other.pole_id == m.pole_id}
    return {(r.id, d.id) for r in reviewers for d in dossiers
            if (r.id, d.call_id) in competes or any(concerns(c, r, d, institutions) for c in conflicts)}


def build_world(db, rng, make_call, make_dossier, make_user):
    calls = [make_call(), make_call()]
    dossiers = []
    for i in range(8):
        dossier = make_dossier(call=rng.choice(calls), pole_name=f"Pôle {i}")
        dossier.carrier_siren = rng.choice(SIRENS + ["", ""])
        dossier.departments = rng.sample(DEPARTMENTS, rng.randint(0, 2)) + ([""] if rng.random() < 0.2 else [])
        for position in range(rng.randint(0, 3)):
            db.session.add(Member(dossier_id=dossier.id, position=position, name=f"Membre {position}",
                                  siren=rng.choice(SIRENS + [""])))
        dossiers.append(dossier)
    institutions = [Institution(name=f"Institution {n}", short_name=f"I{n}", siren=rng.choice(SIRENS + [None]))
                    for n in range(4)]
    db.session.add_all(institutions)
    db.session.commit()
    reviewers = [make_user(roles=(Role.REVIEWER,)) for _ in range(5)]
    targets = {"pole_id": [d.pole_id for d in dossiers], "siren": SIRENS + ["999999999"],
               "department": DEPARTMENTS + ["13"], "institution_id": [i.id for i in institutions]}
    seen = set()
    for reviewer in reviewers:
        for _ in range(rng.randint(0, 6)):
            call = rng.choice(calls)
            column = rng.choice(list(targets))
            value = rng.choice(targets[column])
            if (call.id, reviewer.id, column, value) in seen:
                continue
            seen.add((call.id, reviewer.id, column, value))
            conflict = ConflictOfInterest(reviewer_id=reviewer.id, call_id=call.id, source=ConflictSource.DECLARED,
                                          **{column: value})
            if rng.random() < 0.25:
                conflict.cleared_at, conflict.cleared_by_id, conflict.cleared_reason = utcnow(), reviewer.id, "vu"
            db.session.add(conflict)
        if rng.random() < 0.3:
            db.session.add(PoleMembership(pole_id=rng.choice(dossiers).pole_id, user_id=reviewer.id))
    db.session.commit()
    db.session.expire_all()
    return calls, dossiers, reviewers


@pytest.mark.parametrize("seed", range(6))
def test_the_bulk_rule_agrees_with_a_reference_on_random_worlds(app, db, make_call, make_dossier, make_user, seed):
    rng = random.Random(seed)
    calls, dossiers, reviewers = build_world(db, rng, make_call, make_dossier, make_user)
    expected = reference(db, reviewers, dossiers)
    assert permissions.conflicted_pairs([r.id for r in reviewers], dossiers) == expected
    # some blocked pairs and some free ones, so that the comparison means something over the seeds
    assert len(expected) < len(reviewers) * len(dossiers)

    for _ in range(5):  # any sub-rectangle gives the same answer
        some_reviewers = rng.sample(reviewers, rng.randint(1, len(reviewers)))
        some_dossiers = rng.sample(dossiers, rng.randint(1, len(dossiers)))
        assert permissions.conflicted_pairs([r.id for r in some_reviewers], some_dossiers) == \
            reference(db, some_reviewers, some_dossiers)

    for call in calls:  # the solver's form, on each call
        mine = [d for d in dossiers if d.call_id == call.id]
        assert assignments.blocked_pairs(call, reviewer_ids=[r.id for r in reviewers]) == {
            (d, r) for r, d in expected if d in {x.id for x in mine}}

    for reviewer in reviewers:  # the per-reviewer and per-pair forms
        assert permissions.conflicted_dossier_ids(reviewer, dossiers) == {d for r, d in expected if r == reviewer.id}
        for dossier in dossiers:
            db.session.add(Assignment(dossier_id=dossier.id, reviewer_id=reviewer.id))
    db.session.commit()
    for reviewer in reviewers:
        for dossier in dossiers:
            blocked = (reviewer.id, dossier.id) in expected
            with app.test_request_context():
                assert permissions.has_conflict_on(reviewer, dossier) is blocked
                assert (permissions.reviewer_assignment(reviewer, dossier) is None) is blocked


def test_the_bulk_rule_runs_in_at_most_three_queries(app, db, make_call, make_dossier, make_user):
    rng = random.Random(99)
    _calls, dossiers, reviewers = build_world(db, rng, make_call, make_dossier, make_user)
    ids = [r.id for r in reviewers]
    db.session.expire_all()
    dossiers = [db.session.merge(d) for d in dossiers]
    for d in dossiers:  # load what the rule reads from the objects before counting
        _ = (d.id, d.call_id, d.pole_id, d.carrier_siren, d.departments)
    with count_queries(db) as few:
        permissions.conflicted_pairs(ids[:1], dossiers[:1])
    with count_queries(db) as many:
        permissions.conflicted_pairs(ids, dossiers)
    assert len(few) <= 3 and len(many) <= 3
