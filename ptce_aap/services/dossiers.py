"""Dossier use cases: start, save a section (optimistic locking), change status.

They check invariants, mutate, audit and schedule follow-ups; the caller commits. Status changes
only through ``set_dossier_status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm
from stdnum.fr import siret as siret_mod

from ptce_aap import audit
from ptce_aap.domain.dossier_checks import UNTICKED_PREFIX
from ptce_aap.domain.eligibility import CallFacts, siren_of
from ptce_aap.domain.geography import commune_name
from ptce_aap.domain.messages import N_
from ptce_aap.domain.money import AmountError, ascii_int, parse_amount, parse_decimal, parse_year
from ptce_aap.domain.text import name_problem
from ptce_aap.enums import DOSSIER_TRANSITIONS, DossierStatus, FinancingKind
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, DossierTransition, FinancingLine, Member, Pole, PoleMembership
from ptce_aap.permissions import dossier_accepts_changes


class EditConflict(DomainError):
    """The dossier changed since the form was loaded (another tab or a co-editor)."""

    def __init__(self, current_version: int):
        super().__init__(N_("Ce dossier a été modifié entre-temps, dans un autre onglet ou par un co-éditeur. "
                            "Vos saisies n'ont pas été perdues : comparez les deux versions ci-dessous."))
        self.current_version = current_version


def accepts_submissions(call: Call, moment: datetime) -> bool:
    return call.is_open_at(moment)


def start_dossier(call: Call, *, pole_name: str, by, pole: Pole | None = None) -> Dossier:
    """Create the dossier of a pole (a new pole unless one of the user's poles is given) for a call."""
    if not accepts_submissions(call, utcnow()):
        raise DomainError(N_("Cet appel à projets n'accepte pas de nouveau dossier."))
    pole_name = pole_name.strip()
    if pole is None:
        if not pole_name:
            raise DomainError(N_("Indiquez le nom du pôle."), field="pole_name")
        if name_problem(pole_name, max_length=200):  # shown in mails sent to other people: one plain line
            raise DomainError(N_("Saisissez le nom du pôle sur une seule ligne, sans adresse web."),
                              field="pole_name")
        pole = Pole(name=pole_name[:200], created_by_id=by.id)
        pole.memberships.append(PoleMembership(user_id=by.id, is_owner=True))
        db.session.add(pole)
        db.session.flush()
        audit.record("pole.created", pole, actor=by, summary={"after": {"name": pole.name}})
    elif db.session.scalar(sa.select(Dossier.id).filter_by(call_id=call.id, pole_id=pole.id)) is not None:
        raise DomainError(N_("Ce pôle a déjà un dossier pour cet appel à projets."))
    dossier = Dossier(call_id=call.id, pole_id=pole.id, pole_name=pole_name or pole.name,
                      updated_by_id=by.id, status=None)
    db.session.add(dossier)
    set_dossier_status(dossier, DossierStatus.DRAFT, by=by, expected_from=None)
    audit.record("dossier.created", dossier, actor=by, summary={"after": {"call": call.slug, "pole": pole.name}})
    return dossier


class UnexpectedStatus(DomainError):
    """The dossier's status changed since the caller read it (another request got there first)."""

    def __init__(self, current: DossierStatus | None):
        super().__init__(N_("Le statut de ce dossier a changé entre-temps (il est désormais : %(status)s).",
                            status=current if current is not None else "—"))
        self.current = current


_ANY = object()


def set_dossier_status(dossier: Dossier, to: DossierStatus, *, by, expected_from=_ANY, reason: str | None = None,
                       at: datetime | None = None, details: dict | None = None) -> DossierTransition:
    """The only write path of ``Dossier.status``: checks the transition, records it and audits it.

    ``expected_from`` (a status, a set of statuses, or None for a dossier being created) guards against a
    concurrent change: the dossier must still be in it (``UnexpectedStatus`` otherwise). A new dossier (no
    status yet) can only become a draft. Illegal transitions raise ``DomainError``. ``details`` go into the
    audit's "after" summary. Caller commits.
    """
    current = dossier.status
    actor_id = getattr(by, "id", None)  # read before the change: loading it would flush a half-made change
    if expected_from is not _ANY:
        allowed = expected_from if isinstance(expected_from, (set, frozenset, tuple, list)) else {expected_from}
        if current not in allowed:
            raise UnexpectedStatus(current)
    legal = {DossierStatus.DRAFT} if current is None else DOSSIER_TRANSITIONS[current]
    if to not in legal:
        raise DomainError(N_("Transition impossible : %(before)s → %(after)s.",
                             before=current if current is not None else "—", after=to))
    dossier.status = to
    if dossier.id is None:
        db.session.flush()
    transition = DossierTransition(dossier_id=dossier.id, from_status=current, to_status=to,
                                   actor_id=actor_id, reason=reason or "", at=at or utcnow())
    db.session.add(transition)
    audit.record("dossier.status_changed", dossier, actor=by,
                 summary={"before": {"status": current.value if current else None},
                          "after": {"status": to.value, **(details or {})}, "reason": reason or ""})
    return transition


# --- saving what the user typed ----------------------------------------------------------------------

NUMERIC_FIELDS = {
    "total_budget_eur": parse_amount,
    "amount_requested_eur": parse_amount,
    "jobs_existing_fte": parse_decimal,
    "jobs_to_create_fte": parse_decimal,
}


def normalise_siret(value: str) -> str:
    """Digits only when the text is a SIRET written with spaces; otherwise as typed (flagged later)."""
    value = (value or "").strip()
    compact = siret_mod.compact(value) if value else ""
    return compact if ascii_int(compact, maximum=10**20 - 1) is not None else value[:20]


RAW_TEXT_MAX = 5000
# ``values[UNTICKED_TEXTS]``: {field: text} of conditional texts whose checkbox is off (kept, not dropped).
UNTICKED_TEXTS = "_unticked_texts"


def column_length(field: str) -> int | None:
    """The length limit of a dossier column (``String(n)``), None for unlimited text."""
    column = Dossier.__table__.columns.get(field)
    return getattr(column.type, "length", None) if column is not None else None


@dataclass
class SaveResult:
    changed: list[str]
    version: int


def _short(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 120:
        return value[:117] + "…"
    if hasattr(value, "value"):
        return value.value
    return value


def lock_for_change(dossier: Dossier) -> None:
    """Take the dossier's row lock and re-read its status (PostgreSQL; a no-op lock on SQLite).

    Changes that do not write the dossier row itself (attachments) call this, so that they wait for a
    submission under way and are refused once it has committed — and a submission sees them.
    """
    db.session.execute(sa.select(Dossier.id).where(Dossier.id == dossier.id).with_for_update())
    db.session.refresh(dossier, ["status", "version"])


def check_version(dossier: Dossier, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != dossier.version:
        raise EditConflict(dossier.version)


def _check_open(dossier: Dossier, section: str | None) -> None:
    """A draft changes freely; while complements are requested, only the sections the request names."""
    if dossier.status == DossierStatus.DRAFT or (
            section is not None and dossier_accepts_changes(dossier, section=section)):
        return
    if dossier.status == DossierStatus.CORRECTION:
        raise DomainError(N_("Cette partie du dossier n'est pas concernée par la demande de compléments "
                             "en cours (ou la date limite de réponse est passée)."))
    raise DomainError(N_("Ce dossier n'est plus modifiable : il a été déposé."))


def save_fields(dossier: Dossier, values: dict, *, by, expected_version: int | None,
                section: str | None = None) -> list[str]:
    """Store the section's scalar fields as typed. Invalid numbers are kept in ``raw_inputs``.

    Saving is always possible for a draft: nothing typed is refused here, the checks flag it.
    """
    _check_open(dossier, section)
    check_version(dossier, expected_version)
    raw_inputs = dict(dossier.raw_inputs or {})
    values = dict(values)
    for field, text in values.pop(UNTICKED_TEXTS, {}).items():  # kept as typed, flagged by the checks
        if text:
            raw_inputs[UNTICKED_PREFIX + field] = text[:RAW_TEXT_MAX]
        else:
            raw_inputs.pop(UNTICKED_PREFIX + field, None)
    changed, before, after = [], {}, {}
    for field, value in values.items():
        if field in NUMERIC_FIELDS or field == "cooperation_start_year":
            parser = parse_year if field == "cooperation_start_year" else NUMERIC_FIELDS[field]
            try:
                parsed = parser(value)
                raw_inputs.pop(field, None)
            except AmountError:
                parsed = None
                raw_inputs[field] = str(value)[:100]
            value = parsed
        elif field == "carrier_siret":
            value = normalise_siret(value)
        if isinstance(value, str) and field not in NUMERIC_FIELDS:
            limit = column_length(field)
            if limit and len(value) > limit:
                raw_inputs[field] = value[:RAW_TEXT_MAX]  # what was typed, shown back and flagged
                value = value[:limit]
            else:
                raw_inputs.pop(field, None)
        if getattr(dossier, field) != value:
            before[field], after[field] = _short(getattr(dossier, field)), _short(value)
            setattr(dossier, field, value)
            changed.append(field)
    if "commune_insee" in values and not dossier.commune_name:
        official = commune_name(dossier.commune_insee)
        if official:
            dossier.commune_name = official
            changed.append("commune_name")
    if raw_inputs != (dossier.raw_inputs or {}):
        dossier.raw_inputs = raw_inputs
        changed.append("raw_inputs")
    _touch(dossier, by, changed, before, after)
    return changed


def _touch(dossier: Dossier, by, changed: list[str], before: dict | None = None, after: dict | None = None) -> None:
    # Always bump the row (and so its version), even when only child rows changed.
    dossier.updated_at = utcnow()
    dossier.updated_by_id = by.id
    if changed:
        audit.record("dossier.updated", dossier, actor=by,
                     summary={"fields": changed, "before": before or {}, "after": after or {}})


def _parse_date(raw: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def replace_members(dossier: Dossier, rows: list[dict], *, by, expected_version: int | None,
                    section: str | None = "membres") -> None:
    """Replace the member table with ``rows`` (dicts of the form's row fields)."""
    _check_open(dossier, section)
    check_version(dossier, expected_version)
    before = len(dossier.members)
    dossier.members.clear()
    db.session.flush()
    for position, row in enumerate(rows):
        dossier.members.append(Member(
            position=position, name=(row.get("name") or "").strip()[:200],
            siret=normalise_siret(row.get("siret") or ""), category=row.get("category") or None,
            department=(row.get("department") or "")[:3], role=row.get("role") or None,
            is_legal_person=bool(row.get("is_legal_person", True)), joined_on=_parse_date(row.get("joined_on"))))
    _touch(dossier, by, ["members"], {"members": before}, {"members": len(rows)})


def replace_financing_lines(dossier: Dossier, rows: list[dict], *, by, expected_version: int | None,
                            section: str | None = "budget") -> None:
    """Replace the budget (expenses) and financing plan (resources) lines."""
    _check_open(dossier, section)
    check_version(dossier, expected_version)
    raw_inputs = {k: v for k, v in (dossier.raw_inputs or {}).items() if not k.startswith("lines-")}
    dossier.financing_lines.clear()
    db.session.flush()
    for position, row in enumerate(rows):
        try:
            amount = parse_amount(row.get("amount_eur"))
        except AmountError:
            amount = None
            raw_inputs[f"lines-{position}-amount_eur"] = str(row.get("amount_eur"))[:100]
        dossier.financing_lines.append(FinancingLine(
            position=position, kind=FinancingKind(row["kind"]), source=row.get("source") or None,
            funder=(row.get("funder") or "").strip()[:200], label=(row.get("label") or "").strip()[:200],
            amount_eur=amount, status=row.get("status") or None))
    dossier.raw_inputs = raw_inputs
    _touch(dossier, by, ["financing_lines"], {}, {"lines": len(rows)})


def taken_sirens(call: Call, *, excluding: int | None = None, siren: str | None = None) -> dict[str, str]:
    """SIREN of the structure porteuse → status value, for the call's dossiers already submitted (withdrawn
    ones included: a withdrawal is final for its SIREN in this call), except dossier ``excluding``; with
    ``siren``, only that SIREN's (through the indexed ``carrier_siren``: a dossier page reads a row or two, not
    the whole call's thousands — a valid SIRET is stored as its 14 digits, so ``carrier_siren`` is its SIREN)."""
    query = sa.select(Dossier.carrier_siret, Dossier.status).where(
        Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT,
        Dossier.id != (excluding if excluding is not None else -1))
    if siren is not None:
        query = query.where(Dossier.carrier_siren == siren)
    rows = db.session.execute(query).all()
    taken: dict[str, str] = {}
    for siret, status in rows:
        siren = siren_of(siret)
        if siren and taken.get(siren) != DossierStatus.WITHDRAWN.value:  # the withdrawal is what to say
            taken[siren] = status.value
    return taken


def same_carrier_count():
    """For list queries over ``Dossier``, a correlated subquery: how many other submitted (or withdrawn)
    dossiers of the same call have a structure porteuse of the same SIREN (the first 9 digits of its SIRET).
    One dossier per pole per call: the admin list flags them, in its one query."""
    other = orm.aliased(Dossier)
    # Through the indexed ``carrier_siren`` (the first 9 digits of a 14-digit SIRET, "" otherwise): comparing
    # ``substr(carrier_siret, 1, 9)`` scanned the whole call for every row shown — 6–16 s a page at 5,000
    # dossiers, growing with the page number (bench/load.py).
    return (sa.select(sa.func.count(other.id)).where(
        other.carrier_siren == Dossier.carrier_siren, Dossier.carrier_siren != "",
        other.call_id == Dossier.call_id, other.id != Dossier.id, other.status != DossierStatus.DRAFT)
        .correlate(Dossier).scalar_subquery())


def call_rules(call: Call, *, dossier: Dossier | None = None) -> CallFacts:
    """What the completeness checks read of the call (``services.eligibility.call_facts`` adds the rules);
    with ``dossier``, whether another dossier of the call already took its structure porteuse's SIREN (the
    only entry the checks and the submission look up; none without a valid SIRET)."""
    siren = siren_of(dossier.carrier_siret) if dossier is not None else None
    return CallFacts(
        taken_sirens=taken_sirens(call, excluding=dossier.id, siren=siren) if siren else {},
        required_documents=tuple((dt.code, dt.label) for dt in call.document_types if dt.is_required),
        category_codes=tuple(c.code for c in call.categories),
        max_amount_eur=call.max_amount_eur,
        category_caps={c.code: c.max_amount_eur for c in call.categories if c.max_amount_eur is not None},
    )
