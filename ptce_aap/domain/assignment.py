"""The exact assignment of dossiers to reviewers (SPEC §4, issue 10 point 5). Pure: no Flask, no DB.

Input: the dossiers to cover (id, region, activity domains), the call's reviewers (id, institution,
capacity — ``None``: unlimited —, expertise domains and regions, current load), the blocked pairs (a
conflict of interest, a co-editor, an earlier decline), the assignments that already exist (kept) and K,
the number of reviewers per dossier.

Constraints of every proposal:

- a dossier gets K reviewers in total, the existing ones included, from at least two institutions when
  K ≥ 2: for each dossier and institution, at most K − 1 of its reviewers come from that institution;
- no blocked pair, no pair that already exists;
- no reviewer above their capacity (current load + new assignments ≤ capacity).

Objective, lexicographic, solved exactly with ``scipy.optimize.milp`` (HiGHS), in stages:

1. coverage: as many dossiers as possible fully covered. A dossier that cannot be covered gets **no** new
   reviewer (all or nothing): it is reported with its reason so that the secretariat decides by hand, rather
   than being given a half-made choice of institutions. First each dossier is checked on its own
   (``diagnose``); then, only if the capacities cannot serve all the dossiers that are coverable on their own
   at once, a MILP maximises the number covered (the others get ``CAPACITY``);
2. balance: minimise the largest load L (current load included) — L* — keeping the coverage of stage 1;
3. expertise: with L ≤ L*, maximise the expertise matches: a pair scores one point when the dossier's
   activity domains meet the reviewer's and one when the dossier's region is one of the reviewer's.

Speed (bench/assignment.py, 1,000 dossiers × 60 reviewers): without a capacity shortage the constraint matrix
is totally unimodular (a flow network): L* comes from a bisection on max flows and stage 3 is a linear program
whose simplex vertex is integral (about 2 s).
With a shortage the coverage stage is a real MILP: on a large model (``EXACT_COVERAGE_PAIRS``) stages 2 and 3
then keep the dossiers it covered, and a ``time_limit`` reached there keeps HiGHS's best coverage, flagged
``Proposal.optimal = False`` (the page says so).

Reasons a dossier is not covered (``Uncovered.reason``), checked in this order:
``NO_REVIEWER`` (no reviewer without a conflict), ``ONE_INSTITUTION`` (the reviewers without a conflict,
with the existing ones, all come from one institution), ``TOO_FEW`` (not enough reviewers without a conflict
to reach K, institutions rule included), ``CAPACITY`` (enough on paper, but their capacity is used up —
on its own, or once the other dossiers are served).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import maximum_flow


class Reason(StrEnum):
    NO_REVIEWER = "no_reviewer"
    ONE_INSTITUTION = "one_institution"
    TOO_FEW = "too_few"
    CAPACITY = "capacity"


@dataclass(frozen=True)
class DossierIn:
    id: int
    region: str = ""
    domains: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReviewerIn:
    id: int
    institution: Hashable
    capacity: int | None = None  # None: no limit
    domains: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    load: int = 0  # live assignments the reviewer already has (the existing ones below included)

    @property
    def remaining(self) -> float:
        return float("inf") if self.capacity is None else max(self.capacity - self.load, 0)


@dataclass(frozen=True)
class Existing:
    dossier_id: int
    reviewer_id: int
    institution: Hashable


@dataclass(frozen=True)
class Uncovered:
    dossier_id: int
    reason: Reason
    missing: int  # reviewers still needed to reach K
    available: int  # reviewers without a conflict who could still be added (capacity aside)


@dataclass
class Proposal:
    k: int
    new: list[tuple[int, int]]  # (dossier_id, reviewer_id), sorted
    loads: dict[int, int]  # reviewer id → load once the proposal is confirmed
    reviewers: dict[int, list[int]]  # dossier id → existing + new reviewer ids
    uncovered: list[Uncovered]
    max_load: int
    matches: int
    load_before: dict[int, int] = field(default_factory=dict)
    optimal: bool = True  # False: HiGHS's time limit stopped the coverage stage (its best answer is kept)

    @property
    def new_by_reviewer(self) -> dict[int, list[int]]:
        by: dict[int, list[int]] = defaultdict(list)
        for dossier_id, reviewer_id in self.new:
            by[reviewer_id].append(dossier_id)
        return dict(by)

    def fingerprint(self, state: str) -> str:
        """A digest of the state the proposal was computed from and of its new pairs: the confirmation
        carries it, and a proposal whose state or pairs changed since is refused."""
        return fingerprint(state, self.new)


def fingerprint(state: str, pairs: Iterable[tuple[int, int]]) -> str:
    text = state + "|" + ";".join(f"{d}:{r}" for d, r in sorted(pairs))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def violations(dossiers: Iterable[DossierIn], reviewers: Iterable[ReviewerIn], k: int,
               blocked: Iterable[tuple[int, int]], existing: Iterable[Existing],
               pairs: Iterable[tuple[int, int]]) -> list[str]:
    """What is wrong with adding ``pairs`` (an empty list: nothing): the proposal's constraints, checked
    again when it is confirmed."""
    dossier_ids = {d.id for d in dossiers}
    by_id = {r.id: r for r in reviewers}
    blocked, existing, pairs = set(blocked), list(existing), list(pairs)
    problems = []
    if len(set(pairs)) != len(pairs):
        problems.append("duplicate pair")
    added: dict[int, list[int]] = defaultdict(list)
    for dossier_id, reviewer_id in pairs:
        if dossier_id not in dossier_ids or reviewer_id not in by_id:
            problems.append(f"unknown pair {dossier_id}:{reviewer_id}")
        elif (dossier_id, reviewer_id) in blocked or any(
                e.dossier_id == dossier_id and e.reviewer_id == reviewer_id for e in existing):
            problems.append(f"blocked pair {dossier_id}:{reviewer_id}")
        else:
            added[dossier_id].append(reviewer_id)
    for dossier_id, reviewer_ids in added.items():
        institutions = [e.institution for e in existing if e.dossier_id == dossier_id]
        institutions += [by_id[r].institution for r in reviewer_ids]
        if len(institutions) > k:
            problems.append(f"more than {k} reviewers on {dossier_id}")
        if k >= 2 and max(Counter(institutions).values()) > k - 1:
            problems.append(f"one institution on {dossier_id}")
    per_reviewer = Counter(r for _d, r in pairs)
    for reviewer_id, count in per_reviewer.items():
        reviewer = by_id.get(reviewer_id)
        if reviewer is not None and reviewer.capacity is not None and reviewer.load + count > reviewer.capacity:
            problems.append(f"capacity of {reviewer_id}")
    return problems


def match_score(dossier: DossierIn, reviewer: ReviewerIn) -> int:
    """0, 1 or 2: one point for a shared activity domain, one for the dossier's region."""
    return int(bool(dossier.domains & reviewer.domains)) + int(bool(dossier.region) and dossier.region in reviewer.regions)


