"""Mail notifications: queue one (``notify``), send it from a job (``deliver``), resend a failed one.

A notification is a ``Notification`` row plus an outbox row that runs the ``send_notification`` task
after the caller's commit. The ``dedupe_key`` makes sure the same message is queued once, e.g.
``f"submission_receipt:{dossier.id}"`` or ``f"draft_reminder:{dossier.id}:J-7"``.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ptce_aap import audit, jobs, mail
from ptce_aap.domain.messages import N_
from ptce_aap.enums import NotificationStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.outbox import Notification

SECRET_LINK_TEMPLATES = {"verify_email", "reset_password", "invitation", "reviewer_invitation"}


def notify(recipient_email: str, template: str, context: dict, *, dedupe_key: str, user=None,
           attachments: list[dict] | None = None) -> Notification:
    """Queue the mail ``templates/emails/<template>.*`` to ``recipient_email``; the caller commits.

    ``context`` is stored as JSON and rendered when the mail is sent, so it must be JSON-serialisable:
    strings, numbers, booleans, lists and dicts of those — format dates and amounts into French text
    first (``deadline_text``, ``amount_text``…), pass ``link`` as a path or absolute URL. A
    ``TypeError`` is raised here otherwise, not later in the worker.

    ``attachments``: ``[{"filename", "mime", "storage_key"}]`` or ``[{"filename", "mime",
    "generator": "ptce_aap.….function", "kwargs": {...}}]`` (see ``mail.load_attachment``).

    If a notification with this ``dedupe_key`` exists, it is returned and nothing is added.
    """
    json.dumps(context)
    json.dumps(attachments or [])
    existing = _by_dedupe_key(dedupe_key)
    if existing is not None:
        return existing
    notification = Notification(recipient=recipient_email, template=template, context=context,
                                attachments=attachments or [], dedupe_key=dedupe_key,
                                user_id=getattr(user, "id", None))
    if db.engine.dialect.name == "postgresql":
        # Two transactions notifying the same key at once: the second waits on the unique index,
        # then fails inside the savepoint only, and returns the first one's row.
        try:
            with db.session.begin_nested():
                db.session.add(notification)
                db.session.flush()
        except IntegrityError:
            existing = _by_dedupe_key(dedupe_key)
            if existing is None:
                raise
            return existing
    else:
        db.session.add(notification)
        db.session.flush()  # the id, for the outbox row
    jobs.schedule("send_notification", dedupe_key=f"notification-{notification.id}",
                  notification_id=notification.id)
    return notification


def _by_dedupe_key(dedupe_key: str) -> Notification | None:
    return db.session.scalar(sa.select(Notification).where(Notification.dedupe_key == dedupe_key))


def retry_failed_notification(notification_id: int, *, by) -> Notification:
    """The admin's "renvoyer": a failed notification goes back to pending with fresh attempts and a
    new outbox row. Audited; the caller commits."""
    notification = db.session.get(Notification, notification_id)
    if notification is None:
        raise DomainError(N_("Cette notification n'existe pas."))
    if notification.status != NotificationStatus.FAILED:
        raise DomainError(N_("Seule une notification en échec peut être renvoyée."))
    before = {"status": notification.status.value, "attempts": notification.attempts,
              "last_error": notification.last_error}
    notification.status = NotificationStatus.PENDING
    notification.attempts = 0
    jobs.schedule("send_notification", dedupe_key=f"notification-{notification.id}-retry-{secrets.token_hex(6)}",
                  notification_id=notification.id)
    audit.record("notification.retried", notification, actor=by,
                 summary={"before": before, "after": {"status": NotificationStatus.PENDING.value}})
    return notification


def deliver(notification_id: int) -> str:
    """Send a notification at most once. Run by the ``send_notification`` task, whose transaction
    (``jobs.transaction(keep_failure=True)``) commits what this records, also when it raises.

    Returns ``"sent"``, ``"already sent"``, ``"busy"``, ``"failed"`` or ``"missing"``; raises on an SMTP
    error so that the job is retried, and ``jobs.GiveUp`` once ``MAIL_MAX_ATTEMPTS`` (or the job's
    own tries) are used up, leaving the notification ``failed`` for an admin to resend.

    Double sending is prevented by a row lock, not by a claim column: the row is read with
    ``SELECT … FOR UPDATE SKIP LOCKED`` and the lock is held while the SMTP conversation runs, until
    the task's commit that marks it sent (so the task commits right after this call; a failed attempt is
    committed too, as it counts towards ``MAIL_MAX_ATTEMPTS``). A second worker running the same
    notification at the same time (two outbox rows, or RQ re-running a job whose worker was presumed
    dead) skips the locked row
    and returns "busy"; once the first one commits it sees ``sent`` and does nothing. A claim column
    would need a model change and a staleness rule to recover from a killed worker; the lock is
    released by PostgreSQL itself when a worker dies. The cost is one open transaction per mail being
    sent (bounded by ``MAIL_TIMEOUT``). On SQLite (embedded, one process, inline jobs) ``FOR UPDATE``
    is not emitted and not needed.

    The remaining gap is the usual at-least-once one: if the worker dies after the SMTP server
    accepted the message but before the commit, the mail is sent again; it carries the same
    Message-ID, so mail clients can merge the two.
    """
    notification = db.session.execute(
        sa.select(Notification).where(Notification.id == notification_id)
        .with_for_update(skip_locked=True)).scalar_one_or_none()
    if notification is None:
        return "missing" if db.session.get(Notification, notification_id) is None else "busy"
    if notification.status == NotificationStatus.SENT:
        return "already sent"
    if notification.status == NotificationStatus.FAILED:
        return "failed"  # only ``retry_failed_notification`` sends it again
    notification.attempts += 1
    try:
        message = mail.build_message(
            notification.recipient, notification.template, notification.context,
            attachments=notification.attachments,
            message_id=mail.make_message_id(f"ptce-notification-{notification.id}-{notification.dedupe_key}"))
        mail.send_message(message)
    except sa.exc.SQLAlchemyError:
        raise  # the database's own trouble: nothing of this attempt is kept
    except Exception as exc:
        notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        exhausted = (notification.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
                     or jobs.is_last_attempt())
        if exhausted:
            notification.status = NotificationStatus.FAILED
            raise jobs.GiveUp(f"notification {notification_id} : {notification.last_error}") from exc
        raise
    notification.status = NotificationStatus.SENT
    notification.sent_at = utcnow()
    notification.last_error = ""
    if notification.template in SECRET_LINK_TEMPLATES:
        # The link carries a token that opens an account or a pole: keep it no longer than needed.
        notification.context = {**notification.context, "link": "(lien envoyé, non conservé)"}
    return "sent"


def reschedule_orphans(older_than: timedelta = timedelta(minutes=15)) -> int:
    """Give a new send job to pending notifications that no job will send (a run found the row busy and
    its holder died before sending). Run by ``flask ptce tick``; the caller commits."""
    return len(jobs.reschedule_orphans(
        "send_notification", Notification.id, Notification.status == NotificationStatus.PENDING,
        Notification.created_at < utcnow() - older_than, arg="notification_id"))
