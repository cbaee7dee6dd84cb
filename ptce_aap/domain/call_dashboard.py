"""The figures of a call's dashboard for the secretariat (issue 11, point 2), from plain facts: pure, no Flask,
no database. ``services.call_dashboard`` reads the facts in a constant number of queries; this module counts.

- **statuses**: the dossiers of the call by status (drafts left out), the withdrawn ones apart;
- **submissions per day**: one count per day (Paris), every day from the first submission to the last, and
  the geometry of its bar chart (``bar_chart``: the page draws it as SVG, with the values written on it);
- **territories**: a dossier counts once in its region (``region_code``) and once in each department it
  covers (``departments``), so the departments of a region may add up to more than the region;
- **eligibility**: the latest check of each dossier still in the running (not withdrawn): eligible,
  ineligible, pending (no check yet), the overrides among them, and the dossiers failing each rule;
- **reviewers**: each reviewer's assignments by state, and the share of their live ones handed in.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from ptce_aap.domain import geography
from ptce_aap.domain.charts import round_step
from ptce_aap.domain.text import french_sort_key
from ptce_aap.enums import AssignmentStatus, DossierStatus

SHOWN_STATUSES = [s for s in DossierStatus if s not in (DossierStatus.DRAFT, DossierStatus.WITHDRAWN)]
UNKNOWN = ""  # a dossier whose region was never filled in


@dataclass(frozen=True)
class DossierFacts:
    """What the dashboard needs of one submitted (non-draft) dossier."""

    status: DossierStatus
    submitted_on: date | None = None  # the day of the submission, in Paris
    region_code: str = ""
    departments: tuple[str, ...] = ()
    verdict: bool | None = None  # the latest eligibility check: eligible, ineligible, none yet
    overridden: bool = False  # that check is an administrator's decision
    failed: tuple[tuple[str, bool], ...] = ()  # (rule code, blocking) the latest check found failing


# --- Statuses -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusCounts:
    rows: list[tuple[DossierStatus, int]]  # every status but draft and withdrawn, in the lifecycle's order
    withdrawn: int

    @property
    def total(self) -> int:
        """The dossiers submitted and still in the running."""
        return sum(count for _status, count in self.rows)


def status_counts(dossiers: Iterable[DossierFacts]) -> StatusCounts:
    counts = Counter(d.status for d in dossiers)
    return StatusCounts([(s, counts.get(s, 0)) for s in SHOWN_STATUSES], counts.get(DossierStatus.WITHDRAWN, 0))


# --- Submissions per day ------------------------------------------------------------------------------------

def submissions_per_day(days: Iterable[date | None]) -> list[tuple[date, int]]:
    """(day, submissions) for every day from the first submission to the last, days without any at 0."""
    counts = Counter(day for day in days if day is not None)
    if not counts:
        return []
    first, last = min(counts), max(counts)
    return [(first + timedelta(days=i), counts.get(first + timedelta(days=i), 0))
            for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class Bar:
    day: date
    value: int
    x: float
    y: float
    width: float
    height: float
    labelled: bool  # the day is written under the axis (at most ``MAX_DAY_LABELS`` of them)
    show_value: bool  # the bar is wide enough for its value written above it


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int  # x of the value axis
    baseline: float  # y of the day axis
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value) of the value axis's graduations


MAX_DAY_LABELS = 10


def bar_chart(series: Sequence[tuple[date, int]], *, width: int = 640, height: int = 260) -> BarChart:
    """The geometry of a bar chart of ``series`` in a ``width`` × ``height`` box: a value axis on the left
    with round graduations, one bar per day, every k-th day written below the axis."""
    left, right, top, bottom = 40, 8, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((value for _day, value in series), default=0)
    step = round_step(max(peak, 1))
    ceiling = max(step, math.ceil(peak / step) * step)
    baseline = top + plot_h
    slot = plot_w / max(len(series), 1)
    bar_w = max(slot * 0.7, 1.0)
    every = max(1, math.ceil(len(series) / MAX_DAY_LABELS))
    bars = []
    for i, (day, value) in enumerate(series):
        h = plot_h * value / ceiling
        bars.append(Bar(day=day, value=value, x=round(left + i * slot + (slot - bar_w) / 2, 2),
                        y=round(baseline - h, 2), width=round(bar_w, 2), height=round(h, 2),
                        labelled=i % every == 0, show_value=value > 0 and bar_w >= 10))
    ticks = [(round(baseline - plot_h * v / ceiling, 2), v) for v in range(0, ceiling + 1, step)]
    return BarChart(width=width, height=height, left=left, baseline=baseline, bars=bars, ticks=ticks)


# --- Territories --------------------------------------------------------------------------------------------

@dataclass
class RegionRow:
    code: str
    name: str
    dossiers: int = 0  # dossiers whose region is this one
    departments: list[tuple[geography.Department, int]] = field(default_factory=list)  # covered, count > 0


def department_counts(dossiers: Iterable[DossierFacts]) -> dict[str, int]:
    """{department code: dossiers covering it}, dossiers in the running only (a dossier counts once per
    department even if it names it twice)."""
    counts: Counter[str] = Counter()
    for d in dossiers:
        if d.status != DossierStatus.WITHDRAWN:
            counts.update(set(d.departments))
    return dict(counts)


def territories(dossiers: Sequence[DossierFacts]) -> list[RegionRow]:
    """Every region with a dossier or a covered department, in French alphabetical order, each with its
    covered departments (by code); dossiers without a region last (« Non renseignée »)."""
    live = [d for d in dossiers if d.status != DossierStatus.WITHDRAWN]
    regions = {code: RegionRow(code, region.name) for code, region in geography.regions().items()}
    unknown = RegionRow(UNKNOWN, "")
    for d in live:
        regions.get(d.region_code, unknown).dossiers += 1
    known = geography.departments()
    for code, count in sorted(department_counts(live).items()):
        department = known.get(code)
        if department is not None and department.region in regions:
            regions[department.region].departments.append((department, count))
    rows = [row for row in regions.values() if row.dossiers or row.departments]
    rows.sort(key=lambda row: french_sort_key(row.name))
    return rows + ([unknown] if unknown.dossiers else [])


# --- Eligibility --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleFailures:
    code: str
    blocking: int  # dossiers failing it while it blocked
    advisory: int  # dossiers failing it while it was only advisory


@dataclass(frozen=True)
class Eligibility:
    eligible: int
    ineligible: int
    pending: int
    overridden: int
    rules: list[RuleFailures]  # in the catalogue's order, rules failed by at least one dossier

    @property
    def total(self) -> int:
        return self.eligible + self.ineligible + self.pending


def eligibility(dossiers: Iterable[DossierFacts], rule_order: Sequence[str]) -> Eligibility:
    live = [d for d in dossiers if d.status != DossierStatus.WITHDRAWN]
    blocking: Counter[str] = Counter()
    advisory: Counter[str] = Counter()
    for d in live:
        if d.verdict is None:
            continue
        for code, is_blocking in set(d.failed):
            (blocking if is_blocking else advisory)[code] += 1
    order = {code: i for i, code in enumerate(rule_order)}
    codes = sorted(set(blocking) | set(advisory), key=lambda c: (order.get(c, len(order)), c))
    return Eligibility(
        eligible=sum(1 for d in live if d.verdict is True), ineligible=sum(1 for d in live if d.verdict is False),
        pending=sum(1 for d in live if d.verdict is None), overridden=sum(1 for d in live if d.overridden),
        rules=[RuleFailures(code, blocking[code], advisory[code]) for code in codes])


# --- Reviewers ----------------------------------------------------------------------------------------------

DECLINED = (AssignmentStatus.DECLINED, AssignmentStatus.DECLINED_CONFLICT)


@dataclass(frozen=True)
class ReviewerProgress:
    reviewer_id: int
    assigned: int  # live assignments (declined ones left out): the reviews expected
    submitted: int
    in_progress: int
    not_started: int
    declined: int

    @property
    def share(self) -> Fraction:
        """The share of the expected reviews handed in (0 when none is expected)."""
        return Fraction(self.submitted, self.assigned) if self.assigned else Fraction(0)

    @property
    def percent(self) -> int:
        return int(self.share * 100)


def reviewer_progress(counts: Iterable[tuple[int, AssignmentStatus, int]]) -> dict[int, ReviewerProgress]:
    """{reviewer id: progress} from (reviewer id, assignment status, count) rows."""
    by_reviewer: dict[int, Counter[AssignmentStatus]] = {}
    for reviewer_id, status, count in counts:
        by_reviewer.setdefault(reviewer_id, Counter())[status] += count
    out = {}
    for reviewer_id, c in by_reviewer.items():
        declined = sum(c[s] for s in DECLINED)
        out[reviewer_id] = ReviewerProgress(
            reviewer_id=reviewer_id, assigned=sum(c.values()) - declined, submitted=c[AssignmentStatus.SUBMITTED],
            in_progress=c[AssignmentStatus.IN_PROGRESS], not_started=c[AssignmentStatus.ASSIGNED], declined=declined)
    return out
