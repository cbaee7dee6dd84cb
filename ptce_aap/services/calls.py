"""Call use cases: create, edit and duplicate a call, move its deadline, change its status
(``set_call_status``, the only write path of ``Call.status``).

A call's settings are typed values (``SETTINGS`` and the rows ``categories`` and ``document_types``), checked
as a whole by ``domain.call_settings.settings_problems``. A draft can change everything; once the call has
opened, only its deadline (``closes_at``) can move, which is audited and announced by mail to the people
who have a draft in it — and the signatory of the decision letters (``set_signatory``), often known only during
the review or the deliberation, until the results are published (the letters have gone then)."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ptce_aap import audit
from ptce_aap.domain.call_settings import (
    RESERVED_SLUGS,
    SIGNATORY_MAX,
    deadline_problem,
    settings_problems,
    signatory_problems,
    slugify,
)
from ptce_aap.domain.defaults import DEFAULT_DOCUMENT_TYPES, DEFAULT_ELIGIBILITY, DEFAULT_GRID
from ptce_aap.domain.formatting import format_datetime
from ptce_aap.domain.messages import N_, join
from ptce_aap.domain.text import one_line
from ptce_aap.enums import CALL_TRANSITIONS, CallStatus, DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call, CallCategory, Criterion, DocumentType
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Dossier, PoleMembership
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url


def lock_call(call: Call) -> None:
    """Work on one call that must not run twice at once waits here for the other (a row lock on the call until
    the transaction ends): decisions read the envelope under it, so that two laureates decided at the same
    instant cannot overrun it together; the documents archive is started once. PostgreSQL; SQLite writes one
    at a time."""
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update())

# The call's own columns the secretariat sets (the rows are ``categories`` and ``document_types``).
SETTINGS = ("title", "slug", "description_md", "opens_at", "closes_at", "review_deadline_at",
            "regional_deadline_at", "envelope_eur", "max_amount_eur", "max_state_share", "reviewers_per_dossier",
            "has_regional_instruction", "disagreement_threshold", "awarding_body_name", "awarding_body_siret",
            "signatory_name", "signatory_title", "eligibility_settings")
ROWS = {"categories": (CallCategory, ("code", "label", "max_amount_eur", "quota")),
        "document_types": (DocumentType, ("code", "label", "description", "is_required"))}
# Once a call has opened, its deadline moves while it is open or closed (to reopen it); never afterwards.
DEADLINE_MOVABLE = {CallStatus.OPEN, CallStatus.CLOSED}
# The signatory of the decision letters changes in any status until the results are published.
SIGNATORY = tuple(SIGNATORY_MAX)
SIGNATORY_FROZEN = {CallStatus.PUBLISHED, CallStatus.ARCHIVED}


def create_call(*, slug: str, title: str, opens_at: datetime, closes_at: datetime, envelope_eur: Decimal,
                max_amount_eur: Decimal, by=None, description_md: str = "",
                status: CallStatus = CallStatus.DRAFT, categories: list[dict] | None = None,
                document_types: list[dict] | None = None, eligibility_settings: dict | None = None,
                criteria: list[dict] | None = None, **settings) -> Call:
    """A call with the default grid, document types and eligibility settings (SPEC §3, §4), unless given."""
    call = Call(slug=slug, title=title, description_md=description_md, opens_at=opens_at,
                closes_at=closes_at, envelope_eur=Decimal(envelope_eur), max_amount_eur=Decimal(max_amount_eur),
                status=status, eligibility_settings=copy.deepcopy(
                    DEFAULT_ELIGIBILITY if eligibility_settings is None else eligibility_settings), **settings)
    grid = DEFAULT_GRID if criteria is None else criteria
    call.criteria = [Criterion(position=i, **{"max_score": 5, **c}) for i, c in enumerate(grid)]
    documents = DEFAULT_DOCUMENT_TYPES if document_types is None else document_types
    call.document_types = [DocumentType(position=i, **d) for i, d in enumerate(documents)]
    call.categories = [CallCategory(position=i, **c) for i, c in enumerate(categories or [])]
    db.session.add(call)
    db.session.flush()
    audit.record("call.created", call, actor=by, summary={"after": {"slug": slug, "status": call.status.value}})
    return call


# --- settings ---------------------------------------------------------------------------------------------

def call_values(call: Call) -> dict:
    """The call's settings as typed values (what ``new_call`` and ``update_call`` take)."""
    values = {name: getattr(call, name) for name in SETTINGS}
    values["eligibility_settings"] = copy.deepcopy(call.eligibility_settings or DEFAULT_ELIGIBILITY)
    for name, (_model, columns) in ROWS.items():
        values[name] = [{c: getattr(row, c) for c in columns} for row in getattr(call, name)]
    return values