def _room(k: int, existing_by_institution: dict, institution) -> int:
    """How many more reviewers of ``institution`` the dossier may take (K − 1 per institution when K ≥ 2)."""
    if k < 2:
        return k
    return max(k - 1 - existing_by_institution.get(institution, 0), 0)


def _assignable(k: int, need: int, existing_by_institution: dict, candidates: list[ReviewerIn]) -> int:
    """The most reviewers the dossier could take from ``candidates`` (institutions rule), capped at ``need``."""
    per_institution: dict = defaultdict(int)
    for reviewer in candidates:
        per_institution[reviewer.institution] += 1
    total = sum(min(count, _room(k, existing_by_institution, inst)) for inst, count in per_institution.items())
    return min(total, need)


@dataclass
class _Instance:
    k: int
    dossiers: list[DossierIn]
    reviewers: dict[int, ReviewerIn]
    existing: dict[int, list[Existing]]
    need: dict[int, int]
    candidates: dict[int, list[ReviewerIn]]  # without conflict, not already there (capacity aside)


def _instance(dossiers, reviewers, k, blocked, existing) -> _Instance:
    if k < 1:
        raise ValueError("k must be at least 1")
    by_id = {r.id: r for r in reviewers}
    existing_by: dict[int, list[Existing]] = defaultdict(list)
    for row in existing:
        existing_by[row.dossier_id].append(row)
    blocked = set(blocked)
    need, candidates = {}, {}
    for dossier in dossiers:
        here = {row.reviewer_id for row in existing_by[dossier.id]}
        need[dossier.id] = max(k - len(existing_by[dossier.id]), 0)
        candidates[dossier.id] = [r for r in reviewers if r.id not in here and (dossier.id, r.id) not in blocked]
    return _Instance(k, list(dossiers), by_id, existing_by, need, candidates)


