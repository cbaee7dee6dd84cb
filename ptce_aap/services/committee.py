"""The selection committee's sessions (SPEC §5; ``models.decisions.CommitteeSession``): date and place, the
institutions convened with who sat for each and whether it was present (quorum: more than half of the
institutions convened are present), the agenda (the dossiers in discussion order) and the minutes
(procès-verbal PDF, ``services.minutes``). Decisions taken in a session go through ``services.decisions.decide``
with ``session=``. Views check who (``permissions.can_manage_call``); this module checks the state and the
values, audits, and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ptce_aap import audit
from ptce_aap.domain.messages import N_
from ptce_aap.domain.text import one_line
from ptce_aap.enums import CallStatus, DecisionOutcome, DossierStatus
from ptce_aap.errors import DomainError, Problems
from ptce_aap.extensions import db
from ptce_aap.models.accounts import Institution
from ptce_aap.models.calls import Call
from ptce_aap.models.decisions import CommitteeAttendance, CommitteeSession, Decision
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.pool import ReviewerPoolMember
from ptce_aap.permissions import DECIDABLE

PLACE_MAX = 200
ATTENDEES_MAX = 2000
AGENDA_MAX = 500
# A session is held once the dossiers are reviewed: during the review (to prepare it) and the deliberation.
SESSION_CALL_STATUSES = frozenset({CallStatus.REVIEW, CallStatus.DELIBERATION})
# What may be on the agenda: a dossier awaiting its decision, or one already decided (to revisit it).
AGENDA_STATUSES = DECIDABLE | {DossierStatus.LAUREATE, DossierStatus.REJECTED, DossierStatus.IN_REVIEW}


@dataclass(frozen=True)
class Quorum:
    convened: int
    present: int

    @property
    def needed(self) -> int:
        """The fewest institutions present for the quorum: more than half of those convened."""
        return self.convened // 2 + 1

    @property
    def reached(self) -> bool:
        return self.convened > 0 and self.present * 2 > self.convened


@dataclass
class AttendanceInput:
    institution_id: int
    is_present: bool = False
    attendees: str = ""


def quorum(session: CommitteeSession) -> Quorum:
    rows = session.attendance
    return Quorum(convened=len(rows), present=sum(1 for row in rows if row.is_present))


def proposed_institutions(call: Call) -> list[Institution]:
    """The institutions of the call's reviewer pool, by name (those convened by default)."""
    return list(db.session.scalars(
        sa.select(Institution).where(Institution.id.in_(
            sa.select(ReviewerPoolMember.institution_id).where(ReviewerPoolMember.call_id == call.id)))
        .order_by(Institution.name)))


def _check_call(call: Call) -> None:
    if call.status not in SESSION_CALL_STATUSES:
        raise DomainError(N_("Les séances du comité se tiennent pendant l'instruction ou la délibération de "
                             "l'appel."))


def _check_details(held_on: date | None, place: str, problems: Problems) -> None:
    if held_on is None:
        problems.add(N_("Indiquez la date de la séance."), field="held_on")
    if len(place) > PLACE_MAX:
        problems.add(N_("Le lieu dépasse %(max)s caractères.", max=PLACE_MAX), field="place")


def _details(session: CommitteeSession) -> dict:
    return {"held_on": session.held_on.isoformat() if session.held_on else None, "place": session.place}


def create_session(call: Call, *, held_on: date | None, place: str, by) -> CommitteeSession:
    """A new session of ``call``; the institutions of its pool are convened (marked absent until ticked)."""
    _check_call(call)
    place = one_line(place, max_length=PLACE_MAX + 1)
    problems = Problems()
    _check_details(held_on, place, problems)
    problems.raise_any()
    session = CommitteeSession(call_id=call.id, held_on=held_on, place=place, agenda=[],
                               created_by_id=getattr(by, "id", None))
    session.attendance = [CommitteeAttendance(institution_id=i.id, is_present=False, attendees="")
                          for i in proposed_institutions(call)]
    db.session.add(session)
    db.session.flush()
    audit.record("committee.session_created", session, actor=by,
                 summary={"after": _details(session), "call_id": call.id,
                          "convened": [row.institution_id for row in session.attendance]})
    return session


def _has_decisions(session: CommitteeSession) -> bool:
    return db.session.scalar(sa.select(sa.func.count(Decision.id)).where(Decision.session_id == session.id)) > 0


def update_session(session: CommitteeSession, *, held_on: date | None, place: str, by) -> CommitteeSession:
    """Change the date or the place. Once a decision is recorded in the session its date is that of the
    decisions (``Decision.committee_date``) and no longer changes."""
    _check_call(session.call)
    place = one_line(place, max_length=PLACE_MAX + 1)
    problems = Problems()
    _check_details(held_on, place, problems)
    if held_on is not None and held_on != session.held_on and _has_decisions(session):
        problems.add(N_("Des décisions ont été prises à cette date : la date de la séance ne change plus."),
                     field="held_on")
    problems.raise_any()
    before = _details(session)
    session.held_on, session.place = held_on, place
    audit.record("committee.session_updated", session, actor=by, summary={"before": before, "after": _details(session)})
    return session


