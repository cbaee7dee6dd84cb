"""A private Redis server that a test may stop and start: outages, and real worker processes
(``rq worker``, ``flask ptce worker``) on a queue no other test run can see."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from ptce_aap import jobs
from ptce_aap.enums import NotificationStatus, OutboxStatus
from ptce_aap.models.outbox import Notification, OutboxEntry
from ptce_aap.services import notifications
from tests.fixtures.services import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


class RedisServer:
    """A throw-away ``redis-server`` on its own port, without persistence."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis():
    server = RedisServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_app(app, private_redis):
    """An app on the test database whose Redis is ``private_redis``, queue ``ptce`` (the default)."""
    from ptce_aap import create_app
    from ptce_aap.extensions import db

    other = create_app({"REDIS_URL": private_redis.url, "RQ_QUEUE": "ptce"})
    with other.app_context():
        yield other
        db.session.remove()
        db.engine.dispose()
        client = other.extensions.get("ptce_jobs", {}).get("redis")
        if client is not None:
            client.close()


def entry_status(db, entry_id):
    db.session.expire_all()
    entry = db.session.get(OutboxEntry, entry_id)
    return entry.status, entry.attempts, entry.last_error


def run_worker_burst() -> None:
    from rq import SimpleWorker

    queue = jobs.get_queue()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_redis_outage_leaves_rows_pending_until_redis_is_back(private_app, private_redis, db):
    private_redis.stop()
    entry = jobs.schedule("noop", marker=1)
    db.session.commit()

    assert jobs.dispatch_outbox() == 0  # no exception: the row waits
    status, attempts, error = entry_status(db, entry.id)
    assert (status, attempts) == (OutboxStatus.PENDING, 0)
    assert error.startswith("Redis : Error 111 connecting to 127.0.0.1")
    with pytest.raises(Exception):  # noqa: B017 (redis' ConnectionError)
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
