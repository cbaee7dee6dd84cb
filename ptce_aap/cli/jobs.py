"""``flask ptce dispatch``, ``tick`` and ``worker``: the outbox, the periodic work and the RQ worker."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ptce_aap import jobs, scheduler


@click.command("dispatch")
@with_appcontext
def dispatch_command():
    """Hand the pending outbox rows to the queue (or run them inline)."""
    click.echo(f"{jobs.dispatch_outbox()} tâche(s) transmise(s)")


@click.command("tick")
@with_appcontext
def tick_command():
    """Periodic work (run by cron every few minutes): scheduled reminders, then the outbox."""
    created = scheduler.run_scheduled()
    scheduler.recover()
    requeued = jobs.requeue_stale()
    handed = jobs.dispatch_outbox()
    click.echo(f"{created} rappel(s) planifié(s), {requeued} tâche(s) relancée(s), {handed} transmise(s)")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
@click.option("--with-scheduler/--without-scheduler", default=True,
              help="Run RQ's scheduler (needed for retries with backoff).")
@with_appcontext
def worker_command(burst: bool, with_scheduler: bool):
    """Run an RQ worker on the app's queue (same as ``rq worker`` with the app's settings)."""
    from rq import Worker  # Redis mode only: the embedded mode never loads rq

    if current_app.config["JOBS_INLINE"]:
        raise click.ClickException("REDIS_URL n'est pas défini : les tâches s'exécutent déjà en ligne.")
    jobs.dispatch_outbox()
    worker = Worker([jobs.get_queue()], connection=jobs.get_redis())
    worker.work(burst=burst, with_scheduler=with_scheduler)


COMMANDS = [dispatch_command, tick_command, worker_command]
