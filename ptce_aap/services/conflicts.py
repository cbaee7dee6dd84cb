"""Conflicts of interest of a call's reviewers: the one write path of ``ConflictOfInterest`` rows.

Three sources, one table: *declared* by the reviewer, *set* by an admin, *detected* by the platform
(``detect_conflicts``, pure rules in ``domain.conflicts``). Access, dashboards, regional groups and the
assignment solver read the rows that are not cleared through one rule (``permissions.conflicted_pairs``,
whose tests compare it with a reference): a conflicted reviewer loses the dossier as soon as the row is
committed. Like HotCRP's « pinned » conflicts, what an admin set cannot be withdrawn by the reviewer, and a
detected conflict is never simply deleted by a person: an admin clears it with a reason, the row stays and
says who, when and why (re-detection keeps it cleared). The caller commits.
"""

from __future__ import annotations

import sqlalchemy as sa

from ptce_aap import audit
from ptce_aap.domain import conflicts as rules
from ptce_aap.domain import geography
from ptce_aap.domain.messages import N_, Message
from ptce_aap.enums import ConflictSource, DossierStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution, User
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, Member, PoleMembership
from ptce_aap.models.pool import ReviewerPoolMember
from ptce_aap.models.reviews import CONFLICT_TARGETS, ConflictOfInterest
from ptce_aap.services import assignments

TARGET_KINDS = ("pole", "siren", "department", "institution")
_COLUMN = {"pole": "pole_id", "siren": "siren", "department": "department", "institution": "institution_id"}
MAX_REASON = 2000


def submitted_poles(call: Call) -> list[tuple[int, str]]:
    """(pole id, name) of the poles with a submitted dossier in the call: what a reviewer of the call may
    declare a conflict on (the list of applicants is not secret to the committee)."""
    rows = db.session.execute(
        sa.select(Dossier.pole_id, Dossier.pole_name)
        .where(Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT)
        .order_by(sa.func.lower(Dossier.pole_name), Dossier.pole_id)).all()
    return [(pole_id, name or "—") for pole_id, name in rows]


def pool_member(call: Call, user_id: int) -> ReviewerPoolMember | None:
    return db.session.scalar(sa.select(ReviewerPoolMember).where(
        ReviewerPoolMember.call_id == call.id, ReviewerPoolMember.user_id == user_id))


def _target_value(call: Call, kind: str, value, *, institution_id: int | None):
    """The stored value of a target, checked; a ``DomainError`` beside the field otherwise."""
    if kind == "pole":
        if not isinstance(value, int) or value not in dict(submitted_poles(call)):
            raise DomainError(N_("Choisissez un pôle ayant déposé un dossier dans cet appel."), field="pole_id")
        return value
    if kind == "siren":
        siren = rules.valid_siren(str(value or "").replace(" ", "").replace(".", ""))
        if siren is None:
            raise DomainError(N_("Le SIREN doit comporter 9 chiffres et une clé de contrôle valide "
                                 "(ex. 732 829 320)."), field="siren")
        return siren
    if kind == "department":
        code = str(value or "").strip().upper()
        if code not in geography.departments():
            raise DomainError(N_("Choisissez un département de la liste."), field="department")
        return code
    if kind == "institution":
        if institution_id is None:
            raise DomainError(N_("Aucune institution n'est renseignée pour ce rapporteur dans cet appel."),
                              field="kind")
        return institution_id
    raise DomainError(N_("Choisissez ce sur quoi porte le conflit."), field="kind")


def describe(conflict: ConflictOfInterest, pole_names: dict[int, str], institutions: dict[int, str]) -> Message:
    """What a conflict is on, in words (pole names come from the call's submitted poles)."""
    if conflict.pole_id is not None:
        return N_("Pôle « %(name)s »", name=pole_names.get(conflict.pole_id, "—"))
    if conflict.siren is not None:
        return N_("Structure de SIREN %(siren)s", siren=conflict.siren)
    if conflict.department is not None:
        departments = geography.departments()
        return N_("Département %(name)s", name=departments[conflict.department].label
                  if conflict.department in departments else conflict.department)
    return N_("Implication de l'institution « %(name)s »", name=institutions.get(conflict.institution_id, "—"))


def reason_of(conflict: ConflictOfInterest) -> str:
    """Why the conflict is there: a detected one's reason as translatable messages, a typed one as typed."""
    if conflict.source == ConflictSource.DETECTED:
        return rules.reason_message(conflict.reason)
    return conflict.reason


def _summary(conflict: ConflictOfInterest) -> dict:
    target = {c: getattr(conflict, c) for c in CONFLICT_TARGETS if getattr(conflict, c) is not None}
    return {"reviewer_id": conflict.reviewer_id, "source": conflict.source.value, **target}


