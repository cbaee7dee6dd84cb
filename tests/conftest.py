"""Test fixtures: the app on real services, clean tables per test, clients, builders."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from werkzeug.datastructures import Headers, MultiDict

pytest_plugins = ["tests.fixtures.services", "tests.fixtures.builders"]

# Property tests judge the code, not the machine: no time limit per example and no failure because drawing
# examples is slow while other processes share the two cores (both seen under load, never on the code).
settings.register_profile("ptce", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile("ptce")


@pytest.fixture(scope="session")
def test_settings(pg_database, s3_server, smtp_server, tmp_path_factory):
    """Settings of the test app, also exported to the environment so that any ``create_app()``
    (RQ jobs, CLI runner, a gunicorn started by a browser test) uses the same services."""
    from tests.fixtures.services import REDIS_TEST_URL

    instance = tmp_path_factory.mktemp("instance")
    env = {
        "PTCE_ENV": "testing",
        "PTCE_INSTANCE_PATH": str(instance),
        "DATABASE_URL": pg_database,
        "REDIS_URL": REDIS_TEST_URL,
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


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class FreshContextClient(FlaskClient):
    """A test client that behaves as a browser towards the app.

    Each request runs in its own app context, as in production: its own ``g`` and DB session.
    (Otherwise requests would reuse the test's app context, sharing ``g`` — the logged-in user —
    and the identity map with the test and with each other.)

    CSRF is on in tests as in production. An unsafe request (POST/PUT/PATCH/DELETE) that carries no
    token of its own gets the token of the page the client is on — the last response, if it was an
    HTML page — or else of the home page, fetched first as a browser would load it. The token goes
    in the ``csrf_token`` form field when the request sends a form, else in the ``X-CSRFToken`` header
    (as ``static/attachments.js`` does). ``csrf=False`` sends none, for tests of the refusal.
    That every form *rendered* by the app carries its token is tested on its own
    (tests/integration/test_csrf.py), so this convenience cannot hide a template without one.
    """

    _page_token: str | None = None

    def open(self, *args, **kwargs):
        csrf = kwargs.pop("csrf", True)
        with self.application.app_context():
            if csrf and self._needs_token(args, kwargs):
                self._add_token(kwargs)
            response = super().open(*args, **kwargs)
        self._remember_page(response)
        return response

    def _needs_token(self, args, kwargs) -> bool:
        if not args or not isinstance(args[0], str):
            return False  # a redirect being followed, or a prepared request: sent as is
        if kwargs.get("method", "GET").upper() not in UNSAFE_METHODS:
            return False
        if not self.application.config.get("WTF_CSRF_ENABLED", True):
            return False
        headers = Headers(kwargs.get("headers") or {})
        data = kwargs.get("data")
        return not ("X-CSRFToken" in headers or "X-CSRF-Token" in headers
                    or (isinstance(data, Mapping) and "csrf_token" in data))

    def _add_token(self, kwargs) -> None:
        token = self._page_token or self._fetch_token()
        data = kwargs.get("data")
        if isinstance(data, Mapping) and kwargs.get("json") is None:
            kwargs["data"] = MultiDict(data) if isinstance(data, MultiDict) else dict(data)
            kwargs["data"]["csrf_token"] = token
        elif data is None and kwargs.get("json") is None and kwargs.get("content_type") is None:
            kwargs["data"] = {"csrf_token": token}  # an empty form, as a button-only <form> sends
        else:
            headers = Headers(kwargs.get("headers") or {})
            headers["X-CSRFToken"] = token
            kwargs["headers"] = headers

    def _fetch_token(self) -> str:
        page = super().open("/", method="GET")
        found = CSRF_META.search(page.get_data(as_text=True))
        assert found, "the home page carries no <meta name=\"csrf-token\">"
        return found.group(1)

    def _remember_page(self, response) -> None:
        """The token of the page now shown, if the response is one (a redirect, JSON… shows none)."""
        self._page_token = None
        if response.mimetype == "text/html" and not response.is_streamed:
            found = CSRF_META.search(response.get_data(as_text=True))
            self._page_token = found.group(1) if found else None


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


class LeftOpenError(Exception):
    """A test left a transaction open (the tables could not be emptied after it)."""


def _truncate_all(app, lock_timeout: str = "10s") -> None:
    """Empty every table. If another connection of the run holds a lock on them (a transaction a test,
    the browser tests' live server or a job left open), that connection is ended and the tables emptied
    anyway, and the test that left it errors: the tests after it start clean instead of each waiting for
    the lock in turn (one leaked transaction must not turn the rest of the suite into errors)."""
    from ptce_aap.extensions import db

    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        try:
            with db.engine.begin() as conn:
                conn.execute(sa.text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return
        except sa.exc.OperationalError as error:
            if "lock timeout" not in str(error):
                raise
        holders = _end_other_connections(db.engine)
        db.engine.dispose()
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    raise LeftOpenError("the tables were locked after this test by connection(s) left open, now ended: "
                        + "; ".join(holders))


def _end_other_connections(engine) -> list[str]:
    """End every other connection to the test database; describe each (state, last statement)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        rows = conn.execute(sa.text(
            "SELECT pid, state, left(query, 160), pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
    return [f"pid {pid} {state!r}: {query}" for pid, state, query, _ended in rows]


@pytest.fixture
def app(_app):
    """The app, inside an app context; every table is emptied after the test."""
    from ptce_aap.extensions import limiter
    from ptce_aap.services import ranking

    with _app.app_context():
        yield _app
    _truncate_all(_app)
    limiter.reset()
    # The ids start again at 1: scores kept for a call of this test must not meet the next test's call 1.
    ranking.forget_kept_scores()


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

    jobs.get_queue().empty()  # jobs left by an earlier test that ran none: not this test's
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


# A run in which every test now errors at set-up has lost a service or a fixture: it stops after this many
# in a row, printing the errors, instead of spending the CI's time on thousands more of the same.
CONSECUTIVE_SETUP_ERRORS_TO_STOP = 25
_setup_errors_in_a_row = 0


def pytest_runtest_logreport(report):
    global _setup_errors_in_a_row
    if report.when == "setup":
        _setup_errors_in_a_row = _setup_errors_in_a_row + 1 if report.failed else 0


def pytest_runtest_teardown(item, nextitem):
    if _setup_errors_in_a_row >= CONSECUTIVE_SETUP_ERRORS_TO_STOP:
        item.session.shouldstop = (f"{_setup_errors_in_a_row} tests in a row failed at set-up: "
                                   "a service or a shared fixture is broken (see the first errors)")
