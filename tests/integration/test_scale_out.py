"""Scale-out (issue 13, point 6): two app servers (gunicorn processes) and two job workers (``flask ptce worker``
processes) on loopback, against one PostgreSQL database (the test run's), one Redis (a private ``redis-server``)
and the S3 server — as the README's production layout, on one machine.

Submissions go through both servers; a session opened on one is valid on the other (signed cookies, one
``SECRET_KEY``); the jobs are shared by both workers; no receipt number or mail twice; a worker SIGKILLed in the
middle of a job (its work horse waiting on the SMTP server) → the job is run to its end by the other worker.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa

from ptce_aap.enums import DossierStatus, OutboxStatus
from ptce_aap.models.dossiers import Dossier
from ptce_aap.models.outbox import OutboxEntry
from tests.fixtures import workers
from tests.fixtures.builders import DEFAULT_PASSWORD
from tests.fixtures.services import free_port
from tests.fixtures.workers import BIN, ROOT, other_app

private_redis = workers.private_redis
stalling_smtp = workers.stalling_smtp
worker_process = workers.worker_process

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
DOSSIERS = 4


class AppServer:
    """``gunicorn wsgi:app`` (one sync worker) on a free loopback port."""

    def __init__(self, env: dict, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in ``stop``)
        self.log_path = log_path
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{self.port}", "--timeout", "60",
             "wsgi:app"], cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text(errors="replace")
            try:  # (an idle socket held open here would keep the one sync worker waiting on it)
                if requests.get(f"{self.url}/healthz/live", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise AssertionError(f"gunicorn did not answer on {self.url}: {self.log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGQUIT)  # quick shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._log.close()


@pytest.fixture
def cluster(app, private_redis, stalling_smtp, worker_process, tmp_path):
    """Two app servers, two workers; their mail goes to ``stalling_smtp`` (let through until a test stalls it)."""
    stalling_smtp.release.set()
    queue = f"ptce-scale-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "REDIS_URL": private_redis.url, "RQ_QUEUE": queue, "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(stalling_smtp.port)}
    servers = [AppServer(env, tmp_path / f"gunicorn-{name}.log") for name in "ab"]
    try:
        pool = [worker_process(env=env) for _ in range(2)]
        for server in servers:
            server.wait_ready()
        with other_app({"REDIS_URL": private_redis.url, "RQ_QUEUE": queue}) as control:
            yield {"servers": servers, "workers": pool, "app": control, "env": env}
    finally:
        for server in servers:
            server.stop()


def browser_login(server: AppServer, email: str) -> requests.Session:
    browser = requests.Session()
    page = browser.get(f"{server.url}/compte/connexion", timeout=10)
    response = browser.post(f"{server.url}/compte/connexion", timeout=10, allow_redirects=False, data={
        "email": email, "password": DEFAULT_PASSWORD, "csrf_token": CSRF.search(page.text).group(1)})
    assert response.status_code == 302, response.text[:500]
    return browser


def submit(browser: requests.Session, server: AppServer, dossier_id: int) -> None:
    page = browser.get(f"{server.url}/porteur/dossiers/{dossier_id}/deposer", timeout=10)
    assert page.status_code == 200
    response = browser.post(f"{server.url}/porteur/dossiers/{dossier_id}/deposer", timeout=30, allow_redirects=False,
                            data={"csrf_token": CSRF.search(page.text).group(1)})
    assert (response.status_code, response.headers["Location"]) == (302, f"/porteur/dossiers/{dossier_id}")


def wait_until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def outbox_done(db) -> bool:
    db.session.expire_all()
    statuses = set(db.session.scalars(sa.select(OutboxEntry.status)))
    db.session.rollback()
    return statuses == {OutboxStatus.DONE}


def test_two_servers_two_workers_share_the_work_lose_nothing_do_nothing_twice(
        db, cluster, make_dossier, make_user, stalling_smtp):
    from rq import Worker
    from rq.job import Job
    from rq.registry import StartedJobRegistry
    from rq.scheduler import RQScheduler

    from ptce_aap import jobs
    from ptce_aap.services import notifications

    a, b = cluster["servers"]
    owners = [make_user(f"porteur{i}@example.org") for i in range(DOSSIERS)]
    dossiers = [make_dossier(owner=owner, complete=True, pole_name=f"Pôle numéro {i}")
                for i, owner in enumerate(owners)]
    ids, emails = [d.id for d in dossiers], [o.email for o in owners]
    db.session.commit()

    # Logged in on one server, used on the other; submissions alternate between the two.
    for i, (dossier_id, email) in enumerate(zip(ids, emails, strict=True)):
        first, second = (a, b) if i % 2 == 0 else (b, a)
        browser = browser_login(first, email)
        assert browser.get(f"{second.url}/porteur/dossiers/{dossier_id}", timeout=10).status_code == 200
        submit(browser, second, dossier_id)

    wait_until(lambda: outbox_done(db) and len(stalling_smtp.capture.messages) >= 2 * DOSSIERS,
               "every job and mail of the submissions is done")
    rows = db.session.scalars(sa.select(Dossier).where(Dossier.id.in_(ids))).all()
    receipts = [row.receipt_number for row in rows]
    assert len(set(receipts)) == DOSSIERS and all(receipts)
    assert all(row.receipt_key and row.status == DossierStatus.ELIGIBLE for row in rows)
    time.sleep(0.3)  # a duplicate mail would arrive now
    sent = Counter((m["To"], m["Subject"]) for m in stalling_smtp.capture.messages)
    assert len(sent) == 2 * DOSSIERS and set(sent.values()) == {1}, sent
    assert {to for to, _subject in sent} == set(emails)

    control = cluster["app"]
    with control.app_context():
        queue = jobs.get_queue()
        entries = db.session.scalars(sa.select(OutboxEntry)).all()
        ran_on = Counter(Job.fetch(jobs.job_id(e), connection=queue.connection).worker_name for e in entries)
        tries = {(e.task, e.attempts) for e in entries}
        db.session.rollback()
        assert len(ran_on) == 2 and min(ran_on.values()) >= 1, ran_on  # both workers took their share
        # Nothing had to be tried twice: jobs of one dossier running at once on both workers do not trip over
        # each other (the receipt's job used to fail on the eligibility check's update, and render again).
        assert tries == {
            (task, 1) for task in ("generate_receipt", "eligibility_check", "detect_conflicts", "send_notification")}
        pids = {w.name: w.pid for w in Worker.all(queue=queue)}
        assert sorted(pids.values()) == sorted(w.pid for w in cluster["workers"])

        # A worker killed in the middle of a job: its work horse waits for the SMTP server's answer.
        stalling_smtp.release.clear()
        stalling_smtp.entered.clear()
        notifications.notify("camille@example.org", "verify_email",
                             {"name": "Camille", "link": "/compte/verifier/jeton"}, dedupe_key="verify:scale-out")
        db.session.commit()
        assert jobs.dispatch_outbox() == 1
        assert stalling_smtp.entered.wait(timeout=20)
        started = StartedJobRegistry(queue=queue).get_job_ids()
        assert len(started) == 1
        killed_on = Job.fetch(started[0], connection=queue.connection).worker_name
        victim = next(w for w in cluster["workers"] if w.pid == pids[killed_on])
        survivor = next(w for w in cluster["workers"] if w is not victim)
        assert victim.kill() == -9
        stalling_smtp.release.set()

        # RQ's maintenance, as it runs once the dead execution's heartbeat has expired (90 s): the job is
        # scheduled for its retry; then RQ's scheduler once the retry interval (10 s) is over.
        StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 120)
        job = Job.fetch(started[0], connection=queue.connection)
        queue.scheduled_job_registry.schedule(job, datetime.now(UTC) - timedelta(seconds=1))
        scheduler = RQScheduler([queue], connection=queue.connection)
        scheduler.prepare_registries([queue.name])
        scheduler.enqueue_scheduled_jobs()

        wait_until(lambda: outbox_done(db), "the killed job is done by the other worker", timeout=30)
        assert survivor.process.poll() is None
        time.sleep(0.3)  # a duplicate mail would arrive now
        mails = [m for m in stalling_smtp.capture.messages if m["To"] == "camille@example.org"]
        assert [m["Subject"] for m in mails] == ["Confirmez votre adresse électronique"]
        done = Job.fetch(started[0], connection=queue.connection)
        assert (done.get_status(), done.worker_name) == ("finished", [n for n in pids if n != killed_on][0])
