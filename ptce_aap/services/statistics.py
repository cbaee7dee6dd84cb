"""Reading the statistics of one call or of several (``admin.statistics``): four queries whatever the number of
dossiers and calls — the dossiers (not drafts), their members counted by category, the decisions on them (all
rows: ``domain.statistics`` keeps the current ones), the calls' categories. Reads only; the counting is
``domain.statistics``'s."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from ptce_aap.domain import statistics as stats
from ptce_aap.enums import ActivityDomain, DossierStatus
from ptce_aap.extensions import db
from ptce_aap.models.calls import Call, CallCategory
from ptce_aap.models.decisions import Decision
from ptce_aap.models.dossiers import Dossier, Member


@dataclass(frozen=True)
class Report:
    calls: list[Call]
    figures: stats.Statistics
    category_labels: dict[str, str]  # {category code: label} (the first call's label for a code met twice)


def calls_with_submissions() -> list[Call]:
    """The calls that have at least one submitted dossier (not a draft, not withdrawn), oldest first (one query)."""
    submitted = (sa.select(Dossier.id).where(Dossier.call_id == Call.id,
                                             Dossier.status.not_in(stats.LEFT_OUT)).exists())
    return list(db.session.scalars(sa.select(Call).where(submitted).order_by(Call.opens_at, Call.id)))


def all_calls() -> list[Call]:
    return list(db.session.scalars(sa.select(Call).order_by(Call.opens_at, Call.id)))


def _dossier_facts(call_ids: Sequence[int]) -> list[stats.DossierFacts]:
    members: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for dossier_id, category, count in db.session.execute(
            sa.select(Member.dossier_id, Member.category, sa.func.count(Member.id))
            .join(Dossier, Dossier.id == Member.dossier_id)
            .where(Dossier.call_id.in_(call_ids), Dossier.status != DossierStatus.DRAFT)
            .group_by(Member.dossier_id, Member.category)):
        members[dossier_id].append((category.value if category else stats.UNKNOWN, count))
    rows = db.session.execute(
        sa.select(Dossier.id, Dossier.call_id, Dossier.status, Dossier.region_code, Dossier.departments,
                  Dossier.activity_domains, Dossier.category_code, Dossier.cooperation, Dossier.governance_form,
                  Dossier.jobs_existing_fte, Dossier.jobs_to_create_fte)
        .where(Dossier.call_id.in_(call_ids), Dossier.status != DossierStatus.DRAFT))
    return [stats.DossierFacts(
        id=id_, call_id=call_id, status=status, region_code=region or "", departments=tuple(departments or ()),
        domains=tuple(domains or ()), category_code=category or "", cooperation_forms=tuple(cooperation or {}),
        governance_form=governance.value if governance else "", jobs_existing=existing, jobs_to_create=to_create,
        members=tuple(sorted(members.get(id_, ()))))
        for id_, call_id, status, region, departments, domains, category, cooperation, governance, existing,
        to_create in rows]


def _decision_facts(call_ids: Sequence[int]) -> list[stats.DecisionFacts]:
    rows = db.session.execute(
        sa.select(Decision.dossier_id, Decision.outcome, Decision.amount_eur, Decision.is_current)
        .join(Dossier, Dossier.id == Decision.dossier_id).where(Dossier.call_id.in_(call_ids)))
    return [stats.DecisionFacts(dossier_id, outcome, amount, bool(is_current))
            for dossier_id, outcome, amount, is_current in rows]


def report(calls: Sequence[Call]) -> Report:
    """The statistics of ``calls`` (compared in this order)."""
    call_ids = [call.id for call in calls]
    labels: dict[str, str] = {}
    if call_ids:
        order = {cid: i for i, cid in enumerate(call_ids)}
        categories = db.session.execute(
            sa.select(CallCategory.call_id, CallCategory.code, CallCategory.label)
            .where(CallCategory.call_id.in_(call_ids))
            .order_by(CallCategory.position, CallCategory.id)).all()
        for _call_id, code, label in sorted(categories, key=lambda c: order[c[0]]):
            labels.setdefault(code, label)
        dossiers, decisions = _dossier_facts(call_ids), _decision_facts(call_ids)
    else:
        dossiers, decisions = [], []
    figures = stats.statistics(call_ids, dossiers, decisions, domains=[d.value for d in ActivityDomain],
                               categories=list(labels))
    return Report(calls=list(calls), figures=figures, category_labels=labels)
