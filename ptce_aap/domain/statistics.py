"""Statistics for the ministry's report (issue 12, point 2), per call and across calls, from plain facts: pure,
no Flask, no database. ``services.statistics`` reads the facts in a constant number of queries; this module counts.

What is counted:
- **dossiers**: the submitted dossiers — drafts and the dossiers their pole withdrew are left out (the withdrawn
  ones are counted apart, to say how many were left out);
- **laureates**: the dossiers whose *current* decision is « lauréat » (a corrected decision counts once, by its
  latest row; a superseded row never counts), with the amount that decision grants (``Decimal``), notified or not;
- **breakdowns** (region, department, domain, category, cooperation and governance forms): per key, the dossiers,
  laureates and amount granted, per call and in all. A dossier counts once in its region, its category and its
  governance form, but once in *each* department it covers, each domain it names and each cooperation form it
  practises: those rows may add up to more than the total (the page says so);
- **members per pole**: count, mean, median, minimum, maximum of the number of members of each dossier;
- **members by category**: the members of all the dossiers counted by category, with their shares (each rounded
  to 0.1 % on its own, half up: equal counts show equal shares, and the shares may add up to 100 % ± 0.1 or so,
  which the page says);
- **jobs** (FTE existing and to create): sum, mean and median over the dossiers that gave the figure, for all the
  dossiers and for the laureates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ptce_aap.domain import geography
from ptce_aap.enums import CooperationForm, DecisionOutcome, DossierStatus, GovernanceForm, MemberCategory

UNKNOWN = ""  # a value never filled in (« Non renseigné »)
LEFT_OUT = (DossierStatus.DRAFT, DossierStatus.WITHDRAWN)
ZERO = Decimal("0.00")
SHARE_STEP = Decimal("0.001")  # shares to 0.1 %
MEAN_STEP = Decimal("0.01")


@dataclass(frozen=True)
class DossierFacts:
    """What the statistics need of one dossier (not a draft)."""

    id: int
    call_id: int
    status: DossierStatus
    region_code: str = ""
    departments: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    category_code: str = ""
    cooperation_forms: tuple[str, ...] = ()
    governance_form: str = ""
    jobs_existing: Decimal | None = None
    jobs_to_create: Decimal | None = None
    members: tuple[tuple[str, int], ...] = ()  # (member category value, or "" when not given; how many)

    @property
    def member_count(self) -> int:
        return sum(count for _category, count in self.members)


@dataclass(frozen=True)
class DecisionFacts:
    """One decision row of a dossier (current or superseded)."""

    dossier_id: int
    outcome: DecisionOutcome
    amount: Decimal | None
    is_current: bool


def counted(dossiers: Iterable[DossierFacts]) -> list[DossierFacts]:
    """The submitted dossiers: drafts and withdrawn ones left out."""
    return [d for d in dossiers if d.status not in LEFT_OUT]


def laureate_amounts(decisions: Iterable[DecisionFacts]) -> dict[int, Decimal]:
    """{dossier id: amount granted} for the dossiers whose current decision is « lauréat »."""
    return {d.dossier_id: d.amount if d.amount is not None else ZERO for d in decisions
            if d.is_current and d.outcome == DecisionOutcome.LAUREATE}


# --- Tallies and breakdowns ---------------------------------------------------------------------------------

@dataclass
class Tally:
    dossiers: int = 0
    laureates: int = 0
    amount: Decimal = ZERO

    def add(self, dossier: DossierFacts, laureates: dict[int, Decimal]) -> None:
        self.dossiers += 1
        if dossier.id in laureates:
            self.laureates += 1
            self.amount += laureates[dossier.id]


@dataclass
class Row:
    """One line of a breakdown: its key (a code, ``UNKNOWN`` for « non renseigné ») and its tallies."""

    key: str
    per_call: dict[int, Tally] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)

    def of(self, call_id: int) -> Tally:
        return self.per_call.get(call_id) or Tally()


def breakdown(dossiers: Iterable[DossierFacts], laureates: dict[int, Decimal],
              keys_of: Callable[[DossierFacts], Iterable[str]], *, always: Sequence[str] = (),
              order: Callable[[str], object] = str) -> list[Row]:
    """One row per key: the keys in ``always`` first in their order (shown even at 0), then the others met,
    sorted by ``order``, then « non renseigné » last. A dossier counts once per distinct key it has."""
    rows: dict[str, Row] = {key: Row(key) for key in always}
    for dossier in dossiers:
        for key in dict.fromkeys(keys_of(dossier)):
            row = rows.setdefault(key, Row(key))
            row.per_call.setdefault(dossier.call_id, Tally()).add(dossier, laureates)
            row.total.add(dossier, laureates)
    extra = sorted((k for k in rows if k not in always and k != UNKNOWN), key=order)
    return [rows[k] for k in [*always, *extra] if k in rows] + ([rows[UNKNOWN]] if UNKNOWN in rows else [])


def _region_order(code: str):
    return list(geography.regions()).index(code) if code in geography.regions() else len(geography.regions())


def by_region(dossiers, laureates) -> list[Row]:
    """Regions in French alphabetical order of their names (unknown codes after them)."""
    return breakdown(dossiers, laureates, lambda d: [d.region_code or UNKNOWN],
                     order=lambda code: (_region_order(code), code))


def by_department(dossiers, laureates) -> list[Row]:
    """Departments by code; a dossier covering none is « non renseigné »."""
    return breakdown(dossiers, laureates, lambda d: d.departments or [UNKNOWN])


def by_domain(dossiers, laureates, domains: Sequence[str]) -> list[Row]:
    return breakdown(dossiers, laureates, lambda d: d.domains or [UNKNOWN], always=domains)


def by_category(dossiers, laureates, categories: Sequence[str]) -> list[Row]:
    """The call's categories in their order; a dossier without one is « sans catégorie » (``UNKNOWN``)."""
    return breakdown(dossiers, laureates, lambda d: [d.category_code or UNKNOWN], always=categories)


