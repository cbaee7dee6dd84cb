"""The periodic work of ``flask ptce tick`` (cron, every 5 to 15 minutes), one transaction per step.

- ``run_scheduled``: the reminders now due (``services.reminders``);
- ``recover``: what no job will finish any more — uploads abandoned before their confirmation, attachments
  still processing, pending mails and submitted dossiers left without a job — gets cleaned up or a new job.

Like a task wrapper, each step is the unit of work: the services it calls never commit, it does once.
"""

from __future__ import annotations

from datetime import datetime

from ptce_aap import jobs
from ptce_aap.models.base import utcnow
from ptce_aap.services import attachment_processing, attachments, eligibility, notifications, reminders


def run_scheduled(now: datetime | None = None) -> int:
    """Queue the reminders now due and commit. Returns how many notifications were queued."""
    with jobs.transaction():
        return reminders.queue_due_reminders(now or utcnow())


def recover() -> int:
    """Purge abandoned uploads and give a new job to rows whose job vanished; commit. Returns how many
    rows were rescheduled."""
    with jobs.transaction():
        attachments.purge_abandoned_uploads()
        return (attachment_processing.reschedule_abandoned_processing() + notifications.reschedule_orphans()
                + eligibility.reschedule_missing_checks())
