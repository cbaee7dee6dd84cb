"""What the benchmarks share: a throw-away PostgreSQL database, the real services on loopback (moto S3 server,
aiosmtpd sink, Redis), the volume (``ptce_aap.cli.bench_data.generate``), a logged-in test client, and the
machine's description (cores, load average, versions) printed with every result.

The services are started as ``tests/fixtures/services.py`` starts them (same classes, same free-port rule).
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_DB = "redis://127.0.0.1:6379/12"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> dict:
    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    import flask
    import sqlalchemy

    with psycopg.connect(ADMIN) as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return {"cores": os.cpu_count(), "load_average": load(), "python": sys.version.split()[0],
            "platform": platform.platform(), "postgresql": pg, "flask": flask.__version__,
            "sqlalchemy": sqlalchemy.__version__, "gunicorn": version([f"{sys.prefix}/bin/gunicorn", "--version"]),
            "locust": version([f"{sys.prefix}/bin/locust", "--version"]),
            "redis": version(["redis-server", "--version"])}


@contextlib.contextmanager
def scratch_database(prefix: str = "ptce_bench"):
    """A new database, dropped at the end. Yields its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def testing_env(database_url: str) -> None:
    """In-process benchmarks: the testing configuration on ``database_url`` (local storage, inline jobs)."""
    os.environ.update({"PTCE_ENV": "testing", "DATABASE_URL": database_url,
                       "PTCE_INSTANCE_PATH": tempfile.mkdtemp(prefix="ptce_bench")})
    for var in ("REDIS_URL", "S3_BUCKET", "MAIL_SERVER", "S3_ENDPOINT_URL"):
        os.environ.pop(var, None)


class _Sink:
    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.count = getattr(self, "count", 0) + 1
        return "250 OK"


@contextlib.contextmanager
def services():
    """moto S3 server, aiosmtpd sink and a Redis database/queue of this run; yields the production
    settings (environment variables) that point at them."""
    import logging

    from aiosmtpd.controller import Controller
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the S3 server's access log
    s3_port, smtp_port = free_port(), free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3.start()
    smtp = Controller(_Sink(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    run = uuid.uuid4().hex[:8]
    env = {"S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}", "S3_BUCKET": f"ptce-bench-{run}", "S3_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "MAIL_SERVER": "127.0.0.1",
           "MAIL_PORT": str(smtp_port), "REDIS_URL": REDIS_DB, "RQ_QUEUE": f"ptce-bench-{run}",
           "RATELIMIT_STORAGE_URI": REDIS_DB}
    import boto3

    boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name="us-east-1", aws_access_key_id="bench",
                 aws_secret_access_key="bench").create_bucket(Bucket=env["S3_BUCKET"])
    try:
        yield env
    finally:
        smtp.stop()
        threading.Thread(target=s3.stop, daemon=True).start()


def login_client(app, user_key: str):
    """A test client whose session is ``user_key``'s (as ``tests/conftest.py``'s ``login_as``)."""
    from flask_login.utils import _create_identifier

    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session.update({"_user_id": user_key, "_fresh": True, "_id": identifier})
    return client
