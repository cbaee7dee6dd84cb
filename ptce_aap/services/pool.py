"""A call's reviewer pool: invite by e-mail (create or reuse the account), edit, remove; institutions and
regional groups. The one write path of ``ReviewerPoolMember``, ``RegionalGroup`` and ``Institution`` rows
made from the admin pages. Every change re-runs conflict detection for the person concerned (a few
queries, in the same transaction). The caller commits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import joinedload

from ptce_aap import audit
from ptce_aap.domain import geography
from ptce_aap.domain.conflicts import valid_siren
from ptce_aap.domain.messages import N_
from ptce_aap.domain.text import one_line
from ptce_aap.enums import ActivityDomain, AssignmentStatus, InstitutionKind, Role
from ptce_aap.errors import DomainError, Problems
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, PoleMembership
from ptce_aap.models.pool import RegionalGroup, ReviewerPoolMember
from ptce_aap.models.reviews import Assignment
from ptce_aap.services import accounts, reviewer_invitations
from ptce_aap.services.conflicts import detect_conflicts
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url

# --- institutions -------------------------------------------------------------------------------------

def institutions() -> list[Institution]:
    return db.session.scalars(sa.select(Institution).order_by(sa.func.lower(Institution.name))).all()


def create_institution(name: str, kind: str, siren: str = "", *, by: User) -> Institution:
    """A new institution (name unique, kind from ``InstitutionKind``, SIREN optional but valid)."""
    problems = Problems()  # every field in fault at once
    name = one_line(name or "", max_length=200).strip()
    if not name:
        problems.add(N_("Indiquez le nom de l'institution."), field="institution_name")
    elif db.session.scalar(sa.select(Institution.id).where(sa.func.lower(Institution.name) == name.lower())):
        problems.add(N_("Une institution porte déjà ce nom : choisissez-la dans la liste."), field="institution_name")
    if kind not in {k.value for k in InstitutionKind}:
        problems.add(N_("Choisissez le type d'institution."), field="institution_kind")
    siren_digits = (siren or "").replace(" ", "").replace(".", "")
    checked = valid_siren(siren_digits) if siren_digits else None
    if siren_digits and checked is None:
        problems.add(N_("Le SIREN doit comporter 9 chiffres et une clé de contrôle valide (ex. 732 829 320)."),
                     field="institution_siren")
    problems.raise_any()
    institution = Institution(name=name, short_name=name[:40], kind=InstitutionKind(kind), siren=checked)
    db.session.add(institution)
    db.session.flush()
    audit.record("institution.created", institution, actor=by,
                 summary={"after": {"name": name, "kind": kind, "siren": checked}})
    return institution


# --- regional groups ----------------------------------------------------------------------------------

def regional_groups(call: Call) -> list[RegionalGroup]:
    return db.session.scalars(sa.select(RegionalGroup).where(RegionalGroup.call_id == call.id)
                              .order_by(RegionalGroup.name)).all()


def create_regional_group(call: Call, region_code: str, *, by: User) -> RegionalGroup:
    if not call.has_regional_instruction:
        raise DomainError(N_("Cet appel n'a pas d'instruction régionale."))
    if region_code not in geography.regions():
        raise DomainError(N_("Choisissez une région de la liste."), field="region_code")
    if db.session.scalar(sa.select(RegionalGroup.id).where(RegionalGroup.call_id == call.id,
                                                           RegionalGroup.region_code == region_code)):
        raise DomainError(N_("Cette région a déjà son groupe."), field="region_code")
    group = RegionalGroup(call_id=call.id, region_code=region_code, name=geography.region_name(region_code))
    db.session.add(group)
    db.session.flush()
    audit.record("pool.group_created", group, actor=by, summary={"after": {"call_id": call.id, "region": region_code}})
    return group


# --- pool members -------------------------------------------------------------------------------------

@dataclass
class MemberSettings:
    """What an admin sets for a pool member (checked by ``_check``)."""

    institution_id: int | None
    capacity: int | None = None
    activity_domains: tuple[str, ...] = ()
    region_codes: tuple[str, ...] = ()
    regional_group_id: int | None = None


def _check(call: Call, settings: MemberSettings, problems: Problems | None = None) -> Institution | None:
    """The member's settings checked all at once: every field in fault is reported together (into
    ``problems`` when given, else raised here)."""
    found = problems if problems is not None else Problems()
    institution = db.session.get(Institution, settings.institution_id) if settings.institution_id else None
    if institution is None:
        found.add(N_("Choisissez l'institution du rapporteur ou créez-la."), field="institution_id")
    if settings.capacity is not None and not 0 <= settings.capacity <= 1000:
        found.add(N_("La charge maximale est un nombre de dossiers entre 0 et 1 000."), field="capacity")
    if not set(settings.activity_domains) <= {d.value for d in ActivityDomain}:
        found.add(N_("Choisissez des domaines de la liste."), field="activity_domains")
    if not set(settings.region_codes) <= set(geography.regions()):
        found.add(N_("Choisissez des régions de la liste."), field="region_codes")
    if settings.regional_group_id is not None:
        group = db.session.get(RegionalGroup, settings.regional_group_id)
        if group is None or group.call_id != call.id or not call.has_regional_instruction:
            found.add(N_("Choisissez un groupe régional de cet appel."), field="regional_group_id")
    if problems is None:
        found.raise_any()
    return institution


def _apply(member: ReviewerPoolMember, settings: MemberSettings) -> None:
    member.institution_id = settings.institution_id
    member.capacity = settings.capacity
    member.activity_domains = sorted(settings.activity_domains)
    member.region_codes = sorted(settings.region_codes)
    member.regional_group_id = settings.regional_group_id


def _state(member: ReviewerPoolMember) -> dict:
    return {"institution_id": member.institution_id, "capacity": member.capacity,
            "activity_domains": list(member.activity_domains or []), "region_codes": list(member.region_codes or []),
            "regional_group_id": member.regional_group_id}


def _refuse_applicant(call: Call, user: User | None, *, field: str | None) -> None:
    """A person who owns or co-edits a dossier of the call (any status, a draft included) is a competitor of
    the others: never one of its reviewers."""
    if user is None:
        return
    row = db.session.execute(sa.select(Dossier.id, Dossier.pole_name).join(
        PoleMembership, PoleMembership.pole_id == Dossier.pole_id).where(
        PoleMembership.user_id == user.id, Dossier.call_id == call.id).order_by(Dossier.id).limit(1)).first()
    if row is not None:
        raise DomainError(N_("%(name)s porte ou co-rédige le dossier « %(pole)s » de cet appel : un candidat ne peut "
                             "pas évaluer ses concurrents.", name=user.display_name, pole=row.pole_name or "—"),
                          field=field)


def invite_reviewer(call: Call, email: str, *, full_name: str, settings: MemberSettings, by: User) -> ReviewerPoolMember:
    """Add a person to the call's pool. Without an account, one is created (reviewer role, address not yet
    verified, no password) and mailed an invitation (``reviewer_invitations``: a 14-day, single-use link to
    choose a password, which also verifies the address); an existing account gets the reviewer role
    (audited) and a notice — or the invitation again if it never chose a password."""
    problems = Problems()
    try:
        email = validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        problems.add(N_("Saisissez une adresse électronique valide, par exemple prenom.nom@exemple.fr."), field="email")
        email = ""
    institution = _check(call, settings, problems)
    user = accounts.find_user_by_email(email) if email else None
    if user is not None:
        _refuse_applicant(call, user, field="email")
    created = user is None
    if created and not (full_name or "").strip():
        problems.add(N_("Indiquez le nom de la personne : elle n'a pas encore de compte."), field="full_name")
    problems.raise_any()  # every field in fault at once
    if created:
        user = accounts.create_user(email, None, full_name=one_line(full_name, max_length=200),
                                    roles=(Role.REVIEWER,), institution=institution, by=by)
    else:
        if not user.is_active:
            raise DomainError(N_("Le compte de cette adresse est désactivé."), field="email")
        if db.session.scalar(sa.select(ReviewerPoolMember.id).where(ReviewerPoolMember.call_id == call.id,
                                                                    ReviewerPoolMember.user_id == user.id)):
            raise DomainError(N_("Cette personne fait déjà partie des rapporteurs de cet appel."), field="email")
        accounts.grant_role(user, Role.REVIEWER, by=by)
    member = ReviewerPoolMember(call_id=call.id, user_id=user.id, invited_by_id=by.id)
    _apply(member, settings)
    db.session.add(member)
    db.session.flush()
    audit.record("pool.member_added", member, actor=by,
                 summary={"after": _state(member) | {"email": email, "call_id": call.id, "new_account": created}})
    _mail(call, user, created=created, by=by)
    detect_conflicts(call, reviewer_ids=[user.id])
    return member


def _mail(call: Call, user: User, *, created: bool, by: User) -> None:
    """A person without a password (a new account, or one never activated) gets the invitation link to choose
    it; an account in use gets a notice with the link to log in."""
    if created or reviewer_invitations.never_activated(user):
        reviewer_invitations.send_invitation(call, user, inviter=by)
        return
    context = {"name": one_line(user.display_name, max_length=80), "call_title": one_line(call.title, max_length=200),
               "conflicts_link": external_url("reviewers.conflicts", slug=call.slug),
               "link": external_url("reviewers.dashboard")}
    notify(user.email, "reviewer_added", context, dedupe_key=f"reviewer_added:{call.id}:{user.id}", user=user)


def update_member(member: ReviewerPoolMember, settings: MemberSettings, *, by: User) -> None:
    call = db.session.get(Call, member.call_id)
    _refuse_applicant(call, member.user, field=None)
    _check(call, settings)
    before = _state(member)
    _apply(member, settings)
    after = _state(member)
    if before == after:
        return
    db.session.flush()
    audit.record("pool.member_updated", member, actor=by, summary={"before": before, "after": after})
    if before["institution_id"] != after["institution_id"]:
        detect_conflicts(call, reviewer_ids=[member.user_id])


def assignment_count(call: Call, user_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Assignment.id)).join(Dossier, Dossier.id == Assignment.dossier_id)
                             .where(Dossier.call_id == call.id, Assignment.reviewer_id == user_id)) or 0


def remove_member(member: ReviewerPoolMember, *, by: User) -> None:
    """Remove a person from the pool, as long as no dossier of the call was ever assigned to them (their
    assignments and reviews are the committee's record)."""
    call = db.session.get(Call, member.call_id)
    count = assignment_count(call, member.user_id)
    if count:
        raise DomainError(N_("%(name)s ne peut pas être retiré(e) du vivier : %(count)s dossier(s) de cet appel "
                             "lui ont déjà été attribués. Retirez d'abord ces attributions.",
                             name=member.user.display_name, count=count))
    audit.record("pool.member_removed", member, actor=by,
                 summary={"before": _state(member) | {"email": member.user.email, "call_id": call.id}})
    user_id = member.user_id
    db.session.delete(member)
    db.session.flush()
    detect_conflicts(call, reviewer_ids=[user_id])  # their detected rows go (cleared ones stay)


# --- the list ---------------------------------------------------------------------------------------------

SORTS = {
    "nom": lambda: sa.func.lower(sa.func.coalesce(sa.func.nullif(User.full_name, ""), User.email)),
    "institution": lambda: sa.func.lower(Institution.name),
    "charge": lambda: ReviewerPoolMember.capacity,
}


@dataclass
class PoolPage:
    rows: list  # (member, live assignments count)
    total: int
    page: int
    pages: int


def pool_page(call: Call, *, institution_id: int | None, group_id: int | None, query: str, sort: str,
              descending: bool, page: int, per_page: int) -> PoolPage:
    """One page of the pool with each member's user, institution and group, and their live assignments in
    this call: three queries whatever the number of rows."""
    conditions = [ReviewerPoolMember.call_id == call.id]
    if institution_id:
        conditions.append(ReviewerPoolMember.institution_id == institution_id)
    if group_id:
        conditions.append(ReviewerPoolMember.regional_group_id == group_id)
    if query:
        like = f"%{query.lower()}%"
        conditions.append(sa.or_(sa.func.lower(User.full_name).like(like), sa.func.lower(User.email).like(like)))
    base = (sa.select(ReviewerPoolMember).join(User, User.id == ReviewerPoolMember.user_id)
            .outerjoin(Institution, Institution.id == ReviewerPoolMember.institution_id).where(*conditions))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    key = SORTS.get(sort, SORTS["nom"])()
    members = db.session.scalars(
        base.options(joinedload(ReviewerPoolMember.user), joinedload(ReviewerPoolMember.institution),
                     joinedload(ReviewerPoolMember.regional_group))
        .order_by(key.desc().nulls_last() if descending else key.asc().nulls_last(), ReviewerPoolMember.id)
        .limit(per_page).offset((page - 1) * per_page)).unique().all()
    loads = dict(db.session.execute(
        sa.select(Assignment.reviewer_id, sa.func.count(Assignment.id)).join(Dossier, Dossier.id == Assignment.dossier_id)
        .where(Dossier.call_id == call.id, Assignment.reviewer_id.in_([m.user_id for m in members]),
               Assignment.status.notin_([AssignmentStatus.DECLINED, AssignmentStatus.DECLINED_CONFLICT]))
        .group_by(Assignment.reviewer_id)).all()) if members else {}
    return PoolPage([(m, loads.get(m.user_id, 0)) for m in members], total, page, pages)