def default_values() -> dict:
    """A new call's settings before anything is typed: SPEC defaults, the default document types."""
    return {"title": "", "slug": "", "description_md": "", "opens_at": None, "closes_at": None,
            "review_deadline_at": None, "regional_deadline_at": None, "envelope_eur": None,
            "max_amount_eur": None, "max_state_share": Decimal("0.5"), "reviewers_per_dossier": 2,
            "has_regional_instruction": False, "disagreement_threshold": Decimal("0.3"),
            "awarding_body_name": "", "awarding_body_siret": "", "signatory_name": "", "signatory_title": "",
            "eligibility_settings": copy.deepcopy(DEFAULT_ELIGIBILITY), "categories": [],
            "document_types": [{"description": "", **d} for d in DEFAULT_DOCUMENT_TYPES]}


def duplicate_values(source: Call) -> dict:
    """The settings of a copy of ``source``: « (copie) » titled, a free address, no dates (to be set)."""
    values = call_values(source)
    values["title"] = one_line(f"{source.title} (copie)", max_length=200)
    values["slug"] = free_slug(f"{source.slug}-copie")
    for name in ("opens_at", "closes_at", "review_deadline_at", "regional_deadline_at"):
        values[name] = None
    return values


def free_slug(wanted: str, *, except_id: int | None = None) -> str:
    """``wanted`` (made a slug), or with ``-2``, ``-3``… when another call already has it."""
    base = slugify(wanted, max_length=74) or "appel"
    taken = set(db.session.scalars(sa.select(Call.slug).where(Call.slug.like(f"{base}%"),
                                                             Call.id != (except_id or 0))))
    slug, n = base, 2
    while slug in taken or slug in RESERVED_SLUGS:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check(values: dict, *, except_id: int | None = None) -> None:
    problems = settings_problems(values)
    if not problems and db.session.scalar(sa.select(Call.id).where(Call.slug == values["slug"],
                                                                  Call.id != (except_id or 0))):
        problems["slug"] = N_("Un autre appel à projets utilise déjà cette adresse courte : choisissez-en une autre.")
    if problems:
        field, message = next(iter(problems.items()))
        raise DomainError(message, field=field, problems=problems.items())


def _plain(value):
    """A value as the audit trail keeps it (JSON)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def new_call(values: dict, *, by, criteria: list[dict] | None = None) -> Call:
    """A draft call with ``values`` (every setting checked), the default grid unless ``criteria``."""
    _check(values)
    scalars = {name: values[name] for name in SETTINGS}
    return create_call(**scalars, categories=[dict(r) for r in values["categories"]],
                       document_types=[dict(r) for r in values["document_types"]], criteria=criteria, by=by)


def duplicate_call(source: Call, values: dict, *, by) -> Call:
    """A new draft with ``values`` (from ``duplicate_values``, edited) and a copy of ``source``'s grid."""
    grid = [{"code": c.code, "label": c.label, "guidance": c.guidance, "weight": c.weight,
             "max_score": c.max_score} for c in source.criteria]
    call = new_call(values, by=by, criteria=grid)
    audit.record("call.duplicated", call, actor=by, summary={"before": {"from": source.slug},
                                                             "after": {"slug": call.slug}})
    return call


def _sync_rows(call: Call, name: str, rows: list[dict]) -> None:
    """The call's rows made equal to ``rows``, matched by code (kept rows keep their id)."""
    model, columns = ROWS[name]
    existing = {row.code: row for row in getattr(call, name)}
    kept = []
    for position, values in enumerate(rows):
        row = existing.get(values["code"]) or model()
        for column in columns:
            setattr(row, column, values[column])
        row.position = position
        kept.append(row)
    setattr(call, name, kept)


def update_call(call: Call, values: dict, *, by, now: datetime | None = None) -> dict:
    """Apply ``values`` to ``call``. A draft: every setting, checked as a whole. Afterwards: only
    ``closes_at`` (``move_deadline``) and the signatory (``set_signatory``), anything else changed is refused.
    Returns ``{name: (before, after)}``."""
    before = call_values(call)
    changed = {name: (before[name], values[name]) for name in before
               if name in values and values[name] != before[name]}
    if call.status != CallStatus.DRAFT:
        others = sorted(set(changed) - {"closes_at", *SIGNATORY})
        if others:
            raise DomainError(N_("Cet appel à projets n'est plus un brouillon : seule sa date limite de dépôt peut "
                                 "encore être modifiée."), field=others[0])
        if "closes_at" in changed:
            move_deadline(call, values["closes_at"], by=by, now=now)
        if set(changed) & set(SIGNATORY):
            set_signatory(call, values.get("signatory_name", before["signatory_name"]),
                          values.get("signatory_title", before["signatory_title"]), by=by)
        return changed
    _check({**before, **values}, except_id=call.id)
    if not changed:
        return changed
    for name in changed:
        if name in ROWS:
            _sync_rows(call, name, values[name])
        else:
            setattr(call, name, copy.deepcopy(values[name]))
    db.session.flush()
    audit.record("call.updated", call, actor=by, summary={
        "before": {k: _plain(b) for k, (b, _a) in changed.items()},
        "after": {k: _plain(a) for k, (_b, a) in changed.items()}})
    return changed


