"""The selection simulator on real data, and its saved scenarios (SPEC §5, issue 11 point 6).

``run`` builds the candidates from the ranking (``services.ranking``: the score the secretariat chose, the most
each dossier may be granted, its region and category) and asks ``domain.selection.simulate`` for a proposal;
nothing is written. ``save`` keeps a run under a name with a snapshot of its result and the ``fingerprint`` of
the data it came from (scores, amounts, statuses, envelope); ``delete`` removes one; ``apply`` turns a saved
scenario into the committee's decisions through ``services.decisions.decide_many`` — laureates with the
scenario's amount, the waiting list on the « liste complémentaire », every other ranked dossier « non retenu » —
and refuses a scenario whose data changed since it was saved. Every write is audited; the caller commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ptce_aap import audit
from ptce_aap.domain import selection as sel
from ptce_aap.domain.messages import N_, Message
from ptce_aap.domain.selection_milp import SolverError
from ptce_aap.domain.text import one_line
from ptce_aap.enums import CallStatus, DecisionOutcome, PaymentTerms
from ptce_aap.errors import DomainError, Problems
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import Decision
from ptce_aap.models.scenarios import SelectionScenario
from ptce_aap.permissions import DECIDABLE
from ptce_aap.services import decisions as decision_service
from ptce_aap.services import ranking as ranking_service
from ptce_aap.services.ranking import CALIBRATED, SCORE_KINDS, RankRow

NAME_MAX = 120
COMPARED_MAX = 3
CHANGED = N_("Les notes, les montants ou les statuts des dossiers ont changé depuis l'enregistrement de ce "
             "scénario : relancez la simulation et enregistrez-la de nouveau avant de l'appliquer.")


@dataclass
class Params:
    """What the secretariat set on the simulator's form (already parsed)."""

    score_kind: str = CALIBRATED
    regions: bool = False
    quotas: dict[str, int] = field(default_factory=dict)
    caps: dict[str, Decimal] = field(default_factory=dict)
    min_score: Decimal | None = None
    forced_in: set[int] = field(default_factory=set)
    forced_out: set[int] = field(default_factory=set)
    amounts: dict[int, Decimal] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"score_kind": self.score_kind, "regions": self.regions, "quotas": dict(self.quotas),
                "caps": {k: str(v) for k, v in self.caps.items()},
                "min_score": None if self.min_score is None else str(self.min_score),
                "forced_in": sorted(self.forced_in), "forced_out": sorted(self.forced_out),
                "amounts": {str(k): str(v) for k, v in sorted(self.amounts.items())}}

    @classmethod
    def from_json(cls, data: dict) -> Params:
        """The parameters kept as JSON (a saved scenario, the simulator's save form); ``ValueError`` (or
        ``TypeError``, ``ArithmeticError``) when they are not what ``to_json`` writes — the save form's copy
        comes back from the browser, so every number is checked: finite and within its range."""
        if data.get("score_kind", CALIBRATED) not in SCORE_KINDS:
            raise ValueError(data.get("score_kind"))
        return cls(score_kind=data.get("score_kind", CALIBRATED), regions=bool(data.get("regions")),
                   quotas={str(k): _bounded_int(v, QUOTA_MAX) for k, v in data.get("quotas", {}).items()},
                   caps={str(k): _bounded(v, AMOUNT_MAX) for k, v in data.get("caps", {}).items()},
                   min_score=None if data.get("min_score") is None else _bounded(data["min_score"], Decimal(100)),
                   forced_in={_bounded_int(i, ID_MAX) for i in data.get("forced_in", [])},
                   forced_out={_bounded_int(i, ID_MAX) for i in data.get("forced_out", [])},
                   amounts={_bounded_int(k, ID_MAX): _bounded(v, AMOUNT_MAX)
                            for k, v in data.get("amounts", {}).items()})


QUOTA_MAX, ID_MAX, AMOUNT_MAX = 100_000, 2**31 - 1, Decimal("1000000000")


def _bounded(value, maximum: Decimal) -> Decimal:
    number = Decimal(str(value))
    if not number.is_finite() or not 0 <= number <= maximum:
        raise ValueError(value)
    return number


