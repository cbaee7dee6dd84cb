"""The integer program behind the selection simulator: read ``domain.selection`` first. Pure: no Flask, no DB.

Everything here is an integer: amounts in cents, scores scaled to integers by ``domain.selection``. HiGHS
works in floating point with tolerances, asked as tight as it takes (1e-9), so every solution it returns
is rounded to 0/1 and checked again in exact integer arithmetic (``violations``). A rounded solution that
breaks a row (never seen in practice; a test fakes one) is cut off by a no-good cut and the stage solved
again: the integer problem is unchanged, so the answer stays exact and optimal.

A constraint **atom** is the unit that the cost table and the conflict explanation relax (``Key``):
``("envelope",)``, ``("region", code)``, ``("quota", category)``, ``("cap", category)``,
``("min_score",)``, ``("forced_in", index)``, ``("forced_out", index)`` — indexes in rank order.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

Key = tuple
TIME_LIMIT = 60.0  # seconds per HiGHS call of the main stage
TIE_BREAK_TIME_LIMIT = 15.0  # the tie-break stages keep their best solution when this runs out
RETRIES = 3
HIGHS_OPTIONS = {
    "mip_rel_gap": 0.0,  # HiGHS stops at a 1e-4 relative gap by default: not exact
    # Passed to HiGHS as they are (scipy warns that they are not its own options).
    "mip_feasibility_tolerance": 1e-9,
    "primal_feasibility_tolerance": 1e-9,
}


class SolverError(RuntimeError):
    """HiGHS failed (no solution within its time limit, or a numerical failure)."""


@dataclass(frozen=True)
class Problem:
    """Candidates in rank order (index 0 is the best ranked) and the constraints in force."""

    scores: tuple[int, ...]  # scaled to integers
    cents: tuple[int, ...]
    regions: tuple[str, ...]
    categories: tuple[str, ...]
    unscored: frozenset[int]  # no score: never selected (not a constraint, cannot be relaxed)
    envelope: int | None  # None only while the conflict search relaxes it
    regions_required: frozenset[str] = frozenset()
    quotas: dict[str, int] = field(default_factory=dict)
    caps: dict[str, int] = field(default_factory=dict)  # cents
    below_min: frozenset[int] | None = None  # the indexes under the minimum score; None: no minimum
    forced_in: frozenset[int] = frozenset()
    forced_out: frozenset[int] = frozenset()

    @property
    def size(self) -> int:
        return len(self.scores)

    def keys(self) -> list[Key]:
        """Every atom in force, in the order the conflict search tries to drop them (the last ones are kept
        when several explanations exist: the envelope and the forced dossiers speak best)."""
        keys: list[Key] = [("forced_out", i) for i in sorted(self.forced_out)]
        keys += [("min_score",)] if self.below_min is not None else []
        keys += [("quota", c) for c in sorted(self.quotas)] + [("cap", c) for c in sorted(self.caps)]
        keys += [("region", r) for r in sorted(self.regions_required)]
        keys += [("forced_in", i) for i in sorted(self.forced_in)]
        return keys + ([("envelope",)] if self.envelope is not None else [])

    def without(self, keys: Iterable[Key]) -> Problem:
        """The same problem with these atoms relaxed (``("regions",)`` relaxes every region atom)."""
        p = self
        for key in keys:
            kind, rest = key[0], key[1:]
            if kind == "envelope":
                p = replace(p, envelope=None)
            elif kind == "regions":
                p = replace(p, regions_required=frozenset())
            elif kind == "region":
                p = replace(p, regions_required=p.regions_required - {rest[0]})
            elif kind in ("quota", "cap"):
                name = "quotas" if kind == "quota" else "caps"
                p = replace(p, **{name: {c: v for c, v in getattr(p, name).items() if c != rest[0]}})
            elif kind == "min_score":
                p = replace(p, below_min=None)
            elif kind in ("forced_in", "forced_out"):
                p = replace(p, **{kind: getattr(p, kind) - {rest[0]}})
            else:
                raise ValueError(f"unknown constraint {key!r}")
        return p


@dataclass(frozen=True)
class Row:
    """``lo ≤ Σ coef·x[index] ≤ hi`` (``None``: no bound), in integers."""

    key: Key
    index: tuple[int, ...]
    coef: tuple[int, ...]
    lo: int | None = None
    hi: int | None = None

    def value(self, x: tuple[int, ...]) -> int:
        return sum(c * x[i] for i, c in zip(self.index, self.coef, strict=True))

    def excess(self, x: tuple[int, ...]) -> int:
        """How far the exact value lies outside the bounds (0 when it holds)."""
        v = self.value(x)
        return max(0 if self.lo is None else self.lo - v, 0 if self.hi is None else v - self.hi)


@dataclass(frozen=True)
class Solution:
    x: tuple[int, ...]  # 0/1 per candidate, rank order
    score: int
    cents: int
    proven: bool  # HiGHS proved every stage optimal (no time limit reached)


def rows(p: Problem) -> list[Row]:
    everyone = tuple(range(p.size))
    out = [Row(("envelope",), everyone, p.cents, hi=p.envelope)] if p.envelope is not None else []
    for region in sorted(p.regions_required):
        index = tuple(i for i in everyone if p.regions[i] == region)
        out.append(Row(("region", region), index, (1,) * len(index), lo=1))
    for category, quota in sorted(p.quotas.items()):
        index = tuple(i for i in everyone if p.categories[i] == category)
        out.append(Row(("quota", category), index, (1,) * len(index), hi=quota))
    for category, cap in sorted(p.caps.items()):
        index = tuple(i for i in everyone if p.categories[i] == category)
        out.append(Row(("cap", category), index, tuple(p.cents[i] for i in index), hi=cap))
    return out


def bounds(p: Problem) -> tuple[list[int], list[int]]:
    """Lower and upper bound of each x: the forced, unscored and under-minimum dossiers are set by bounds."""
    out = p.unscored | p.forced_out | (p.below_min or frozenset())
    lower = [1 if i in p.forced_in else 0 for i in range(p.size)]
    upper = [0 if i in out else 1 for i in range(p.size)]
    return lower, upper


def violations(x: tuple[int, ...], p: Problem, extra: Iterable[Row] = ()) -> list[Key]:
    """The atoms (and extra rows) that ``x`` breaks, checked exactly."""
    lower, upper = bounds(p)
    broken: list[Key] = [("forced_in", i) for i in p.forced_in if x[i] != 1]
    broken += [("forced_out", i) for i in p.forced_out if x[i] != 0]
    if p.below_min is not None:
        broken += [("min_score",)] if any(x[i] for i in p.below_min) else []
    broken += [("unscored", i) for i in p.unscored if x[i]]
    broken += [row.key for row in [*rows(p), *extra] if row.excess(x)]
    broken += [("bounds", i) for i in range(p.size) if not lower[i] <= x[i] <= upper[i]]
    return broken


def _highs(p: Problem, objective: list[int], all_rows: list[Row], time_limit: float, cutoff: float | None = None):
    """One HiGHS call: ``(x rounded to 0/1, proven optimal)``, or ``None`` when infeasible — or, with a
    ``cutoff``, when no solution has an objective below it (HiGHS prunes every node that cannot)."""
    n = p.size
    lower, upper = bounds(p)
    if any(lo > up for lo, up in zip(lower, upper, strict=True)):
        return None
    if n == 0:
        return ((), True) if all(row.excess(()) == 0 for row in all_rows) else None
    constraints = []
    if all_rows:
        matrix = np.zeros((len(all_rows), n))
        for r, row in enumerate(all_rows):
            matrix[r, list(row.index)] = row.coef
        lo = [-np.inf if row.lo is None else row.lo for row in all_rows]
        hi = [np.inf if row.hi is None else row.hi for row in all_rows]
        constraints = [LinearConstraint(matrix, lo, hi)]
    options = {**HIGHS_OPTIONS, "time_limit": time_limit}
    if cutoff is not None:
        options["objective_bound"] = cutoff
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Unrecognized options", category=RuntimeWarning)
        res = milp(np.asarray(objective, dtype=float), integrality=np.ones(n), bounds=Bounds(lower, upper),
                   constraints=constraints, options=options)
    if res.status == 2:
        return None
    if res.x is None or res.status not in (0, 1):
        raise SolverError(res.message)
    return tuple(1 if v > 0.5 else 0 for v in res.x), res.status == 0


def _stage(p: Problem, objective: list[int], extra: list[Row], time_limit: float, cutoff: float | None = None):
    """``_highs`` checked exactly. A rounded answer that breaks a row (of ``p`` or ``extra``) is cut off
    (a no-good cut: ``Σ_{x_i=1} x_i − Σ_{x_i=0} x_i ≤ ones − 1`` excludes that one 0/1 point and nothing
    else, so the integer problem is unchanged) and the stage solved again. Returns ``None`` when
    infeasible, else ``(x, proven)``."""
    everyone = tuple(range(p.size))
    cuts: list[Row] = []
    all_rows = rows(p) + extra
    for _attempt in range(RETRIES + 1):
        found = _highs(p, objective, all_rows + cuts, time_limit, cutoff)
        if found is None:
            return None
        x, proven = found
        if not any(row.excess(x) for row in all_rows) and not violations(x, p):
            return x, proven
        coef = tuple(1 if v else -1 for v in x)
        cuts.append(Row(("cut", len(cuts)), everyone, coef, hi=sum(x) - 1))
    raise SolverError("HiGHS tolerances: no exact solution after cutting off the rounded ones")


def feasible(p: Problem) -> bool:
    return _stage(p, [0] * p.size, [], TIME_LIMIT) is not None


def optimum(p: Problem, *, tie_break: bool = True, better_than: int | None = None) -> Solution | None:
    """The selection that maximises the total score, then (``tie_break``) spends the least; ``None`` when
    the constraints cannot hold together — or, with ``better_than``, when no selection scores more than
    that (a cutoff: HiGHS then prunes every branch that cannot beat it, a quick proof when none can)."""
    everyone = tuple(range(p.size))
    cutoff = None if better_than is None else -better_than - 0.5  # scores are integers: 0.5 is a safe margin
    found = _stage(p, [-s for s in p.scores], [], TIME_LIMIT, cutoff)
    if found is None:
        return None
    x, proven = found
    if better_than is not None and _dot(p.scores, x) <= better_than:
        return None  # HiGHS may still report a solution its heuristics found before the cutoff applied
    if tie_break:
        fixed = [Row(("stage", "score"), everyone, p.scores, lo=_dot(p.scores, x))]
        x, proven = _tie_break(p, list(p.cents), fixed, x, proven)
    return Solution(x, _dot(p.scores, x), _dot(p.cents, x), proven)


def _tie_break(p: Problem, objective: list[int], fixed: list[Row], x: tuple[int, ...], proven: bool):
    """The tie-break stage; should HiGHS fail there, the solution of the stage before is kept (the score
    is still the optimum), not proven to be the tie-break's."""
    try:  # the cutoff lets HiGHS prune what cannot do as well as x (not a strict one: x itself may be best)
        found = _stage(p, objective, fixed, TIE_BREAK_TIME_LIMIT, cutoff=_dot(objective, x) + 0.5)
    except SolverError:
        found = None
    if found is None:  # None cannot come from the problem: x satisfies every row
        return x, False
    return found[0], proven and found[1]


def _dot(coef: tuple[int, ...] | list[int], x: tuple[int, ...]) -> int:
    return sum(c * v for c, v in zip(coef, x, strict=True))
