"""The exact reviewer assignment (``domain.assignment``): constraints always hold on random instances, the
answer is the lexicographic optimum found by brute force on tiny ones, uncoverable dossiers say why."""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptce_aap.domain.assignment import DossierIn, Existing, Reason, ReviewerIn, match_score, solve

INSTITUTIONS = ["A", "B", "C"]
DOMAINS = ["alimentation", "culture", "numerique"]
REGIONS = ["11", "84"]


@st.composite
def instances(draw, max_dossiers=4, max_reviewers=5):
    k = draw(st.integers(1, 3))
    n_dossiers = draw(st.integers(1, max_dossiers))
    n_reviewers = draw(st.integers(0, max_reviewers))
    dossiers = [DossierIn(i, draw(st.sampled_from(REGIONS)), frozenset(draw(st.sets(st.sampled_from(DOMAINS),
                                                                                     max_size=2))))
                for i in range(1, n_dossiers + 1)]
    reviewer_ids = [100 + j for j in range(n_reviewers)]
    institution = {r: draw(st.sampled_from(INSTITUTIONS)) for r in reviewer_ids}
    pairs = [(d.id, r) for d in dossiers for r in reviewer_ids]
    blocked = draw(st.sets(st.sampled_from(pairs), max_size=len(pairs))) if pairs else set()
    free = [p for p in pairs if p not in blocked]
    existing_pairs = draw(st.sets(st.sampled_from(free), max_size=3)) if free else set()
    existing = [Existing(d, r, institution[r]) for d, r in sorted(existing_pairs)]
    held = Counter(r for _d, r in existing_pairs)
    reviewers = [ReviewerIn(r, institution[r], draw(st.one_of(st.none(), st.integers(0, 3))),
                            frozenset(draw(st.sets(st.sampled_from(DOMAINS), max_size=2))),
                            frozenset(draw(st.sets(st.sampled_from(REGIONS), max_size=1))),
                            held[r] + draw(st.integers(0, 1)))
                 for r in reviewer_ids]
    return dossiers, reviewers, k, blocked, existing


def check_constraints(dossiers, reviewers, k, blocked, existing, proposal):
    by_id = {r.id: r for r in reviewers}
    existing_pairs = {(e.dossier_id, e.reviewer_id) for e in existing}
    new = proposal.new
    assert len(set(new)) == len(new)
    assert not set(new) & set(blocked), "a blocked pair was proposed"
    assert not set(new) & existing_pairs, "an existing pair was proposed again"
    uncovered = {u.dossier_id for u in proposal.uncovered}
    for dossier in dossiers:
        kept = [e.reviewer_id for e in existing if e.dossier_id == dossier.id]
        added = [r for d, r in new if d == dossier.id]
        assert proposal.reviewers[dossier.id] == kept + added, "existing reviewers are kept, first"
        if dossier.id in uncovered:
            assert added == [], "an uncovered dossier gets nothing new"
            assert len(kept) < k
            continue
        assert len(kept) + len(added) >= k, "a dossier not reported is covered"
        if added:
            assert len(kept) + len(added) == k
            institutions = [e.institution for e in existing if e.dossier_id == dossier.id]
            institutions += [by_id[r].institution for r in added]
            if k >= 2:
                assert max(Counter(institutions).values()) <= k - 1
                assert len(set(institutions)) >= 2
    new_per_reviewer = Counter(r for _d, r in new)
    for reviewer in reviewers:
        assert proposal.loads[reviewer.id] == reviewer.load + new_per_reviewer[reviewer.id]
        if reviewer.capacity is not None and new_per_reviewer[reviewer.id]:
            assert proposal.loads[reviewer.id] <= reviewer.capacity, "a reviewer above capacity"
    assert proposal.max_load == max(proposal.loads.values(), default=0)


def brute_force(dossiers, reviewers, k, blocked, existing):
    """The best (covered, -max load, matches) over every choice: each dossier untouched or fully covered."""
    by_id = {r.id: r for r in reviewers}
    options = []
    for dossier in dossiers:
        kept = [e for e in existing if e.dossier_id == dossier.id]
        need = max(k - len(kept), 0)
        here = {e.reviewer_id for e in kept}
        free = [r.id for r in reviewers if r.id not in here and (dossier.id, r.id) not in blocked]
        choices = [()]
        if need:
            for combo in itertools.combinations(free, need):
                institutions = Counter([e.institution for e in kept] + [by_id[r].institution for r in combo])
                if k < 2 or max(institutions.values()) <= k - 1:
                    choices.append(combo)
        options.append([(dossier, c) for c in choices])
    best = None
    for plan in itertools.product(*options):
        loads = Counter({r.id: r.load for r in reviewers})
        for _dossier, combo in plan:
            loads.update(combo)
        if any(r.capacity is not None and loads[r.id] > r.load and loads[r.id] > r.capacity for r in reviewers):
            continue
        covered = sum(1 for d, combo in plan if combo or len([e for e in existing if e.dossier_id == d.id]) >= k)
        max_load = max(loads.values(), default=0)
        matches = sum(match_score(d, by_id[r]) for d, combo in plan for r in combo)
        value = (covered, -max_load, matches)
        if best is None or value > best:
            best = value
    return best


