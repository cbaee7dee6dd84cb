"""The selection simulator (``domain.selection``): hand cases, the optimum against brute force, the constraints
always held (hypothesis), what each constraint costs, and infeasible constraint sets explained, not crashed."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ptce_aap.domain import selection_milp
from ptce_aap.domain.selection import Candidate, Constraints, Reason, SelectionInputError, simulate

# Brute force -----------------------------------------------------------------------------------------------


def _spec(envelope, cons: Constraints, cands) -> dict:
    """Every constraint atom, as the brute force reads them (``None``/empty: relaxed)."""
    regions = {c.region for c in cands if c.score is not None and c.region} if cons.region_coverage else set()
    return {"envelope": envelope, "regions": regions, "quotas": dict(cons.quotas), "caps": dict(cons.caps),
            "min_score": cons.min_score, "forced_in": set(cons.forced_in), "forced_out": set(cons.forced_out)}


def _relax(spec: dict, kind: str, subject) -> dict:
    spec = {k: (v.copy() if isinstance(v, set | dict) else v) for k, v in spec.items()}
    if kind in ("envelope", "min_score"):
        spec[kind] = None
    elif kind == "regions":
        spec["regions"] = set()
    elif kind == "region":
        spec["regions"].discard(subject)
    elif kind in ("quota", "cap"):
        spec[kind + "s"].pop(subject)
    else:
        spec[kind].discard(subject)
    return spec


def _amount(c: Candidate, cons: Constraints) -> D:
    return cons.amounts.get(c.id, c.amount)


def _holds(chosen, spec, cons) -> bool:
    if any(c.score is None for c in chosen):
        return False
    ids = {c.id for c in chosen}
    if spec["envelope"] is not None and sum(_amount(c, cons) for c in chosen) > spec["envelope"]:
        return False
    if not spec["forced_in"] <= ids or spec["forced_out"] & ids:
        return False
    if spec["min_score"] is not None and any(c.score < spec["min_score"] for c in chosen):
        return False
    if not spec["regions"] <= {c.region for c in chosen}:
        return False
    for cat, quota in spec["quotas"].items():
        if sum(1 for c in chosen if c.category == cat) > quota:
            return False
    for cat, cap in spec["caps"].items():
        if sum(_amount(c, cons) for c in chosen if c.category == cat) > cap:
            return False
    return True


def brute(cands, spec, cons):
    """``(best score, least amount at that score, the optimal id sets)``, or ``None`` when infeasible."""
    best = None
    for size in range(len(cands) + 1):
        for chosen in itertools.combinations(cands, size):
            if not _holds(chosen, spec, cons):
                continue
            key = (sum((c.score for c in chosen), D(0)), -sum((_amount(c, cons) for c in chosen), D(0)))
            ids = frozenset(c.id for c in chosen)
            if best is None or key > best[0]:
                best = (key, {ids})
            elif key == best[0]:
                best[1].add(ids)
    return None if best is None else (best[0][0], -best[0][1], best[1])


def assert_respects(result, cands, envelope, cons):
    """Every constraint holds for the proposed selection, checked in Decimal."""
    by_id = {c.id: c for c in cands}
    chosen = [by_id[i] for i in result.selected]
    spec = _spec(envelope, cons, cands)
    assert _holds(chosen, spec, cons)
    assert result.amount_spent == sum((_amount(c, cons) for c in chosen), D(0)) <= envelope
    assert result.total_score == sum((c.score for c in chosen), D(0))
    assert result.envelope_left == envelope - result.amount_spent >= 0


def check_against_brute(cands, envelope, cons):
    result = simulate(cands, envelope, cons)
    spec = _spec(envelope, cons, cands)
    expected = brute(cands, spec, cons)
    if expected is None:
        assert not result.feasible and result.selected == ()
        kinds = [(ref.kind, ref.subject) for ref in result.conflict.constraints]
        assert kinds, result.conflict.message
        clash = spec
        for atom in _atoms(spec):  # the conflict alone clashes…
            if atom not in kinds:
                clash = _relax(clash, *atom)
        assert brute(cands, clash, cons) is None
        for atom in kinds:  # … and each of its constraints is needed
            assert brute(cands, _relax(clash, *atom), cons) is not None, (atom, result.conflict.message)
        return result
    score, amount, optimal_sets = expected
    by_id = {c.id: c for c in cands}
    assert result.feasible and result.proven
    assert (result.total_score, result.amount_spent) == (score, amount)
    assert frozenset(result.selected) in optimal_sets
    assert_respects(result, cands, envelope, cons)
    for cost in result.costs:
        relaxed_spec = _relax(spec, cost.constraint.kind, cost.constraint.subject)
        relaxed = brute(cands, relaxed_spec, cons)
        assert cost.score_with == score and cost.score_without == relaxed[0], cost
        assert cost.cost == relaxed[0] - score >= 0
        if cost.cost:  # what the committee would get without it: an optimum of the relaxed problem
            chosen = [by_id[i] for i in cost.selected_without]
            assert _holds(chosen, relaxed_spec, cons) and sum(c.score for c in chosen) == relaxed[0]
        else:
            assert cost.selected_without is None
    check_waiting(result, cands, cons)
    return result


def _atoms(spec):
    atoms = [("envelope", None)] if spec["envelope"] is not None else []
    atoms += [("region", r) for r in spec["regions"]] + [("quota", c) for c in spec["quotas"]]
    atoms += [("cap", c) for c in spec["caps"]] + ([("min_score", None)] if spec["min_score"] is not None else [])
    return atoms + [("forced_in", i) for i in spec["forced_in"]] + [("forced_out", i) for i in spec["forced_out"]]


def check_waiting(result, cands, cons):
    by_id = {c.id: c for c in cands}
    expected = [i for i in result.ranking if i not in result.selected and by_id[i].score is not None]
    assert [w.id for w in result.waiting] == expected
    assert [w.rank for w in result.waiting] == [result.ranking.index(i) + 1 for i in expected]
    chosen = [by_id[i] for i in result.selected]
    for w in result.waiting:
        c = by_id[w.id]
        reasons = set(w.reasons)
        assert (Reason.FORCED_OUT in reasons) == (c.id in cons.forced_out)
        assert (Reason.BELOW_MIN in reasons) == (cons.min_score is not None and c.score < cons.min_score)
        assert (Reason.ENVELOPE in reasons) == (w.amount > result.envelope_left)
        assert w.shortfall == max(w.amount - result.envelope_left, D(0))
        in_cat = [x for x in chosen if x.category == c.category]
        assert (Reason.QUOTA in reasons) == (c.category in cons.quotas and len(in_cat) >= cons.quotas[c.category])
        if Reason.NO_GAIN in reasons:  # it fits: only a score of 0 can keep it out of an optimum
            assert reasons == {Reason.NO_GAIN} and c.score == 0


# Hand cases ------------------------------------------------------------------------------------------------

def cand(ident, score, amount, region="53", category="", label=""):
    return Candidate(ident, None if score is None else D(score), D(amount), region, category, label or f"Pôle {ident}")


def test_the_envelope_holds_to_the_cent():
    cands = [cand(1, "80", "50000.01"), cand(2, "70", "49999.99"), cand(3, "60", "50000.00")]
    assert simulate(cands, D("100000.00")).selected == (1, 2)
    result = simulate(cands, D("99999.99"))  # one cent less: 1+2 and 1+3 no longer fit, 2+3 just does
    assert result.selected == (2, 3) and result.total_score == D("130")
    assert result.amount_spent == D("99999.99") and result.envelope_left == D("0")


def test_maximises_the_total_score_not_the_best_dossiers_first():
    cands = [cand(1, "90", "100000"), cand(2, "60", "50000"), cand(3, "55", "50000")]
    result = simulate(cands, D("100000"))
    assert result.selected == (2, 3) and result.total_score == D("115") and result.envelope_left == 0
    assert [(w.id, w.reasons, w.shortfall) for w in result.waiting] == [(1, (Reason.ENVELOPE,), D("100000"))]


def test_equal_totals_spend_the_least():
    cands = [cand(1, "100", "100000"), cand(2, "60", "30000"), cand(3, "40", "30000")]
    result = simulate(cands, D("100000"))  # 1 alone or 2+3: 100 either way; 2+3 leaves 40 000 €
    assert result.selected == (2, 3) and result.amount_spent == D("60000") and result.envelope_left == D("40000")
    assert [(w.id, w.reasons) for w in result.waiting] == [(1, (Reason.ENVELOPE,))]
    tie = [cand(1, "50", "40000"), cand(2, "50", "60000")]
    assert simulate(tie, D("60000")).selected == (1,)
    # the score alone makes HiGHS answer 0+3+1 (130 for 70 000 €); 0+3+2 scores 130 for 60 000 €
    cands = [cand(0, "60", "10000"), cand(1, "30", "30000"), cand(2, "30", "20000"), cand(3, "40", "30000")]
    result = simulate(cands, D("70000"))
    assert result.selected == (0, 3, 2) and result.amount_spent == D("60000") and result.total_score == D("130")


def test_unscored_dossiers_are_never_selected_and_adjusted_amounts_are_used():
    cands = [cand(1, None, "1000"), cand(2, "50", "80000"), cand(3, "40", "80000")]
    result = simulate(cands, D("100000"), Constraints(amounts={3: D("20000")}))
    assert result.selected == (2, 3) and result.amount_spent == D("100000") and result.unscored == (1,)
    assert result.ranking == (2, 3, 1)
    with pytest.raises(SelectionInputError, match="dépasse le montant demandé"):
        simulate(cands, D("100000"), Constraints(amounts={3: D("90000")}))


@pytest.mark.parametrize("bad, match", [
    (([cand(1, "5", "-1")], D(10), None), "positif"),
    (([cand(1, "5", "10.001")], D(10), None), "centimes"),
    (([cand(1, "5", "10")], D(-1), None), "L'enveloppe"),
    (([cand(1, "5", "10"), cand(1, "6", "10")], D(10), None), "deux fois"),
    (([cand(1, "5", "10")], D(10), Constraints(forced_in=frozenset({9}))), "inconnus : 9"),
    (([cand(1, "5", "10", category="em")], D(10), Constraints(quotas={"em": -1})), "quota"),
    (([cand(1, "NaN", "10"), cand(2, "5", "10")], D(10), None), "La note de « Pôle 1 » n'est pas un nombre"),
    (([Candidate(1, D(5), None)], D(10), None), "Le montant demandé par le dossier 1 n'est pas un nombre"),
    (([cand(1, "5", "10")], D("NaN"), None), "L'enveloppe"),
    (([cand(1, "5", "10")], D(10), Constraints(min_score=D("NaN"))), "La note minimale"),
])
def test_bad_input_is_refused_in_french(bad, match):
    with pytest.raises(SelectionInputError, match=match):
        simulate(*bad)


def test_nothing_to_select():
    result = simulate([], D("1000"), Constraints(region_coverage=True))
    assert result.feasible and result.selected == () and result.envelope_left == D("1000")


def test_region_coverage_brings_in_the_best_affordable_dossier_of_each_region_and_says_what_it_costs():
    cands = [cand(1, "90", "50000", "53"), cand(2, "85", "50000", "53"), cand(3, "40", "30000", "11"),
             cand(4, "30", "20000", "11"), cand(5, None, "10000", "84")]  # 84: no scored dossier, not required
    free = simulate(cands, D("100000"))
    assert free.selected == (1, 2)
    result = simulate(cands, D("100000"), Constraints(region_coverage=True))
    assert result.selected == (1, 3, 4) and result.total_score == D("160")
    [cost] = result.costs
    assert (cost.constraint.kind, cost.score_with, cost.score_without, cost.cost) == \
        ("regions", D("160"), D("175"), D("15"))
    assert cost.constraint.label == "au moins un lauréat par région ayant un dossier noté"


def test_quotas_caps_min_score_and_forced_dossiers_with_their_costs():
    cands = [cand(1, "90", "40000", category="em"), cand(2, "80", "40000", category="em"),
             cand(3, "70", "40000", category="dev"), cand(4, "60", "40000", category="dev"),
             cand(5, "20", "10000", category="dev")]
    cons = Constraints(quotas={"em": 1}, caps={"dev": D("50000")}, min_score=D("25"),
                       forced_in=frozenset({4}), forced_out=frozenset({1}), category_labels={"em": "Émergence"})
    result = simulate(cands, D("200000"), cons)
    assert result.selected == (2, 4) and result.total_score == D("140")
    costs = {(c.constraint.kind, c.constraint.subject): c.cost for c in result.costs}
    without = {c.constraint.kind: c.selected_without for c in result.costs}
    assert without["cap"] == (2, 3, 4) and without["quota"] is None and without["min_score"] == (2, 4, 5)
    # without the quota (2 alone of "em": 1 is out anyway) nothing changes; without the cap 3 comes in (+70);
    # without the minimum 5 comes in (+20, dev: 50 000 €); not forcing 4 lets 3 take its place (+10);
    # not forcing 1 out lets it take 2's place (+10)
    assert costs == {("quota", "em"): 0, ("cap", "dev"): 70, ("min_score", None): 20, ("forced_in", 4): 10,
                     ("forced_out", 1): 10}
    labels = [c.constraint.label for c in result.costs]
    assert "au plus 1 lauréat dans la catégorie « Émergence »" in labels
    assert "au plus 50\u202f000 € pour la catégorie « dev »" in labels
    assert "« Pôle 4 » retenu d'office" in labels and "« Pôle 1 » écarté d'office" in labels
    reasons = {w.id: w.reasons for w in result.waiting}
    assert reasons == {1: (Reason.FORCED_OUT, Reason.QUOTA), 3: (Reason.CAP,), 5: (Reason.BELOW_MIN,)}


def test_the_same_input_in_any_order_gives_the_same_selection():
    rng = random.Random(7)
    cands = [cand(i, str(rng.choice([40, 50, 60])), str(rng.choice([10000, 20000])), rng.choice("AB"))
             for i in range(12)]
    first = simulate(cands, D("60000"), Constraints(region_coverage=True))
    for _ in range(3):
        rng.shuffle(cands)
        again = simulate(cands, D("60000"), Constraints(region_coverage=True))
        assert (again.selected, again.ranking, again.waiting) == (first.selected, first.ranking, first.waiting)


# Infeasible constraint sets: explained, minimal -------------------------------------------------------------

def kinds(result):
    return sorted((ref.kind, str(ref.subject)) for ref in result.conflict.constraints)


def test_forced_dossiers_beyond_the_envelope():
    cands = [cand(1, "80", "150000", label="Alpha"), cand(2, "70", "100000", label="Beta"), cand(3, "60", "10")]
    result = simulate(cands, D("200000"), Constraints(forced_in=frozenset({1, 2}), min_score=D("10")))
    assert not result.feasible and result.selected == () and result.envelope_left == D("200000")
    assert kinds(result) == [("envelope", "None"), ("forced_in", "1"), ("forced_in", "2")]
    assert result.conflict.message == (
        "Ces contraintes ne peuvent pas être respectées ensemble : « Alpha » retenu d'office ; « Beta » retenu "
        "d'office ; l'enveloppe de 200\u202f000 €. Les dossiers retenus d'office demandent 250\u202f000 € en "
        "tout. Levez ou modifiez l'une d'elles pour obtenir une proposition.")


def test_a_region_that_cannot_fit():
    cands = [cand(1, "80", "50000", "53"), cand(2, "70", "300000", "11", label="Gamma")]
    result = simulate(cands, D("200000"), Constraints(region_coverage=True))
    assert kinds(result) == [("envelope", "None"), ("region", "11")]
    assert "au moins un lauréat en région « Île-de-France »" in result.conflict.message
    assert "Dossiers notés de la région « Île-de-France » : « Gamma » (300\u202f000 €)." in result.conflict.message


def test_a_region_emptied_by_the_minimum_score_or_forced_out():
    cands = [cand(1, "80", "50000", "53"), cand(2, "20", "30000", "11"), cand(3, "30", "30000", "11")]
    result = simulate(cands, D("200000"), Constraints(region_coverage=True, min_score=D("25"),
                                                      forced_out=frozenset({3})))
    assert kinds(result) == [("forced_out", "3"), ("min_score", "None"), ("region", "11")]
    assert "« Pôle 3 » (30\u202f000 €, écarté), « Pôle 2 » (30\u202f000 €, sous la note minimale)" \
        in result.conflict.message


def test_one_constraint_alone_or_a_dossier_both_forced_in_and_out():
    cands = [cand(1, None, "1000", label="Delta"), cand(2, "50", "1000")]
    result = simulate(cands, D("5000"), Constraints(forced_in=frozenset({1})))
    assert kinds(result) == [("forced_in", "1")]
    assert result.conflict.message.startswith("Cette contrainte ne peut pas être respectée : « Delta » retenu")
    assert "« Delta » n'a pas de note" in result.conflict.message and "Levez-la ou modifiez-la" in result.conflict.message
    result = simulate(cands, D("5000"), Constraints(forced_in=frozenset({2}), forced_out=frozenset({2})))
    assert kinds(result) == [("forced_in", "2"), ("forced_out", "2")]
    assert "est à la fois retenu et écarté d'office" in result.conflict.message


def test_a_quota_or_a_cap_against_forced_dossiers():
    cands = [cand(1, "80", "50000", category="em"), cand(2, "70", "60000", category="em")]
    result = simulate(cands, D("500000"), Constraints(quotas={"em": 1}, forced_in=frozenset({1, 2})))
    assert kinds(result) == [("forced_in", "1"), ("forced_in", "2"), ("quota", "em")]
    result = simulate(cands, D("500000"), Constraints(caps={"em": D("100000")}, forced_in=frozenset({1, 2})))
    assert kinds(result) == [("cap", "em"), ("forced_in", "1"), ("forced_in", "2")]
    assert "Dans la catégorie « em », 2 dossiers retenus d'office pour 110\u202f000 €." in result.conflict.message


# Exactness of the solver's answer -------------------------------------------------------------------------

def test_a_solution_that_the_rounding_breaks_is_cut_off_and_solved_again(monkeypatch):
    real = selection_milp._highs
    calls = []

    def sloppy(p, objective, rows, *args):  # the first answer takes everything (as if tolerances let it)
        calls.append(rows)
        if len(calls) == 1:
            return tuple(1 for _ in range(p.size)), True
        return real(p, objective, rows, *args)

    monkeypatch.setattr(selection_milp, "_highs", sloppy)
    cands = [cand(1, "80", "60000"), cand(2, "70", "50000"), cand(3, "60", "50000")]
    result = simulate(cands, D("100000"), costs=False)
    assert result.selected == (2, 3) and result.proven and result.amount_spent == D("100000")
    [cut] = [r for r in calls[1] if r.key[0] == "cut"]
    assert (cut.coef, cut.hi) == ((1, 1, 1), 2)  # x1 + x2 + x3 ≤ 2: only "all three" is cut off


def test_a_time_limit_reached_says_the_proposal_is_not_proven(monkeypatch):
    real = selection_milp._highs

    def hurried(*args):
        found = real(*args)
        return found and (found[0], False)

    monkeypatch.setattr(selection_milp, "_highs", hurried)
    result = simulate([cand(1, "80", "60000"), cand(2, "70", "50000")], D("100000"))
    assert result.feasible and result.selected == (1,) and not result.proven


def test_calibrated_scores_with_many_decimals_are_summed_exactly():
    third = D(1) / 3  # 0.3333… on 28 digits, as domain.scores computes calibrated means
    cands = [cand(1, third * 200, "50000"), cand(2, third * 100, "50000"), cand(3, D("66.666667"), "50000")]
    result = simulate(cands, D("100000"))
    assert result.selected == (3, 1) and result.total_score == D("66.666667") + third * 200
    result = simulate(cands, D("100000"), Constraints(min_score=D("66.6666666667")))
    assert result.selected == (3,)  # 66.666…6 (28 digits) is under the minimum, 66.666667 is not


def test_huge_scores_keep_fewer_decimals_so_that_highs_holds_them_exactly():
    cands = [cand(1, "900000000000.123456", "60000"), cand(2, "500000000000.654321", "50000"),
             cand(3, "500000000000.5", "50000")]
    result = simulate(cands, D("100000"))
    assert result.selected == (2, 3) and result.total_score == D("1000000000001.154321")


# Properties against brute force -------------------------------------------------------------------------

def _sometimes(draw, strategy, empty):
    """Each constraint in force about one time in three, so that most instances stay feasible."""
    return draw(strategy) if draw(st.integers(0, 2)) == 0 else empty


@st.composite
def instances(draw, max_size=9):
    n = draw(st.integers(0, max_size))
    cands = []
    for i in range(n):
        score = draw(st.one_of(st.none(), st.integers(0, 1000).map(lambda v: D(v) / 10)))
        amount = draw(st.sampled_from([D(10000), D(20000), D(30000), D("25000.50"), D(50000), D(0)]))
        cands.append(Candidate(i, score, amount, draw(st.sampled_from(["11", "53", "84", ""])),
                               draw(st.sampled_from(["em", "dev", ""])), f"P{i}"))
    envelope = draw(st.sampled_from([D(0), D(30000), D("60000.50"), D(100000), D(200000)]))
    ids = st.lists(st.sampled_from(list(range(n))) if n else st.nothing(), max_size=2 if n else 0)
    cons = Constraints(
        region_coverage=draw(st.booleans()),
        quotas=_sometimes(draw, st.dictionaries(st.sampled_from(["em", "dev"]), st.integers(0, 3), max_size=2), {}),
        caps=_sometimes(draw, st.dictionaries(st.sampled_from(["em", "dev"]),
                                              st.sampled_from([D(0), D(30000), D(60000)]), max_size=2), {}),
        min_score=_sometimes(draw, st.integers(0, 80).map(D), None),
        forced_in=frozenset(_sometimes(draw, ids, [])),
        forced_out=frozenset(_sometimes(draw, ids, [])),
        amounts={i: cands[i].amount / 2 for i in _sometimes(draw, ids, [])
                 if (cands[i].amount / 2) == (cands[i].amount / 2).quantize(D("0.01"))})
    return cands, envelope, cons


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_optimal_and_within_every_constraint_or_explained(instance):
    check_against_brute(*instance)


def test_twelve_dossiers_against_brute_force():
    rng = random.Random(12)
    for _ in range(4):
        cands = [Candidate(i, D(rng.randint(0, 100)), D(rng.randint(1, 30) * 5000), rng.choice(["11", "53", "84"]),
                           rng.choice(["em", "dev"]), f"P{i}") for i in range(12)]
        cons = Constraints(region_coverage=True, quotas={"em": 3}, caps={"dev": D(80000)}, min_score=D(10),
                           forced_in=frozenset({rng.randrange(12)}), forced_out=frozenset({rng.randrange(12)}))
        for envelope in (D(100000), D(250000)):
            check_against_brute(cands, envelope, cons)
            check_against_brute(cands, envelope, replace(cons, forced_in=frozenset(), forced_out=frozenset()))


REGIONS = ["11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"]


# Scale smoke ---------------------------------------------------------------------------------------------

def test_a_thousand_dossiers_with_regions_and_categories():
    rng = random.Random(3)  # as bench/selection.py
    cands = [Candidate(i, D(rng.randint(0, 1000)) / 10, D(rng.randint(30, 300) * 1000), rng.choice(REGIONS),
                       rng.choice(["em", "dev"]), f"P{i}") for i in range(1, 1001)]
    envelope = (sum(c.amount for c in cands) / 6).quantize(D("0.01"))
    best = sorted(cands, key=lambda c: -c.score)
    cons = Constraints(region_coverage=True, quotas={"em": 100}, caps={"dev": (envelope / 2).quantize(D("0.01"))},
                       min_score=D(20), forced_in=frozenset(c.id for c in best[50:53]), forced_out=frozenset({1, 2, 3}))
    result = simulate(cands, envelope, cons, costs=False)
    assert result.feasible and len(result.selected) > 100
    assert_respects(result, cands, envelope, cons)
    assert {c.region for c in cands if c.id in set(result.selected)} == {c.region for c in cands}