def _attendance(session: CommitteeSession) -> dict:
    return {str(row.institution_id): {"present": row.is_present, "attendees": row.attendees}
            for row in session.attendance}


def set_attendance(session: CommitteeSession, rows: list[AttendanceInput], *, by) -> CommitteeSession:
    """The institutions convened, each present or absent with the names of who sat for it (``rows`` replace
    the list). Problems are keyed ``attendance-<i>-<field>`` (the form's row fields)."""
    _check_call(session.call)
    problems = Problems()
    known = set(db.session.scalars(sa.select(Institution.id).where(
        Institution.id.in_([r.institution_id for r in rows]))))
    seen: set[int] = set()
    for i, row in enumerate(rows):
        row.attendees = (row.attendees or "").strip()
        if row.institution_id not in known:
            problems.add(N_("Cette institution n'existe pas."), field=f"attendance-{i}-attendees")
        elif row.institution_id in seen:
            problems.add(N_("Cette institution figure déjà dans la liste."), field=f"attendance-{i}-attendees")
        seen.add(row.institution_id)
        if row.is_present and not row.attendees:
            problems.add(N_("Indiquez qui représente l'institution présente."), field=f"attendance-{i}-attendees")
        if len(row.attendees) > ATTENDEES_MAX:
            problems.add(N_("Au plus %(max)s caractères.", max=ATTENDEES_MAX), field=f"attendance-{i}-attendees")
    problems.raise_any()
    before = _attendance(session)
    existing = {row.institution_id: row for row in session.attendance}
    kept = []
    for row in rows:
        line = existing.get(row.institution_id) or CommitteeAttendance(institution_id=row.institution_id)
        line.is_present, line.attendees = row.is_present, row.attendees
        kept.append(line)
    session.attendance = kept
    db.session.flush()
    audit.record("committee.attendance_updated", session, actor=by,
                 summary={"before": before, "after": _attendance(session)})
    return session


def agenda_dossiers(session: CommitteeSession) -> list[Dossier]:
    """The dossiers of the agenda in discussion order (one query)."""
    ids = list(session.agenda or [])
    if not ids:
        return []
    found = {d.id: d for d in db.session.scalars(sa.select(Dossier).where(Dossier.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def set_agenda(session: CommitteeSession, dossier_ids: list[int], *, by) -> CommitteeSession:
    """The agenda in discussion order: dossiers of the session's call awaiting (or having) a decision, each
    once."""
    _check_call(session.call)
    if len(dossier_ids) != len(set(dossier_ids)):
        raise DomainError(N_("Un dossier figure deux fois à l'ordre du jour."))
    if len(dossier_ids) > AGENDA_MAX:
        raise DomainError(N_("Au plus %(max)s dossiers à l'ordre du jour.", max=AGENDA_MAX))
    added = set(dossier_ids) - set(session.agenda or [])
    if added:
        fitting = set(db.session.scalars(sa.select(Dossier.id).where(
            Dossier.id.in_(added), Dossier.call_id == session.call_id, Dossier.status.in_(AGENDA_STATUSES))))
        if fitting != added:
            raise DomainError(N_("Seuls les dossiers instruits de cet appel vont à l'ordre du jour."))
    before = list(session.agenda or [])
    session.agenda = list(dossier_ids)
    audit.record("committee.agenda_updated", session, actor=by, summary={"before": before, "after": session.agenda})
    return session


def session_decisions(session: CommitteeSession) -> list[Decision]:
    """The decisions recorded in the session, the last one per dossier (a correction made in the session
    replaces its first version), in agenda order then by time (one query, dossiers loaded)."""
    rows = db.session.scalars(sa.select(Decision).where(Decision.session_id == session.id)
                              .options(joinedload(Decision.dossier))
                              .order_by(Decision.decided_at, Decision.id)).all()
    latest = {row.dossier_id: row for row in rows}
    order = {dossier_id: i for i, dossier_id in enumerate(session.agenda or [])}
    return sorted(latest.values(), key=lambda d: (order.get(d.dossier_id, len(order)), d.decided_at, d.id))


def laureate_total(decisions: list[Decision]) -> Decimal:
    return sum((d.amount_eur or Decimal("0") for d in decisions if d.outcome == DecisionOutcome.LAUREATE), Decimal("0"))


def sessions_of(call: Call) -> list[CommitteeSession]:
    return list(db.session.scalars(sa.select(CommitteeSession).where(CommitteeSession.call_id == call.id)
                                   .order_by(CommitteeSession.held_on.desc(), CommitteeSession.id.desc())))
