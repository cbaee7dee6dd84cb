"""The selection simulator (SPEC §5, issue 11 point 6): which laureates to propose within the envelope.
Pure: no Flask, no DB. The committee then decides dossier by dossier; this only proposes and explains.

The model (a 0/1 knapsack with side constraints, solved exactly by ``scipy.optimize.milp``/HiGHS in
``domain.selection_milp``). One binary x per candidate: 1 = proposed as laureate.

- Candidates: id, score (raw or calibrated, ``Decimal``; ``None``: not reviewed, never selectable), amount
  requested (``Decimal``, the committee may adjust it per dossier: ``Constraints.amounts``), region, category.
- Always: Σ amount·x ≤ envelope, in integer cents (exact: no float ever decides a cent).
- Optional constraints (``Constraints``), each one an *atom* that can be relaxed:
  at least one laureate in every region that has a candidate with a score (``region_coverage``; a region
  whose scored candidates are all forced out or under the minimum score is still required: the clash is
  explained below, and the committee chooses which constraint to lift);
  at most N laureates in a category (``quotas``); at most an amount in a category (``caps``); no candidate
  under a minimum score (``min_score``); dossiers forced in or forced out by the committee.
- Objective, lexicographic, each stage a MILP that keeps the optimum of the stage before:
  1. the **largest total score** (scores scaled to integers: compared to the millionth at most);
  2. among those, the **smallest amount spent** (what is left may go to the waiting list).
  Any tie left (same total score, same amount) is settled by HiGHS, deterministic for a given input
  because the model is always built in rank order — the ranking table's order: higher score first, equal
  scores by smaller amount, then by id. (A third stage, "the smallest sum of ranks", was tried: it took
  longer than the two others together on 1,000 dossiers, for ties that one decimal of score rarely makes.)
- Exactness: HiGHS is run with a zero relative gap and tight tolerances; its solution is rounded to 0/1 and
  every constraint checked again in integers, a broken one cut off and solved again (see
  ``domain.selection_milp``). ``Selection.proven`` is false only when a time limit was reached (then the
  best solution found is shown, and says so).

What each constraint costs (``Selection.costs``): for every optional constraint in force, the optimum
without it (the problem solved again with that one atom relaxed; the regions count as one) and the score
it costs: ``score_without − score_with`` (≥ 0). These solves only look for a better selection than the
proposal (a cutoff), which proves a zero cost quickly; a constraint that binds no candidate (a quota above
its category's candidates…) costs 0 without a solve. ``simulate(..., costs=False)`` skips them.

Waiting list (``Selection.waiting``): every scored candidate not proposed, in rank order, with why, against
the proposed selection: ``FORCED_OUT``, ``BELOW_MIN``, ``ENVELOPE`` (it asks more than what is left:
``shortfall``), ``QUOTA``, ``CAP`` (the category is full), or ``NO_GAIN`` (it would fit but adds no score:
a score of 0, kept out by the tie-break — or a time limit was reached).

Infeasible constraints are not an error: ``Selection.conflict`` names a minimal set of atoms that cannot
hold together (a deletion filter: drop each atom in turn, keep it out if the rest still clashes; the result
is irreducible — every atom named is needed for the clash), with a French sentence and the facts behind it.
Bad input (a negative amount, an unknown dossier in the constraints…) raises ``SelectionInputError``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from . import selection_milp as milp
from .geography import region_name
from .messages import N_, Message, Money, Number, join
from .selection_milp import Key, Problem

MAX_SCORE_DECIMALS = 6
CENT = Decimal("0.01")


class SelectionInputError(ValueError):
    """The simulator's input is not acceptable; ``str(exc)`` is a French message."""


class Reason(StrEnum):
    FORCED_OUT = "forced_out"
    BELOW_MIN = "below_min"
    ENVELOPE = "envelope"
    QUOTA = "quota"
    CAP = "cap"
    NO_GAIN = "no_gain"


@dataclass(frozen=True)
class Candidate:
    id: Hashable
    score: Decimal | None  # None: no score yet, not selectable
    amount: Decimal  # requested (Constraints.amounts may adjust it)
    region: str = ""  # region code ("" : none)
    category: str = ""  # category code ("" : none)
    label: str = ""  # the pole's name, for the messages


