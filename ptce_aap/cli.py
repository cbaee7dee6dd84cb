"""``flask --app wsgi ptce …`` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

ptce = AppGroup("ptce", help="Commandes de la plateforme PTCE.")


@ptce.command("dispatch")
def dispatch_command():
    """Hand the pending outbox rows to the queue (or run them inline)."""
    from ptce_aap import jobs

    click.echo(f"{jobs.dispatch_outbox()} tâche(s) transmise(s)")


@ptce.command("tick")
def tick_command():
    """Periodic work (run by cron every few minutes): scheduled reminders, then the outbox."""
    from ptce_aap import documents, jobs, scheduler
    from ptce_aap.extensions import db
    from ptce_aap.services import attachments, eligibility, notifications

    created = scheduler.run_scheduled()
    attachments.purge_abandoned_uploads()
    documents.reschedule_abandoned_processing()
    notifications.reschedule_orphans()
    eligibility.reschedule_missing_checks()
    db.session.commit()
    requeued = jobs.requeue_stale()
    handed = jobs.dispatch_outbox()
    click.echo(f"{created} rappel(s) planifié(s), {requeued} tâche(s) relancée(s), {handed} transmise(s)")


@ptce.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--with-scheduler/--without-scheduler", default=True,
              help="Run RQ's scheduler (needed for retries with backoff).")
def worker_command(burst: bool, with_scheduler: bool):
    """Run an RQ worker on the app's queue (same as ``rq worker`` with the app's settings)."""
    from flask import current_app
    from rq import Worker

    from ptce_aap import jobs

    if current_app.config["JOBS_INLINE"]:
        raise click.ClickException("REDIS_URL n'est pas défini : les tâches s'exécutent déjà en ligne.")
    jobs.dispatch_outbox()
    worker = Worker([jobs.get_queue()], connection=jobs.get_redis())
    worker.work(burst=burst, with_scheduler=with_scheduler)


def init_app(app) -> None:
    from ptce_aap import commands  # noqa: F401  (adds the commands to ``ptce``)

    app.cli.add_command(ptce)
