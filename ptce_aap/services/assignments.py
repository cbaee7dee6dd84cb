"""Assigning a call's eligible dossiers to its reviewers: the automatic proposal and its confirmation, manual
add and remove, a reviewer's decline. Nothing here commits: the view does, then the outbox sends the mails.

The rules (issue 10, point 5): a dossier gets ``call.reviewers_per_dossier`` (K) reviewers from at least two
institutions, none in conflict with it, none above their capacity (``ReviewerPoolMember.capacity``). The
proposal is computed by ``domain.assignment.solve`` from ``load_state(call)``; its fingerprint (the digest of
that state and of the proposed pairs) travels with the confirmation, which is refused if anything changed.

A reviewer's load is the number of their live (not declined) national assignments on the call's eligible
dossiers that they may still open (an assignment hit by a conflict since counts for nothing; the page shows
it so that the admin removes it).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ptce_aap import audit
from ptce_aap.domain import assignment as solver
from ptce_aap.domain.messages import N_, Message
from ptce_aap.domain.text import one_line
from ptce_aap.enums import (
    ASSIGNMENT_TRANSITIONS,
    AssignmentStatus,
    CallStatus,
    ConflictSource,
    DossierStatus,
    ReviewStage,
)
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.formatting import format_paris
from ptce_aap.models.accounts import User
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.pool import ReviewerPoolMember
from ptce_aap.models.reviews import Assignment, ConflictOfInterest
from ptce_aap.permissions import conflicted_pairs
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url

ELIGIBLE = (DossierStatus.ELIGIBLE, DossierStatus.IN_REVIEW)
DECLINED = (AssignmentStatus.DECLINED, AssignmentStatus.DECLINED_CONFLICT)
LIVE = (AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS, AssignmentStatus.SUBMITTED)
ASSIGNABLE_CALL = (CallStatus.OPEN, CallStatus.CLOSED, CallStatus.REVIEW)
# Seconds HiGHS may spend on a stage of the proposal shown in a page (a capacity shortage at full scale is
# the slow case: past this, the best coverage found is kept and the page says it is not proven optimal).
PROPOSAL_TIME_LIMIT = 20.0


class StaleProposal(DomainError):
    def __init__(self):
        super().__init__(N_("La situation a changé depuis le calcul de cette proposition (affectations, "
                            "conflits d'intérêts ou vivier de rapporteurs) : elle n'a pas été appliquée. Voici une "
                            "proposition recalculée."))


# --- who may not review what ---------------------------------------------------------------------------

def blocked_pairs(call: Call, *, dossier_ids: Iterable[int] | None = None,
                  reviewer_ids: Iterable[int] | None = None) -> set[tuple[int, int]]:
    """``(dossier_id, reviewer_id)`` pairs of ``call`` where a conflict of interest stands
    (``permissions.conflicted_pairs``, the one conflict rule), in a constant number of queries. By default:
    every dossier of the call, and the reviewers of its pool and of its assignments."""
    dossier_query = sa.select(Dossier.id, Dossier.call_id, Dossier.pole_id, Dossier.carrier_siren,
                              Dossier.departments).where(Dossier.call_id == call.id)
    if dossier_ids is not None:
        dossier_query = dossier_query.where(Dossier.id.in_(list(dossier_ids)))
    dossiers = db.session.execute(dossier_query).all()
    if reviewer_ids is None:
        reviewer_ids = set(db.session.scalars(sa.select(ReviewerPoolMember.user_id).where(
            ReviewerPoolMember.call_id == call.id)))
        reviewer_ids |= set(db.session.scalars(sa.select(Assignment.reviewer_id).join(Dossier).where(
            Dossier.call_id == call.id)))
    return {(dossier_id, reviewer_id) for reviewer_id, dossier_id in conflicted_pairs(reviewer_ids, dossiers)}


# --- the state a proposal is computed from -------------------------------------------------------------

@dataclass
class State:
    """Everything the solver reads, loaded in a constant number of queries."""

    call: Call
    dossiers: dict[int, Dossier]
    pool: dict[int, ReviewerPoolMember]  # user id → pool row (active reviewers only)
    assignments: list[Assignment]  # national assignments on the eligible dossiers, declined ones included
    blocked: set[tuple[int, int]]
    digest: str = ""
    loads: dict[int, int] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return self.call.reviewers_per_dossier

    def institution_of(self, member: ReviewerPoolMember):
        """The institution the ≥ 2 rule counts: the pool row's, else the account's, else the person alone."""
        return member.institution_id or member.user.institution_id or f"person-{member.user_id}"

    def counts(self, assignment: Assignment) -> bool:
        """A live assignment the reviewer may still open: it counts for K and for the load."""
        return assignment.status in LIVE and (assignment.dossier_id, assignment.reviewer_id) not in self.blocked

    def frozen_institution(self, assignment: Assignment):
        if assignment.institution_id is not None:
            return assignment.institution_id
        member = self.pool.get(assignment.reviewer_id)
        return self.institution_of(member) if member else f"person-{assignment.reviewer_id}"

    def inputs(self, dossier_ids: Iterable[int] | None = None):
        """The solver's arguments, for every eligible dossier or for ``dossier_ids``."""
        ids = set(self.dossiers) if dossier_ids is None else set(dossier_ids)
        dossiers = [solver.DossierIn(d.id, d.region_code or "", frozenset(d.activity_domains or []))
                    for d in self.dossiers.values() if d.id in ids]
        reviewers = [solver.ReviewerIn(m.user_id, self.institution_of(m), m.capacity,
                                       frozenset(m.activity_domains or []), frozenset(m.region_codes or []),
                                       self.loads.get(m.user_id, 0)) for m in self.pool.values()]
        existing = [solver.Existing(a.dossier_id, a.reviewer_id, self.frozen_institution(a))
                    for a in self.assignments if a.dossier_id in ids and self.counts(a)]
        taken = {(a.dossier_id, a.reviewer_id) for a in self.assignments}
        return dossiers, reviewers, self.k, (self.blocked | taken), existing


