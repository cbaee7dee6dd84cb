"""A private Redis server that a test may stop and start: outages, and real worker processes
(``rq worker``, ``flask ptce worker``) on a queue no other test run can see."""

from __future__ import annotations

import os
import subprocess

import pytest
import redis
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.enums import NotificationStatus, OutboxStatus
from ptce_aap.models.outbox import Notification, OutboxEntry
from ptce_aap.services import notifications
from tests.fixtures import workers
from tests.fixtures.workers import BIN, ROOT, run_worker_burst

private_redis = workers.private_redis  # fixtures shared with test_faults.py
private_app = workers.private_app


def entry_status(db, entry_id):
    db.session.expire_all()
    entry = db.session.get(OutboxEntry, entry_id)
    return entry.status, entry.attempts, entry.last_error


def test_redis_outage_leaves_rows_pending_until_redis_is_back(private_app, private_redis, db):
    private_redis.stop()
    entry = jobs.schedule("noop", marker=1)
    db.session.commit()

    assert jobs.dispatch_outbox() == 0  # no exception: the row waits
    status, attempts, error = entry_status(db, entry.id)
    assert (status, attempts) == (OutboxStatus.PENDING, 0)
    assert error.startswith("Redis : Error 111 connecting to 127.0.0.1")
    with pytest.raises(redis.exceptions.ConnectionError,
                       match=rf"^Error 111 connecting to 127\.0\.0\.1:{private_redis.port}\. Connection refused\.$"):
        jobs.healthcheck()

    private_redis.start()  # same port
    assert jobs.dispatch_outbox() == 1
    assert entry_status(db, entry.id)[0] == OutboxStatus.ENQUEUED
    run_worker_burst()
    assert entry_status(db, entry.id) == (OutboxStatus.DONE, 1, "")


def test_request_after_a_redis_failure_does_not_wait_for_redis_again(private_app, private_redis, db):
    """The dispatch after a request notes the outage and leaves the next requests alone for a while."""
    private_redis.stop()
    with private_app.test_request_context("/"):
        first = jobs.schedule("noop", marker=1)
        db.session.commit()
    # teardown_request tried Redis, which was down: the row stays pending, no exception
    assert entry_status(db, first.id)[0] == OutboxStatus.PENDING
    private_redis.start()
    with private_app.test_request_context("/"):
        second = jobs.schedule("noop", marker=2)
        db.session.commit()
    assert entry_status(db, second.id)[0] == OutboxStatus.PENDING  # not tried: within REDIS_DOWN_PAUSE

    assert jobs.dispatch_outbox() == 2  # tick / worker start-up catch up
    run_worker_burst()
    assert entry_status(db, first.id)[0] == entry_status(db, second.id)[0] == OutboxStatus.DONE


@pytest.mark.parametrize("command", ["rq", "flask"])
def test_real_worker_process_sends_the_notification(private_app, private_redis, db, smtp, command):
    """``rq worker`` (the app is created in the job) and ``flask ptce worker`` (forked work horse that
    inherits the app and its engine) both run an outbox job end to end."""
    notification = notifications.notify("camille@example.org", "verify_email",
                                        {"name": "Camille", "link": "/compte/verifier/jeton"},
                                        dedupe_key=f"verify:{command}")
    db.session.commit()
    env = {**os.environ, "REDIS_URL": private_redis.url}
    if command == "rq":
        assert jobs.dispatch_outbox() == 1
        args = [str(BIN / "rq"), "worker", "--burst", "--with-scheduler", "--url", private_redis.url, "ptce"]
    else:  # dispatches the pending rows itself before working
        args = [str(BIN / "flask"), "--app", "wsgi", "ptce", "worker", "--burst"]
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

    messages = smtp.wait_for(1)
    assert [m["To"] for m in messages] == ["camille@example.org"]
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).status == NotificationStatus.SENT
    assert db.session.scalars(sa.select(OutboxEntry.status)).all() == [OutboxStatus.DONE]
