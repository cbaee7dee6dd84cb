"""Background jobs through a transactional outbox.

Code that wants a job calls ``schedule(task, **ids)`` inside the transaction of the change: it only
adds an ``OutboxEntry`` row. After the request commits, ``dispatch_outbox`` hands pending rows to RQ
(or runs them inline in the embedded default). If Redis is unreachable the rows stay ``pending``
and are dispatched later (next request, ``flask ptce tick`` or the worker's dispatcher loop), so
nothing is lost. Tasks take ids, reload their objects and are idempotent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, has_app_context, has_request_context

from ptce_aap.enums import OutboxStatus
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.outbox import OutboxEntry

logger = logging.getLogger("ptce_aap.jobs")

# task name -> function(**kwargs); filled by ``ptce_aap.tasks`` through ``@task``.
TASKS: dict[str, Callable] = {}

RETRY_INTERVALS = [10, 30, 120, 600, 1800]  # seconds: RQ Retry backoff


def task(name: str):
    def decorator(fn):
        TASKS[name] = fn
        return fn

    return decorator


def schedule(task_name: str, *, dedupe_key: str | None = None, **kwargs) -> OutboxEntry | None:
    """Add an outbox row in the current transaction; dispatched after commit.

    With a ``dedupe_key`` already used, nothing new is scheduled (returns the existing row).
    """
    if task_name not in TASKS:
        _load_tasks()
        if task_name not in TASKS:
            raise KeyError(f"unknown task {task_name!r}")
    if dedupe_key:
        existing = db.session.scalar(sa.select(OutboxEntry).filter_by(dedupe_key=dedupe_key))
        if existing is not None:
            return existing
    entry = OutboxEntry(task=task_name, kwargs=kwargs, dedupe_key=dedupe_key)
    db.session.add(entry)
    if has_request_context():
        g.outbox_pending = True
    return entry


def _load_tasks() -> None:
    import ptce_aap.tasks  # noqa: F401  (registers the tasks)


def get_redis():
    from redis import Redis

    return Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)


def get_queue():
    from rq import Queue

    return Queue(current_app.config["RQ_QUEUE"], connection=get_redis())


def dispatch_outbox(limit: int = 500) -> int:
    """Enqueue (or run inline) the pending outbox rows. Returns how many were handed over.

    Safe to call from several processes: each row is claimed with an UPDATE … WHERE status=pending.
    """
    _load_tasks()
    ids = db.session.scalars(
        sa.select(OutboxEntry.id).where(OutboxEntry.status == OutboxStatus.PENDING)
        .order_by(OutboxEntry.id).limit(limit)).all()
    db.session.commit()
    handed = 0
    for entry_id in ids:
        if current_app.config["JOBS_INLINE"]:
            run_outbox_entry(entry_id)
            handed += 1
            continue
        if not _enqueue(entry_id):
            break  # Redis is down: the rest waits too.
        handed += 1
    return handed


def _enqueue(entry_id: int) -> bool:
    from redis.exceptions import RedisError
    from rq import Retry

    claimed = db.session.execute(
        sa.update(OutboxEntry)
        .where(OutboxEntry.id == entry_id, OutboxEntry.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.ENQUEUED, enqueued_at=utcnow())
    ).rowcount
    db.session.commit()
    if not claimed:
        return True
    try:
        get_queue().enqueue(
            "ptce_aap.jobs.run_outbox_entry", entry_id,
            job_id=f"outbox-{entry_id}", retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=600, result_ttl=3600, failure_ttl=7 * 24 * 3600,
        )
    except RedisError as exc:
        db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.id == entry_id)
                           .values(status=OutboxStatus.PENDING, enqueued_at=None, last_error=str(exc)[:500]))
        db.session.commit()
        logger.warning("redis unavailable, outbox entry left pending", extra={"outbox_id": entry_id})
        return False
    return True


def requeue_stale(older_than: timedelta = timedelta(minutes=30)) -> int:
    """Put back rows marked enqueued long ago but never done (e.g. Redis lost its queue)."""
    cutoff = utcnow() - older_than
    count = db.session.execute(
        sa.update(OutboxEntry)
        .where(OutboxEntry.status == OutboxStatus.ENQUEUED, OutboxEntry.enqueued_at < cutoff)
        .values(status=OutboxStatus.PENDING)
    ).rowcount
    db.session.commit()
    return count


def run_outbox_entry(entry_id: int) -> str:
    """The RQ job: run one outbox row's task. Idempotent: a done row is not run again."""
    if not has_app_context():
        from ptce_aap import create_app

        with create_app().app_context():
            return run_outbox_entry(entry_id)
    _load_tasks()
    entry = db.session.get(OutboxEntry, entry_id)
    if entry is None:
        return "missing"
    if entry.status == OutboxStatus.DONE:
        return "already done"
    entry.attempts += 1
    db.session.commit()
    fn = TASKS[entry.task]
    try:
        fn(**entry.kwargs)
    except Exception as exc:
        db.session.rollback()
        entry = db.session.get(OutboxEntry, entry_id)
        entry.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if current_app.config["JOBS_INLINE"] and entry.attempts < len(RETRY_INTERVALS) + 1:
            entry.status = OutboxStatus.PENDING  # inline mode: the next tick tries again
        else:
            entry.status = OutboxStatus.FAILED if current_app.config["JOBS_INLINE"] else entry.status
        db.session.commit()
        logger.exception("job failed", extra={"job": entry.task, "outbox_id": entry_id})
        if current_app.config["JOBS_INLINE"]:
            return "failed"
        raise
    entry = db.session.get(OutboxEntry, entry_id)
    entry.status = OutboxStatus.DONE
    entry.done_at = utcnow()
    entry.last_error = ""
    db.session.commit()
    return "done"


def healthcheck() -> str:
    if current_app.config["JOBS_INLINE"]:
        return "ok"
    get_redis().ping()
    return "ok"


def init_app(app) -> None:
    @app.teardown_request
    def _dispatch_after_request(exc):
        if exc is None and g.get("outbox_pending"):
            g.outbox_pending = False
            db.session.rollback()  # only what the view committed is dispatched
            try:
                dispatch_outbox()
            except Exception:  # never break the response for the dispatcher: rows stay pending
                db.session.rollback()
                logger.exception("outbox dispatch failed")