# --- the signatory of the decision letters ---------------------------------------------------------------

def signatory_editable(call: Call) -> bool:
    """Whether the signatory of ``call``'s decision letters can still change (until the results are published)."""
    return call.status not in SIGNATORY_FROZEN


def set_signatory(call: Call, name: str, title: str, *, by) -> bool:
    """Name and title of whoever signs ``call``'s decision letters (empty: the awarding body signs), in any status
    until the results are published; checked as the settings form does, audited. Returns whether it changed."""
    if not signatory_editable(call):
        raise DomainError(N_("Les résultats de l'appel à projets sont publiés : le signataire des lettres de "
                             "décision ne peut plus être modifié."))
    after = {"signatory_name": name.strip() if isinstance(name, str) else name,
             "signatory_title": title.strip() if isinstance(title, str) else title}
    problems = signatory_problems(after)
    if problems:
        field, message = next(iter(problems.items()))
        raise DomainError(message, field=field, problems=problems.items())
    before = {field: getattr(call, field) or "" for field in SIGNATORY}
    if after == before:
        return False
    call.signatory_name, call.signatory_title = after["signatory_name"], after["signatory_title"]
    audit.record("call.signatory_changed", call, actor=by, summary={"before": before, "after": after})
    return True


# --- the deadline of an open call ------------------------------------------------------------------------

def move_deadline(call: Call, closes_at: datetime, *, by, now: datetime | None = None) -> None:
    """Move the deadline of an open (or closed) call; audited, and mailed to everyone with a draft in it
    (once per change: the old and new deadlines are in the dedupe key), from the outbox after the commit."""
    now = now or utcnow()
    if call.status not in DEADLINE_MOVABLE:
        raise DomainError(N_("La date limite de dépôt ne peut plus être modifiée à ce stade de l'appel à projets."),
                          field="closes_at")
    if closes_at is None:
        raise DomainError(N_("Indiquez la date et l'heure."), field="closes_at")
    problem = deadline_problem(closes_at, opens_at=call.opens_at, review_deadline_at=call.review_deadline_at,
                               regional_deadline_at=call.regional_deadline_at, now=now,
                               is_open=call.status == CallStatus.OPEN)
    if problem:
        raise DomainError(problem, field="closes_at")
    previous = call.closes_at
    if closes_at == previous:
        return
    call.closes_at = closes_at
    audit.record("call.deadline_moved", call, actor=by, summary={
        "before": {"closes_at": previous.isoformat()}, "after": {"closes_at": closes_at.isoformat()}})
    _announce_deadline(call, previous)


def _announce_deadline(call: Call, previous: datetime) -> None:
    rows = db.session.execute(
        sa.select(Dossier, PoleMembership)
        .join(PoleMembership, PoleMembership.pole_id == Dossier.pole_id)
        .options(joinedload(PoleMembership.user))
        .where(Dossier.call_id == call.id, Dossier.status == DossierStatus.DRAFT)
        .order_by(Dossier.id, PoleMembership.id)).all()
    for dossier, membership in rows:
        user = membership.user
        if user.is_disabled:
            continue
        key = (f"deadline_moved:{dossier.id}:{user.id}:{previous:%Y%m%d%H%M}:{call.closes_at:%Y%m%d%H%M}")
        notify(user.email, "deadline_moved", {
            "name": one_line(user.display_name, max_length=80), "call_title": call.title,
            "pole_name": one_line(dossier.pole_name, max_length=200),
            "deadline_text": format_datetime(call.closes_at), "previous_text": format_datetime(previous),
            "later": call.closes_at > previous,
            "link": external_url("applicants.dossier", dossier_id=dossier.id)}, dedupe_key=key, user=user)


# --- status ----------------------------------------------------------------------------------------------

