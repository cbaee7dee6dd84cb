"""The one write path of the committee's decisions (SPEC §5; ``models.decisions.Decision``).

``decide`` records the outcome of one dossier (lauréat / liste complémentaire / non retenu), with the amount
granted, the motivation, the decision reference and date, and the payment terms; ``decide_many`` records a set
of them at once (a simulator scenario confirmed by the committee). A correction never overwrites: the current
row is kept, marked not current, and the new row names it in ``supersedes_id`` with the reason of the
correction. Views check who (``permissions.can_decide``); this module checks the state and the values,
audits, and never commits.

The dossier's own status does not move here: it follows the decision when the decision is notified
(``services.decision_letters``), so that an applicant never learns an outcome before the letter.

Rules (every problem of a form is reported at once, field by field):
- the call deliberates and the dossier is decidable (reviewed, or waitlisted after an earlier notification);
- a motivation is required;
- a laureate gets an amount > 0, at most what was requested, the call's cap and its category's cap, and the
  laureates' current amounts stay within the envelope; the others get no amount;
- payment: one payment (optionally dated), or tranches (dates strictly increasing, each amount > 0, their sum
  equal to the amount granted), or "other"; the payment period's end is not before its start;
- a correction states its reason; a notified decision can be corrected only towards an outcome the dossier
  can still take (a waitlisted pole promoted or finally rejected).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from ptce_aap import audit
from ptce_aap.domain.messages import N_, Money
from ptce_aap.domain.text import one_line
from ptce_aap.enums import DOSSIER_TRANSITIONS, CallStatus, DecisionOutcome, DossierStatus, PaymentTerms
from ptce_aap.errors import DomainError, Problems
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call, CallCategory
from ptce_aap.models.decisions import CommitteeSession, Decision
from ptce_aap.models.dossiers import Dossier
from ptce_aap.permissions import DECIDABLE
from ptce_aap.services.calls import lock_call

MOTIVATION_MAX = 5000
REFERENCE_MAX = 100
REASON_MAX = 1000
TRANCHES_MAX = 12
OUTCOME_STATUS = {DecisionOutcome.LAUREATE: DossierStatus.LAUREATE,
                  DecisionOutcome.WAITLISTED: DossierStatus.WAITLISTED,
                  DecisionOutcome.REJECTED: DossierStatus.REJECTED}


@dataclass
class Tranche:
    on: date
    amount_eur: Decimal


@dataclass
class DecisionInput:
    """What the committee decided for one dossier, as typed (already parsed into Python values)."""

    outcome: DecisionOutcome | None
    motivation: str = ""
    amount_eur: Decimal | None = None
    reference: str = ""
    committee_date: date | None = None
    agreement_date: date | None = None
    payment_terms: PaymentTerms | None = None
    tranches: list[Tranche] = field(default_factory=list)
    payment_period_start: date | None = None
    payment_period_end: date | None = None
    correction_reason: str = ""


def current_decision(dossier: Dossier) -> Decision | None:
    return db.session.scalar(sa.select(Decision).where(Decision.dossier_id == dossier.id, Decision.is_current))


def current_decisions(call: Call, *, ids: list[int] | None = None) -> dict[int, Decision]:
    """The current decision of every dossier of a call (of the dossiers ``ids`` only when given), by dossier id
    (one query)."""
    query = (sa.select(Decision).join(Dossier, Dossier.id == Decision.dossier_id)
             .where(Dossier.call_id == call.id, Decision.is_current))
    if ids is not None:
        query = query.where(Decision.dossier_id.in_(ids))
    rows = db.session.scalars(query)
    return {row.dossier_id: row for row in rows}


def history(dossier: Dossier) -> list[Decision]:
    """Every decision of a dossier, the newest first."""
    return list(db.session.scalars(sa.select(Decision).where(Decision.dossier_id == dossier.id)
                                   .order_by(Decision.decided_at.desc(), Decision.id.desc())))


def granted_total(call: Call, *, excluding: set[int] = frozenset()) -> Decimal:
    """The sum of the current laureates' amounts in a call, leaving out the dossiers in ``excluding``."""
    query = (sa.select(sa.func.coalesce(sa.func.sum(Decision.amount_eur), 0))
             .join(Dossier, Dossier.id == Decision.dossier_id)
             .where(Dossier.call_id == call.id, Decision.is_current,
                    Decision.outcome == DecisionOutcome.LAUREATE))
    if excluding:
        query = query.where(Decision.dossier_id.not_in(excluding))
    return Decimal(db.session.scalar(query) or 0).quantize(Decimal("0.01"))


