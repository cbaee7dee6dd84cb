"""Who may do what: ``can_<verb>_<noun>(user, obj)`` predicates, used by views, templates and JSON alike.

Every view loads its object (``web.load_or_404``), then calls ``require(can_…(current_user, obj))``.
Role gates per blueprint use ``blueprint_role_gate``. Services do not ask "who": they receive the acting
user and enforce the state rules below (``dossier_accepts_changes``…) with a ``DomainError``.

Roles (SPEC §1): an applicant sees the dossiers of the poles they belong to; a reviewer sees the dossiers
assigned to them, never one where a conflict of interest exists; an admin sees everything.
"""

from __future__ import annotations

from functools import wraps

import sqlalchemy as sa
from flask import abort, has_request_context, request
from flask_login import current_user

from ptce_aap.conflict_rule import (
    conflicted_pairs,  # THE conflict rule, also read as permissions.conflicted_pairs
)
from ptce_aap.enums import AssignmentStatus, CallStatus, ConflictSource, DossierStatus, MessageKind, Role
from ptce_aap.extensions import db, login_manager
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import PoleMembership
from ptce_aap.models.messages import DossierMessage
from ptce_aap.models.pool import RegionalGroup, ReviewerPoolMember
from ptce_aap.models.reviews import Assignment, Review


def require(allowed: bool, *, hide: bool = True) -> None:
    """Abort unless allowed: 404 by default so that others' objects are not even confirmed to exist."""
    if not allowed:
        abort(404 if hide else 403)


def has_role(user, role: Role | str) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_active and user.has_role(role)


def role_required(*roles: Role | str):
    """Decorator (or ``before_request`` helper): the user is logged in and holds one of ``roles``."""

    def check() -> None:
        if not getattr(current_user, "is_authenticated", False):
            abort(login_manager.unauthorized())
        if not any(has_role(current_user, r) for r in roles):
            abort(403)

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            check()
            return view(*args, **kwargs)

        return wrapped

    decorator.check = check
    return decorator


def blueprint_role_gate(bp, *roles: Role | str) -> None:
    """Every view of ``bp`` requires one of ``roles``."""
    gate = role_required(*roles).check

    @bp.before_request
    def _gate():
        gate()


def _request_cache(name: str) -> dict:
    """A dict that lives as long as the request (views and templates ask the same question more than once)."""
    if not has_request_context():
        return {}
    return request._get_current_object().__dict__.setdefault(name, {})


# --- state rules: what an object's state allows, whoever asks ------------------------------------------
# Services enforce these with a DomainError; the predicates below add "who".

WITHDRAWABLE = frozenset({DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE, DossierStatus.INELIGIBLE,
                          DossierStatus.IN_REVIEW, DossierStatus.REVIEWED, DossierStatus.CORRECTION})
# The secretariat may ask for complements during the admissibility phase only (before any review).
COMPLEMENTS_REQUESTABLE = frozenset({DossierStatus.SUBMITTED, DossierStatus.ELIGIBLE, DossierStatus.INELIGIBLE})
COMPLEMENTS_CALL_STATUSES = frozenset({CallStatus.OPEN, CallStatus.CLOSED})
DECIDABLE = frozenset({DossierStatus.REVIEWED, DossierStatus.WAITLISTED})
# An assignment the reviewer declined gives no access any more (the row stays, for the history).
DECLINED = (AssignmentStatus.DECLINED, AssignmentStatus.DECLINED_CONFLICT)


def open_request(dossier) -> DossierMessage | None:
    """The dossier's request for complements still waiting for its answer (None unless « correction »)."""
    if dossier.status != DossierStatus.CORRECTION or dossier.id is None:
        return None
    return db.session.scalar(sa.select(DossierMessage).where(
        DossierMessage.dossier_id == dossier.id, DossierMessage.kind == MessageKind.REQUEST,
        DossierMessage.answered_at.is_(None), DossierMessage.closed_at.is_(None)).order_by(DossierMessage.id.desc()))


def request_reopens(request_row, *, section: str | None = None, document_type: str | None = None) -> bool:
    """Whether an open request lets ``section`` (a ``domain.sections`` code) or ``document_type`` change.
    The documents section (« pieces ») reopens every document type; naming a document type reopens it alone."""
    if section is not None:
        return section in request_row.sections or (section == "pieces" and bool(request_row.document_types))
    if document_type is not None:
        return document_type in request_row.document_types or "pieces" in request_row.sections
    return True