def value_of(dossiers, existing, k, proposal):
    uncovered = {u.dossier_id for u in proposal.uncovered}
    covered = sum(1 for d in dossiers if d.id not in uncovered)
    return covered, -proposal.max_load, proposal.matches


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_constraints_always_hold(instance):
    dossiers, reviewers, k, blocked, existing = instance
    proposal = solve(dossiers, reviewers, k, blocked, existing)
    check_constraints(dossiers, reviewers, k, blocked, existing, proposal)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_dossiers=3, max_reviewers=4))
def test_the_proposal_is_the_lexicographic_optimum_of_brute_force(instance):
    dossiers, reviewers, k, blocked, existing = instance
    proposal = solve(dossiers, reviewers, k, blocked, existing)
    assert value_of(dossiers, existing, k, proposal) == brute_force(dossiers, reviewers, k, blocked, existing)


@settings(max_examples=100, deadline=None)
@given(instances(max_dossiers=3, max_reviewers=4))
def test_a_dossier_reported_alone_cannot_be_covered_even_alone(instance):
    """Every reason but CAPACITY-among-others means: even with the whole pool to itself, no way."""
    dossiers, reviewers, k, blocked, existing = instance
    proposal = solve(dossiers, reviewers, k, blocked, existing)
    for uncovered in proposal.uncovered:
        dossier = next(d for d in dossiers if d.id == uncovered.dossier_id)
        alone = solve([dossier], reviewers, k, blocked, [e for e in existing if e.dossier_id == dossier.id])
        if uncovered.reason != Reason.CAPACITY:
            assert [u.reason for u in alone.uncovered] == [uncovered.reason]
        assert uncovered.missing == k - len([e for e in existing if e.dossier_id == dossier.id])


# --- Hand-made cases: the reasons, K, existing assignments -------------------------------------------------

def reviewer(id_, institution, capacity=None, load=0, domains=(), regions=()):
    return ReviewerIn(id_, institution, capacity, frozenset(domains), frozenset(regions), load)


def test_every_reviewer_in_conflict_gives_no_reviewer():
    proposal = solve([DossierIn(1)], [reviewer(10, "A"), reviewer(11, "B")], 2, blocked={(1, 10), (1, 11)})
    assert [(u.dossier_id, u.reason, u.missing, u.available) for u in proposal.uncovered] == [
        (1, Reason.NO_REVIEWER, 2, 0)]
    assert proposal.new == []


def test_an_empty_pool_gives_no_reviewer():
    proposal = solve([DossierIn(1)], [], 2)
    assert [u.reason for u in proposal.uncovered] == [Reason.NO_REVIEWER]


def test_reviewers_of_a_single_institution_give_one_institution():
    proposal = solve([DossierIn(1), DossierIn(2)], [reviewer(10, "A"), reviewer(11, "A"), reviewer(12, "B")], 2,
                     blocked={(1, 12)})
    assert [(u.dossier_id, u.reason, u.available) for u in proposal.uncovered] == [(1, Reason.ONE_INSTITUTION, 2)]
    assert proposal.reviewers[2] in ([10, 12], [11, 12])


def test_an_existing_reviewer_counts_for_k_and_for_its_institution():
    reviewers = [reviewer(10, "A", load=1), reviewer(11, "A"), reviewer(12, "B")]
    proposal = solve([DossierIn(1)], reviewers, 2, existing=[Existing(1, 10, "A")])
    assert proposal.new == [(1, 12)]
    assert proposal.reviewers[1] == [10, 12]
    one_institution = solve([DossierIn(1)], reviewers[:2], 2, existing=[Existing(1, 10, "A")])
    assert [u.reason for u in one_institution.uncovered] == [Reason.ONE_INSTITUTION]


def test_too_few_reviewers_without_conflict():
    proposal = solve([DossierIn(1)], [reviewer(10, "A"), reviewer(11, "B")], 3)
    assert [(u.reason, u.missing, u.available) for u in proposal.uncovered] == [(Reason.TOO_FEW, 3, 2)]


def test_full_reviewers_give_capacity():
    proposal = solve([DossierIn(1)], [reviewer(10, "A", capacity=0), reviewer(11, "B", capacity=2, load=2)], 2)
    assert [u.reason for u in proposal.uncovered] == [Reason.CAPACITY]