def add_conflict(call: Call, reviewer: User, *, kind: str, value=None, reason: str = "", by: User) -> ConflictOfInterest:
    """Record a conflict of ``reviewer`` (a member of the call's pool): declared when ``by`` is the
    reviewer, set by an admin otherwise. ``kind``: pole (``value`` a pole id), siren, department, or
    institution (the reviewer's institution in the pool: its involvement)."""
    member = pool_member(call, reviewer.id)
    if member is None:
        raise DomainError(N_("Cette personne ne fait pas partie des rapporteurs de cet appel."), field="reviewer_id")
    if kind not in TARGET_KINDS:
        raise DomainError(N_("Choisissez ce sur quoi porte le conflit."), field="kind")
    column = _COLUMN[kind]
    stored = _target_value(call, kind, value, institution_id=member.institution_id)
    existing = db.session.scalar(sa.select(ConflictOfInterest).where(
        ConflictOfInterest.call_id == call.id, ConflictOfInterest.reviewer_id == reviewer.id,
        getattr(ConflictOfInterest, column) == stored))
    if existing is not None:
        if existing.is_active:
            raise DomainError(N_("Ce conflit d'intérêts est déjà enregistré."), field=column)
        cleared_on = existing.cleared_at.strftime("%d/%m/%Y")
        raise DomainError(N_("Un conflit détecté sur cette cible a été levé par l'administration le %(date)s "
                             "(motif : %(reason)s). Pour le rétablir, adressez-vous au secrétariat de l'appel.",
                             date=cleared_on, reason=existing.cleared_reason), field=column)
    source = ConflictSource.DECLARED if by.id == reviewer.id else ConflictSource.ADMIN
    conflict = ConflictOfInterest(call_id=call.id, reviewer_id=reviewer.id, source=source,
                                  reason=(reason or "").strip()[:MAX_REASON], declared_by_id=by.id,
                                  **{column: stored})
    db.session.add(conflict)
    db.session.flush()
    audit.record("conflict.declared" if source == ConflictSource.DECLARED else "conflict.set", conflict, actor=by,
                 summary={"after": _summary(conflict) | {"call_id": call.id, "reason": conflict.reason}})
    if source == ConflictSource.DECLARED:  # the secretariat learns which of their dossiers now need someone else
        assignments.alert_conflict(call, reviewer, conflict.reason)
    return conflict


def withdraw_conflict(conflict: ConflictOfInterest, *, by: User) -> None:
    """The reviewer withdraws a conflict they declared (one set or detected is not theirs to remove)."""
    if conflict.source != ConflictSource.DECLARED or conflict.reviewer_id != by.id:
        raise DomainError(N_("Seuls les conflits que vous avez déclarés peuvent être retirés par vous ; "
                             "adressez-vous au secrétariat pour les autres."))
    audit.record("conflict.withdrawn", conflict, actor=by, summary={"before": _summary(conflict)})
    _delete(conflict)


def remove_conflict(conflict: ConflictOfInterest, *, by: User) -> None:
    """An admin removes a declared or admin-set conflict. A detected one is cleared with a reason instead."""
    if conflict.source == ConflictSource.DETECTED:
        raise DomainError(N_("Un conflit détecté ne se supprime pas : levez-le en indiquant le motif."))
    audit.record("conflict.removed", conflict, actor=by, summary={"before": _summary(conflict)})
    _delete(conflict)


def _delete(conflict: ConflictOfInterest) -> None:
    call = db.session.get(Call, conflict.call_id)
    reviewer_id = conflict.reviewer_id
    db.session.delete(conflict)
    db.session.flush()
    # What the platform detects on the same target comes back as a detected row.
    detect_conflicts(call, reviewer_ids=[reviewer_id])


def clear_conflict(conflict: ConflictOfInterest, *, reason: str, by: User) -> None:
    """An admin clears a detected conflict: the reason is required, the row stays (who, when, why)."""
    reason = (reason or "").strip()
    if conflict.source != ConflictSource.DETECTED:
        raise DomainError(N_("Seul un conflit détecté automatiquement se lève ; les autres se suppriment."))
    if not conflict.is_active:
        raise DomainError(N_("Ce conflit a déjà été levé."))
    if not reason:
        raise DomainError(N_("Indiquez le motif : il est obligatoire et reste visible avec le conflit."), field="reason")
    by_id = by.id  # read first: loading it may flush, and the row's check wants both at once
    conflict.cleared_at, conflict.cleared_by_id, conflict.cleared_reason = utcnow(), by_id, reason[:MAX_REASON]
    audit.record("conflict.cleared", conflict, actor=by,
                 summary={"before": _summary(conflict), "reason": conflict.cleared_reason})