def load_state(call: Call) -> State:
    dossiers = {d.id: d for d in db.session.scalars(
        sa.select(Dossier).where(Dossier.call_id == call.id, Dossier.status.in_(ELIGIBLE)).order_by(Dossier.id))}
    members = db.session.scalars(
        sa.select(ReviewerPoolMember).join(User, User.id == ReviewerPoolMember.user_id)
        .where(ReviewerPoolMember.call_id == call.id, User.is_disabled.is_(False), User.is_reviewer.is_(True))
        .options(joinedload(ReviewerPoolMember.user))).all()
    pool = {m.user_id: m for m in members}
    assignments = db.session.scalars(
        sa.select(Assignment).join(Dossier).where(Dossier.call_id == call.id, Dossier.status.in_(ELIGIBLE),
                                                  Assignment.stage == ReviewStage.NATIONAL)
        .order_by(Assignment.id)).all()
    blocked = blocked_pairs(call, dossier_ids=list(dossiers),
                            reviewer_ids=set(pool) | {a.reviewer_id for a in assignments}) if dossiers else set()
    state = State(call, dossiers, pool, assignments, blocked)
    for a in assignments:
        if state.counts(a):
            state.loads[a.reviewer_id] = state.loads.get(a.reviewer_id, 0) + 1
    text = json.dumps({
        "k": call.reviewers_per_dossier, "dossiers": list(dossiers),
        "pool": [[m.user_id, str(state.institution_of(m)), m.capacity, sorted(m.activity_domains or []),
                  sorted(m.region_codes or [])] for m in members],
        "assignments": [[a.id, a.dossier_id, a.reviewer_id, a.status.value, a.institution_id] for a in assignments],
        "blocked": sorted(blocked)}, sort_keys=True, default=str)
    state.digest = hashlib.sha256(text.encode()).hexdigest()
    return state


@dataclass
class ProposalView:
    state: State
    proposal: solver.Proposal

    @property
    def fingerprint(self) -> str:
        return self.proposal.fingerprint(self.state.digest)

    @property
    def pairs_text(self) -> str:
        return ",".join(f"{d}:{r}" for d, r in self.proposal.new)


def propose(call: Call) -> ProposalView:
    """The exact proposal for the call's eligible dossiers, as things stand (nothing is written)."""
    state = load_state(call)
    return ProposalView(state, solver.solve(*state.inputs(), time_limit=PROPOSAL_TIME_LIMIT))


def parse_pairs(text: str) -> list[tuple[int, int]]:
    """``"12:7,13:9"`` → ``[(12, 7), (13, 9)]``; anything else is a stale (or forged) proposal."""
    pairs = []
    for item in filter(None, (text or "").split(",")):
        dossier_id, _, reviewer_id = item.partition(":")
        if not (dossier_id.isdigit() and reviewer_id.isdigit()):
            raise StaleProposal()
        pairs.append((int(dossier_id), int(reviewer_id)))
    return pairs


