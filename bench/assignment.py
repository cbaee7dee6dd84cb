"""Benchmark: the exact reviewer assignment (``domain.assignment.solve``) at 1,000 dossiers × 60 reviewers.

    .venv/bin/python bench/assignment.py [--dossiers 1000] [--reviewers 60] [--k 2] [--seed 1]

Target (issue 10, point 9): a few seconds. Prints the time of each run and the proposal's figures.
Measured on this 2-core machine, shared with other jobs (load ≈ 9): 1.6–4.5 s per run (min-max load by
bisection on max flows, then one LP); ``--shortage`` (capacities below the need, coverage first) 15–35 s, or
the time limit (the web proposal gives HiGHS 20 s per stage and then says the answer is not proven optimal).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ptce_aap.domain.assignment import DossierIn, Existing, ReviewerIn, solve  # noqa: E402

DOMAINS = ["batiment", "eco_activites", "alimentation", "culture", "services_personne", "services_entreprises",
           "formation", "emploi_insertion", "numerique", "tourisme_social"]
REGIONS = ["11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"]


def instance(n_dossiers: int, n_reviewers: int, k: int, seed: int, *, capacity_slack: float = 1.3,
             conflict_rate: float = 0.05, existing_rate: float = 0.1):
    rng = random.Random(seed)
    institutions = [f"inst-{i}" for i in range(8)]
    dossiers = [DossierIn(i, rng.choice(REGIONS), frozenset(rng.sample(DOMAINS, 2))) for i in range(1, n_dossiers + 1)]
    per_reviewer = int(n_dossiers * k / n_reviewers * capacity_slack) + 1
    reviewers = [ReviewerIn(1000 + j, rng.choice(institutions), rng.choice([None, per_reviewer, per_reviewer + 5]),
                            frozenset(rng.sample(DOMAINS, 3)), frozenset(rng.sample(REGIONS, 2)))
                 for j in range(n_reviewers)]
    blocked = {(d.id, r.id) for d in dossiers for r in reviewers if rng.random() < conflict_rate}
    existing, loads = [], {r.id: 0 for r in reviewers}
    for d in dossiers:
        if rng.random() < existing_rate:
            r = rng.choice(reviewers)
            if (d.id, r.id) not in blocked:
                existing.append(Existing(d.id, r.id, r.institution))
                loads[r.id] += 1
    reviewers = [ReviewerIn(r.id, r.institution, r.capacity, r.domains, r.regions, loads[r.id]) for r in reviewers]
    return dossiers, reviewers, k, blocked, existing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--reviewers", type=int, default=60)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slack", type=float, default=1.3, help="capacity / fair share")
    parser.add_argument("--shortage", action="store_true",
                        help="every reviewer capped at half the fair share: the slow, coverage-first case")
    parser.add_argument("--time-limit", type=float, default=60.0)
    args = parser.parse_args()
    for run in range(args.runs):
        dossiers, reviewers, k, blocked, existing = instance(args.dossiers, args.reviewers, args.k, args.seed + run,
                                                             capacity_slack=0.5 if args.shortage else args.slack)
        if args.shortage:
            cap = int(args.dossiers * args.k / args.reviewers * 0.5) + 1
            reviewers = [ReviewerIn(r.id, r.institution, r.capacity or cap, r.domains, r.regions, r.load)
                         for r in reviewers]
        started = time.perf_counter()
        proposal = solve(dossiers, reviewers, k, blocked, existing, time_limit=args.time_limit)
        elapsed = time.perf_counter() - started
        print(f"run {run + 1}: {elapsed:.2f} s — {len(proposal.new)} new pairs, max load {proposal.max_load}, "
              f"matches {proposal.matches}, uncovered {len(proposal.uncovered)}, proven optimal {proposal.optimal}")


if __name__ == "__main__":
    main()