def missing_for_opening(call: Call, now: datetime | None = None) -> list[tuple[str, str]]:
    """What keeps ``call`` from opening, as ``(field, message)`` pairs; empty when it can open."""
    now = now or utcnow()
    missing = []
    if not call.criteria or sum(c.weight or 0 for c in call.criteria) <= 0:
        missing.append(("grid", N_("L'appel à projets ne peut pas être ouvert sans grille de notation.")))
    if not any(d.is_required for d in call.document_types):
        missing.append(("document_types", N_("L'appel à projets ne peut pas être ouvert sans pièce obligatoire.")))
    if call.closes_at is None or call.closes_at <= now:
        missing.append(("closes_at",
                        N_("L'appel à projets ne peut pas être ouvert : sa date de clôture est passée.")))
    elif call.opens_at is None or call.opens_at >= call.closes_at:
        missing.append(("opens_at", N_("La date d'ouverture doit précéder la date de clôture.")))
    elif any(d is not None and d <= call.closes_at for d in (call.review_deadline_at, call.regional_deadline_at)):
        missing.append(("review_deadline_at", N_("Les dates limites des évaluations et des avis régionaux doivent "
                                                 "suivre la date limite de dépôt.")))
    if call.has_regional_instruction and call.regional_deadline_at is None:
        missing.append(("regional_deadline_at", N_("L'instruction régionale est prévue : indiquez la date limite "
                                                   "des avis régionaux.")))
    if not call.envelope_eur or not call.max_amount_eur or call.max_amount_eur > call.envelope_eur:
        missing.append(("envelope_eur", N_("L'enveloppe et le montant maximal par dossier doivent être renseignés, "
                                           "le second au plus égal à la première.")))
    if not (call.awarding_body_name or "").strip() or not call.awarding_body_siret:
        missing.append(("awarding_body_siret", N_("Indiquez le nom et le SIRET de l'organisme attribuant "
                                                  "(données ouvertes des subventions).")))
    return missing


def _guard_open(call: Call, now: datetime) -> None:
    missing = missing_for_opening(call, now)
    if len(missing) == 1:
        raise DomainError(missing[0][1], field=missing[0][0])
    if missing:
        raise DomainError(N_("L'appel à projets ne peut pas être ouvert : %(reasons)s.", reasons=join(
            [m for _f, m in missing], " ; ", strip=".")), field=missing[0][0])


def _guard_review(call: Call, now: datetime) -> None:
    """The review starts on complete dossiers: none may still wait for the complements asked of its pole."""
    waiting = db.session.scalar(sa.select(sa.func.count(Dossier.id)).where(
        Dossier.call_id == call.id, Dossier.status == DossierStatus.CORRECTION)) or 0
    if waiting:
        raise DomainError(N_("L'instruction ne peut pas commencer : %(count)s dossier(s) attendent encore les "
                             "compléments demandés à leur pôle (répondez-y ou closez les demandes).", count=waiting))


def not_yet_reviewed(call: Call) -> int:
    """Dossiers still in the running whose reviews are not all in (eligible, in review): said before the
    call moves to deliberation, where they cannot be decided."""
    return db.session.scalar(sa.select(sa.func.count(Dossier.id)).where(
        Dossier.call_id == call.id, Dossier.status.in_((DossierStatus.ELIGIBLE, DossierStatus.IN_REVIEW)))) or 0


def _guard_publish(call: Call, now: datetime) -> None:
    """The results are published once every current decision has been notified: a decision taken or corrected
    after the last « Notifier » could not be notified afterwards (notifying happens during the deliberation)."""
    pending = db.session.scalar(sa.select(sa.func.count(Decision.id)).join(Dossier, Dossier.id == Decision.dossier_id)
                                .where(Dossier.call_id == call.id, Decision.is_current,
                                       Decision.notified_at.is_(None))) or 0
    if pending:
        raise DomainError(N_("Les résultats ne peuvent pas être publiés : %(count)s décision(s) n'ont pas encore été "
                             "notifiées (page « Notification des décisions »).", count=pending))


# Checks run before entering a status, beyond the transition table (SPEC §2).
GUARDS = {CallStatus.OPEN: _guard_open, CallStatus.REVIEW: _guard_review, CallStatus.PUBLISHED: _guard_publish}


def set_call_status(call: Call, to: CallStatus, *, by, now: datetime | None = None) -> None:
    """The only write path of ``Call.status``: checks the transition and its guard, then audits it."""
    current = call.status
    if to not in CALL_TRANSITIONS[current]:
        raise DomainError(N_("Transition impossible pour l'appel à projets : %(before)s → %(after)s.", before=current,
                             after=to))
    now = now or utcnow()
    guard = GUARDS.get(to)
    if guard is not None:
        guard(call, now)
    call.status = to
    if to == CallStatus.PUBLISHED and call.published_at is None:
        call.published_at = now
    audit.record("call.status_changed", call, actor=by,
                 summary={"before": {"status": current.value}, "after": {"status": to.value}})
