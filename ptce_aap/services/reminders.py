"""Reminders queued by ``flask ptce tick`` (cron, every 5 to 15 minutes): drafts and reviews.

Draft reminders go 7 days and 1 day before a call's deadline, only for dossiers still in draft,
to every person who edits the dossier; the dedupe key (dossier, person, deadline, J-7/J-1) means a
reminder is never sent twice, however often the tick runs. Review reminders go to reviewers with
assignments due within 7 (then 2) days. Nothing here commits: ``ptce_aap.scheduler`` does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ptce_aap.domain.text import one_line
from ptce_aap.enums import AssignmentStatus, CallStatus, DossierStatus
from ptce_aap.extensions import db
from ptce_aap.formatting import format_paris
from ptce_aap.models.accounts import User
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Dossier, PoleMembership
from ptce_aap.models.outbox import Notification
from ptce_aap.models.reviews import Assignment
from ptce_aap.services.notifications import notify
from ptce_aap.urls import external_url

REMINDERS = [("J-7", timedelta(days=7)), ("J-1", timedelta(days=1))]


def due_reminder(call: Call, now: datetime) -> str | None:
    """The reminder due for ``call`` now: the closest threshold already reached, before the deadline."""
    left = call.closes_at - now
    if left <= timedelta(0):
        return None
    for label, threshold in sorted(REMINDERS, key=lambda r: r[1]):
        if left <= threshold:
            return label
    return None


def draft_reminders(now: datetime) -> None:
    calls = db.session.scalars(sa.select(Call).where(
        Call.status == CallStatus.OPEN, Call.closes_at > now, Call.closes_at <= now + timedelta(days=7))).all()
    for call in calls:
        label = due_reminder(call, now)
        if label is None:
            continue
        days_left = max(1, (call.closes_at - now).days + (1 if (call.closes_at - now).seconds else 0))
        rows = db.session.execute(
            sa.select(Dossier, PoleMembership)
            .join(PoleMembership, PoleMembership.pole_id == Dossier.pole_id)
            .options(joinedload(PoleMembership.user))
            .where(Dossier.call_id == call.id, Dossier.status == DossierStatus.DRAFT)
        ).all()
        for dossier, membership in rows:
            user = membership.user
            if user.is_disabled:
                continue
            # The deadline is in the key: when it moves, the reminders of the new date are sent too.
            key = f"draft_reminder:{dossier.id}:{user.id}:{call.closes_at:%Y%m%d%H%M}:{label}"
            notify(user.email, "draft_reminder", {
                "name": one_line(user.display_name, max_length=80), "call_title": call.title, "deadline_text": format_paris(call.closes_at),
                "days_left": days_left, "link": external_url("applicants.dossier", dossier_id=dossier.id),
                "pole_name": one_line(dossier.pole_name, max_length=200),
            }, dedupe_key=key, user=user)


REVIEW_REMINDERS = [("J-7", timedelta(days=7)), ("J-2", timedelta(days=2))]


def review_reminders(now: datetime) -> None:
    """One mail per reviewer with assignments due within 7 (then 2) days and not yet handed in, counting
    them; the dedupe key (reviewer, due date, threshold) means once per threshold. An assignment is due at
    its own ``due_at``, else at its call's ``review_deadline_at``."""
    due = sa.func.coalesce(Assignment.due_at, Call.review_deadline_at)
    rows = db.session.execute(
        sa.select(Assignment.reviewer_id, sa.func.min(due), sa.func.count(Assignment.id))
        .join(Dossier, Dossier.id == Assignment.dossier_id).join(Call, Call.id == Dossier.call_id)
        .where(Assignment.status.in_([AssignmentStatus.ASSIGNED, AssignmentStatus.IN_PROGRESS]),
               due > now, due <= now + timedelta(days=7))
        .group_by(Assignment.reviewer_id)).all()
    for reviewer_id, due_at, count in rows:
        left = due_at - now
        label = next(lbl for lbl, threshold in sorted(REVIEW_REMINDERS, key=lambda r: r[1]) if left <= threshold)
        reviewer = db.session.get(User, reviewer_id)
        if reviewer.is_disabled:
            continue
        notify(reviewer.email, "review_reminder", {
            "name": one_line(reviewer.display_name, max_length=80), "count": count, "due_text": format_paris(due_at),
            "link": external_url("reviewers.dashboard")},
            dedupe_key=f"review_reminder:{reviewer_id}:{due_at:%Y%m%d%H%M}:{label}", user=reviewer)


def queue_due_reminders(now: datetime) -> int:
    """Queue the reminders due at ``now``. Returns how many notifications were queued."""
    before = db.session.scalar(sa.select(sa.func.count(Notification.id)))
    draft_reminders(now)
    review_reminders(now)
    return db.session.scalar(sa.select(sa.func.count(Notification.id))) - before
