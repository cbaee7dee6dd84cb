"""Regional instruction (calls with ``has_regional_instruction``): each eligible dossier is routed by its region
to that region's group of reviewers, which gives one *avis régional* per dossier (favorable / réservé /
défavorable, with a motivation) and ranks all its dossiers 1..n, before ``Call.regional_deadline_at``.

The one write path of ``RegionalOpinion`` (its ``status`` included) and of the regional deadline. Who may act
is the view's question (``permissions.can_give_regional_opinion``, ``can_rank_regional_group``); here, the
state rules (``permissions.regional_opinions_open``) and the values. The caller commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ptce_aap import audit
from ptce_aap.domain.call_settings import regional_deadline_problem
from ptce_aap.domain.messages import N_
from ptce_aap.enums import OpinionStatus, Recommendation
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import User
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.pool import RegionalGroup, ReviewerPoolMember
from ptce_aap.models.reviews import RegionalOpinion
from ptce_aap.permissions import REGIONALLY_ROUTED, is_routed_to, regional_opinions_open

MOTIVATION_MAX = 5000
LOCKED = N_("Les avis régionaux de cet appel sont verrouillés : l'échéance de l'instruction régionale est passée "
            "ou l'appel n'est plus à ce stade. Seul un administrateur peut repousser l'échéance.")


class OpinionChanged(DomainError):
    """Another member changed the avis since the author opened it: nothing written, their text kept."""

    status = 409


# --- reading ---------------------------------------------------------------------------------------------

def groups_of_user(user) -> list[RegionalGroup]:
    """The regional groups ``user`` belongs to, in calls with regional instruction, with their call."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(
        sa.select(RegionalGroup).join(ReviewerPoolMember, ReviewerPoolMember.regional_group_id == RegionalGroup.id)
        .join(Call, Call.id == RegionalGroup.call_id)
        .where(ReviewerPoolMember.user_id == user.id, Call.has_regional_instruction.is_(True))
        .options(contains_eager(RegionalGroup.call)).order_by(Call.closes_at.desc())))


def opinion_query(dossier: Dossier, group: RegionalGroup):
    return sa.select(RegionalOpinion).where(RegionalOpinion.dossier_id == dossier.id,
                                            RegionalOpinion.group_id == group.id)


def opinion_version(opinion: RegionalOpinion | None) -> str:
    """A fingerprint of the avis as given (recommendation and motivation; "" when none is given): the opinion
    form carries it, so that a save over an avis another member changed meanwhile is refused."""
    if opinion is None or opinion.status != OpinionStatus.SUBMITTED:
        return ""
    text = f"{opinion.recommendation.value}|{opinion.motivation}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def routed_dossiers(call: Call, region_code: str | None = None) -> list[Dossier]:
    """The call's eligible dossiers (of one region if given), by pole name: what the regional groups judge."""
    query = sa.select(Dossier).where(Dossier.call_id == call.id, Dossier.status.in_(REGIONALLY_ROUTED))
    if region_code is not None:
        query = query.where(Dossier.region_code == region_code)
    return list(db.session.scalars(query.order_by(sa.func.lower(Dossier.pole_name), Dossier.id)))


def groups(call: Call) -> list[RegionalGroup]:
    return list(db.session.scalars(sa.select(RegionalGroup).where(RegionalGroup.call_id == call.id)
                                   .order_by(RegionalGroup.region_code)))


def opinions_by_dossier(call: Call, *, ids: list[int] | None = None) -> dict[int, RegionalOpinion]:
    """dossier id → its regional opinion (drafts included: ``status`` says whether the avis is given), in
    one query (of the dossiers ``ids`` only when given); for the national pages (scores, rankings)."""
    query = sa.select(RegionalOpinion).where(RegionalOpinion.call_id == call.id).order_by(RegionalOpinion.id)
    if ids is not None:
        query = query.where(RegionalOpinion.dossier_id.in_(ids))
    opinions = db.session.scalars(query)
    return {o.dossier_id: o for o in opinions}


def is_given(opinion: RegionalOpinion | None) -> bool:
    return opinion is not None and opinion.status == OpinionStatus.SUBMITTED


def authors(opinions) -> dict[int, User]:
    """user id → the user, for the "last changed by" of the opinions (one query)."""
    ids = {o.author_id for o in opinions if o.author_id}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}


