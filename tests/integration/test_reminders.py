"""Draft reminders 7 days and 1 day before the deadline: only for drafts, never twice."""

from datetime import timedelta

import sqlalchemy as sa

from ptce_aap import scheduler
from ptce_aap.models.base import utcnow
from ptce_aap.models.outbox import Notification
from ptce_aap.services import submission


def test_draft_reminders_at_seven_days_and_one_day_never_twice(make_call, make_dossier, make_user, db, worker,
                                                               smtp, app):
    now = utcnow().replace(microsecond=0)
    call = make_call(closes_at=now + timedelta(days=10))
    draft_owner, done_owner = make_user("brouillon@example.org"), make_user("depose@example.org")
    draft = make_dossier(call=call, owner=draft_owner, pole_name="Pôle brouillon")
    done = make_dossier(call=call, owner=done_owner, pole_name="Pôle déposé", complete=True)
    submission.submit_dossier(done, by=done_owner, now=now)
    db.session.commit()

    assert scheduler.run_scheduled(now) == 0  # ten days before: nothing
    assert scheduler.run_scheduled(call.closes_at - timedelta(days=6, hours=23)) == 1
    assert scheduler.run_scheduled(call.closes_at - timedelta(days=6, hours=20)) == 0  # the tick runs again
    assert scheduler.run_scheduled(call.closes_at - timedelta(hours=23)) == 1
    assert scheduler.run_scheduled(call.closes_at - timedelta(hours=1)) == 0
    assert scheduler.run_scheduled(call.closes_at + timedelta(hours=1)) == 0

    keys = sorted(db.session.scalars(sa.select(Notification.dedupe_key).where(
        Notification.template == "draft_reminder")))
    stamp = f"{call.closes_at:%Y%m%d%H%M}"
    assert keys == [f"draft_reminder:{draft.id}:{draft_owner.id}:{stamp}:J-1",
                    f"draft_reminder:{draft.id}:{draft_owner.id}:{stamp}:J-7"]
    from ptce_aap import jobs

    jobs.dispatch_outbox()
    worker()
    reminders = [m for m in smtp.wait_for(2) if "brouillon@example.org" in m["To"]]
    assert len(reminders) == 2
    assert not [m for m in smtp.messages if "depose@example.org" in m["To"] and "rappel" in m["Subject"].lower()]
    body = reminders[0].get_body(("plain",)).get_content()
    assert call.title in body


def test_review_reminders_once_per_threshold_for_unfinished_assignments(make_call, make_dossier, make_user, db,
                                                                        worker, smtp):
    from ptce_aap.enums import AssignmentStatus, Role
    from ptce_aap.models.reviews import Assignment

    now = utcnow().replace(microsecond=0)
    due = now + timedelta(days=10)
    reviewer = make_user("relecteur@example.org", roles=(Role.REVIEWER,), institution="ANCT")
    done_reviewer = make_user("fini@example.org", roles=(Role.REVIEWER,), institution="CDC")
    call = make_call()
    for i in range(2):
        d = make_dossier(call=call, owner=make_user(), pole_name=f"Pôle {i}")
        db.session.add(Assignment(dossier_id=d.id, reviewer_id=reviewer.id, due_at=due))
        db.session.add(Assignment(dossier_id=d.id, reviewer_id=done_reviewer.id, due_at=due,
                                  status=AssignmentStatus.SUBMITTED))
    db.session.commit()
    assert scheduler.run_scheduled(now) == 0
    assert scheduler.run_scheduled(due - timedelta(days=6)) == 1
    assert scheduler.run_scheduled(due - timedelta(days=5)) == 0
    assert scheduler.run_scheduled(due - timedelta(days=1)) == 1
    from ptce_aap import jobs

    jobs.dispatch_outbox()
    worker()
    mails = smtp.wait_for(2)
    assert [m["To"] for m in mails] == ["relecteur@example.org", "relecteur@example.org"]
    assert "Il vous reste 2 évaluations à terminer." in mails[0].get_body(("plain",)).get_content()