@dataclass(frozen=True)
class Constraints:
    region_coverage: bool = False
    quotas: Mapping[str, int] = field(default_factory=dict)  # category → max number of laureates
    caps: Mapping[str, Decimal] = field(default_factory=dict)  # category → max total amount
    min_score: Decimal | None = None
    forced_in: frozenset = frozenset()
    forced_out: frozenset = frozenset()
    amounts: Mapping[Hashable, Decimal] = field(default_factory=dict)  # dossier id → adjusted amount
    category_labels: Mapping[str, str] = field(default_factory=dict)  # category code → label, for messages


@dataclass(frozen=True)
class ConstraintRef:
    """One constraint as the committee set it: ``kind`` (``envelope``, ``regions``, ``region``, ``quota``,
    ``cap``, ``min_score``, ``forced_in``, ``forced_out``), its subject (region code, category code or
    dossier id) and a French label."""

    kind: str
    subject: Hashable | None
    label: str


@dataclass(frozen=True)
class ConstraintCost:
    constraint: ConstraintRef
    score_with: Decimal
    score_without: Decimal | None  # None: HiGHS failed on it (a time limit reached), unknown
    selected_without: tuple | None = None  # the ids an optimum without it selects (rank order), when better

    @property
    def cost(self) -> Decimal | None:
        return None if self.score_without is None else self.score_without - self.score_with


@dataclass(frozen=True)
class Waiting:
    id: Hashable
    rank: int  # 1 = best of the ranking
    score: Decimal
    amount: Decimal
    reasons: tuple[Reason, ...]
    shortfall: Decimal = Decimal(0)  # what the envelope left lacks for it (ENVELOPE)


@dataclass(frozen=True)
class Conflict:
    constraints: tuple[ConstraintRef, ...]
    message: str


@dataclass(frozen=True)
class Selection:
    envelope: Decimal
    feasible: bool = True
    selected: tuple = ()  # ids, rank order
    total_score: Decimal = Decimal(0)
    amount_spent: Decimal = Decimal(0)
    waiting: tuple[Waiting, ...] = ()
    costs: tuple[ConstraintCost, ...] = ()
    conflict: Conflict | None = None
    unscored: tuple = ()  # ids without a score, never selectable
    ranking: tuple = ()  # every id, rank order
    proven: bool = True

    @property
    def envelope_left(self) -> Decimal:
        return self.envelope - self.amount_spent


def rank_key(candidate: Candidate, amount: Decimal) -> tuple:
    """The ranking table's order: scored first, higher score, smaller amount, then id (ints before text)."""
    ident = (0, candidate.id, "") if isinstance(candidate.id, int) else (1, 0, str(candidate.id))
    return (candidate.score is None, -(candidate.score or 0), amount, ident)


def simulate(candidates: Iterable[Candidate], envelope: Decimal, constraints: Constraints | None = None,
             *, costs: bool = True) -> Selection:
    """Propose the laureates; see the module docstring for the model, the tie-break and the explanations.
    ``costs=False`` skips the cost of each constraint (one more solve each)."""
    ctx = _Context(list(candidates), envelope, constraints or Constraints())
    envelope = ctx.envelope
    found = milp.optimum(ctx.problem)
    if found is None:
        return Selection(envelope=envelope, feasible=False, conflict=ctx.conflict(),
                         unscored=ctx.unscored, ranking=ctx.ids)
    chosen = [i for i, v in enumerate(found.x) if v]
    total = sum((ctx.candidates[i].score for i in chosen), Decimal(0))
    spent = sum((ctx.amounts[i] for i in chosen), Decimal(0))
    return Selection(envelope=envelope, selected=tuple(ctx.ids[i] for i in chosen), total_score=total,
                     amount_spent=spent, waiting=ctx.waiting(found.x, envelope - spent),
                     costs=ctx.costs(total, found.score) if costs else (), unscored=ctx.unscored,
                     ranking=ctx.ids, proven=found.proven)


def _cents(amount: Decimal, what: Message) -> int:
    amount = Decimal(amount)
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(CENT):
        raise SelectionInputError(N_("%(what)s doit être un montant positif en euros et centimes.", what=what))
    return int(amount * 100)


def _score_scale(scores: list[Decimal]) -> int:
    """10 to the number of decimals the scores need (at most ``MAX_SCORE_DECIMALS``), fewer if the scaled
    total would leave the integers that a float (HiGHS) holds exactly."""
    decimals = max([0, *(min(-s.normalize().as_tuple().exponent, MAX_SCORE_DECIMALS) for s in scores)])
    magnitude = sum((abs(s) for s in scores), Decimal(0))
    while decimals and magnitude * 10 ** decimals >= 2 ** 50:
        decimals -= 1
    return 10 ** decimals