def by_cooperation(dossiers, laureates) -> list[Row]:
    """How many poles practise each form of cooperation (a pole may practise several, or none given)."""
    forms = [f.value for f in CooperationForm]
    return breakdown(dossiers, laureates, lambda d: d.cooperation_forms or [UNKNOWN], always=forms)


def by_governance(dossiers, laureates) -> list[Row]:
    forms = [f.value for f in GovernanceForm]
    return breakdown(dossiers, laureates, lambda d: [d.governance_form or UNKNOWN], always=forms)


# --- Summaries and shares -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """Of a list of numbers: how many, their sum, mean (to the hundredth), median, minimum and maximum; all
    ``None`` but ``count`` and ``total`` for an empty list."""

    count: int
    total: Decimal
    mean: Decimal | None
    median: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None


def median(values: Sequence[Decimal | int]) -> Decimal | None:
    """The middle value of the sorted list; the mean of the two middle ones for an even count."""
    if not values:
        return None
    ordered = sorted(Decimal(v) for v in values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def summary(values: Iterable[Decimal | int | None]) -> Summary:
    """Numbers not given (``None``) are left out."""
    given = [Decimal(v) for v in values if v is not None]
    total = sum(given, Decimal(0))
    if not given:
        return Summary(0, total, None, None, None, None)
    mean = (total / len(given)).quantize(MEAN_STEP, rounding=ROUND_HALF_UP)
    return Summary(len(given), total, mean, median(given), min(given), max(given))


@dataclass(frozen=True)
class Share:
    key: str
    count: int
    share: Decimal  # a fraction (0.253 = 25.3 %), 0 when there is nothing to share

    @property
    def percent(self) -> Decimal:
        return (self.share * 100).quantize(Decimal("0.1"))


def shares(counts: dict[str, int], keys: Sequence[str]) -> list[Share]:
    """Each key's count and share of the total, the keys in ``keys`` first (shown at 0), any other key after
    them. Each share is rounded to 0.1 % on its own (half up), so that equal counts show equal shares — not
    forced to add up to exactly 100 % (a largest-remainder rounding gave 6.7 %, 6.7 % and 6.6 % to three equal
    counts)."""
    order = [*keys, *sorted(k for k in counts if k not in keys)]
    total = sum(counts.values())
    if not total:
        return [Share(k, counts.get(k, 0), Decimal(0)) for k in order]
    return [Share(k, counts.get(k, 0), (Decimal(counts.get(k, 0)) / total).quantize(SHARE_STEP, ROUND_HALF_UP))
            for k in order]


MEMBER_CATEGORIES = [c.value for c in MemberCategory]


def member_shares(dossiers: Iterable[DossierFacts]) -> list[Share]:
    """The members of the dossiers by category (« non renseignée » after the six categories, if any)."""
    counts: Counter[str] = Counter()
    for dossier in dossiers:
        for category, count in dossier.members:
            counts[category or UNKNOWN] += count
    found = shares(dict(counts), MEMBER_CATEGORIES)
    return [s for s in found if s.key != UNKNOWN] + [s for s in found if s.key == UNKNOWN]


# --- Figures of a group of dossiers (one call, or all the calls chosen) -------------------------------------

@dataclass(frozen=True)
class Jobs:
    existing: Summary
    to_create: Summary
    existing_laureates: Summary
    to_create_laureates: Summary


@dataclass(frozen=True)
class Figures:
    dossiers: int  # submitted, not withdrawn
    withdrawn: int  # left out
    laureates: int
    granted: Decimal
    members: Summary  # members per pole
    member_shares: list[Share]
    jobs: Jobs

    @property
    def has_decisions(self) -> bool:
        return self.laureates > 0


def figures(dossiers: Sequence[DossierFacts], laureates: dict[int, Decimal]) -> Figures:
    """The figures of a group of dossiers (all statuses but drafts; the withdrawn ones are counted apart)."""
    live = counted(dossiers)
    won = [d for d in live if d.id in laureates]
    return Figures(
        dossiers=len(live), withdrawn=sum(1 for d in dossiers if d.status == DossierStatus.WITHDRAWN),
        laureates=len(won), granted=sum((laureates[d.id] for d in won), ZERO),
        members=summary(d.member_count for d in live), member_shares=member_shares(live),
        jobs=Jobs(existing=summary(d.jobs_existing for d in live), to_create=summary(d.jobs_to_create for d in live),
                  existing_laureates=summary(d.jobs_existing for d in won),
                  to_create_laureates=summary(d.jobs_to_create for d in won)))


@dataclass(frozen=True)
class Statistics:
    call_ids: list[int]  # the calls compared, in the order of their columns
    per_call: dict[int, Figures]
    total: Figures
    regions: list[Row]
    departments: list[Row]
    domains: list[Row]
    categories: list[Row]
    cooperation: list[Row]
    governance: list[Row]
    department_dossiers: dict[str, int]  # {department: dossiers covering it}, for the maps
    department_laureates: dict[str, int]

    @property
    def is_empty(self) -> bool:
        return self.total.dossiers == 0


def _department_counts(rows: Iterable[Row], attribute: str) -> dict[str, int]:
    return {row.key: getattr(row.total, attribute) for row in rows if row.key != UNKNOWN}


def statistics(call_ids: Sequence[int], dossiers: Sequence[DossierFacts], decisions: Iterable[DecisionFacts], *,
               domains: Sequence[str], categories: Sequence[str]) -> Statistics:
    """Every figure of the report for the calls ``call_ids`` (their dossiers and the decisions on them);
    ``domains`` and ``categories`` are the keys always listed (the activity domains, the calls' categories)."""
    live_ids = {d.id for d in counted(dossiers)}
    laureates = {k: v for k, v in laureate_amounts(decisions).items() if k in live_ids}
    live = counted(dossiers)
    departments = by_department(live, laureates)
    return Statistics(
        call_ids=list(call_ids),
        per_call={cid: figures([d for d in dossiers if d.call_id == cid], laureates) for cid in call_ids},
        total=figures(dossiers, laureates), regions=by_region(live, laureates), departments=departments,
        domains=by_domain(live, laureates, domains), categories=by_category(live, laureates, categories),
        cooperation=by_cooperation(live, laureates), governance=by_governance(live, laureates),
        department_dossiers=_department_counts(departments, "dossiers"),
        department_laureates={k: v for k, v in _department_counts(departments, "laureates").items() if v})


# --- The CSV: every table in one file, one value a line -----------------------------------------------------

BREAKDOWNS = ("regions", "departements", "domaines", "categories", "formes_cooperation", "formes_gouvernance")
ALL_CALLS = "ensemble"


def breakdown_rows(report: Statistics, name: str) -> list[Row]:
    return {"regions": report.regions, "departements": report.departments, "domaines": report.domains,
            "categories": report.categories, "formes_cooperation": report.cooperation,
            "formes_gouvernance": report.governance}[name]


def export_rows(report: Statistics, calls: dict[int, tuple[str, str]], label: Callable[[str, str], str],
                *, all_calls: str) -> Iterable[tuple]:
    """(tableau, appel, titre de l'appel, code, libellé, mesure, valeur) for every figure of the report: per call
    (``calls``: {id: (slug, title)}), then for all the calls together (``ALL_CALLS``, ``all_calls`` as its title)
    when there are several. ``label(table, key)`` names a row. Amounts and means are ``Decimal``, shares in %."""
    groups = [(calls[cid], report.per_call[cid], cid) for cid in report.call_ids]
    if len(groups) != 1:
        groups.append(((ALL_CALLS, all_calls), report.total, None))
    for (slug, title), fig, _cid in groups:
        yield from [("synthese", slug, title, "dossiers", "", "nombre", fig.dossiers),
                    ("synthese", slug, title, "retires_exclus", "", "nombre", fig.withdrawn),
                    ("synthese", slug, title, "laureats", "", "nombre", fig.laureates),
                    ("synthese", slug, title, "montant_accorde", "", "euros", fig.granted)]
    for name in BREAKDOWNS:
        for row in breakdown_rows(report, name):
            for (slug, title), _fig, cid in groups:
                tally = row.total if cid is None else row.of(cid)
                for measure, value in (("dossiers", tally.dossiers), ("laureats", tally.laureates),
                                       ("montant_accorde", tally.amount)):
                    yield name, slug, title, row.key, label(name, row.key), measure, value
    for (slug, title), fig, _cid in groups:
        m = fig.members
        for measure, value in (("poles", m.count), ("moyenne", m.mean), ("mediane", m.median),
                               ("minimum", m.minimum), ("maximum", m.maximum)):
            yield "membres_par_pole", slug, title, "", "", measure, value
    for (slug, title), fig, _cid in groups:
        for share in fig.member_shares:
            yield "membres_par_categorie", slug, title, share.key, label("membres", share.key), "membres", share.count
            yield ("membres_par_categorie", slug, title, share.key, label("membres", share.key), "part_pct",
                   share.percent)
    for (slug, title), fig, _cid in groups:
        for code, s in (("existants_tous", fig.jobs.existing), ("existants_laureats", fig.jobs.existing_laureates),
                        ("a_creer_tous", fig.jobs.to_create), ("a_creer_laureats", fig.jobs.to_create_laureates)):
            for measure, value in (("dossiers_renseignes", s.count), ("somme_etp", s.total),
                                   ("moyenne_etp", s.mean), ("mediane_etp", s.median)):
                yield "emplois", slug, title, code, label("emplois", code), measure, value
