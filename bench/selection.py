"""Benchmark: the selection simulator (``domain.selection.simulate``) on a large call. Prints and saves the time.

    .venv/bin/python bench/selection.py [--dossiers 1000] [--seed 1]

1,000 scored dossiers (scores 0–100 with one decimal, amounts 30 k€–300 k€ to the euro), 13 regions,
2 categories; the envelope funds about a sixth of them; constraints: one laureate per region, a quota and a
cap on a category, a minimum score, 3 dossiers forced in and 3 forced out. Timed: the proposal alone (both
stages), with the cost of every constraint (one more solve each), and an infeasible set (60 dear dossiers
forced in against a quota of 20) explained by the deletion filter (about 80 feasibility solves).
Target: under 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REGIONS = ["11", "24", "27", "28", "32", "44", "52", "53", "75", "76", "84", "93", "94"]


def instance(n: int, seed: int):
    from ptce_aap.domain.selection import Candidate, Constraints

    rng = random.Random(seed)
    candidates = [Candidate(i, Decimal(rng.randint(0, 1000)) / 10, Decimal(rng.randint(30, 300) * 1000),
                            rng.choice(REGIONS), rng.choice(["em", "dev"]), f"Pôle {i}") for i in range(1, n + 1)]
    envelope = sum(c.amount for c in candidates) / 6
    best = sorted(candidates, key=lambda c: -c.score)
    forced_in = frozenset(c.id for c in best[50:53])  # good dossiers, not the very best: forcing costs a little
    constraints = Constraints(region_coverage=True, quotas={"em": n // 10}, caps={"dev": (envelope / 2).quantize(Decimal("0.01"))},
                              min_score=Decimal("20"), forced_in=forced_in,
                              forced_out=frozenset({1, 2, 3}))
    return candidates, envelope.quantize(Decimal("0.01")), constraints


def main() -> None:
    from ptce_aap.domain.selection import Constraints, simulate

    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    candidates, envelope, constraints = instance(args.dossiers, args.seed)
    results = {"dossiers": args.dossiers, "seed": args.seed}
    # a clash: 60 dear dossiers forced in overflow the "em" quota and the "dev" cap
    dear = sorted((c for c in candidates if c.score >= 20 and c.id not in constraints.forced_out),
                  key=lambda c: -c.amount)[:60]
    clash = replace(constraints, forced_in=constraints.forced_in | {c.id for c in dear},
                    quotas={"em": 20})
    runs = (("no_constraint", Constraints(), False), ("all_constraints", constraints, False),
            ("all_constraints_and_costs", constraints, True), ("infeasible_explained", clash, True))
    for name, cons, costs in runs:
        start, cpu = time.perf_counter(), time.process_time()
        result = simulate(candidates, envelope, cons, costs=costs)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        results[name] = {"seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3), "selected": len(result.selected),
                         "total_score": str(result.total_score), "envelope_left": str(result.envelope_left),
                         "proven": result.proven, "costs": {c.constraint.label: str(c.cost) for c in result.costs},
                         "conflict": result.conflict and result.conflict.message}
        print(f"{name:26} {elapsed:6.2f} s (CPU {cpu:5.2f} s)  {len(result.selected)} laureates, score {result.total_score}, "
              f"left {result.envelope_left} €, proven {result.proven}, {len(result.costs)} constraint costs"
              + (f", conflict of {len(result.conflict.constraints)} constraints" if result.conflict else ""))
    out = ROOT / "bench" / "results" / "selection.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
