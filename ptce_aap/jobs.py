"""Background jobs through a transactional outbox.

Code that wants a job calls ``schedule(task, **ids)`` inside the transaction of the change: it only
adds an ``OutboxEntry`` row. After the request commits, ``dispatch_outbox`` hands pending rows to RQ
(or runs them inline in the embedded default, when ``REDIS_URL`` is unset). If Redis is unreachable
the rows stay ``pending`` and are dispatched later (next request, ``flask ptce tick`` or the worker
at start-up), so nothing is lost. Tasks take ids, reload their objects and are idempotent.

Life of an outbox row::

    pending --dispatch--> enqueued --run ok--> done
       ^                     |
       |                     +--task raised--> (RQ mode) stays enqueued, RQ retries it after
       |                     |                 RETRY_INTERVALS; failed when no retry is left
       +---------------------+--task raised--> (inline mode) pending again, run by a later
                             |                 dispatch after the same intervals; failed after
                             |                 MAX_ATTEMPTS
                             +--task raised GiveUp--> failed at once, never retried

``requeue_stale`` (run by ``flask ptce tick``) puts back rows left ``enqueued`` whose RQ job is gone
or over (Redis lost its data, a worker was killed on the last try…); ``reschedule_orphans`` gives a new
job to the rows of a table (attachments, mails, dossiers to check) that no job will handle any more.

Tasks live in ``ptce_aap.tasks`` and register themselves with ``@task`` when ``create_app`` imports that
module; this module never imports it back. A task's transaction is ``transaction()``: one commit.

RQ, redis and the app factory are imported inside the functions that need them: ``rq``/``redis`` so that
the embedded mode (no Redis) never loads them, the factory by name (``APP_FACTORY``) because only a bare
``rq worker`` needs it and the factory imports every module of the app, this one included.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, has_app_context, has_request_context

from ptce_aap.enums import OutboxStatus
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.outbox import OutboxEntry

logger = logging.getLogger("ptce_aap.jobs")

# task name -> function(**kwargs); filled by ``ptce_aap.tasks`` through ``@task`` (imported by create_app).
TASKS: dict[str, Callable] = {}

RETRY_INTERVALS = [10, 30, 120, 600, 1800]  # seconds between two tries (RQ Retry and inline mode)
MAX_ATTEMPTS = len(RETRY_INTERVALS) + 1  # the first try plus one per interval
JOB_PATH = "ptce_aap.jobs.run_outbox_entry"  # what RQ imports: keep it stable
APP_FACTORY = "ptce_aap:create_app"  # what a bare ``rq worker`` builds, found by name like JOB_PATH
REDIS_DOWN_PAUSE = 30  # seconds during which request teardowns stop trying to reach a dead Redis


class GiveUp(Exception):  # noqa: N818 (an instruction, not an error kind)
    """Raised by a task that failed for good: its outbox row ends ``failed`` and is not retried."""


# Set while ``run_outbox_entry`` runs a task: {"last_attempt": bool, "scheduled": bool}.
_RUNNING: ContextVar[dict | None] = ContextVar("ptce_running_task", default=None)


def task(name: str):
    def decorator(fn):
        TASKS[name] = fn
        return fn

    return decorator


def is_last_attempt() -> bool:
    """True inside a task when a failure now will not be retried (tasks may then give up cleanly)."""
    state = _RUNNING.get()
    return bool(state and state["last_attempt"])


def schedule(task_name: str, *, dedupe_key: str | None = None, **kwargs) -> OutboxEntry:
    """Add an outbox row in the current transaction; dispatched after commit.

    ``kwargs`` must be JSON-serialisable (ids, short strings). With a ``dedupe_key`` already used,
    nothing new is scheduled and the existing row is returned.
    """
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
    state = _RUNNING.get()
    if state is not None:
        state["scheduled"] = True  # a task that schedules follow-ups: dispatched when it succeeds
    return entry


@contextlib.contextmanager
def transaction(*, keep_failure: bool = False):
    """The transaction of one task, committed once when the block ends: services never commit.

    On an exception it is rolled back — except, with ``keep_failure``, for an error that is not the
    database's: what the task recorded about its failure (an attempt, the error, a ``failed`` status)
    is then committed before the exception goes on to the runner (RQ's retry, ``GiveUp``).
    """
    try:
        yield
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        raise
    except BaseException:
        if keep_failure:
            db.session.commit()
        else:
            db.session.rollback()
        raise
    db.session.commit()


def reschedule_orphans(task_name: str, id_column, *where, arg: str) -> list[int]:
    """Schedule ``task_name`` again for the rows (``id_column`` matching ``where``) that no pending or
    enqueued outbox row of that task will handle: their jobs all ended (failed for good, or found the
    row busy and its holder died). ``arg`` is the task's keyword for the id. For ``flask ptce tick``;
    the caller commits. Returns the ids."""
    waiting = (sa.select(OutboxEntry.kwargs[arg].as_integer())
               .where(OutboxEntry.task == task_name,
                      OutboxEntry.status.in_([OutboxStatus.PENDING, OutboxStatus.ENQUEUED])))
    ids = list(db.session.scalars(
        sa.select(id_column).where(*where, id_column.not_in(waiting.scalar_subquery())).order_by(id_column)))
    stamp = f"{utcnow():%Y%m%d%H%M%S%f}"
    for row_id in ids:
        schedule(task_name, dedupe_key=f"{task_name}:{row_id}:again:{stamp}", **{arg: row_id})
        logger.warning("row left without a job: scheduled again", extra={"job": task_name, "row_id": row_id})
    return ids


# --- Redis and RQ -------------------------------------------------------------------------------

def get_redis():
    """The app's Redis client (one connection pool per app and process; redis-py handles forks).

    Few, short retries: when Redis is down, a dispatch must give up in about a second and leave
    the rows pending rather than hold a request for redis-py's default backoff.
    """
    state = current_app.extensions.setdefault("ptce_jobs", {})
    client = state.get("redis")
    if client is None:
        from redis import Redis  # Redis mode only (see the module docstring)
        from redis.backoff import ExponentialBackoff  # Redis mode only (see the module docstring)
        from redis.retry import Retry  # Redis mode only (see the module docstring)

        client = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5,
                                retry=Retry(ExponentialBackoff(cap=0.5, base=0.1), retries=2))
        state["redis"] = client
    return client


def get_queue():
    from rq import Queue  # Redis mode only (see the module docstring)

    return Queue(current_app.config["RQ_QUEUE"], connection=get_redis())


def job_id(entry: OutboxEntry) -> str:
    """The RQ job id of an outbox row: unique even if ids restart (tests truncate the tables)."""
    return f"outbox-{entry.id}-{entry.created_at:%Y%m%d%H%M%S%f}"


# --- Dispatch -----------------------------------------------------------------------------------

def _is_due(attempts: int, last_try_at, now) -> bool:
    """Back-off between tries of a row put back to pending (inline retries, requeued rows)."""
    if attempts == 0 or last_try_at is None:
        return True
    wait = RETRY_INTERVALS[min(attempts, len(RETRY_INTERVALS)) - 1]
    return last_try_at + timedelta(seconds=wait) <= now


def dispatch_outbox(limit: int = 500) -> int:
    """Enqueue (or run inline) the pending outbox rows that are due. Returns how many were handed over.

    Safe to call from several processes: each row is claimed with an UPDATE … WHERE status=pending
    before it is enqueued or run. Never raises because Redis is down: the rows stay pending with
    ``last_error`` and the next dispatch tries again.

    Call it after the commit: it commits the session itself, so unsaved changes are refused.
    """
    if db.session.new or db.session.dirty or db.session.deleted:
        raise RuntimeError("dispatch_outbox() is called after commit: the session has unsaved changes")
    now = utcnow()
    rows = db.session.execute(
        sa.select(OutboxEntry.id, OutboxEntry.attempts, OutboxEntry.enqueued_at)
        .where(OutboxEntry.status == OutboxStatus.PENDING)
        .order_by(OutboxEntry.id).limit(limit)).all()
    db.session.commit()
    inline = current_app.config["JOBS_INLINE"]
    handed = 0
    for entry_id, attempts, last_try_at in rows:
        if not _is_due(attempts, last_try_at, now):
            continue
        if not _claim(entry_id):
            continue  # another process took it
        if inline:
            run_outbox_entry(entry_id)
        elif not _enqueue(entry_id):
            break  # Redis is down: the rest waits too.
        handed += 1
    return handed


def _claim(entry_id: int) -> bool:
    claimed = db.session.execute(
        sa.update(OutboxEntry)
        .where(OutboxEntry.id == entry_id, OutboxEntry.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.ENQUEUED, enqueued_at=utcnow())
    ).rowcount
    db.session.commit()
    return bool(claimed)


def _enqueue(entry_id: int) -> bool:
    """Hand a claimed row to RQ; on a Redis error put it back to pending and return False."""
    from redis.exceptions import RedisError  # Redis mode only (see the module docstring)
    from rq import Retry  # Redis mode only (see the module docstring)

    entry = db.session.get(OutboxEntry, entry_id)
    try:
        get_queue().enqueue(
            JOB_PATH, entry_id, job_id(entry),
            job_id=job_id(entry), retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=600, result_ttl=3600, failure_ttl=7 * 24 * 3600,
            description=f"outbox {entry_id}: {entry.task}",
        )
    except RedisError as exc:
        db.session.rollback()
        db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.id == entry_id)
                           .values(status=OutboxStatus.PENDING, enqueued_at=None,
                                   last_error=f"Redis : {exc}"[:2000]))
        db.session.commit()
        current_app.extensions.setdefault("ptce_jobs", {})["redis_down_until"] = (
            time.monotonic() + REDIS_DOWN_PAUSE)
        logger.warning("redis unavailable, outbox entry left pending", extra={"outbox_id": entry_id})
        return False
    db.session.commit()
    return True


def requeue_stale(older_than: timedelta = timedelta(minutes=30)) -> int:
    """Put back rows marked enqueued long ago that no RQ job will finish. Returns how many.

    In RQ mode a row waiting for a retry (its job is scheduled) or running is left alone; a row
    whose job is missing (Redis lost its data) or over (a worker killed on the last try, a job failed
    by RQ's maintenance) goes back to pending — or to failed once it has used all its attempts.
    In inline mode a row stays enqueued only if its process died while running it.
    """
    cutoff = utcnow() - older_than
    entries = db.session.scalars(
        sa.select(OutboxEntry)
        .where(OutboxEntry.status == OutboxStatus.ENQUEUED, OutboxEntry.enqueued_at < cutoff)
        .order_by(OutboxEntry.id)).all()
    if entries and not current_app.config["JOBS_INLINE"]:
        from redis.exceptions import RedisError  # Redis mode only (see the module docstring)

        try:
            entries = [entry for entry in entries if _rq_job_is_over(entry)]
        except RedisError:  # Redis down: nothing can be decided now
            db.session.rollback()
            logger.warning("redis unavailable, stale outbox entries not checked")
            return 0
    count = 0
    for entry in entries:
        if entry.attempts >= MAX_ATTEMPTS:
            entry.status = OutboxStatus.FAILED
            entry.last_error = (entry.last_error or "") + " (abandonné : plus aucune tentative)"
            logger.warning("stale outbox entry failed", extra={"job": entry.task, "outbox_id": entry.id})
            continue
        entry.status = OutboxStatus.PENDING
        count += 1
    db.session.commit()
    return count


def _rq_job_is_over(entry: OutboxEntry) -> bool:
    """True when no RQ job will run this row again; a finished/failed job is deleted so it can be
    enqueued afresh under the same id."""
    from rq.exceptions import NoSuchJobError  # Redis mode only (see the module docstring)
    from rq.job import Job, JobStatus  # Redis mode only (see the module docstring)

    try:
        job = Job.fetch(job_id(entry), connection=get_redis())
    except NoSuchJobError:
        return True
    if job.get_status() in {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}:
        return False
    job.delete()
    return True


# --- Running a job ------------------------------------------------------------------------------

_worker_app = None
_pid = os.getpid()


def _app_for_worker():
    """The app of a bare ``rq worker`` (no Flask app active), built once per process."""
    global _worker_app
    if _worker_app is None:
        module_name, _sep, factory = APP_FACTORY.partition(":")
        _worker_app = getattr(importlib.import_module(module_name), factory)()
    return _worker_app


def _forget_inherited_connections() -> None:
    """In a process forked after the engine was used (the work horse of ``flask ptce worker``),
    drop the parent's pooled connections without closing them, as SQLAlchemy advises."""
    global _pid
    if os.getpid() != _pid:
        for engine in db.engines.values():
            engine.dispose(close=False)
        _pid = os.getpid()


def _is_last_try(attempts: int) -> bool:
    if not current_app.config["JOBS_INLINE"]:
        from rq import get_current_job  # Redis mode only (see the module docstring)

        job = get_current_job()
        if job is not None:
            return not job.should_retry  # RQ counts the retries left
    return attempts >= MAX_ATTEMPTS


def _finish(entry_id: int, status: OutboxStatus, error: str = "") -> None:
    values = {"status": status, "last_error": error[:2000]}
    if status == OutboxStatus.DONE:
        values["done_at"] = utcnow()
    db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.id == entry_id).values(**values))
    db.session.commit()