@dataclass
class RegionRow:
    """One region of the national view: its group (None: « sans groupe régional »), its dossiers by rank
    (unranked last, by pole name), their opinions, and what is missing."""

    region_code: str
    group: RegionalGroup | None
    dossiers: list[Dossier] = field(default_factory=list)
    opinions: dict[int, RegionalOpinion] = field(default_factory=dict)

    @property
    def given(self) -> int:
        return sum(1 for d in self.dossiers if is_given(self.opinions.get(d.id)))

    @property
    def missing(self) -> list[Dossier]:
        return [d for d in self.dossiers if not is_given(self.opinions.get(d.id))]

    @property
    def ranking_complete(self) -> bool:
        ranks = [self.opinions[d.id].rank for d in self.dossiers if d.id in self.opinions]
        return sorted(r for r in ranks if r is not None) == list(range(1, len(self.dossiers) + 1))


def _by_rank(dossiers: list[Dossier], opinions: dict[int, RegionalOpinion]) -> list[Dossier]:
    def key(d: Dossier):
        rank = opinions[d.id].rank if d.id in opinions else None
        return (rank is None, rank or 0)

    return sorted(dossiers, key=key)  # stable: unranked keep the pole name order


def national_view(call: Call) -> list[RegionRow]:
    """Every region with a group or with dossiers, side by side: groups first by region code, then the
    regions without a group. Four queries whatever the numbers."""
    opinions = opinions_by_dossier(call)
    rows: dict[str, RegionRow] = {g.region_code: RegionRow(g.region_code, g) for g in groups(call)}
    for dossier in routed_dossiers(call):
        code = dossier.region_code or ""
        row = rows.setdefault(code, RegionRow(code, None))
        row.dossiers.append(dossier)
    for row in rows.values():
        if row.group is not None:
            row.opinions = {d.id: o for d in row.dossiers if (o := opinions.get(d.id)) and o.group_id == row.group.id}
        row.dossiers = _by_rank(row.dossiers, row.opinions)
    return sorted(rows.values(), key=lambda r: (r.group is None, r.region_code))


def group_dossiers(group: RegionalGroup) -> tuple[list[Dossier], dict[int, RegionalOpinion]]:
    """The group's dossiers by rank (unranked last, by pole name) and their opinions (two queries)."""
    dossiers = routed_dossiers(group.call, group.region_code)
    opinions = {o.dossier_id: o for o in db.session.scalars(
        sa.select(RegionalOpinion).where(RegionalOpinion.group_id == group.id))}
    return _by_rank(dossiers, opinions), opinions


# --- writing ---------------------------------------------------------------------------------------------

def _lock_group(group: RegionalGroup) -> None:
    """Serialise the writes of one group (two members saving at once; the unique ranks)."""
    db.session.execute(sa.select(RegionalGroup.id).where(RegionalGroup.id == group.id).with_for_update())


def _check_open(call: Call, now: datetime) -> None:
    if not regional_opinions_open(call, now):
        raise DomainError(LOCKED)


def _state(opinion: RegionalOpinion | None) -> dict:
    if opinion is None:
        return {}
    return {"status": opinion.status.value, "recommendation": opinion.recommendation.value
            if opinion.recommendation else None, "rank": opinion.rank, "motivation": opinion.motivation}