def _lock(call: Call) -> None:
    """One assignment change per call at a time (PostgreSQL row lock; SQLite serialises writes anyway)."""
    db.session.execute(sa.select(Call.id).where(Call.id == call.id).with_for_update())


def _require_assignable(call: Call) -> None:
    if call.status not in ASSIGNABLE_CALL:
        raise DomainError(N_("Les affectations de cet appel à projets ne peuvent plus être modifiées."))


def confirm(call: Call, pairs: list[tuple[int, int]], fingerprint: str, *, by) -> list[Assignment]:
    """Apply a proposal shown to the admin, if nothing changed since: the same state and the same pairs give
    the same fingerprint. Creates the assignments (institution frozen, due at the review deadline), audits
    them, and queues one mail per reviewer listing their new dossiers."""
    _require_assignable(call)
    _lock(call)
    state = load_state(call)
    if solver.fingerprint(state.digest, pairs) != fingerprint:
        raise StaleProposal()
    problems = solver.violations(*state.inputs(), pairs)
    if problems:  # the same state gave these pairs: only a forged form gets here
        raise StaleProposal()
    created = [_create(state, state.dossiers[d], state.pool[r], by=by, source="proposal") for d, r in pairs]
    audit.record("assignment.proposal_confirmed", call, actor=by,
                 summary={"after": {"created": len(created), "reviewers": len({r for _d, r in pairs})}})
    by_reviewer: dict[int, list[Assignment]] = defaultdict(list)
    for a in created:
        by_reviewer[a.reviewer_id].append(a)
    for reviewer_id, rows in sorted(by_reviewer.items()):
        _notify_reviewer(call, state.pool[reviewer_id].user, rows)
    return created


def _create(state: State, dossier: Dossier, member: ReviewerPoolMember, *, by, source: str) -> Assignment:
    institution_id = member.institution_id or member.user.institution_id
    assignment = Assignment(dossier=dossier, reviewer_id=member.user_id, stage=ReviewStage.NATIONAL,
                            institution_id=institution_id, due_at=state.call.review_deadline_at,
                            assigned_by_id=by.id)
    db.session.add(assignment)
    db.session.flush()
    audit.record("assignment.created", assignment, actor=by, summary={"after": {
        "dossier": dossier.id, "reviewer": member.user_id, "institution": institution_id, "source": source}})
    return assignment


def _notify_reviewer(call: Call, reviewer: User, rows: list[Assignment]) -> None:
    first = min(a.id for a in rows)
    notify(reviewer.email, "reviewer_assignment", {
        "name": one_line(reviewer.display_name, max_length=80), "count": len(rows), "call_title": call.title,
        "dossiers": [one_line(a.dossier.pole_name, max_length=120) for a in sorted(rows, key=lambda a: a.id)],
        "due_text": format_paris(call.review_deadline_at) if call.review_deadline_at else "",
        "link": external_url("reviewers.dashboard")},
        dedupe_key=f"reviewer_assignment:{call.id}:{reviewer.id}:{first}", user=reviewer)


# --- manual changes ------------------------------------------------------------------------------------

def check_manual(state: State, dossier: Dossier, reviewer_id: int) -> Message | None:
    """Why this reviewer cannot be added to this dossier by hand, or None."""
    member = state.pool.get(reviewer_id)
    if dossier.id not in state.dossiers:
        return N_("Seul un dossier recevable ou en instruction reçoit des rapporteurs.")
    if member is None:
        return N_("Cette personne ne fait pas partie du vivier de rapporteurs de l'appel.")
    rows = [a for a in state.assignments if a.dossier_id == dossier.id]
    mine = next((a for a in rows if a.reviewer_id == reviewer_id), None)
    if mine is not None:
        return (N_("Ce rapporteur a décliné ce dossier.") if mine.status in DECLINED
                else N_("Ce rapporteur est déjà affecté à ce dossier."))
    if (dossier.id, reviewer_id) in state.blocked:
        return N_("Ce rapporteur a un conflit d'intérêts avec ce dossier.")
    if member.capacity is not None and state.loads.get(reviewer_id, 0) >= member.capacity:
        return N_("Ce rapporteur a atteint sa charge maximale (%(count)s dossiers).", count=member.capacity)
    live = [a for a in rows if state.counts(a)]
    institutions = {state.frozen_institution(a) for a in live} | {state.institution_of(member)}
    if state.k >= 2 and len(live) + 1 >= state.k and len(institutions) < 2:
        return N_("Les rapporteurs d'un dossier doivent venir d'au moins deux institutions différentes : "
                  "choisissez un rapporteur d'une autre institution.")
    return None