def run_outbox_entry(entry_id: int, expected_job_id: str | None = None) -> str:
    """The RQ job (and the inline runner): run one outbox row's task.

    Idempotent at the row level: a ``done`` or ``failed`` row is not run again (tasks are themselves
    idempotent for the case of a worker killed mid-run). On failure:

    - RQ mode: ``attempts`` and ``last_error`` are recorded, the row stays ``enqueued`` and the
      exception is re-raised so that RQ retries the job after the next interval; on the last try
      (no RQ retry left) the row becomes ``failed``.
    - inline mode: the row goes back to ``pending`` for a later dispatch (``flask ptce tick``) after
      the same intervals, and becomes ``failed`` after ``MAX_ATTEMPTS``; nothing is raised.
    - a task raising ``GiveUp`` fails the row at once, in both modes, without a retry.

    ``expected_job_id`` (given by RQ) makes a job left in Redis by another database (ids reused after a
    restore, or test runs) a no-op instead of running someone else's row.
    """
    if not has_app_context():  # bare ``rq worker``
        with _app_for_worker().app_context():
            return run_outbox_entry(entry_id, expected_job_id)
    _forget_inherited_connections()
    entry = db.session.get(OutboxEntry, entry_id)
    if entry is None:
        logger.warning("outbox entry missing", extra={"outbox_id": entry_id})
        return "missing"
    if expected_job_id is not None and job_id(entry) != expected_job_id:
        logger.warning("job does not match its outbox entry, ignored", extra={"outbox_id": entry_id})
        return "not this entry"
    if entry.status in (OutboxStatus.DONE, OutboxStatus.FAILED):
        return f"already {entry.status.value}"
    entry.attempts += 1
    task_name, kwargs, attempts = entry.task, dict(entry.kwargs), entry.attempts
    db.session.commit()
    inline = current_app.config["JOBS_INLINE"]
    log_extra = {"job": task_name, "outbox_id": entry_id}
    state = {"last_attempt": _is_last_try(attempts), "scheduled": False}
    token = _RUNNING.set(state)
    try:
        TASKS[task_name](**kwargs)
    except GiveUp as exc:
        db.session.rollback()
        _finish(entry_id, OutboxStatus.FAILED, str(exc))
        logger.warning("job gave up: %s", exc, extra=log_extra)
        return "failed"
    except Exception as exc:
        db.session.rollback()
        error = f"{type(exc).__name__}: {exc}"
        if state["last_attempt"]:
            _finish(entry_id, OutboxStatus.FAILED, error)
            logger.exception("job failed, no retry left", extra=log_extra)
        elif inline:
            _finish(entry_id, OutboxStatus.PENDING, error)  # a later dispatch tries again
            logger.warning("job failed, will retry: %s", error, extra=log_extra)
        else:
            _finish(entry_id, OutboxStatus.ENQUEUED, error)  # RQ retries it
            logger.warning("job failed, RQ will retry: %s", error, extra=log_extra)
        if inline:
            return "failed"
        raise
    finally:
        _RUNNING.reset(token)
    _finish(entry_id, OutboxStatus.DONE)
    if state["scheduled"]:
        dispatch_outbox()  # follow-ups the task scheduled (and committed)
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
            down_until = app.extensions.get("ptce_jobs", {}).get("redis_down_until", 0)
            if not app.config["JOBS_INLINE"] and time.monotonic() < down_until:
                return  # Redis was down a moment ago: leave the rows to tick/worker, answer fast
            try:
                dispatch_outbox()
            except Exception:  # never break the response for the dispatcher: rows stay pending
                db.session.rollback()
                logger.exception("outbox dispatch failed")