def detect_conflicts(call: Call, *, reviewer_ids: list[int] | None = None, by: User | None = None) -> tuple[int, int]:
    """Write and refresh the detected rows of the call (or of ``reviewer_ids`` only): one per finding of
    ``domain.conflicts.detect`` that no row already covers; an uncleared detected row that no longer
    matches is removed; a cleared one stays cleared. Idempotent. Returns (added, removed); audited when
    something changed or an admin asked (``by``)."""
    pool_q = (sa.select(ReviewerPoolMember.user_id, Institution.siren, Institution.kind)
              .outerjoin(Institution, Institution.id == ReviewerPoolMember.institution_id)
              .where(ReviewerPoolMember.call_id == call.id))
    existing_q = sa.select(ConflictOfInterest).where(ConflictOfInterest.call_id == call.id)
    if reviewer_ids is not None:
        pool_q = pool_q.where(ReviewerPoolMember.user_id.in_(reviewer_ids))
        existing_q = existing_q.where(ConflictOfInterest.reviewer_id.in_(reviewer_ids))
    pool = [rules.PoolFacts(uid, siren, kind) for uid, siren, kind in db.session.execute(pool_q)]
    submitted = (Dossier.call_id == call.id, Dossier.status != DossierStatus.DRAFT)
    dossiers = [rules.DossierFacts(pole_id, name, siren or "") for pole_id, name, siren in db.session.execute(
        sa.select(Dossier.pole_id, Dossier.pole_name, Dossier.carrier_siren).where(*submitted))]
    sirens = {p.institution_siren for p in pool if p.institution_siren}
    members = [rules.MemberFacts(pole_id, siren, category) for pole_id, siren, category in db.session.execute(
        sa.select(Dossier.pole_id, Member.siren, Member.category).join(Dossier, Dossier.id == Member.dossier_id)
        .where(*submitted, Member.siren.in_(sirens)))] if sirens else []
    users = [p.reviewer_id for p in pool]
    coeditors = list(db.session.execute(
        sa.select(PoleMembership.user_id, PoleMembership.pole_id)
        .join(Dossier, Dossier.pole_id == PoleMembership.pole_id)
        .where(*submitted, PoleMembership.user_id.in_(users)))) if users else []
    found = rules.detect(pool, dossiers, members, [tuple(row) for row in coeditors])

    existing = db.session.scalars(existing_q).all()
    covered = {(c.reviewer_id, column, getattr(c, column)) for c in existing for column in ("siren", "pole_id")
               if getattr(c, column) is not None}
    removed = 0
    for conflict in existing:
        key = (conflict.reviewer_id, "siren" if conflict.siren else "pole_id", conflict.siren or conflict.pole_id)
        if conflict.source != ConflictSource.DETECTED:
            continue
        if key in found:
            if conflict.is_active and conflict.reason != found[key]:
                conflict.reason = str(found[key])  # stored in French; ``reason_of`` reads it back translatable
        elif conflict.is_active:
            db.session.delete(conflict)
            removed += 1
    added = 0
    for (reviewer_id, column, value), reason in found.items():
        if (reviewer_id, column, value) not in covered:
            db.session.add(ConflictOfInterest(call_id=call.id, reviewer_id=reviewer_id, source=ConflictSource.DETECTED,
                                              reason=str(reason), **{column: value}))
            added += 1
    db.session.flush()
    if added or removed or by is not None:
        audit.record("conflicts.detected", call, actor=by,
                     summary={"added": added, "removed": removed,
                              "reviewers": "all" if reviewer_ids is None else sorted(reviewer_ids)})
    return added, removed


def _filtered(query, call: Call, reviewer_id: int | None, source: ConflictSource | None):
    query = query.where(ConflictOfInterest.call_id == call.id)
    if reviewer_id is not None:
        query = query.where(ConflictOfInterest.reviewer_id == reviewer_id)
    if source is not None:
        query = query.where(ConflictOfInterest.source == source)
    return query


def count_of_call(call: Call, *, reviewer_id: int | None = None, source: ConflictSource | None = None) -> int:
    return db.session.scalar(_filtered(sa.select(sa.func.count(ConflictOfInterest.id)), call, reviewer_id,
                                       source)) or 0


def conflicts_of_call(call: Call, *, reviewer_id: int | None = None, source: ConflictSource | None = None,
                      limit: int | None = None, offset: int = 0):
    """The call's conflict rows (of one reviewer, of one source; ``limit`` rows from ``offset`` for a page),
    each with its reviewer, their institution in the pool, the person who declared it and the person who
    cleared it: (conflict, reviewer, institution name, declared_by, cleared_by), in two queries
    whatever their number (the other people are loaded by id in one query)."""
    query = (sa.select(ConflictOfInterest, User, Institution.name).join(User, User.id == ConflictOfInterest.reviewer_id)
             .outerjoin(ReviewerPoolMember, sa.and_(ReviewerPoolMember.call_id == call.id,
                                                    ReviewerPoolMember.user_id == ConflictOfInterest.reviewer_id))
             .outerjoin(Institution, Institution.id == ReviewerPoolMember.institution_id)
             .order_by(sa.func.lower(User.full_name), User.id, ConflictOfInterest.source, ConflictOfInterest.id))
    query = _filtered(query, call, reviewer_id, source)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    rows = db.session.execute(query).all()
    people_ids = {i for c, _u, _i in rows for i in (c.declared_by_id, c.cleared_by_id) if i}
    people = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(people_ids)))} \
        if people_ids else {}
    return [(c, u, institution, people.get(c.declared_by_id), people.get(c.cleared_by_id))
            for c, u, institution in rows]


def institution_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Institution.id, Institution.name).where(Institution.id.in_(ids))).all())