def save_opinion(dossier: Dossier, group: RegionalGroup, *, recommendation: str, motivation: str, by,
                 now: datetime, seen_version: str = "") -> RegionalOpinion:
    """Give or change the group's avis on ``dossier``: a recommendation and a motivation, both required.
    ``seen_version``: the ``opinion_version`` of the avis as the author saw it; if another member changed the
    avis since, nothing is written (their text is not overwritten unseen). Records the author; audited."""
    if not is_routed_to(dossier, group):
        raise DomainError(N_("Ce dossier ne relève pas de votre groupe régional."))
    _check_open(group.call, now)
    try:
        recommendation = Recommendation(recommendation)
    except ValueError:
        raise DomainError(N_("Choisissez l'avis du groupe : favorable, réservé ou défavorable."),
                          field="recommendation") from None
    motivation = (motivation or "").strip()
    if not motivation:
        raise DomainError(N_("Motivez l'avis du groupe : la motivation est obligatoire."), field="motivation")
    if len(motivation) > MOTIVATION_MAX:
        raise DomainError(N_("La motivation ne doit pas dépasser %(max)s caractères.", max=MOTIVATION_MAX),
                          field="motivation")
    _lock_group(group)
    opinion = db.session.scalar(opinion_query(dossier, group))
    if opinion_version(opinion) != (seen_version or ""):
        raise OpinionChanged(N_("Un autre membre du groupe a modifié cet avis pendant que vous le rédigiez. Votre "
                                "texte est conservé ci-dessous : relisez l'avis enregistré, puis enregistrez de "
                                "nouveau."), field="motivation")
    before = _state(opinion)
    if opinion is None:
        opinion = RegionalOpinion(call_id=dossier.call_id, dossier_id=dossier.id, group_id=group.id)
        db.session.add(opinion)
    opinion.recommendation = recommendation
    opinion.motivation = motivation
    opinion.status = OpinionStatus.SUBMITTED
    opinion.submitted_at = opinion.submitted_at or now
    opinion.author_id = by.id
    opinion.updated_at = now
    db.session.flush()
    after = _state(opinion)
    if after != before:
        audit.record("regional_opinion.saved", opinion, actor=by,
                     summary={"dossier_id": dossier.id, "before": before, "after": after})
    return opinion


def save_ranking(group: RegionalGroup, ranks: dict[int, int], *, by, now: datetime) -> None:
    """Rank all the group's dossiers at once: ``ranks`` maps each dossier id of the group to its rank, the
    ranks being exactly 1..n (each once). Opinions not given yet are created as drafts holding the rank."""
    _check_open(group.call, now)
    _lock_group(group)
    dossiers, opinions = group_dossiers(group)
    ids = {d.id for d in dossiers}
    if set(ranks) != ids:
        raise DomainError(N_("Le classement doit comprendre tous les dossiers du groupe, et eux seuls : rechargez la "
                             "page, la liste des dossiers a changé."), field="ranks")
    values = sorted(ranks.values())
    if values != list(range(1, len(ids) + 1)):
        duplicates = sorted({r for r in values if values.count(r) > 1})
        if duplicates:
            message = N_("Chaque rang ne peut être donné qu'à un dossier : le rang %(ranks)s est donné plusieurs "
                         "fois.", ranks=", ".join(str(r) for r in duplicates))
        else:
            message = N_("Donnez à chaque dossier un rang différent, de 1 à %(count)s.", count=len(ids))
        raise DomainError(message, field="ranks")
    before = {str(d): o.rank for d, o in opinions.items() if o.rank is not None}
    for dossier_id, opinion in opinions.items():
        if dossier_id not in ids:
            opinion.rank = None  # a dossier no longer routed (withdrawn) leaves the ranking
    for dossier_id, rank in ranks.items():
        opinion = opinions.get(dossier_id)
        if opinion is None:
            opinion = RegionalOpinion(call_id=group.call_id, dossier_id=dossier_id, group_id=group.id,
                                      status=OpinionStatus.DRAFT, author_id=by.id, updated_at=now)
            db.session.add(opinion)
        if opinion.rank != rank:
            opinion.rank = rank
            opinion.author_id = by.id
            opinion.updated_at = now
    db.session.flush()
    after = {str(d): r for d, r in ranks.items()}
    if after != before:
        audit.record("regional_group.ranking_saved", group, actor=by, summary={"before": before, "after": after})


def set_regional_deadline(call: Call, deadline: datetime, *, by, now: datetime) -> None:
    """Set, extend or reopen (after it passed) the regional deadline; it must lie in the future. Audited."""
    if not call.has_regional_instruction:
        raise DomainError(N_("Cet appel n'a pas d'instruction régionale."))
    if deadline.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime")
    if deadline <= now:
        raise DomainError(N_("Choisissez une échéance à venir."), field="deadline")
    problem = regional_deadline_problem(deadline, closes_at=call.closes_at, review_deadline_at=call.review_deadline_at)
    if problem:
        raise DomainError(problem, field="deadline")
    before = call.regional_deadline_at
    if before == deadline:
        return
    call.regional_deadline_at = deadline
    audit.record("call.regional_deadline_set", call, actor=by, summary={
        "before": before.isoformat() if before else None, "after": deadline.isoformat()})
