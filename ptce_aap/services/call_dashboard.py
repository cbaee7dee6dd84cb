"""Reading a call's dashboard (``admin.call_dashboard``): three queries whatever the number of dossiers and
reviewers — the submitted dossiers with their latest eligibility check, the assignments counted by reviewer
and state, the reviewers. Reads only; the counting is ``domain.call_dashboard``'s."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ptce_aap.domain import call_dashboard as figures
from ptce_aap.domain import france_map
from ptce_aap.domain.eligibility import RULE_ORDER
from ptce_aap.domain.formatting import to_paris
from ptce_aap.enums import DossierStatus, RuleMode
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, EligibilityCheck
from ptce_aap.models.reviews import Assignment
from ptce_aap.services.eligibility import latest_check_id_subquery


@dataclass(frozen=True)
class CallDashboard:
    statuses: figures.StatusCounts
    per_day: list
    chart: figures.BarChart
    regions: list[figures.RegionRow]
    map: france_map.FranceMap
    eligibility: figures.Eligibility
    reviewers: list[tuple[User, figures.ReviewerProgress]]


def _failed(results) -> tuple[tuple[str, bool], ...]:
    return tuple((r.get("code", ""), r.get("mode", RuleMode.BLOCKING.value) == RuleMode.BLOCKING.value)
                 for r in results or () if not r.get("passed"))


def dossier_facts(call: Call) -> list[figures.DossierFacts]:
    """One ``DossierFacts`` per dossier of the call that is not a draft (one query)."""
    rows = db.session.execute(
        sa.select(Dossier.status, Dossier.submitted_at, Dossier.region_code, Dossier.departments,
                  EligibilityCheck.is_eligible, EligibilityCheck.is_override, EligibilityCheck.results)
        .outerjoin(EligibilityCheck, EligibilityCheck.id == latest_check_id_subquery())
        .where(Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT))
    return [figures.DossierFacts(
        status=status, submitted_on=to_paris(submitted_at).date() if submitted_at else None,
        region_code=region or "", departments=tuple(departments or ()), verdict=is_eligible,
        overridden=bool(is_override), failed=_failed(results) if is_eligible is not None else ())
        for status, submitted_at, region, departments, is_eligible, is_override, results in rows]


def reviewer_rows(call: Call) -> list[tuple[User, figures.ReviewerProgress]]:
    """Each reviewer with an assignment on a dossier of the call still in the running, with their progress,
    by name (two queries)."""
    counts = db.session.execute(
        sa.select(Assignment.reviewer_id, Assignment.status, sa.func.count(Assignment.id))
        .join(Dossier, Dossier.id == Assignment.dossier_id)
        .where(Dossier.call_id == call.id, Dossier.status != DossierStatus.WITHDRAWN)
        .group_by(Assignment.reviewer_id, Assignment.status)).all()
    progress = figures.reviewer_progress(counts)
    if not progress:
        return []
    users = db.session.scalars(sa.select(User).where(User.id.in_(progress))).unique().all()
    users = sorted(users, key=lambda u: (u.display_name.casefold(), u.id))
    return [(user, progress[user.id]) for user in users]


def call_dashboard(call: Call) -> CallDashboard:
    facts = dossier_facts(call)
    per_day = figures.submissions_per_day(d.submitted_on for d in facts)
    return CallDashboard(
        statuses=figures.status_counts(facts), per_day=per_day, chart=figures.bar_chart(per_day),
        regions=figures.territories(facts), map=france_map.france_map(figures.department_counts(facts)),
        eligibility=figures.eligibility(facts, RULE_ORDER), reviewers=reviewer_rows(call))