def dossier_accepts_changes(dossier, *, section: str | None = None, document_type: str | None = None) -> bool:
    """A draft is changed freely (sections, members, plan, attachments); a submitted dossier is frozen, except
    while a request for complements is open and not overdue: then only what it names (``section``,
    ``document_type``; with neither, whether anything at all may change)."""
    if dossier.status == DossierStatus.DRAFT:
        return True
    request_row = open_request(dossier)
    if request_row is None or request_row.is_overdue(utcnow()):
        return False
    return request_reopens(request_row, section=section, document_type=document_type)


# Reviewer access follows the dossier's status: a withdrawn or ineligible dossier is closed to its reviewers
# (reading, downloads, scoring); once decided (laureate, waitlisted, rejected) they still read it, without
# scoring. (Drafts and submitted dossiers are never assigned by the services, which assign eligible ones only;
# they are left readable so that an assignment made by hand before the check keeps working.)
CLOSED_TO_REVIEWERS = frozenset({DossierStatus.WITHDRAWN, DossierStatus.INELIGIBLE})
DECIDED = frozenset({DossierStatus.LAUREATE, DossierStatus.WAITLISTED, DossierStatus.REJECTED})
REVIEWER_READABLE = frozenset(DossierStatus) - CLOSED_TO_REVIEWERS
# A dossier waiting for complements is read as it stands, not scored until it is submitted again.
REVIEWABLE = REVIEWER_READABLE - DECIDED - {DossierStatus.CORRECTION}
# Dossiers that passed eligibility and are still in the call: routed to their region's group.
REGIONALLY_ROUTED = frozenset({DossierStatus.ELIGIBLE, DossierStatus.IN_REVIEW, DossierStatus.REVIEWED,
                               DossierStatus.LAUREATE, DossierStatus.WAITLISTED, DossierStatus.REJECTED})
REGIONAL_CALL_STATUSES = frozenset({CallStatus.OPEN, CallStatus.CLOSED, CallStatus.REVIEW})


def regional_opinions_open(call, now) -> bool:
    """Regional groups may still give or change their avis and ranking: the call has regional instruction,
    is not yet in deliberation, and its regional deadline (if any) has not passed."""
    return (call.has_regional_instruction and call.status in REGIONAL_CALL_STATUSES
            and (call.regional_deadline_at is None or now < call.regional_deadline_at))


def dossier_is_withdrawable(dossier) -> bool:
    """Before the committee: submitted and not decided, and the call is not yet in deliberation."""
    return dossier.status in WITHDRAWABLE and dossier.call.status in {CallStatus.OPEN, CallStatus.CLOSED,
                                                                      CallStatus.REVIEW}


# --- applicants ---------------------------------------------------------------------------------------

def pole_membership(user, pole_id: int) -> PoleMembership | None:
    """The user's membership of the pole (created it or co-edits its dossiers), or None; read once per request
    (a page asks whether the user may see, edit and manage: one query, not one a question)."""
    if not getattr(user, "is_authenticated", False):
        return None
    cache = _request_cache("_ptce_pole_memberships")
    key = (pole_id, user.id)
    if key not in cache:
        cache[key] = db.session.scalar(sa.select(PoleMembership).where(PoleMembership.pole_id == pole_id,
                                                                       PoleMembership.user_id == user.id))
    return cache[key]


def is_pole_member(user, pole_id: int) -> bool:
    """The user created the pole or co-edits its dossiers (whatever their roles)."""
    return pole_membership(user, pole_id) is not None


def _is_applicant_of(user, dossier) -> bool:
    return has_role(user, Role.APPLICANT) and is_pole_member(user, dossier.pole_id)


def can_edit_dossier(user, dossier, *, section: str | None = None, document_type: str | None = None) -> bool:
    """Its pole's applicants, while ``dossier_accepts_changes`` (a draft; what an open request reopens)."""
    return (dossier_accepts_changes(dossier, section=section, document_type=document_type)
            and _is_applicant_of(user, dossier))


