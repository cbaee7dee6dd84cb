"""Background tasks: thin wrappers over services, taking ids only. Registered with ``@task``.

A task is run by ``jobs.run_outbox_entry`` (RQ worker or inline). It must be idempotent: it may run
twice (a worker killed mid-run, a row requeued). Raise to be retried; raise ``jobs.GiveUp`` to stop.
"""

from __future__ import annotations

from ptce_aap.jobs import task


@task("noop")
def task_noop(**kwargs) -> None:
    """Does nothing; used by health checks and tests of the outbox."""


@task("send_notification")
def task_send_notification(notification_id: int) -> None:
    """Send one ``Notification`` by mail (at most once; see ``services.notifications.deliver``)."""
    from ptce_aap.services import notifications

    notifications.deliver(notification_id)


@task("account_mail")
def task_account_mail(kind: str, email: str) -> None:
    """A verification or reset link asked for by address; sent only if the account allows it."""
    from ptce_aap.services import accounts

    accounts.send_account_mail(kind, email)


# Tasks defined next to their feature, registered by importing their module.
from ptce_aap import documents, eligibility_tasks, receipts  # noqa: E402,F401