def _check_number(value, what: Message) -> Decimal:
    if value is None or not Decimal(value).is_finite():
        raise SelectionInputError(N_("%(what)s n'est pas un nombre.", what=what))
    return Decimal(value)


class _Context:
    """The input checked and turned into integers, in rank order, with the French labels."""

    def __init__(self, candidates: list[Candidate], envelope: Decimal, constraints: Constraints):
        self.constraints = c = constraints
        by_id = {}
        for cand in candidates:
            if cand.id in by_id:
                raise SelectionInputError(N_("Le dossier %(id)s figure deux fois.", id=cand.id))
            by_id[cand.id] = cand
            _check_number(cand.amount, N_("Le montant demandé par %(name)s", name=self.name(cand)))
            if cand.score is not None:
                _check_number(cand.score, N_("La note de %(name)s", name=self.name(cand)))
        if c.min_score is not None:
            _check_number(c.min_score, N_("La note minimale"))
        for what, ids in ((N_("Dossiers retenus inconnus : %(ids)s."), c.forced_in),
                          (N_("Dossiers écartés inconnus : %(ids)s."), c.forced_out),
                          (N_("Dossiers ajustés inconnus : %(ids)s."), c.amounts)):
            unknown = sorted(str(i) for i in ids if i not in by_id)
            if unknown:
                raise SelectionInputError(N_(what.msgid, ids=", ".join(unknown)))
        amount_of = {}
        for cand in candidates:
            requested = Decimal(cand.amount)
            _cents(requested, N_("Le montant demandé par %(name)s", name=self.name(cand)))
            adjusted = Decimal(c.amounts.get(cand.id, requested))
            _cents(adjusted, N_("Le montant ajusté de %(name)s", name=self.name(cand)))
            if adjusted > requested:
                raise SelectionInputError(N_("Le montant ajusté de %(name)s dépasse le montant demandé.",
                                             name=self.name(cand)))
            amount_of[cand.id] = adjusted
        self.candidates = sorted(candidates, key=lambda cand: rank_key(cand, amount_of[cand.id]))
        self.ids = tuple(cand.id for cand in self.candidates)
        self.index = {ident: i for i, ident in enumerate(self.ids)}
        self.amounts = [amount_of[ident] for ident in self.ids]
        self.envelope = Decimal(envelope)
        self.unscored = tuple(cand.id for cand in self.candidates if cand.score is None)
        scored = [cand.score for cand in self.candidates if cand.score is not None]
        scale = _score_scale(scored)  # the minimum score is compared in Decimal, not scaled
        for category, quota in c.quotas.items():
            if not isinstance(quota, int) or quota < 0:
                raise SelectionInputError(N_("Le quota de la catégorie %(category)s doit être un nombre entier "
                                             "positif.", category=self.category(category)))
        caps = {cat: _cents(cap, N_("Le plafond de la catégorie %(category)s", category=self.category(cat)))
                for cat, cap in c.caps.items()}
        self.scored_regions = sorted({cand.region for cand in self.candidates
                                      if cand.score is not None and cand.region})
        self.problem = Problem(
            scores=tuple(0 if cand.score is None else
                         int((cand.score * scale).to_integral_value(ROUND_HALF_EVEN)) for cand in self.candidates),
            cents=tuple(_cents(a, N_("Le montant")) for a in self.amounts),
            regions=tuple(cand.region for cand in self.candidates),
            categories=tuple(cand.category for cand in self.candidates),
            unscored=frozenset(self.index[i] for i in self.unscored),
            envelope=_cents(self.envelope, N_("L'enveloppe")),
            regions_required=frozenset(self.scored_regions if c.region_coverage else ()),
            quotas=dict(c.quotas), caps=caps,
            below_min=None if c.min_score is None else frozenset(
                i for i, cand in enumerate(self.candidates)
                if cand.score is not None and cand.score < Decimal(c.min_score)),
            forced_in=frozenset(self.index[i] for i in c.forced_in),
            forced_out=frozenset(self.index[i] for i in c.forced_out))

    # Labels ---------------------------------------------------------------------------------------------

    @staticmethod
    def name(cand: Candidate, *, first: bool = False) -> Message:
        """« Label », else « le dossier 12 » (« Le dossier 12 » ``first`` in a sentence)."""
        if cand.label:
            return N_("« %(label)s »", label=cand.label)
        return N_("Le dossier %(id)s", id=cand.id) if first else N_("le dossier %(id)s", id=cand.id)

    def category(self, code: str) -> Message:
        return N_("« %(label)s »", label=self.constraints.category_labels.get(code, code))

    def ref(self, key: Key) -> ConstraintRef:
        kind, c = key[0], self.constraints
        if kind == "envelope":
            return ConstraintRef(kind, None, N_("l'enveloppe de %(amount)s", amount=Money(self.envelope)))
        if kind == "regions":
            return ConstraintRef(kind, None, N_("au moins un lauréat par région ayant un dossier noté"))
        if kind == "region":
            return ConstraintRef(kind, key[1], N_("au moins un lauréat en région « %(region)s »",
                                                  region=region_name(key[1])))
        if kind == "quota":
            n = c.quotas[key[1]]
            values = {"count": n, "category": self.category(key[1])}
            return ConstraintRef(kind, key[1], N_("au plus %(count)s lauréats dans la catégorie %(category)s", **values)
                                 if n > 1 else N_("au plus %(count)s lauréat dans la catégorie %(category)s", **values))
        if kind == "cap":
            return ConstraintRef(kind, key[1], N_("au plus %(amount)s pour la catégorie %(category)s",
                                                  amount=Money(Decimal(c.caps[key[1]])),
                                                  category=self.category(key[1])))
        if kind == "min_score":
            return ConstraintRef(kind, None, N_("la note minimale de %(score)s", score=Number(Decimal(c.min_score))))
        cand = self.candidates[key[1]]
        return ConstraintRef(kind, cand.id, N_("%(name)s retenu d'office", name=self.name(cand))
                             if kind == "forced_in" else N_("%(name)s écarté d'office", name=self.name(cand)))

    # Results --------------------------------------------------------------------------------------------

    def waiting(self, x: tuple[int, ...], left: Decimal) -> tuple[Waiting, ...]:
        p, c = self.problem, self.constraints
        count: dict[str, int] = {}
        spent: dict[str, Decimal] = {}
        for i, v in enumerate(x):
            if v:
                cat = self.candidates[i].category
                count[cat] = count.get(cat, 0) + 1
                spent[cat] = spent.get(cat, Decimal(0)) + self.amounts[i]
        out = []
        for i, cand in enumerate(self.candidates):
            if x[i] or cand.score is None:
                continue
            amount, cat = self.amounts[i], cand.category
            reasons = [Reason.FORCED_OUT] if i in p.forced_out else []
            reasons += [Reason.BELOW_MIN] if p.below_min is not None and i in p.below_min else []
            reasons += [Reason.ENVELOPE] if amount > left else []
            reasons += [Reason.QUOTA] if cat in c.quotas and count.get(cat, 0) >= c.quotas[cat] else []
            if cat in c.caps and spent.get(cat, Decimal(0)) + amount > Decimal(c.caps[cat]):
                reasons.append(Reason.CAP)
            out.append(Waiting(cand.id, i + 1, cand.score, amount, tuple(reasons or [Reason.NO_GAIN]),
                               max(amount - left, Decimal(0))))
        return tuple(out)

    def score_of(self, x: tuple[int, ...]) -> Decimal:
        return sum((cand.score for cand, v in zip(self.candidates, x, strict=True) if v), Decimal(0))

    def costs(self, score_with: Decimal, scaled: int) -> tuple[ConstraintCost, ...]:
        """Each optional constraint's cost: the optimum without it (stage 1 only: the score). Exact shortcuts
        spare the solves: a constraint that binds no candidate costs nothing, and when the optimum without
        any of them is no better, none costs anything. Each solve only looks for a selection scoring more
        than ``scaled`` (the optimum with every constraint): none found, the constraint costs nothing."""
        p = self.problem
        keys: list[Key] = [("regions",)] if p.regions_required else []
        keys += [k for k in p.keys() if k[0] not in ("envelope", "region")]
        to_solve = [k for k in keys if not self.idle(k)]
        if len(to_solve) > 1:
            try:
                if milp.optimum(p.without(keys), tie_break=False, better_than=scaled) is None:
                    to_solve = []
            except milp.SolverError:
                pass  # solve them one by one
        out = []
        for key in keys:
            without: Decimal | None = score_with
            found = None
            if key in to_solve:
                try:
                    found = milp.optimum(p.without([key]), tie_break=False, better_than=scaled)
                except milp.SolverError:
                    without = None
                if found is not None:
                    without = self.score_of(found.x)
            out.append(ConstraintCost(self.ref(key), score_with, without, found and tuple(
                self.ids[i] for i, v in enumerate(found.x) if v)))
        return tuple(out)

    def idle(self, key: Key) -> bool:
        """True when relaxing this atom frees no candidate, so it costs nothing (exact, no solve)."""
        p = self.problem
        lower, upper = milp.bounds(p.without([key]))
        open_ = [i for i in range(p.size) if upper[i]]
        if key[0] == "forced_out":
            return not upper[key[1]]
        if key[0] == "min_score":
            return milp.bounds(p)[1] == upper
        if key[0] == "quota":
            return sum(1 for i in open_ if p.categories[i] == key[1]) <= p.quotas[key[1]]
        if key[0] == "cap":
            return sum(p.cents[i] for i in open_ if p.categories[i] == key[1]) <= p.caps[key[1]]
        return False

    def conflict(self) -> Conflict:
        """A minimal set of atoms that clash (deletion filter), explained in French."""
        p = self.problem
        kept = p.keys()
        for key in list(kept):
            trial = [k for k in kept if k != key]
            if not milp.feasible(p.without(k for k in p.keys() if k not in trial)):
                kept = trial
        refs = tuple(self.ref(k) for k in kept)
        return Conflict(refs, self.explain(kept, refs))

    def explain(self, keys: list[Key], refs: tuple[ConstraintRef, ...]) -> Message:
        labels = join([ref.label for ref in refs], " ; ")
        if len(refs) == 1:
            text = N_("Cette contrainte ne peut pas être respectée : %(labels)s.", labels=labels)
            advice = N_("Levez-la ou modifiez-la pour obtenir une proposition.")
        else:
            text = N_("Ces contraintes ne peuvent pas être respectées ensemble : %(labels)s.", labels=labels)
            advice = N_("Levez ou modifiez l'une d'elles pour obtenir une proposition.")
        return join([text, *self.facts(keys), advice])

    def facts(self, keys: list[Key]) -> list[Message]:
        p, c = self.problem, self.constraints
        forced = [k[1] for k in keys if k[0] == "forced_in"]
        out = []
        for i in forced:
            cand = self.candidates[i]
            if i in p.unscored:
                out.append(N_("%(name)s n'a pas de note : il ne peut pas être retenu.",
                              name=self.name(cand, first=True)))
            elif ("forced_out", i) in keys:
                out.append(N_("%(name)s est à la fois retenu et écarté d'office.", name=self.name(cand, first=True)))
            elif ("min_score",) in keys and i in (p.below_min or ()):
                out.append(N_("%(name)s a la note %(score)s, sous la note minimale de %(minimum)s.",
                              name=self.name(cand, first=True), score=Number(cand.score),
                              minimum=Number(Decimal(c.min_score))))
        if forced and ("envelope",) in keys:
            total = sum((self.amounts[i] for i in forced), Decimal(0))
            out.append(N_("Les dossiers retenus d'office demandent %(amount)s en tout.", amount=Money(total)))
        for key in keys:
            if key[0] in ("quota", "cap"):
                inside = [i for i in forced if self.candidates[i].category == key[1]]
                total = sum((self.amounts[i] for i in inside), Decimal(0))
                if inside:
                    values = {"category": self.category(key[1]), "count": len(inside), "amount": Money(total)}
                    out.append(N_("Dans la catégorie %(category)s, %(count)s dossiers retenus d'office pour "
                                  "%(amount)s.", **values) if len(inside) > 1 else
                               N_("Dans la catégorie %(category)s, %(count)s dossier retenu d'office pour %(amount)s.",
                                  **values))
        for key in keys:
            if key[0] == "region":
                members = [i for i, cand in enumerate(self.candidates)
                           if cand.region == key[1] and cand.score is not None]
                excluded, below = N_(", écarté"), N_(", sous la note minimale")
                listed = join((N_("%(name)s (%(amount)s%(notes)s)", name=self.name(self.candidates[i]),
                                  amount=Money(self.amounts[i]), notes=join(
                                      [*([excluded] if i in p.forced_out else []),
                                       *([below] if i in (p.below_min or ()) else [])], ""))
                               for i in members[:5]), ", ")
                more = N_(" et %(count)s autres", count=len(members) - 5) if len(members) > 5 else ""
                out.append(N_("Dossiers notés de la région « %(region)s » : %(listed)s%(more)s.",
                              region=region_name(key[1]), listed=listed, more=more))
        return out