def diagnose(inst: _Instance, dossier_id: int) -> Uncovered | None:
    """Why this dossier cannot be covered on its own (other dossiers aside), or None if it can."""
    need = inst.need[dossier_id]
    if need == 0:
        return None
    counts: dict = defaultdict(int)
    for row in inst.existing[dossier_id]:
        counts[row.institution] += 1
    free = inst.candidates[dossier_id]
    with_room = [r for r in free if r.remaining > 0]
    if _assignable(inst.k, need, counts, with_room) >= need:
        return None
    if not free:
        reason = Reason.NO_REVIEWER
    elif _assignable(inst.k, need, counts, free) >= need:
        reason = Reason.CAPACITY
    elif inst.k >= 2 and len({r.institution for r in free} | set(counts)) == 1:
        reason = Reason.ONE_INSTITUTION
    else:
        reason = Reason.TOO_FEW
    return Uncovered(dossier_id, reason, need, len(free))


def solve(dossiers: Iterable[DossierIn], reviewers: Iterable[ReviewerIn], k: int,
          blocked: Iterable[tuple[int, int]] = (), existing: Iterable[Existing] = (), *,
          time_limit: float = 60.0) -> Proposal:
    """The lexicographically best proposal (see the module's docstring)."""
    reviewers = sorted(reviewers, key=lambda r: r.id)
    inst = _instance(sorted(dossiers, key=lambda d: d.id), reviewers, k, blocked, list(existing))
    uncovered = {d.id: u for d in inst.dossiers if (u := diagnose(inst, d.id)) is not None}
    open_dossiers = [d for d in inst.dossiers if inst.need[d.id] > 0 and d.id not in uncovered]
    new: list[tuple[int, int]] = []
    optimal = True
    if open_dossiers:
        model = _Model(inst, open_dossiers, time_limit)
        new, not_served = model.run()
        optimal = model.optimal
        for dossier_id in not_served:
            need = inst.need[dossier_id]
            uncovered[dossier_id] = Uncovered(dossier_id, Reason.CAPACITY, need, len(inst.candidates[dossier_id]))
    loads = {r.id: r.load for r in reviewers}
    load_before = dict(loads)
    per_dossier = {d.id: [row.reviewer_id for row in inst.existing[d.id]] for d in inst.dossiers}
    for dossier_id, reviewer_id in new:
        loads[reviewer_id] += 1
        per_dossier[dossier_id].append(reviewer_id)
    dossier_by_id = {d.id: d for d in inst.dossiers}
    matches = sum(match_score(dossier_by_id[d], inst.reviewers[r]) for d, r in new)
    return Proposal(k=k, new=sorted(new), loads=loads, reviewers=per_dossier,
                    uncovered=sorted(uncovered.values(), key=lambda u: u.dossier_id),
                    max_load=max(loads.values(), default=0), matches=matches, load_before=load_before,
                    optimal=optimal)


