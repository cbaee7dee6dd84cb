"""The secretariat's instruction list of a call (issue 11, point 3): which submitted dossiers match the
filters, in which order, for the page, the exports and the bulk actions alike — one query builder
(``listing``), so that the page and the exports can never disagree.

Filters on database columns (status, region, department, category, domain, eligibility outcome, search by
pole name, SIREN or SIRET) are SQL. The score, the « désaccord » and the conflict filters need what the
scores page computes (``services.ranking.call_scores``, kept while its inputs do not change)
and THE conflict rule (``permissions.conflicted_pairs``): they are computed once per request for the call
(``CallFacts``, a few small dicts of ids) and become ``Dossier.id IN (…)`` conditions. Rows of an export are
read in batches (``yield_per``: a server-side cursor on PostgreSQL), never as a list of ORM objects.

Reads only, except ``recheck_selection`` (each dossier through ``eligibility.run_check``, audited) and
``record_export`` (audited). Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from ptce_aap import audit
from ptce_aap.domain import scores
from ptce_aap.enums import DossierStatus
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Dossier, EligibilityCheck
from ptce_aap.models.reviews import ConflictOfInterest
from ptce_aap.permissions import conflicted_pairs
from ptce_aap.services import eligibility as eligibility_service
from ptce_aap.services import ranking as ranking_service
from ptce_aap.services.decisions import current_decisions
from ptce_aap.services.dossiers import same_carrier_count

LISTED_STATUSES = tuple(s for s in DossierStatus if s != DossierStatus.DRAFT)
ELIGIBILITY_OUTCOMES = ("recevable", "irrecevable", "non_verifie")
SORT_KEYS = ("pole", "statut", "departement", "region", "montant", "note", "depot")
EXPORT_BATCH = 500
MAX_SELECTION = 500  # dossiers one bulk action may name


@dataclass(frozen=True)
class Filters:
    """What the admin asked for; every value already validated (``admin.instruction_filters``)."""

    status: DossierStatus | None = None
    region: str = ""
    department: str = ""
    category: str = ""
    domain: str = ""
    eligibility: str = ""
    min_score: Decimal | None = None
    disagreement: bool = False
    conflict: bool = False
    search: str = ""
    sort: str = "depot"
    descending: bool = False


@dataclass
class CallFacts:
    """What the list reads of a call besides its rows: scores by dossier id, the dossiers in conflict, and the
    decisions taken but not notified yet (the dossier's status changes only when its decision is notified)."""

    scores: Mapping[int, scores.DossierScore] = field(default_factory=dict)
    conflicted: set[int] = field(default_factory=set)
    unnotified: dict[int, Decision] = field(default_factory=dict)
    listed: dict[Filters, list[int]] = field(default_factory=dict)  # ``_listed_ids`` of this request, by filters


def call_facts(call: Call) -> CallFacts:
    """The scores of the call's dossiers (``ranking.call_scores``: one query when they are kept), the dossiers in conflict (at most four more) and the
    decisions not notified (one), whatever the number of dossiers."""
    by_dossier = ranking_service.call_scores(call).by_dossier
    unnotified = {dossier_id: decision for dossier_id, decision in current_decisions(call).items()
                  if decision.notified_at is None}
    return CallFacts(scores=by_dossier, conflicted=conflicted_ids(call), unnotified=unnotified)


def conflicted_ids(call: Call) -> set[int]:
    """Ids of the call's submitted dossiers on which some reviewer has a conflict not cleared by an admin
    (``permissions.conflicted_pairs``, the one conflict rule)."""
    reviewer_ids = set(db.session.scalars(sa.select(ConflictOfInterest.reviewer_id).distinct().where(
        ConflictOfInterest.call_id == call.id, ConflictOfInterest.cleared_at.is_(None))))
    if not reviewer_ids:
        return set()
    rows = db.session.execute(
        sa.select(Dossier.id, Dossier.call_id, Dossier.pole_id, Dossier.carrier_siren, Dossier.departments)
        .where(Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT)).all()
    return {dossier_id for _reviewer, dossier_id in conflicted_pairs(reviewer_ids, rows)}


def _json_list_has(column, value: str):
    """``value`` is an element of the JSON list ``column`` (portable: the JSON text holds ``"value"``).
    ``value`` comes from a closed list of codes, so it holds no LIKE wildcard."""
    return sa.cast(column, sa.String).like(f'%"{value}"%')


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def conditions(call: Call, filters: Filters, facts: CallFacts, *, kept: bool = True) -> list:
    """The filters as SQL conditions; those on the call's facts (score, désaccord, conflict) as ``Dossier.id
    IN (…)`` of the matching ids — or left out with ``kept=False``, for ``_kept`` to apply them here."""
    where = [Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT]
    if filters.status is not None:
        where.append(Dossier.status == filters.status)
    if filters.region:
        where.append(Dossier.region_code == filters.region)
    if filters.department:
        where.append(_json_list_has(Dossier.departments, filters.department))
    if filters.category:
        where.append(Dossier.category_code == filters.category)
    if filters.domain:
        where.append(_json_list_has(Dossier.activity_domains, filters.domain))
    if filters.eligibility == "recevable":
        where.append(EligibilityCheck.is_eligible.is_(True))
    elif filters.eligibility == "irrecevable":
        where.append(EligibilityCheck.is_eligible.is_(False))
    elif filters.eligibility == "non_verifie":
        where.append(EligibilityCheck.id.is_(None))
    if kept and filters.min_score is not None:
        where.append(Dossier.id.in_(sorted(
            d for d, s in facts.scores.items() if s.mean is not None and s.mean >= filters.min_score)))
    if kept and filters.disagreement:
        where.append(Dossier.id.in_(sorted(d for d, s in facts.scores.items() if s.disagreement)))
    if kept and filters.conflict:
        where.append(Dossier.id.in_(sorted(facts.conflicted)))
    search = filters.search.strip()
    if search:
        digits = _digits(search)
        matches = [sa.func.lower(Dossier.pole_name).contains(search.lower(), autoescape=True)]
        if len(digits) >= 9 and len(digits) == len(search.replace(" ", "")):
            matches.append(Dossier.carrier_siret.startswith(digits, autoescape=True))
        where.append(sa.or_(*matches))
    return where


def _order(filters: Filters, facts: CallFacts) -> list:
    def score():  # the mean shown on the page, by dossier id (a CASE built only for this sort)
        means = {d: s.mean for d, s in facts.scores.items() if s.mean is not None}
        return sa.case(means, value=Dossier.id, else_=sa.null()) if means else None  # none scored yet

    key = {
        "pole": lambda: sa.func.lower(Dossier.pole_name),
        "statut": lambda: sa.case(*[(Dossier.status == s, i) for i, s in enumerate(DossierStatus)], else_=99),
        "departement": lambda: Dossier.departments[0].as_string(),  # the first department the pole covers
        "region": lambda: Dossier.region_code,
        "montant": lambda: Dossier.amount_requested_eur,
        "note": score,
        "depot": lambda: Dossier.submitted_at,
    }[filters.sort]()
    if key is None:
        return [Dossier.id]
    return [key.desc().nulls_last() if filters.descending else key.asc().nulls_last(), Dossier.id]


def _latest_check_join(query):
    return query.outerjoin(EligibilityCheck, EligibilityCheck.id == eligibility_service.latest_check_id_subquery())


def _kept(filters: Filters, facts: CallFacts):
    """The filters on the call's facts as a test of a dossier id (the same as ``conditions``' ``IN (…)``), or
    None when there are none."""
    tests = []
    if filters.min_score is not None:
        tests.append(lambda d: (s := facts.scores.get(d)) is not None and s.mean is not None
                     and s.mean >= filters.min_score)
    if filters.disagreement:
        tests.append(lambda d: (s := facts.scores.get(d)) is not None and s.disagreement)
    if filters.conflict:
        tests.append(lambda d: d in facts.conflicted)
    if not tests:
        return None
    return lambda d: all(test(d) for test in tests)


def _listed_ids(call: Call, filters: Filters, facts: CallFacts) -> list[int]:
    """The ids of the whole filtered list in its order (one query, once per request and filters): the SQL
    filters in the database, the filters on the call's facts here (an ``IN (…)`` of thousands of ids costs more
    to build and run than the ids cost to read), sorted by score here (``_order``'s order, without its ``CASE``
    of every scored dossier)."""
    if filters in facts.listed:
        return facts.listed[filters]
    query = _latest_check_join(sa.select(Dossier.id).select_from(Dossier)).where(
        *conditions(call, filters, facts, kept=False))
    if filters.sort != "note":
        query = query.order_by(*_order(filters, facts))
    ids = db.session.scalars(query).all()
    test = _kept(filters, facts)
    if test is not None:
        ids = [d for d in ids if test(d)]
    if filters.sort == "note":
        def key(dossier_id: int):
            score = facts.scores.get(dossier_id)
            mean = score.mean if score is not None else None
            if mean is None:
                return (1, 0, dossier_id)
            return (0, -mean if filters.descending else mean, dossier_id)

        ids.sort(key=key)
    facts.listed[filters] = ids
    return ids


def _by_ids(filters: Filters, facts: CallFacts) -> bool:
    return filters.sort == "note" or _kept(filters, facts) is not None


def count(call: Call, filters: Filters, facts: CallFacts) -> int:
    if _by_ids(filters, facts):
        return len(_listed_ids(call, filters, facts))
    query = _latest_check_join(sa.select(sa.func.count(Dossier.id)).select_from(Dossier))
    return db.session.scalar(query.where(*conditions(call, filters, facts))) or 0


def page(call: Call, filters: Filters, facts: CallFacts, *, number: int, per_page: int) -> list:
    """``(Dossier, latest EligibilityCheck | None, same-carrier count)`` rows of one page (one query; two when
    sorted by score or filtered on the call's facts: the list's ids (``_listed_ids``, shared with ``count``),
    then the page's rows by id)."""
    query = _latest_check_join(sa.select(Dossier, EligibilityCheck, same_carrier_count()))
    if not _by_ids(filters, facts):
        return db.session.execute(query.where(*conditions(call, filters, facts)).order_by(*_order(filters, facts))
                                  .limit(per_page).offset((number - 1) * per_page)).all()
    chosen = _listed_ids(call, filters, facts)[(number - 1) * per_page: number * per_page]
    if not chosen:
        return []
    position = {dossier_id: i for i, dossier_id in enumerate(chosen)}
    rows = db.session.execute(query.where(*conditions(call, filters, facts, kept=False),
                                          Dossier.id.in_(chosen))).all()
    return sorted(rows, key=lambda row: position[row[0].id])


EXPORT_COLUMNS = (Dossier.id, Dossier.pole_name, Dossier.carrier_legal_name, Dossier.carrier_siret,
                  Dossier.status, Dossier.region_code, Dossier.departments, Dossier.category_code,
                  Dossier.amount_requested_eur, Dossier.submitted_at, EligibilityCheck.is_eligible,
                  EligibilityCheck.is_override)


@dataclass(frozen=True)
class ExportRow:
    id: int
    pole_name: str
    carrier_legal_name: str
    carrier_siret: str
    status: DossierStatus
    region_code: str
    departments: list
    category_code: str | None
    amount_requested_eur: Decimal | None
    submitted_at: object
    is_eligible: bool | None
    is_override: bool | None
    score: scores.DossierScore | None
    conflicted: bool


def export_rows(call: Call, filters: Filters, facts: CallFacts, *,
                ids: Iterable[int] | None = None) -> Iterator[ExportRow]:
    """The filtered list (or only ``ids`` of it) in the list's order, read ``EXPORT_BATCH`` rows at a time."""
    query = _latest_check_join(sa.select(*EXPORT_COLUMNS)).where(*conditions(call, filters, facts))
    if ids is not None:
        query = query.where(Dossier.id.in_(sorted(set(ids))))
    query = query.order_by(*_order(filters, facts)).execution_options(yield_per=EXPORT_BATCH)
    for row in db.session.execute(query):
        yield ExportRow(*row, score=facts.scores.get(row.id), conflicted=row.id in facts.conflicted)


def selection(call: Call, ids: Iterable[int]) -> list[Dossier]:
    """The call's submitted dossiers among ``ids`` (others are ignored), by pole name."""
    ids = sorted({int(i) for i in ids})[:MAX_SELECTION]
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Dossier).where(
        Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT, Dossier.id.in_(ids))
        .order_by(sa.func.lower(Dossier.pole_name), Dossier.id)))