def assign(dossier: Dossier, reviewer: User, *, by) -> Assignment:
    """An admin adds one reviewer to one dossier (same rules as the proposal); the reviewer is told by mail."""
    call = dossier.call
    _require_assignable(call)
    _lock(call)
    state = load_state(call)
    problem = check_manual(state, dossier, reviewer.id)
    if problem:
        raise DomainError(problem)
    assignment = _create(state, dossier, state.pool[reviewer.id], by=by, source="manual")
    _notify_reviewer(call, reviewer, [assignment])
    return assignment


def unassign(assignment: Assignment, *, by) -> None:
    """An admin removes an assignment, only before its review starts (a declined one stays as history)."""
    _require_assignable(assignment.dossier.call)
    if assignment.status in DECLINED:
        raise DomainError(N_("Un refus reste dans l'historique du dossier : il ne peut pas être retiré."))
    if assignment.review is not None or assignment.status != AssignmentStatus.ASSIGNED:
        raise DomainError(N_("Ce rapporteur a commencé son évaluation : l'affectation ne peut plus être retirée."))
    audit.record("assignment.removed", assignment, actor=by, summary={"before": {
        "dossier": assignment.dossier_id, "reviewer": assignment.reviewer_id,
        "institution": assignment.institution_id, "status": assignment.status.value}})
    db.session.delete(assignment)
    db.session.flush()


# --- a reviewer declines -------------------------------------------------------------------------------

def can_decline(assignment: Assignment) -> bool:
    """Before the review is handed in, and once only."""
    return assignment.status in (AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS) and (
        assignment.review is None or assignment.review.submitted_at is None)


def set_assignment_status(assignment: Assignment, to: AssignmentStatus) -> AssignmentStatus:
    """The only write path of ``Assignment.status``: the move must be in ``ASSIGNMENT_TRANSITIONS`` (a
    ``DomainError`` otherwise, before anything changes). Returns the status before. The callers audit the
    change in their own words (``assignment.declined``, ``review.started``/``submitted``/``reopened``)."""
    current = assignment.status or AssignmentStatus.ASSIGNED  # a row not yet flushed gets its default
    if to not in ASSIGNMENT_TRANSITIONS[current]:
        raise DomainError(N_("Transition impossible : %(before)s → %(after)s.", before=current, after=to))
    assignment.status = to
    return current