class _Model:
    """The MILP over the pairs of the dossiers that are coverable on their own.

    Columns: one binary x per candidate pair, then L (integer), then, for the coverage stage only, one
    binary y per dossier (covered or not)."""

    def __init__(self, inst: _Instance, dossiers: list[DossierIn], time_limit: float):
        self.inst, self.dossiers, self.time_limit = inst, dossiers, time_limit
        pairs, weights = [], []
        for dossier in dossiers:
            for reviewer in inst.candidates[dossier.id]:
                if reviewer.remaining > 0:
                    pairs.append((dossier.id, reviewer.id))
                    weights.append(match_score(dossier, reviewer))
        self.pairs = pairs
        self.weights = np.array(weights, dtype=float)
        self.n = len(pairs)
        self.row_of = {d.id: i for i, d in enumerate(dossiers)}
        self.optimal = True

    def _constraints(self, with_y: bool):
        """Sparse rows: coverage, institutions, capacity, load ≤ L."""
        inst, n, nd = self.inst, self.n, len(self.dossiers)
        ncols = n + 1 + (nd if with_y else 0)
        rows, cols, vals, lower, upper = [], [], [], [], []
        r = 0

        def add_row(entries, lo, hi):
            nonlocal r
            for c, v in entries:
                rows.append(r)
                cols.append(c)
                vals.append(v)
            lower.append(lo)
            upper.append(hi)
            r += 1

        by_dossier: dict[int, list[int]] = defaultdict(list)
        by_reviewer: dict[int, list[int]] = defaultdict(list)
        for c, (d, rv) in enumerate(self.pairs):
            by_dossier[d].append(c)
            by_reviewer[rv].append(c)
        for i, dossier in enumerate(self.dossiers):
            need = inst.need[dossier.id]
            entries = [(c, 1.0) for c in by_dossier[dossier.id]]
            if with_y:
                add_row([*entries, (n + 1 + i, -float(need))], 0.0, 0.0)
            else:
                add_row(entries, float(need), float(need))
            if inst.k >= 2:
                counts: dict = defaultdict(int)
                for row in inst.existing[dossier.id]:
                    counts[row.institution] += 1
                groups: dict = defaultdict(list)
                for c in by_dossier[dossier.id]:
                    groups[inst.reviewers[self.pairs[c][1]].institution].append(c)
                for institution, columns in groups.items():
                    room = _room(inst.k, counts, institution)
                    if len(columns) > room:
                        add_row([(c, 1.0) for c in columns], -np.inf, float(room))
        for reviewer_id, columns in by_reviewer.items():
            reviewer = inst.reviewers[reviewer_id]
            if reviewer.capacity is not None and len(columns) > reviewer.remaining:
                add_row([(c, 1.0) for c in columns], -np.inf, float(reviewer.remaining))
            add_row([*((c, 1.0) for c in columns), (n, -1.0)], -np.inf, -float(reviewer.load))
        matrix = sparse.csr_array((vals, (rows, cols)), shape=(r, ncols))
        return matrix, np.array(lower), np.array(upper), ncols

    def _solve(self, objective, matrix, lower, upper, extra=(), *, ncols, load=None, integer=True):
        """HiGHS on the model; ``load`` fixes L; ``integer=False`` solves the LP relaxation (simplex: a vertex)."""
        constraints = [LinearConstraint(matrix, lower, upper), *extra]
        lo = np.zeros(ncols)
        hi = np.ones(ncols)
        lo[self.n] = max((r.load for r in self.inst.reviewers.values()), default=0)
        hi[self.n] = np.inf
        if load is not None:
            lo[self.n] = hi[self.n] = load
        options = {"time_limit": self.time_limit}
        if integer:
            options["mip_rel_gap"] = 0.0
        return milp(objective, constraints=constraints, integrality=np.ones(ncols) if integer else np.zeros(ncols),
                    bounds=Bounds(lo, hi), options=options)

    def run(self) -> tuple[list[tuple[int, int]], list[int]]:
        """The new pairs, and the dossiers the capacities could not serve.

        Without the coverage variables the matrix is totally unimodular (its rows are two laminar families:
        dossier ⊃ dossier × institution, and reviewer), so with L fixed to an integer every vertex is integral:
        L* is the ceiling of the LP's optimum and the expertise stage is an LP whose simplex vertex is the
        exact answer. The result is checked to be integral all the same (else the MILP is solved). L* itself is
        found by bisection on max flows over the same network (``_min_max_load``)."""
        best_load = self._min_max_load()
        if best_load is None:  # infeasible: capacities cannot serve every dossier at once
            return self._run_with_coverage()
        matrix, lower, upper, ncols = self._constraints(with_y=False)
        objective = np.zeros(ncols)
        objective[:self.n] = -self.weights
        result = self._solve(objective, matrix, lower, upper, ncols=ncols, load=best_load, integer=False)
        if result.status != 0 or not _integral(result.x):
            result = self._solve(objective, matrix, lower, upper, ncols=ncols, load=best_load)
        _check(result)
        return [self.pairs[c] for c in np.flatnonzero(result.x[:self.n] > 0.5)], []

    def _flow_network(self):
        """The same constraints as a flow network: source → reviewer (what they may still take) → dossier ×
        institution (room: K − 1 less the existing ones) → dossier (need) → sink. Returns the arcs and the
        index of the source arcs, whose capacity depends on L."""
        inst = self.inst
        reviewer_ids = sorted({r for _d, r in self.pairs})
        node = {("r", r): 2 + i for i, r in enumerate(reviewer_ids)}
        tails, heads, caps = [], [], []
        for r in reviewer_ids:
            tails.append(0)
            heads.append(node[("r", r)])
            caps.append(0)
        counts_of = {}
        for dossier_id, reviewer_id in self.pairs:
            institution = inst.reviewers[reviewer_id].institution
            key = ("di", dossier_id, institution)
            if key not in node:
                node[key] = len(node) + 2
                if dossier_id not in counts_of:
                    counts_of[dossier_id] = defaultdict(int)
                    for row in inst.existing[dossier_id]:
                        counts_of[dossier_id][row.institution] += 1
            tails.append(node[("r", reviewer_id)])
            heads.append(node[key])
            caps.append(1)
        for key, index in list(node.items()):
            if key[0] == "di":
                _tag, dossier_id, institution = key
                if ("d", dossier_id) not in node:
                    node[("d", dossier_id)] = len(node) + 2
                tails.append(index)
                heads.append(node[("d", dossier_id)])
                caps.append(_room(inst.k, counts_of[dossier_id], institution))
        for key, index in list(node.items()):
            if key[0] == "d":
                tails.append(index)
                heads.append(1)
                caps.append(inst.need[key[1]])
        return reviewer_ids, np.array(tails), np.array(heads), np.array(caps, dtype=np.int64), len(node) + 2

    def _min_max_load(self) -> int | None:
        """L*, the smallest largest load that serves every dossier, by bisection on max flows (the matrix is
        a network matrix: integral flows are assignments); None if even unbounded loads cannot."""
        reviewer_ids, tails, heads, caps, size = self._flow_network()
        total_need = sum(self.inst.need[d.id] for d in self.dossiers)
        loads = np.array([self.inst.reviewers[r].load for r in reviewer_ids], dtype=np.int64)
        remaining = np.array([min(self.inst.reviewers[r].remaining, total_need) for r in reviewer_ids],
                             dtype=np.int64)

        def serves(limit: int) -> bool:
            caps[:len(reviewer_ids)] = np.minimum(remaining, np.maximum(limit - loads, 0))
            graph = sparse.csr_array((caps.astype(np.int32), (tails, heads)), shape=(size, size))
            return maximum_flow(graph, 0, 1).flow_value == total_need

        low = max((r.load for r in self.inst.reviewers.values()), default=0)
        high = low + total_need
        if not serves(high):
            return None
        while low < high:
            middle = (low + high) // 2
            if serves(middle):
                high = middle
            else:
                low = middle + 1
        return low

    def _run_with_coverage(self) -> tuple[list[tuple[int, int]], list[int]]:
        """The three stages as MILPs, with one binary "covered" per dossier.

        On a large model (over ``EXACT_COVERAGE_PAIRS`` pairs) the second and third stages keep the covered
        dossiers of the first stage's answer instead of searching all the answers of equal coverage: the
        coverage is still the largest, balance and expertise are exact for those dossiers, in seconds instead
        of minutes. A first stage stopped by the time limit keeps its best answer (``self.optimal`` False)."""
        matrix, lower, upper, ncols = self._constraints(with_y=True)
        coverage = np.zeros(ncols)
        coverage[self.n + 1:] = -1.0
        result = self._solve(coverage, matrix, lower, upper, ncols=ncols)
        if result.status == 1 and result.x is not None:  # time limit, with an answer
            self.optimal = False
        else:
            _check(result)
        if self.n > EXACT_COVERAGE_PAIRS or not self.optimal:
            served = [d for i, d in enumerate(self.dossiers) if result.x[self.n + 1 + i] > 0.5]
            chosen, _ = _Model(self.inst, served, self.time_limit).run() if served else ([], [])
            return chosen, [d.id for d in self.dossiers if d not in served]
        covered = round(-result.fun)
        extra = [LinearConstraint(sparse.csr_array(-coverage.reshape(1, -1)), covered, np.inf)]
        balance = np.zeros(ncols)
        balance[self.n] = 1.0
        result = self._solve(balance, matrix, lower, upper, extra, ncols=ncols)
        _check(result)
        best_load = round(result.x[self.n])
        if self.weights.any():
            objective = np.zeros(ncols)
            objective[:self.n] = -self.weights
            result = self._solve(objective, matrix, lower, upper, extra, ncols=ncols, load=best_load)
            _check(result)
        chosen = [self.pairs[c] for c in np.flatnonzero(result.x[:self.n] > 0.5)]
        not_served = [d.id for i, d in enumerate(self.dossiers) if result.x[self.n + 1 + i] < 0.5]
        return chosen, not_served


def _integral(x) -> bool:
    return x is not None and bool(np.all(np.abs(x - np.round(x)) < 1e-6))


# Above this many candidate pairs, a capacity shortage is settled in two steps (see ``_run_with_coverage``).
EXACT_COVERAGE_PAIRS = 5_000


class SolverFailed(RuntimeError):
    """HiGHS stopped without an optimal answer (time limit): the proposal would not be exact."""


def _check(result) -> None:
    if result.status != 0 or result.x is None:
        raise SolverFailed(f"milp: {result.status} {result.message}")