@dataclass
class RecheckOutcome:
    checked: int = 0
    changed: int = 0
    kept_overrides: int = 0
    skipped: int = 0  # not checkable (withdrawn, in review…)


def recheck_selection(call: Call, dossiers: list[Dossier], *, by) -> RecheckOutcome:
    """Run the eligibility rules again on the selected dossiers (``eligibility.run_check``, audited per
    dossier), as the call's re-run does: a verdict the admin forced is kept, a dossier no longer checkable
    is left alone, the pole is told when its status changed. The caller commits."""
    outcome = RecheckOutcome()
    facts = eligibility_service.call_facts(call)
    latest = eligibility_service.latest_checks([d.id for d in dossiers])
    for dossier in dossiers:
        if dossier.status not in eligibility_service.CHECKABLE:
            outcome.skipped += 1
            continue
        previous = latest.get(dossier.id)
        if previous is not None and previous.is_override:
            outcome.kept_overrides += 1
            continue
        before = dossier.status
        check = eligibility_service.run_check(dossier, by=by, facts=facts)
        outcome.checked += 1
        if dossier.status != before:
            outcome.changed += 1
            eligibility_service.notify_result(dossier, check)
    return outcome


def record_export(call: Call, *, count: int, fmt: str, selected: bool, by) -> None:
    """Audit an export of the call's dossiers (who took which list, in which format)."""
    audit.record("call.dossiers_exported", call, actor=by,
                 summary={"after": {"format": fmt, "rows": count, "selection": selected}})