def test_capacity_shared_between_dossiers_covers_as_many_as_possible():
    reviewers = [reviewer(10, "A", capacity=1), reviewer(11, "B", capacity=1), reviewer(12, "B")]
    proposal = solve([DossierIn(1), DossierIn(2)], reviewers, 2)
    assert len(proposal.new) == 2
    assert [(u.reason, u.missing) for u in proposal.uncovered] == [(Reason.CAPACITY, 2)]
    assert proposal.loads[10] == 1


def test_k_one_needs_no_second_institution():
    proposal = solve([DossierIn(1), DossierIn(2)], [reviewer(10, "A"), reviewer(11, "A")], 1)
    assert proposal.uncovered == []
    assert sorted(proposal.loads.values()) == [1, 1]


def test_a_covered_dossier_gets_nothing_more():
    proposal = solve([DossierIn(1)], [reviewer(10, "A", load=1), reviewer(11, "B", load=1), reviewer(12, "C")], 2,
                     existing=[Existing(1, 10, "A"), Existing(1, 11, "B")])
    assert proposal.new == [] and proposal.uncovered == []


def test_load_is_balanced_before_expertise_is_matched():
    """Reviewer 10 matches every dossier but already carries 2: balance wins, then expertise breaks ties."""
    dossiers = [DossierIn(i, "84", frozenset({"culture"})) for i in (1, 2)]
    reviewers = [reviewer(10, "A", load=2, domains={"culture"}, regions={"84"}), reviewer(11, "A"),
                 reviewer(12, "B"), reviewer(13, "B", domains={"culture"})]
    proposal = solve(dossiers, reviewers, 2)
    assert proposal.max_load == 2
    assert proposal.loads[10] == 2 and proposal.loads[13] == 2
    assert proposal.matches == 2


def test_expertise_matches_are_maximised():
    dossiers = [DossierIn(1, "84", frozenset({"culture"})), DossierIn(2, "11", frozenset({"numerique"}))]
    reviewers = [reviewer(10, "A", domains={"culture"}, regions={"84"}), reviewer(11, "A", domains={"numerique"}),
                 reviewer(12, "B", regions={"11"}), reviewer(13, "B", regions={"84"})]
    proposal = solve(dossiers, reviewers, 2)
    assert proposal.new == [(1, 10), (1, 13), (2, 11), (2, 12)]
    assert proposal.matches == 5


def test_the_fingerprint_follows_the_state_and_the_pairs():
    proposal = solve([DossierIn(1)], [reviewer(10, "A"), reviewer(11, "B")], 2)
    assert proposal.fingerprint("s1") == proposal.fingerprint("s1")
    assert proposal.fingerprint("s1") != proposal.fingerprint("s2")
    other = solve([DossierIn(1)], [reviewer(10, "A"), reviewer(12, "B")], 2)
    assert other.fingerprint("s1") != proposal.fingerprint("s1")


def test_a_thousand_dossiers_and_sixty_reviewers_are_solved():
    """The scale of issue 10 (timing in bench/assignment.py, not here)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from assignment import instance  # bench/assignment.py: the same instance the benchmark times

    dossiers, reviewers, k, blocked, existing = instance(1000, 60, 2, seed=7)
    proposal = solve(dossiers, reviewers, k, blocked, existing)
    check_constraints(dossiers, reviewers, k, blocked, existing, proposal)
    assert proposal.uncovered == []
    total = sum(r.load for r in reviewers) + len(proposal.new)
    assert proposal.max_load >= -(-total // len(reviewers))


@settings(max_examples=100, deadline=None)
@given(instances())
def test_the_proposal_passes_its_own_check_and_a_broken_one_does_not(instance):
    from ptce_aap.domain.assignment import violations

    dossiers, reviewers, k, blocked, existing = instance
    proposal = solve(dossiers, reviewers, k, blocked, existing)
    assert violations(dossiers, reviewers, k, blocked, existing, proposal.new) == []
    if blocked:
        assert violations(dossiers, reviewers, k, blocked, existing, [*proposal.new, sorted(blocked)[0]])


@settings(max_examples=100, deadline=None)
@given(instances(max_dossiers=3, max_reviewers=4))
def test_a_large_shortage_keeps_the_best_coverage_in_two_steps(instance):
    """Above ``EXACT_COVERAGE_PAIRS`` the covered dossiers of the coverage stage are kept: the coverage is still
    the best (brute force), and the constraints hold."""
    import ptce_aap.domain.assignment as module

    dossiers, reviewers, k, blocked, existing = instance
    saved = module.EXACT_COVERAGE_PAIRS
    module.EXACT_COVERAGE_PAIRS = 0
    try:
        proposal = solve(dossiers, reviewers, k, blocked, existing)
    finally:
        module.EXACT_COVERAGE_PAIRS = saved
    check_constraints(dossiers, reviewers, k, blocked, existing, proposal)
    best = brute_force(dossiers, reviewers, k, blocked, existing)
    assert value_of(dossiers, existing, k, proposal)[0] == best[0]
    assert proposal.optimal