def can_read_decision_letter(user, dossier) -> bool:
    """The notified decision letter of a dossier: its pole's people only (reviewers never, whatever they
    were assigned; the secretariat previews it on its own page)."""
    return _is_applicant_of(user, dossier)


def can_submit_dossier(user, dossier) -> bool:
    return dossier.status == DossierStatus.DRAFT and _is_applicant_of(user, dossier)


def can_answer_message(user, message) -> bool:
    """An applicant of the pole answers the secretariat: an open request for complements until its due date
    (which submits the dossier again), or a plain message unless the dossier is withdrawn."""
    dossier = message.dossier
    if message.kind == MessageKind.REQUEST:
        return (message.is_open and dossier.status == DossierStatus.CORRECTION
                and not message.is_overdue(utcnow()) and _is_applicant_of(user, dossier))
    return (message.kind == MessageKind.MESSAGE and _is_applicant_of(user, dossier)
            and dossier.status not in (DossierStatus.DRAFT, DossierStatus.WITHDRAWN))


def can_withdraw_dossier(user, dossier) -> bool:
    return dossier_is_withdrawable(dossier) and _is_applicant_of(user, dossier)


def can_manage_pole(user, pole) -> bool:
    """The pole's creator (owner) invites and removes co-editors."""
    if not has_role(user, Role.APPLICANT):
        return False
    membership = pole_membership(user, pole.id)
    return membership is not None and membership.is_owner


# --- reviewers ----------------------------------------------------------------------------------------

def conflicted_dossier_ids(user, dossiers) -> set[int]:
    """The ids of ``dossiers`` on which ``user`` has a conflict of interest (``conflicted_pairs``): the
    reviewer's dashboard and regional workspace hide them."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return {dossier_id for _r, dossier_id in conflicted_pairs([user.id], dossiers)}


def has_conflict_on(user, dossier) -> bool:
    """``conflicted_pairs`` for one pair (not cached: a conflict declared in the request counts at once)."""
    return getattr(user, "is_authenticated", False) and bool(conflicted_pairs([user.id], [dossier]))


def reviewer_assignment(user, dossier) -> Assignment | None:
    """The user's live assignment on ``dossier``, or None if they have none, declined it (for a conflict or
    not: no access either way), or a conflict of interest concerns them and this dossier
    (``conflicted_pairs``). The one place that reads assignments for access."""
    if not getattr(user, "is_authenticated", False) or dossier.status not in REVIEWER_READABLE:
        return None  # a withdrawn or ineligible dossier is closed to its reviewers
    cache = _request_cache("_ptce_reviewer_assignments")
    key = (dossier.id, user.id)
    if key in cache:
        return cache[key]
    assignment = db.session.scalar(sa.select(Assignment).where(
        Assignment.dossier_id == dossier.id, Assignment.reviewer_id == user.id,
        Assignment.status.not_in(DECLINED)).order_by(Assignment.id))
    if assignment is not None and has_conflict_on(user, dossier):
        assignment = None
    cache[key] = assignment
    return assignment


def _is_reviewer_of(user, dossier) -> bool:
    return has_role(user, Role.REVIEWER) and reviewer_assignment(user, dossier) is not None


def can_read_as_reviewer(user, dossier) -> bool:
    """The reviewer's pages of a dossier (reading view, print, downloads, scoring): a live assignment without
    conflict of interest — never through another role (a reviewer who also applies reads their own pole's
    dossier on the applicant pages, not here) — or, in a call with regional instruction, a member of the
    dossier's regional group without conflict (they read what they give an avis on)."""
    return _is_reviewer_of(user, dossier) or can_give_regional_opinion(user, dossier)


def can_edit_review(user, review: Review) -> bool:
    """Its own reviewer, until submitted, while the dossier is under review (``REVIEWABLE``) and they may still
    see it (no conflict since)."""
    assignment = review.assignment
    return (review.submitted_at is None and assignment.reviewer_id == getattr(user, "id", None)
            and assignment.dossier.status in REVIEWABLE and _is_reviewer_of(user, assignment.dossier))


# --- regional groups (calls with regional instruction) --------------------------------------------------

