"""A call's scoring grid (SPEC §4): add, edit, reorder and delete criteria while the call is a draft; the
one write path of ``Criterion`` rows after the call's creation.

The grid is **frozen** (``is_frozen``) once the call has left draft or a review of one of its dossiers exists:
every change is then refused with a message. The first review of a call marks the freeze in the audit trail
(``call.grid_frozen``), whoever creates it: a session hook watches new ``Review`` rows, so the review pages
call nothing. A criterion with scores is never deleted (the database RESTRICTs; this service refuses first).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ptce_aap import audit
from ptce_aap.domain.defaults import DEFAULT_GRID
from ptce_aap.domain.messages import N_
from ptce_aap.enums import CallStatus
from ptce_aap.errors import DomainError, Problems
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.calls import Call, Criterion
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.reviews import Assignment, Review, ReviewScore

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
WEIGHT_MAX = 100
MAX_SCORE_MAX = 20
DEFAULT_MAX_SCORE = 5
LABEL_MAX = 200
GUIDANCE_MAX = 2000

FROZEN_BY_REVIEW = N_("La grille de notation ne peut plus être modifiée : l’évaluation des dossiers a commencé "
                      "(une première évaluation existe).")


def _reviews_of(call_id: int):
    return (sa.select(Review.id).join(Assignment, Assignment.id == Review.assignment_id)
            .join(Dossier, Dossier.id == Assignment.dossier_id).where(Dossier.call_id == call_id))


def has_reviews(call: Call) -> bool:
    return bool(db.session.scalar(sa.select(_reviews_of(call.id).exists())))


def frozen_reason(call: Call) -> str | None:
    """Why the grid can no longer change (a French sentence), or None while it can."""
    if call.status != CallStatus.DRAFT:
        return N_("La grille de notation ne peut plus être modifiée : l’appel à projets n’est plus en brouillon "
                  "(« %(status)s »).", status=call.status)
    if has_reviews(call):
        return FROZEN_BY_REVIEW
    return None


def is_frozen(call: Call) -> bool:
    """The grid is frozen once the call has left draft or its first review exists."""
    return frozen_reason(call) is not None


def _require_editable(call: Call) -> None:
    reason = frozen_reason(call)
    if reason is not None:
        raise DomainError(reason)


def scored_criterion_ids(call: Call) -> set[int]:
    """The criteria of the call that have at least one score (never deletable)."""
    return set(db.session.scalars(sa.select(ReviewScore.criterion_id).distinct().join(
        Criterion, Criterion.id == ReviewScore.criterion_id).where(Criterion.call_id == call.id)))


# --- Checking what was typed -------------------------------------------------------------------------

# For each integer of a criterion: (missing, not an integer, out of range).
INTEGER_MESSAGES = {
    "weight": (N_("Indiquez le poids."),
               N_("Le poids doit être un nombre entier positif, sans virgule (par exemple 10) ; « %(text)s » n’en "
                  "est pas un."),
               N_("Le poids doit être compris entre 1 et %(maximum)s.")),
    "max_score": (N_("Indiquez la note maximale."),
                  N_("La note maximale doit être un nombre entier positif, sans virgule (par exemple 10) ; "
                     "« %(text)s » n’en est pas un."),
                  N_("La note maximale doit être comprise entre 1 et %(maximum)s.")),
}


def _integer(raw, *, field: str, maximum: int) -> int:
    """``raw`` as an integer from 1 to ``maximum``, ``field`` a key of ``INTEGER_MESSAGES``."""
    text = str(raw if raw is not None else "").strip()
    missing, not_integer, out_of_range = INTEGER_MESSAGES[field]
    if not text:
        raise DomainError(missing, field=field)
    if not re.fullmatch(r"[0-9]+", text):
        raise DomainError(N_(not_integer.msgid, text=text[:20]), field=field)
    value = int(text)
    if not 1 <= value <= maximum:
        raise DomainError(N_(out_of_range.msgid, maximum=maximum), field=field)
    return value


def _code(call: Call, values: dict, criterion: Criterion | None) -> str:
    code = str(values.get("code") or "").strip().lower()
    if not code:
        raise DomainError(N_("Indiquez le code du critère."), field="code")
    if not CODE_RE.match(code):
        raise DomainError(N_("Le code du critère commence par une lettre et ne contient que des lettres minuscules "
                             "sans accent, des chiffres et des tirets bas (40 caractères au plus), par exemple "
                             "« cooperation »."), field="code")
    taken = db.session.scalar(sa.select(Criterion.id).where(
        Criterion.call_id == call.id, sa.func.lower(Criterion.code) == code,
        *([Criterion.id != criterion.id] if criterion is not None and criterion.id else [])))
    if taken is not None:
        raise DomainError(N_("Le code « %(code)s » est déjà celui d’un autre critère de cette grille.", code=code),
                          field="code")
    return code


def _label(values: dict) -> str:
    label = " ".join(str(values.get("label") or "").split())
    if not label:
        raise DomainError(N_("Indiquez l’intitulé du critère."), field="label")
    if len(label) > LABEL_MAX:
        raise DomainError(N_("L’intitulé ne doit pas dépasser %(max)s caractères.", max=LABEL_MAX), field="label")
    return label


def _guidance(values: dict) -> str:
    guidance = str(values.get("guidance") or "").strip()
    if len(guidance) > GUIDANCE_MAX:
        raise DomainError(N_("Les indications ne doivent pas dépasser %(max)s caractères.", max=GUIDANCE_MAX),
                          field="guidance")
    return guidance


def clean_values(call: Call, values: dict, *, criterion: Criterion | None = None) -> dict:
    """``{code, label, guidance, weight, max_score}`` checked and typed, or one ``DomainError`` carrying the
    problem of every field at once (each shown beside its field after a single submit)."""
    problems = Problems()
    cleaned = {
        "code": problems.check(_code, call, values, criterion),
        "label": problems.check(_label, values),
        "guidance": problems.check(_guidance, values),
        "weight": problems.check(_integer, values.get("weight"), field="weight", maximum=WEIGHT_MAX),
        "max_score": problems.check(_integer, values.get("max_score"), field="max_score", maximum=MAX_SCORE_MAX)}
    problems.raise_any()
    return cleaned


def _summary(criterion: Criterion) -> dict:
    return {"code": criterion.code, "label": criterion.label, "guidance": criterion.guidance,
            "weight": criterion.weight, "max_score": criterion.max_score, "position": criterion.position}


def _renumber(call: Call) -> None:
    for position, criterion in enumerate(call.criteria):
        criterion.position = position


# --- Changes ------------------------------------------------------------------------------------------

def add_criterion(call: Call, values: dict, *, by) -> Criterion:
    _require_editable(call)
    cleaned = clean_values(call, values)
    criterion = Criterion(position=len(call.criteria), **cleaned)
    call.criteria.append(criterion)
    db.session.flush()
    audit.record("criterion.created", criterion, actor=by, summary={"call": call.slug, "after": _summary(criterion)})
    return criterion


def update_criterion(criterion: Criterion, values: dict, *, by) -> list[str]:
    """Save what changed; returns the names of the changed fields (nothing audited when none)."""
    call = criterion.call
    _require_editable(call)
    cleaned = clean_values(call, values, criterion=criterion)
    before = _summary(criterion)
    changed = [name for name, value in cleaned.items() if getattr(criterion, name) != value]
    if changed:
        for name in changed:
            setattr(criterion, name, cleaned[name])
        audit.record("criterion.updated", criterion, actor=by, summary={
            "call": call.slug, "before": {n: before[n] for n in changed},
            "after": {n: cleaned[n] for n in changed}})
    return changed


def move_criterion(criterion: Criterion, offset: int, *, by) -> bool:
    """Move one place up (``-1``) or down (``+1``); False when it is already first or last."""
    call = criterion.call
    _require_editable(call)
    criteria = list(call.criteria)
    index = criteria.index(criterion)
    target = index + (1 if offset > 0 else -1)
    if not 0 <= target < len(criteria):
        return False
    criteria[index], criteria[target] = criteria[target], criteria[index]
    for position, item in enumerate(criteria):
        item.position = position
    call.criteria[:] = criteria
    audit.record("criterion.moved", criterion, actor=by, summary={
        "call": call.slug, "before": {"position": index}, "after": {"position": target}})
    return True


def delete_criterion(criterion: Criterion, *, by) -> None:
    call = criterion.call
    if criterion.id in scored_criterion_ids(call):
        raise DomainError(N_("Le critère « %(label)s » a déjà reçu des notes : il ne peut pas être supprimé.",
                             label=criterion.label))
    _require_editable(call)
    audit.record("criterion.deleted", criterion, actor=by, summary={"call": call.slug, "before": _summary(criterion)})
    call.criteria.remove(criterion)
    db.session.delete(criterion)
    _renumber(call)


def reset_to_default(call: Call, *, by) -> None:
    """Replace the grid by the SPEC §4 default (weights 25/20/15/15/15/10, scores 0–5)."""
    _require_editable(call)
    before = [c.code for c in call.criteria]
    for criterion in list(call.criteria):
        call.criteria.remove(criterion)
        db.session.delete(criterion)
    db.session.flush()
    call.criteria.extend(Criterion(position=i, max_score=DEFAULT_MAX_SCORE, **c) for i, c in enumerate(DEFAULT_GRID))
    db.session.flush()
    audit.record("call.grid_reset", call, actor=by,
                 summary={"before": {"criteria": before}, "after": {"criteria": [c.code for c in call.criteria]}})


def is_default(call: Call) -> bool:
    """The grid is exactly the SPEC §4 default."""
    return [(c.code, c.label, c.guidance, c.weight, c.max_score) for c in call.criteria] == [
        (c["code"], c["label"], c["guidance"], c["weight"], DEFAULT_MAX_SCORE) for c in DEFAULT_GRID]


# --- The freeze, in the audit trail -------------------------------------------------------------------

def _mark_freeze(session: Session, _context, _instances) -> None:
    """Before a flush that creates the first review of a call: an audit row ``call.grid_frozen``."""
    new_reviews = [obj for obj in session.new if isinstance(obj, Review)]
    if not new_reviews:
        return
    marked: set[int] = set()
    with session.no_autoflush:
        for review in new_reviews:
            assignment = review.assignment or session.get(Assignment, review.assignment_id)
            if assignment is None:
                continue
            dossier = assignment.dossier or session.get(Dossier, assignment.dossier_id)
            call_id = dossier.call_id
            if call_id in marked or session.scalar(sa.select(_reviews_of(call_id).exists())):
                continue
            marked.add(call_id)
            call = session.get(Call, call_id)
            audit.record("call.grid_frozen", call, actor=session.get(User, assignment.reviewer_id), summary={
                "after": {"criteria": [c.code for c in call.criteria]}, "dossier": dossier.id})


sa.event.listen(db.session, "before_flush", _mark_freeze)