def decline(assignment: Assignment, *, by, reason: str, for_conflict: bool) -> Assignment:
    """The assigned reviewer gives the dossier back, with a reason. For a conflict of interest, a declared
    conflict on the pole is recorded too (the reviewer will never be proposed for it again). The admins are
    alerted by mail, with a suggested replacement computed by the solver for this one dossier."""
    if assignment.reviewer_id != by.id:
        raise DomainError(N_("Seul le rapporteur affecté peut décliner ce dossier."))
    # Atomic: the row is locked and read again (a second, simultaneous decline waits here, then finds it
    # declined and is refused: one decline, one audit row, one alert).
    db.session.refresh(assignment, with_for_update=True)
    if not can_decline(assignment):
        raise DomainError(N_("Cette évaluation a déjà été rendue ou déclinée : elle ne peut plus être déclinée."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(N_("Indiquez la raison pour laquelle vous déclinez ce dossier."), field="reason")
    dossier = assignment.dossier
    before = set_assignment_status(
        assignment, AssignmentStatus.DECLINED_CONFLICT if for_conflict else AssignmentStatus.DECLINED).value
    assignment.declined_at = utcnow()
    assignment.decline_reason = reason[:2000]
    audit.record("assignment.declined", assignment, actor=by, summary={
        "before": {"status": before}, "after": {"status": assignment.status.value, "reason": reason[:2000]}})
    if for_conflict:
        _declare_pole_conflict(dossier, by, reason)
    db.session.flush()
    suggestion = suggest_replacement(dossier)
    _alert_admins(assignment, suggestion)
    return assignment


def _declare_pole_conflict(dossier: Dossier, reviewer: User, reason: str) -> None:
    conflict = db.session.scalar(sa.select(ConflictOfInterest).where(
        ConflictOfInterest.call_id == dossier.call_id, ConflictOfInterest.reviewer_id == reviewer.id,
        ConflictOfInterest.pole_id == dossier.pole_id))
    if conflict is not None and conflict.cleared_at is None:
        return
    if conflict is None:
        conflict = ConflictOfInterest(reviewer_id=reviewer.id, call_id=dossier.call_id, pole_id=dossier.pole_id,
                                      source=ConflictSource.DECLARED, reason=reason[:2000],
                                      declared_by_id=reviewer.id)
        db.session.add(conflict)
    else:  # an admin had cleared it: the reviewer's word stands again
        conflict.cleared_at = conflict.cleared_by_id = None
        conflict.reason = reason[:2000]
    db.session.flush()
    audit.record("conflict.declared", conflict, actor=reviewer, summary={"after": {
        "pole": dossier.pole_id, "dossier": dossier.id, "reason": reason[:2000], "source": "decline"}})


def suggest_replacement(dossier: Dossier, state: State | None = None) -> list[User]:
    """The reviewers the solver would add to this dossier now (empty: none can be found, or none is missing)."""
    state = state or load_state(dossier.call)
    return suggest_replacements(state, [dossier.id]).get(dossier.id, [])


def suggest_replacements(state: State, dossier_ids: Iterable[int]) -> dict[int, list[User]]:
    """The reviewers the solver would add now to each of ``dossier_ids`` (one solve for them all): an
    assignment declined, or blocked by a conflict, is a hole it fills."""
    ids = [i for i in dossier_ids if i in state.dossiers]
    if not ids:
        return {}
    proposal = solver.solve(*state.inputs(ids), time_limit=PROPOSAL_TIME_LIMIT)
    found: dict[int, list[User]] = defaultdict(list)
    for d, r in proposal.new:
        found[d].append(state.pool[r].user)
    return dict(found)


def alert_conflict(call: Call, reviewer: User, reason: str = "") -> None:
    """A reviewer declared a conflict of interest: for each of their live assignments of ``call`` that it now
    blocks, the secretariat is told by mail (once per assignment), with a suggested replacement."""
    mine = db.session.scalars(sa.select(Assignment).join(Dossier).where(
        Dossier.call_id == call.id, Dossier.status.in_(ELIGIBLE), Assignment.reviewer_id == reviewer.id,
        Assignment.stage == ReviewStage.NATIONAL, Assignment.status.in_(LIVE)).order_by(Assignment.id)).all()
    if not mine:
        return
    blocked = blocked_pairs(call, dossier_ids=[a.dossier_id for a in mine], reviewer_ids=[reviewer.id])
    hit = [a for a in mine if (a.dossier_id, a.reviewer_id) in blocked]
    if not hit:
        return
    state = load_state(call)
    suggestions = suggest_replacements(state, [a.dossier_id for a in hit])
    for assignment in hit:
        _alert_admins(assignment, suggestions.get(assignment.dossier_id, []), template="assignment_conflict",
                      reason=reason)


def _alert_admins(assignment: Assignment, suggestion: list[User], *, template: str = "assignment_declined",
                  reason: str | None = None) -> None:
    """The admin who made the assignment (or, if they no longer can, every active admin) is told."""
    dossier = assignment.dossier
    assigner = db.session.get(User, assignment.assigned_by_id) if assignment.assigned_by_id else None
    if assigner is not None and assigner.is_admin and not assigner.is_disabled:
        admins = [assigner]
    else:
        admins = db.session.scalars(sa.select(User).where(User.is_admin.is_(True), User.is_disabled.is_(False))
                                    .order_by(User.id)).all()
    for admin in admins:
        notify(admin.email, template, {
            "name": one_line(admin.display_name, max_length=80),
            "reviewer": one_line(assignment.reviewer.display_name, max_length=80),
            "pole_name": one_line(dossier.pole_name, max_length=120), "call_title": dossier.call.title,
            "conflict": assignment.status == AssignmentStatus.DECLINED_CONFLICT,
            "reason": assignment.decline_reason if reason is None else reason,
            "suggestion": [one_line(u.display_name, max_length=80) for u in suggestion],
            "link": external_url("admin.assignments", slug=dossier.call.slug, _anchor=f"dossier-{dossier.id}")},
            dedupe_key=f"{template}:{assignment.id}:{admin.id}", user=admin)