def amount_cap(dossier: Dossier, categories: dict[str, CallCategory] | None = None, *,
               call: Call | None = None) -> Decimal:
    """The most a dossier may be granted: its request, the call's cap, its category's cap. ``call``: the
    dossier's call when the caller has it (``dossier`` may then be any row with its amount and category)."""
    call = call if call is not None else dossier.call
    caps = [call.max_amount_eur]
    if dossier.amount_requested_eur is not None:
        caps.append(dossier.amount_requested_eur)
    if dossier.category_code:
        if categories is None:
            categories = {c.code: c for c in call.categories}
        category = categories.get(dossier.category_code)
        if category is not None and category.max_amount_eur is not None:
            caps.append(category.max_amount_eur)
    return min(caps)


def _check_state(dossier: Dossier, previous: Decision | None, outcome: DecisionOutcome | None) -> None:
    if dossier.call.status != CallStatus.DELIBERATION:
        raise DomainError(N_("Les décisions se prennent pendant la délibération de l'appel."))
    if previous is not None and previous.notified_at is not None:
        # Notified: the dossier carries the outcome; only a move its status allows can follow.
        if outcome is not None and OUTCOME_STATUS[outcome] not in DOSSIER_TRANSITIONS[dossier.status]:
            raise DomainError(N_("Cette décision a été notifiée : elle ne peut plus devenir « %(outcome)s ».",
                                 outcome=outcome), field="outcome")
        return
    if dossier.status not in DECIDABLE:
        raise DomainError(N_("Ce dossier n'est pas prêt pour une décision (état : %(status)s).",
                             status=dossier.status))


def _check_values(dossier: Dossier, data: DecisionInput, previous: Decision | None, problems: Problems,
                  *, envelope_used: Decimal, categories: dict[str, CallCategory] | None) -> None:
    if data.outcome is None:
        problems.add(N_("Choisissez une décision."), field="outcome")
    if not data.motivation.strip():
        problems.add(N_("La motivation est obligatoire."), field="motivation")
    elif len(data.motivation) > MOTIVATION_MAX:
        problems.add(N_("La motivation dépasse %(max)s caractères.", max=MOTIVATION_MAX), field="motivation")
    if len(data.reference) > REFERENCE_MAX:
        problems.add(N_("La référence dépasse %(max)s caractères.", max=REFERENCE_MAX), field="reference")
    if previous is not None and not data.correction_reason.strip():
        problems.add(N_("Une décision existe déjà : dites pourquoi vous la corrigez."), field="correction_reason")
    if len(data.correction_reason) > REASON_MAX:
        problems.add(N_("La raison dépasse %(max)s caractères.", max=REASON_MAX), field="correction_reason")
    if data.payment_period_start and data.payment_period_end and data.payment_period_end < data.payment_period_start:
        problems.add(N_("La fin de la période de versement précède son début."), field="payment_period_end")
    if data.outcome == DecisionOutcome.LAUREATE:
        amount = data.amount_eur
        cap = amount_cap(dossier, categories)
        if amount is None or amount <= 0:
            problems.add(N_("Indiquez le montant accordé, supérieur à zéro."), field="amount_eur")
        elif amount > cap:
            problems.add(N_("Le montant accordé dépasse le plafond de ce dossier (%(cap)s).", cap=Money(cap)),
                         field="amount_eur")
        elif envelope_used + amount > dossier.call.envelope_eur:
            problems.add(N_("L'enveloppe de l'appel serait dépassée de %(over)s.",
                            over=Money(envelope_used + amount - dossier.call.envelope_eur)), field="amount_eur")
        if data.payment_terms is None:
            problems.add(N_("Choisissez les modalités de versement."), field="payment_terms")
        _check_tranches(data, problems)
    else:
        if data.amount_eur not in (None, Decimal("0")):
            problems.add(N_("Seul un lauréat reçoit un montant."), field="amount_eur")
        if data.tranches:
            problems.add(N_("Seul un lauréat reçoit des versements."), field="tranches")


def _check_tranches(data: DecisionInput, problems: Problems) -> None:
    if data.payment_terms != PaymentTerms.STAGED:
        if data.tranches:
            problems.add(N_("Les tranches ne valent que pour un versement échelonné."), field="tranches")
        return
    tranches = data.tranches
    if len(tranches) < 2:
        problems.add(N_("Un versement échelonné compte au moins deux tranches."), field="tranches")
        return
    if len(tranches) > TRANCHES_MAX:
        problems.add(N_("Au plus %(max)s tranches.", max=TRANCHES_MAX), field="tranches")
    if any(t.amount_eur is None or t.amount_eur <= 0 for t in tranches):
        problems.add(N_("Chaque tranche a un montant supérieur à zéro."), field="tranches")
        return
    if any(later.on <= earlier.on for earlier, later in zip(tranches, tranches[1:], strict=False)):
        problems.add(N_("Les dates des tranches se suivent, sans doublon."), field="tranches")
    total = sum((t.amount_eur for t in tranches), Decimal("0"))
    if data.amount_eur is not None and total != data.amount_eur:
        problems.add(N_("Les tranches totalisent %(total)s, le montant accordé est %(amount)s.",
                        total=Money(total), amount=Money(data.amount_eur)), field="tranches")


