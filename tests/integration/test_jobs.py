"""The outbox and its jobs, on the real Redis with a real RQ worker, and in inline mode."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.enums import OutboxStatus
from ptce_aap.models.outbox import OutboxEntry

# Test tasks: they record their calls here, so that a test can tell how often a task ran.
CALLS: list[dict] = []


@jobs.task("test_record")
def task_test_record(**kwargs) -> None:
    CALLS.append(kwargs)


@jobs.task("test_fail")
def task_test_fail(**kwargs) -> None:
    CALLS.append(kwargs)
    raise RuntimeError("le service distant ne répond pas")


@jobs.task("test_give_up")
def task_test_give_up(**kwargs) -> None:
    CALLS.append(kwargs)
    raise jobs.GiveUp("rien à faire : destinataire inconnu")


@jobs.task("test_chain")
def task_test_chain(**kwargs) -> None:
    """Schedules a follow-up, as a task that notifies someone would."""
    from ptce_aap.extensions import db

    jobs.schedule("test_record", step="suite")
    db.session.commit()


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()
    yield
    CALLS.clear()


@pytest.fixture(autouse=True)
def _no_rq_leftovers(app):
    """Retries RQ scheduled in one test must not run in the next (the ``worker`` fixture only empties
    the queue itself)."""
    yield
    from rq.job import Job

    with app.app_context():
        queue = jobs.get_queue()
        registry = queue.scheduled_job_registry
        for job_id in registry.get_job_ids():
            registry.remove(job_id)
            job = Job.fetch(job_id, connection=queue.connection)
            job.delete()
        queue.empty()


@contextlib.contextmanager
def config_override(app, **values):
    """Change ``app.config`` for the block, then put the old values back."""
    saved = {key: app.config.get(key) for key in values}
    app.config.update(values)
    try:
        yield
    finally:
        app.config.update(saved)


def run_due_retries() -> int:
    """Make the retries RQ scheduled due now, then run a burst worker *with its scheduler* (the
    production path: ``Retry(interval=…)`` jobs wait in the ScheduledJobRegistry until a scheduler
    enqueues them). Returns how many jobs succeeded."""
    from rq import SimpleWorker
    from rq.job import Job

    queue = jobs.get_queue()
    registry = queue.scheduled_job_registry
    for job_id in registry.get_job_ids():
        registry.schedule(Job.fetch(job_id, connection=queue.connection),
                          datetime.now(UTC) - timedelta(seconds=1))
    worker = SimpleWorker([queue], connection=queue.connection)
    worker.work(burst=True, with_scheduler=True)
    worker.refresh()  # the counters live in Redis
    return worker.successful_job_count


def reload(db, entry) -> OutboxEntry:
    db.session.expire_all()
    return db.session.get(OutboxEntry, entry.id)


def rq_job(entry):
    from rq.job import Job

    return Job.fetch(jobs.job_id(entry), connection=jobs.get_redis())


# --- RQ mode ------------------------------------------------------------------------------------

def test_scheduled_task_runs_once_after_commit_and_dispatch(app, db, worker):
    entry = jobs.schedule("test_record", dossier_id=7)
    with pytest.raises(RuntimeError):
        jobs.dispatch_outbox()  # commit first: the job must see what the change wrote
    db.session.commit()

    assert jobs.dispatch_outbox() == 1
    assert reload(db, entry).status == OutboxStatus.ENQUEUED
    worker()

    entry = reload(db, entry)
    assert (entry.status, entry.attempts, entry.last_error) == (OutboxStatus.DONE, 1, "")
    assert entry.done_at is not None
    assert CALLS == [{"dossier_id": 7}]


def test_schedule_with_same_dedupe_key_adds_one_row(app, db, worker):
    first = jobs.schedule("test_record", dedupe_key="rappel:7:J-7", dossier_id=7)
    second = jobs.schedule("test_record", dedupe_key="rappel:7:J-7", dossier_id=7)
    db.session.commit()

    assert second is first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEntry)) == 1
    jobs.dispatch_outbox()
    worker()
    assert CALLS == [{"dossier_id": 7}]


def test_schedule_unknown_task_is_refused(app, db):
    with pytest.raises(KeyError):
        jobs.schedule("no_such_task", x=1)


def test_job_of_a_done_row_is_a_no_op(app, db, worker):
    entry = jobs.schedule("test_record", n=1)
    db.session.commit()
    jobs.dispatch_outbox()
    worker()

    # A worker killed after the task but before RQ noted it: RQ runs the job again.
    assert jobs.run_outbox_entry(entry.id) == "already done"
    entry = reload(db, entry)
    assert (entry.status, entry.attempts) == (OutboxStatus.DONE, 1)
    assert CALLS == [{"n": 1}]


def test_failing_job_is_retried_by_rq_then_fails_when_retries_are_used_up(app, db, worker):
    entry = jobs.schedule("test_fail", n=1)
    db.session.commit()
    jobs.dispatch_outbox()

    worker()
    entry = reload(db, entry)
    assert (entry.status, entry.attempts) == (OutboxStatus.ENQUEUED, 1)
    assert entry.last_error == "RuntimeError: le service distant ne répond pas"
    job = rq_job(entry)
    assert job.get_status() == "scheduled"  # RQ retries it after RETRY_INTERVALS[0] seconds
    assert job.retries_left == len(jobs.RETRY_INTERVALS) - 1

    for _ in jobs.RETRY_INTERVALS:
        run_due_retries()

    entry = reload(db, entry)
    assert (entry.status, entry.attempts) == (OutboxStatus.FAILED, jobs.MAX_ATTEMPTS)
    assert entry.last_error == "RuntimeError: le service distant ne répond pas"
    assert rq_job(entry).get_status() == "failed"
    assert len(CALLS) == jobs.MAX_ATTEMPTS
    assert jobs.get_queue().scheduled_job_registry.get_job_ids() == []


def test_task_that_gives_up_fails_at_once_without_retry(app, db, worker):
    entry = jobs.schedule("test_give_up", n=1)
    db.session.commit()
    jobs.dispatch_outbox()
    worker()

    entry = reload(db, entry)
    assert (entry.status, entry.attempts) == (OutboxStatus.FAILED, 1)
    assert entry.last_error == "rien à faire : destinataire inconnu"
    assert jobs.get_queue().scheduled_job_registry.get_job_ids() == []
    assert jobs.run_outbox_entry(entry.id) == "already failed"
    assert len(CALLS) == 1


def test_follow_ups_scheduled_by_a_task_are_dispatched_when_it_succeeds(app, db, worker):
    jobs.schedule("test_chain")
    db.session.commit()
    jobs.dispatch_outbox()

    worker()  # the chained task is enqueued by the first one and run in the same burst
    assert CALLS == [{"step": "suite"}]
    statuses = db.session.scalars(sa.select(OutboxEntry.status).order_by(OutboxEntry.id)).all()
    assert statuses == [OutboxStatus.DONE, OutboxStatus.DONE]


def test_row_stuck_enqueued_without_job_is_requeued(app, db, worker):
    """Redis lost the job (restart without persistence) or the worker died: the row is put back."""
    entry = jobs.schedule("test_record", n=1)
    db.session.commit()
    db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.id == entry.id).values(
        status=OutboxStatus.ENQUEUED, enqueued_at=datetime.now(UTC) - timedelta(hours=1)))
    db.session.commit()

    assert jobs.requeue_stale() == 1
    assert reload(db, entry).status == OutboxStatus.PENDING
    assert jobs.dispatch_outbox() == 1
    worker()
    assert reload(db, entry).status == OutboxStatus.DONE
    assert CALLS == [{"n": 1}]


def test_row_waiting_for_an_rq_retry_is_not_requeued(app, db, worker):
    entry = jobs.schedule("test_fail", n=1)
    db.session.commit()
    jobs.dispatch_outbox()
    worker()  # fails: RQ schedules a retry
    db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.id == entry.id).values(
        enqueued_at=datetime.now(UTC) - timedelta(hours=1)))
    db.session.commit()

    assert jobs.requeue_stale() == 0
    assert reload(db, entry).status == OutboxStatus.ENQUEUED


def test_stale_row_whose_job_failed_for_good_is_requeued_once_more_then_failed(app, db, worker):
    """A worker killed on the job's last try: RQ's maintenance fails the job, the row stays enqueued."""
    entry = jobs.schedule("test_record", n=1)
    db.session.commit()
    jobs.dispatch_outbox()
    from rq.job import JobStatus

    job = rq_job(reload(db, entry))
    job.set_status(JobStatus.FAILED)
    db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.id == entry.id).values(
        enqueued_at=datetime.now(UTC) - timedelta(hours=1), attempts=1))
    db.session.commit()

    assert jobs.requeue_stale() == 1  # the old job is deleted, the row can be enqueued afresh
    jobs.dispatch_outbox()
    worker()
    assert reload(db, entry).status == OutboxStatus.DONE

    # Same situation, but every attempt is used: the row ends failed instead of looping forever.
    other = jobs.schedule("test_record", n=2)
    db.session.commit()
    db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.id == other.id).values(
        status=OutboxStatus.ENQUEUED, enqueued_at=datetime.now(UTC) - timedelta(hours=1),
        attempts=jobs.MAX_ATTEMPTS))
    db.session.commit()
    assert jobs.requeue_stale() == 0
    assert reload(db, other).status == OutboxStatus.FAILED


def test_two_dispatchers_hand_a_row_over_once(app, db, worker):
    entry = jobs.schedule("test_record", n=1)
    db.session.commit()
    assert jobs._claim(entry.id) is True
    assert jobs._claim(entry.id) is False  # the second process loses the UPDATE … WHERE pending
    assert jobs.dispatch_outbox() == 0


def test_healthcheck_pings_redis(app):
    assert jobs.healthcheck() == "ok"


# --- Inline mode (embedded default: no Redis) ---------------------------------------------------

@pytest.fixture
def inline_app(app, tmp_path):
    """An app without REDIS_URL on the same database: jobs run inline."""
    from ptce_aap import create_app
    from ptce_aap.extensions import db

    inline = create_app({"REDIS_URL": None, "MAIL_SERVER": None, "MAIL_OUTBOX_DIR": str(tmp_path / "mail")})
    assert inline.config["JOBS_INLINE"] is True
    with inline.app_context():
        yield inline
        db.session.remove()
        db.engine.dispose()


def test_inline_dispatch_runs_the_task_at_once(inline_app, db):
    entry = jobs.schedule("test_record", n=1)
    db.session.commit()

    assert jobs.dispatch_outbox() == 1
    entry = reload(db, entry)
    assert (entry.status, entry.attempts) == (OutboxStatus.DONE, 1)
    assert CALLS == [{"n": 1}]
    assert jobs.dispatch_outbox() == 0
    assert CALLS == [{"n": 1}]


def test_inline_failure_waits_for_a_later_tick_then_fails(inline_app, db):
    entry = jobs.schedule("test_fail", n=1)
    db.session.commit()

    assert jobs.dispatch_outbox() == 1  # no exception in inline mode
    entry = reload(db, entry)
    assert (entry.status, entry.attempts) == (OutboxStatus.PENDING, 1)
    assert entry.last_error == "RuntimeError: le service distant ne répond pas"
    assert jobs.dispatch_outbox() == 0  # not due yet: RETRY_INTERVALS[0] seconds of back-off

    runner = inline_app.test_cli_runner()
    for attempt in range(2, jobs.MAX_ATTEMPTS + 1):
        db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.id == entry.id).values(
            enqueued_at=datetime.now(UTC) - timedelta(hours=1)))  # as if the back-off had passed
        db.session.commit()
        result = runner.invoke(args=["ptce", "tick"])
        assert result.exit_code == 0, result.output
        assert reload(db, entry).attempts == attempt

    entry = reload(db, entry)
    assert entry.status == OutboxStatus.FAILED
    assert len(CALLS) == jobs.MAX_ATTEMPTS


def test_inline_follow_ups_run_in_the_same_dispatch(inline_app, db):
    jobs.schedule("test_chain")
    db.session.commit()

    jobs.dispatch_outbox()
    assert CALLS == [{"step": "suite"}]


def test_inline_row_left_enqueued_by_a_dead_process_is_requeued(inline_app, db):
    entry = jobs.schedule("test_record", n=1)
    db.session.commit()
    db.session.execute(sa.update(OutboxEntry).where(OutboxEntry.id == entry.id).values(
        status=OutboxStatus.ENQUEUED, enqueued_at=datetime.now(UTC) - timedelta(hours=1)))
    db.session.commit()

    assert jobs.requeue_stale() == 1
    assert jobs.dispatch_outbox() == 1
    assert reload(db, entry).status == OutboxStatus.DONE


def test_job_left_in_redis_for_another_row_with_the_same_id_is_ignored(app, db):
    """Ids restart after a database restore (and between tests): an old job must not run a new row."""
    entry = jobs.schedule("test_record", n=1)
    db.session.commit()

    assert jobs.run_outbox_entry(entry.id, f"outbox-{entry.id}-19990101000000000000") == "not this entry"
    assert reload(db, entry).status == OutboxStatus.PENDING
    assert jobs.run_outbox_entry(entry.id, jobs.job_id(entry)) == "done"
    assert CALLS == [{"n": 1}]