def regional_group_of(user, call) -> RegionalGroup | None:
    """The regional group ``user`` belongs to in ``call``'s pool (None: none, or no regional instruction)."""
    if not (has_role(user, Role.REVIEWER) and call.has_regional_instruction):
        return None
    cache = _request_cache("_ptce_regional_groups")
    key = (call.id, user.id)
    if key not in cache:
        cache[key] = db.session.scalar(sa.select(RegionalGroup).join(
            ReviewerPoolMember, ReviewerPoolMember.regional_group_id == RegionalGroup.id).where(
            ReviewerPoolMember.user_id == user.id, ReviewerPoolMember.call_id == call.id,
            RegionalGroup.call_id == call.id))
    return cache[key]


def is_routed_to(dossier, group) -> bool:
    """The dossier belongs to the group: same call and region, and it passed eligibility."""
    return (dossier.call_id == group.call_id and dossier.region_code == group.region_code
            and dossier.status in REGIONALLY_ROUTED)


def can_view_regional_workspace(user, call) -> bool:
    """A reviewer who is a member of one of the call's regional groups."""
    return regional_group_of(user, call) is not None


def can_give_regional_opinion(user, dossier) -> bool:
    """A member of the dossier's regional group, without a conflict of interest on it: they see the dossier
    and take part in its avis (whether the avis may still change is ``regional_opinions_open``). The reviewer
    reading view should let them read it too (``reviewer_assignment`` or this)."""
    group = regional_group_of(user, dossier.call)
    return group is not None and is_routed_to(dossier, group) and not has_conflict_on(user, dossier)


def can_rank_regional_group(user, group, dossiers) -> bool:
    """The ranking orders all the group's ``dossiers`` at once: a member conflicted on one of them would rank
    it too, so only the members without any conflict on them set it."""
    mine = regional_group_of(user, group.call)
    return (mine is not None and mine.id == group.id
            and not conflicted_dossier_ids(user, [d for d in dossiers if is_routed_to(d, group)]))


def can_reopen_review(user, review: Review) -> bool:
    """An admin reopens a submitted review (with a reason, audited)."""
    return has_role(user, Role.ADMIN) and review.submitted_at is not None


def can_see_others_reviews(user, dossier, own: Review | None) -> bool:
    """Admins on the admin pages; a reviewer of the dossier once their own review of it is submitted (never
    before: the others' scores must not anchor theirs) — on the reviewer pages this rule holds whatever other
    roles the person has (an admin in the pool scores blind too). Confidential notes stay for admins."""
    if has_role(user, Role.ADMIN) and has_request_context() and request.blueprint == "admin":
        return True
    return own is not None and own.submitted_at is not None and _is_reviewer_of(user, dossier)


# --- who is named in a dossier's history ----------------------------------------------------------------

def _pole_people(user) -> set[tuple[int, int]]:
    """``(user_id, pole_id)`` of everyone in the poles ``user`` belongs to, once per request (an applicant's
    dashboard names the authors of every dossier's history in one query, whatever their number)."""
    cache = _request_cache("_ptce_pole_people")
    if user.id not in cache:
        mine = sa.select(PoleMembership.pole_id).where(PoleMembership.user_id == user.id)
        cache[user.id] = {(u, p) for u, p in db.session.execute(sa.select(
            PoleMembership.user_id, PoleMembership.pole_id).where(PoleMembership.pole_id.in_(mine)))}
    return cache[user.id]


def can_see_author(user, dossier, actor) -> bool:
    """Whether ``user`` may read the name of ``actor`` (who changed the dossier's status) in its history.
    Applicants never learn who reviews (a reviewer's name or institution): they see the names of their pole's
    own people only (the templates say « le secrétariat » for an admin). A reviewer sees the other reviewers'
    names only once their own review of the dossier is submitted (the reviewer rule, whatever other roles they
    have). Admins see every name, on the admin pages only (``request.blueprint == "admin"``)."""
    if actor is None or not getattr(user, "is_authenticated", False):
        return False
    if actor.id == user.id:
        return True
    people = _pole_people(user)
    if any(pole_id == dossier.pole_id for _u, pole_id in people):  # the reader's own pole: known in bulk
        return (actor.id, dossier.pole_id) in people
    if is_pole_member(actor, dossier.pole_id):  # another reader's page of one dossier
        return True
    if has_request_context() and request.blueprint == "admin" and has_role(user, Role.ADMIN):
        return True
    if not (has_request_context() and request.blueprint == "reviewers"):
        return False
    cache = _request_cache("_ptce_own_review_submitted")
    key = (dossier.id, user.id)
    if key not in cache:  # asked once per line of the history: one query per page
        cache[key] = db.session.scalar(sa.select(Review.submitted_at).join(
            Assignment, Assignment.id == Review.assignment_id).where(
            Assignment.dossier_id == dossier.id, Assignment.reviewer_id == user.id,
            Assignment.status.not_in(DECLINED))) is not None
    return cache[key] and _is_reviewer_of(user, dossier)


