"""Test fixtures: the app on real services, clean tables per test, clients, builders."""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.builders"]


@pytest.fixture(scope="session")
def test_settings(pg_database, s3_server, smtp_server, tmp_path_factory):
    """Settings of the test app, also exported to the environment so that any ``create_app()``
    (RQ jobs, CLI runner, a gunicorn started by a browser test) uses the same services."""
    instance = tmp_path_factory.mktemp("instance")
    env = {
        "PTCE_ENV": "testing",
        "PTCE_INSTANCE_PATH": str(instance),
        "DATABASE_URL": pg_database,
        "REDIS_URL": "redis://127.0.0.1:6379/13",
        "S3_ENDPOINT_URL": s3_server,
        "S3_BUCKET": f"ptce-test-{uuid.uuid4().hex[:8]}",
        "S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": str(smtp_server.port),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


class FreshContextClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own ``g`` and DB session.

    (Otherwise requests would reuse the test's app context, sharing ``g`` — the logged-in user —
    and the identity map with the test and with each other.)
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def _app(test_settings):
    import boto3
    from flask_migrate import upgrade

    from ptce_aap import create_app

    queue = f"ptce-test-{uuid.uuid4().hex[:8]}"
    os.environ["RQ_QUEUE"] = queue
    app = create_app({"RQ_QUEUE": queue})
    app.test_client_class = FreshContextClient
    boto3.client("s3", endpoint_url=test_settings["S3_ENDPOINT_URL"], region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing",
                 ).create_bucket(Bucket=test_settings["S3_BUCKET"])
    with app.app_context():
        upgrade()
    yield app
    from ptce_aap.extensions import db

    with app.app_context():
        db.engine.dispose()


def _truncate_all(app) -> None:
    from ptce_aap.extensions import db

    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app(_app):
    """The app, inside an app context; every table is emptied after the test."""
    from ptce_aap.extensions import limiter

    with _app.app_context():
        yield _app
    _truncate_all(_app)
    limiter.reset()


@pytest.fixture
def db(app):
    from ptce_aap.extensions import db as _db

    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login_as(client, app):
    """``login_as(user)`` logs the test client in as ``user`` without going through the form."""

    from flask_login.utils import _create_identifier

    def _login(user):
        with app.test_request_context(environ_base=client.environ_base):
            identifier = _create_identifier()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session["_id"] = identifier
        return client

    return _login


@pytest.fixture
def worker(app):
    """``worker()`` runs every queued job with a real RQ worker (burst mode); returns how many ran."""
    from rq import SimpleWorker

    from ptce_aap import jobs

    def _run() -> int:
        queue = jobs.get_queue()
        w = SimpleWorker([queue], connection=queue.connection)
        w.work(burst=True)
        w.refresh()
        return w.successful_job_count

    yield _run
    queue = jobs.get_queue()
    for job_id in queue.scheduled_job_registry.get_job_ids():
        queue.scheduled_job_registry.remove(job_id)
    queue.empty()