def _bounded_int(value, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(value)
    number = int(value)
    if not 0 <= number <= maximum:
        raise ValueError(value)
    return number


@dataclass
class Run:
    """A simulation: the ranked rows it read, the proposal (None when the input was refused) or the message
    that refused it, and the fingerprint of the data."""

    call: Call
    params: Params
    rows: list[RankRow]
    selection: sel.Selection | None = None
    error: Message | None = None
    fingerprint: str = ""

    @property
    def by_id(self) -> dict[int, RankRow]:
        return {r.dossier.id: r for r in self.rows}

    def amount_of(self, dossier_id: int) -> Decimal:
        row = self.by_id[dossier_id]
        return self.params.amounts.get(dossier_id, row.cap)


def fingerprint(call: Call, rows: list[RankRow], kind: str) -> str:
    """A digest of what a proposal depends on: each ranked dossier's score of ``kind``, the most it may be
    granted and its status, and the envelope."""
    data = [str(call.envelope_eur), kind] + [
        f"{r.dossier.id}:{r.value(kind)}:{r.cap}:{r.dossier.status.value}"
        for r in sorted(rows, key=lambda r: r.dossier.id)]
    return hashlib.sha256("|".join(data).encode()).hexdigest()[:32]


def run(call: Call, params: Params, *, costs: bool = True) -> Run:
    """Propose laureates for ``params`` (nothing written). Bad input or a failed solve is in ``Run.error``."""
    kind = params.score_kind if params.score_kind in SCORE_KINDS else CALIBRATED
    rows = ranking_service.ranking(call, kind)
    result = Run(call, params, rows, fingerprint=fingerprint(call, rows, kind))
    labels = {code: c.label for code, c in ranking_service.categories(call).items()}
    constraints = sel.Constraints(
        region_coverage=params.regions, quotas=dict(params.quotas), caps=dict(params.caps),
        min_score=params.min_score, forced_in=frozenset(params.forced_in), forced_out=frozenset(params.forced_out),
        amounts=dict(params.amounts), category_labels=labels)
    try:
        result.selection = sel.simulate([r.candidate(kind) for r in rows], call.envelope_eur, constraints,
                                        costs=costs)
    except sel.SelectionInputError as exc:
        result.error = exc.args[0]
    except SolverError:
        result.error = N_("Le calcul n'a pas abouti dans le temps imparti : allégez les contraintes ou relancez-le.")
    return result


def snapshot(result: Run) -> dict:
    """The result of a run as it is kept with a saved scenario (JSON: amounts and scores as text)."""
    s, by_id = result.selection, result.by_id
    if s is None:
        raise DomainError(N_("Ce scénario n'a pas de résultat à enregistrer."))
    rank = {ident: i for i, ident in enumerate(s.ranking, start=1)}

    def line(ident, amount, **extra):
        row = by_id[ident]
        score = row.value(result.params.score_kind)
        return {"id": ident, "pole": row.dossier.pole_name, "rank": rank[ident],
                "score": None if score is None else str(score), "amount": str(amount), **extra}

    return {
        "fingerprint": result.fingerprint, "feasible": s.feasible, "proven": s.proven,
        "envelope": str(s.envelope), "total_score": str(s.total_score), "amount_spent": str(s.amount_spent),
        "selected": [line(i, result.amount_of(i)) for i in s.selected],
        "waiting": [line(w.id, w.amount, reasons=[r.value for r in w.reasons]) for w in s.waiting],
        "costs": [{"label": c.constraint.label.to_json() if isinstance(c.constraint.label, Message)
                   else str(c.constraint.label), "with": str(c.score_with),
                   "without": None if c.score_without is None else str(c.score_without)} for c in s.costs],
        "conflict": None if s.conflict is None else s.conflict.message.to_json(),
    }


# --- reading -----------------------------------------------------------------------------------------------

def scenarios_of(call: Call) -> list[SelectionScenario]:
    return list(db.session.scalars(sa.select(SelectionScenario).where(SelectionScenario.call_id == call.id)
                                   .options(selectinload(SelectionScenario.created_by))
                                   .order_by(SelectionScenario.created_at.desc(), SelectionScenario.id.desc())))


def current_fingerprint(call: Call, kinds: set[str]) -> dict[str, str]:
    """score kind → the fingerprint of the data now (to tell which saved scenarios are still up to date)."""
    computed = ranking_service.call_scores(call) if kinds else None
    return {kind: fingerprint(call, ranking_service.ranking(call, kind, computed=computed), kind)
            for kind in kinds if kind in SCORE_KINDS}


@dataclass
class CompareLine:
    """A dossier laureate in at least one of the scenarios compared: its amount in each (None: not laureate)."""

    id: int
    pole: str
    amounts: list[Decimal | None]

    @property
    def everywhere(self) -> bool:
        return all(a is not None for a in self.amounts)

    @property
    def same_amount(self) -> bool:
        return self.everywhere and len(set(self.amounts)) == 1


def compare(chosen: list[SelectionScenario]) -> list[CompareLine]:
    """Every dossier laureate in one of ``chosen`` at least; those laureate in all of them first, then by pole."""
    poles, amounts = {}, []
    for scenario in chosen:
        mine = {}
        for line in scenario.result.get("selected", []):
            poles[line["id"]] = line.get("pole") or ""
            mine[line["id"]] = Decimal(line["amount"])
        amounts.append(mine)
    lines = [CompareLine(i, pole, [mine.get(i) for mine in amounts]) for i, pole in poles.items()]
    return sorted(lines, key=lambda line: (not line.everywhere, line.pole.casefold(), line.id))


# --- writing -----------------------------------------------------------------------------------------------

def save(call: Call, name: str, result: Run, *, by) -> SelectionScenario:
    """Keep ``result`` under ``name`` (unique in the call)."""
    name = one_line(name or "", max_length=10 * NAME_MAX)
    problems = Problems()
    if not name:
        problems.add(N_("Donnez un nom au scénario."), field="name")
    elif len(name) > NAME_MAX:
        problems.add(N_("Le nom dépasse %(max)s caractères.", max=NAME_MAX), field="name")
    elif db.session.scalar(sa.select(SelectionScenario.id).where(SelectionScenario.call_id == call.id,
                                                                 SelectionScenario.name == name)):
        problems.add(N_("Un scénario porte déjà ce nom dans cet appel."), field="name")
    if result.selection is None or not result.selection.feasible:
        problems.add(N_("Seule une simulation qui aboutit à une proposition peut être enregistrée."))
    problems.raise_any()
    scenario = SelectionScenario(call_id=call.id, name=name, params=result.params.to_json(),
                                 result=snapshot(result), score_kind=result.params.score_kind,
                                 created_by_id=getattr(by, "id", None))
    db.session.add(scenario)
    db.session.flush()
    audit.record("scenario.saved", scenario, actor=by,
                 summary={"call_id": call.id, "name": name, "score_kind": scenario.score_kind,
                          "selected": [line["id"] for line in scenario.result["selected"]],
                          "total_score": scenario.result["total_score"],
                          "amount_spent": scenario.result["amount_spent"]})
    return scenario


def delete(scenario: SelectionScenario, *, by) -> None:
    audit.record("scenario.deleted", scenario, actor=by,
                 summary={"call_id": scenario.call_id, "name": scenario.name,
                          "selected": [line["id"] for line in scenario.result.get("selected", [])]})
    db.session.delete(scenario)
    db.session.flush()


@dataclass
class Outcomes:
    """A scenario read as decisions: (row, outcome, amount) for every ranked dossier, in rank order."""

    lines: list[tuple[RankRow, DecisionOutcome, Decimal | None]]


def outcomes(scenario: SelectionScenario) -> Outcomes:
    """Every ranked dossier with the outcome the scenario gives it; ``DomainError`` when the data changed."""
    call = scenario.call
    rows = ranking_service.ranking(call, scenario.score_kind)
    if fingerprint(call, rows, scenario.score_kind) != scenario.result.get("fingerprint"):
        raise DomainError(CHANGED)
    amounts = {line["id"]: Decimal(line["amount"]) for line in scenario.result["selected"]}
    waiting = {line["id"] for line in scenario.result["waiting"]}
    lines = []
    for row in rows:
        ident = row.dossier.id
        if ident in amounts:
            lines.append((row, DecisionOutcome.LAUREATE, amounts[ident]))
        elif ident in waiting:
            lines.append((row, DecisionOutcome.WAITLISTED, None))
        else:
            lines.append((row, DecisionOutcome.REJECTED, None))
    return Outcomes(lines)


def not_ready(read: Outcomes) -> list[RankRow]:
    """The rows a decision cannot be recorded on yet (not reviewed, and no earlier decision to correct)."""
    return [row for row, _o, _a in read.lines if row.dossier.status not in DECIDABLE and row.decision is None]


def motivation_for(template: str, row: RankRow, kind: str, total: int) -> str:
    """The outcome's motivation for one dossier: ``{rang}``, ``{total}`` and ``{note}`` replaced."""
    score = row.value(kind)
    note = "—" if score is None else str(score).replace(".", ",")
    return template.replace("{rang}", str(row.rank)).replace("{total}", str(total)).replace("{note}", note)


def apply(scenario: SelectionScenario, motivations: dict[DecisionOutcome, str], *, by,
          payment_terms: PaymentTerms = PaymentTerms.SINGLE, correction_reason: str = "") -> list[Decision]:
    """Record the scenario's decisions, all or none (``decide_many``: motivation required, amounts within
    each dossier's cap and the envelope); refused when the call does not deliberate or the data changed."""
    call = scenario.call
    if call.status != CallStatus.DELIBERATION:
        raise DomainError(N_("Les décisions se prennent pendant la délibération de l'appel."))
    read = outcomes(scenario)
    waiting = not_ready(read)
    if waiting:
        raise DomainError(N_("Ces dossiers ne sont pas prêts pour une décision (leur instruction n'est pas "
                             "terminée) : %(poles)s.", poles=", ".join(r.dossier.pole_name or str(r.dossier.id)
                                                                    for r in waiting)))
    problems = Problems()
    for outcome in {o for _row, o, _amount in read.lines}:
        if not (motivations.get(outcome) or "").strip():
            problems.add(N_("La motivation est obligatoire."), field=f"motivation_{outcome.value}")
    problems.raise_any()
    total = len(read.lines)
    items = []
    for row, outcome, amount in read.lines:
        laureate = outcome == DecisionOutcome.LAUREATE
        items.append((row.dossier, decision_service.DecisionInput(
            outcome=outcome, amount_eur=amount if laureate else None,
            motivation=motivation_for(motivations[outcome], row, scenario.score_kind, total),
            payment_terms=payment_terms if laureate else None,
            correction_reason=correction_reason if row.decision is not None else "")))
    recorded = decision_service.decide_many(call, items, by=by)
    audit.record("scenario.applied", scenario, actor=by,
                 summary={"call_id": call.id, "name": scenario.name, "decisions": [d.id for d in recorded],
                          "laureates": [row.dossier.id for row, o, _a in read.lines if o == DecisionOutcome.LAUREATE]})
    return recorded