# --- every role ---------------------------------------------------------------------------------------

def can_view_dossier(user, dossier) -> bool:
    """Admins: any dossier. Applicants: their poles'. Reviewers: assigned, without conflict of interest."""
    return has_role(user, Role.ADMIN) or _is_applicant_of(user, dossier) or _is_reviewer_of(user, dossier)


def can_download_attachment(user, attachment) -> bool:
    """Whoever may see the dossier may download its files: admins any, applicants their poles', reviewers
    those of dossiers assigned to them without conflict (the view still serves only checked files, through a
    short-lived presigned URL: ``ptce_aap.downloads``); the members of its regional group read it too."""
    return can_view_dossier(user, attachment.dossier) or can_read_as_reviewer(user, attachment.dossier)


# --- admins -------------------------------------------------------------------------------------------

def can_administer(user) -> bool:
    return has_role(user, Role.ADMIN)


def can_manage_call(user, call) -> bool:
    """Create, edit, open, close and publish calls: the secretariat."""
    return has_role(user, Role.ADMIN)


def can_manage_pool(user, call) -> bool:
    """The secretariat builds a call's reviewer pool and handles its conflicts of interest."""
    return has_role(user, Role.ADMIN)


def can_notify_decisions(user, call) -> bool:
    """The secretariat notifies a deliberating call's decisions (the letters and their mails)."""
    return has_role(user, Role.ADMIN) and call.status == CallStatus.DELIBERATION


def can_decide(user, dossier) -> bool:
    """The committee's decision is recorded by an admin, on a reviewed dossier, while the call deliberates."""
    return (has_role(user, Role.ADMIN) and dossier.status in DECIDABLE
            and dossier.call.status == CallStatus.DELIBERATION)


def can_write_to_pole(user, dossier) -> bool:
    """The secretariat writes to a submitted dossier's pole (not to a draft: nothing to answer yet)."""
    return has_role(user, Role.ADMIN) and dossier.status != DossierStatus.DRAFT


def can_request_complements(user, dossier) -> bool:
    """The secretariat asks for complements under admissibility (open or closed call), one request at a time."""
    return (has_role(user, Role.ADMIN) and dossier.status in COMPLEMENTS_REQUESTABLE
            and dossier.call.status in COMPLEMENTS_CALL_STATUSES)


def can_close_request(user, request_row) -> bool:
    """The secretariat closes an open request (e.g. past its due date): the dossier is submitted as it is."""
    return has_role(user, Role.ADMIN) and request_row.is_open


def can_view_call(user, call) -> bool:
    """Everyone sees a call once it leaves draft; drafts only admins."""
    return call.status != CallStatus.DRAFT or has_role(user, Role.ADMIN)


# --- the reviewer pool ------------------------------------------------------------------------------

def is_in_pool(user, call) -> bool:
    """The user is one of the call's reviewers (its pool)."""
    if not getattr(user, "is_authenticated", False):
        return False
    cache = _request_cache("_ptce_pool_members")
    key = (call.id, user.id)
    if key not in cache:
        cache[key] = db.session.query(db.session.query(ReviewerPoolMember).filter_by(
            call_id=call.id, user_id=user.id).exists()).scalar()
    return cache[key]


def can_declare_conflicts(user, call) -> bool:
    """A reviewer of the call's pool declares and withdraws their own conflicts of interest for it."""
    return has_role(user, Role.REVIEWER) and is_in_pool(user, call)


def can_withdraw_conflict(user, conflict) -> bool:
    """Only the conflicts they declared themselves (set or detected ones are the secretariat's)."""
    return (conflict.reviewer_id == getattr(user, "id", None) and conflict.source == ConflictSource.DECLARED
            and can_declare_conflicts(user, conflict.call))