CENT = Decimal("0.01")


def _schedule(data: DecisionInput) -> list[dict]:
    return [{"date": t.on.isoformat(), "amount_eur": str(t.amount_eur.quantize(CENT))} for t in data.tranches]


def _summary(decision: Decision) -> dict:
    return {"outcome": decision.outcome.value,
            "amount_eur": None if decision.amount_eur is None else str(decision.amount_eur),
            "reference": decision.reference, "payment_terms": decision.payment_terms.value
            if decision.payment_terms else None}


def _same(previous: Decision, data: DecisionInput, session: CommitteeSession | None, laureate: bool) -> bool:
    """Whether ``data`` says exactly what the current decision says (a correction that corrects nothing)."""
    amount = data.amount_eur.quantize(CENT) if laureate and data.amount_eur is not None else None
    return ((previous.outcome, previous.amount_eur, previous.motivation, previous.reference,
             previous.committee_date, previous.agreement_date, previous.payment_terms, previous.payment_schedule,
             previous.payment_period_start, previous.payment_period_end)
            == (data.outcome, amount, data.motivation.strip(), one_line(data.reference),
                session.held_on if session else data.committee_date, data.agreement_date if laureate else None,
                data.payment_terms if laureate else None, _schedule(data) if laureate else [],
                data.payment_period_start if laureate else None, data.payment_period_end if laureate else None))


def decide(dossier: Dossier, data: DecisionInput, *, by, session: CommitteeSession | None = None,
           envelope_used: Decimal | None = None, categories: dict[str, CallCategory] | None = None) -> Decision:
    """Record the committee's decision on ``dossier`` (a new one, or a correction of the current one)."""
    if envelope_used is None:
        lock_call(dossier.call)
    previous = current_decision(dossier)
    _check_state(dossier, previous, data.outcome)
    if session is not None and session.call_id != dossier.call_id:
        raise DomainError(N_("Cette séance appartient à un autre appel."))
    if envelope_used is None:
        envelope_used = granted_total(dossier.call, excluding={dossier.id})
    problems = Problems()
    _check_values(dossier, data, previous, problems, envelope_used=envelope_used, categories=categories)
    problems.raise_any()
    laureate = data.outcome == DecisionOutcome.LAUREATE
    if previous is not None and _same(previous, data, session, laureate):
        raise DomainError(N_("Cette correction ne change rien à la décision en vigueur."), field="outcome")
    decision = Decision(
        dossier_id=dossier.id, session_id=session.id if session else None, outcome=data.outcome,
        amount_eur=data.amount_eur.quantize(CENT) if laureate else None, motivation=data.motivation.strip(),
        committee_date=session.held_on if session else data.committee_date,
        reference=one_line(data.reference), agreement_date=data.agreement_date if laureate else None,
        payment_terms=data.payment_terms if laureate else None,
        payment_schedule=_schedule(data) if laureate else [],
        payment_period_start=data.payment_period_start if laureate else None,
        payment_period_end=data.payment_period_end if laureate else None,
        correction_reason=data.correction_reason.strip(), decided_by_id=getattr(by, "id", None),
        decided_at=utcnow(), is_current=True)
    if previous is not None:
        previous.is_current = False
        db.session.flush()  # the partial unique index allows one current row: retire the old one first
        decision.supersedes_id = previous.id
    db.session.add(decision)
    db.session.flush()
    audit.record("decision.corrected" if previous else "decision.recorded", dossier, actor=by,
                 summary={"before": _summary(previous) if previous else None, "after": _summary(decision),
                          "reason": decision.correction_reason, "decision_id": decision.id,
                          "session_id": decision.session_id})
    return decision


def decide_many(call: Call, items: list[tuple[Dossier, DecisionInput]], *, by,
                session: CommitteeSession | None = None) -> list[Decision]:
    """Record several decisions at once (a scenario confirmed by the committee), all or none: the envelope
    counts the amounts of this batch together with the laureates already decided outside it."""
    if call.status != CallStatus.DELIBERATION:
        raise DomainError(N_("Les décisions se prennent pendant la délibération de l'appel."))
    lock_call(call)
    ids = {dossier.id for dossier, _data in items}
    if any(dossier.call_id != call.id for dossier, _data in items):
        raise DomainError(N_("Un dossier de cette liste appartient à un autre appel."))
    used = granted_total(call, excluding=ids)
    categories = {c.code: c for c in call.categories}
    recorded = []
    for dossier, data in items:
        recorded.append(decide(dossier, data, by=by, session=session, envelope_used=used, categories=categories))
        if data.outcome == DecisionOutcome.LAUREATE and data.amount_eur:
            used += data.amount_eur
    return recorded
