"""Migrations bring an empty database to exactly the models' schema, on PostgreSQL and SQLite."""

import subprocess
import sys
import uuid

import psycopg
import pytest

from tests.fixtures.services import PG_ADMIN_DSN


def _flask(args, env):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def base_env(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "S3_BUCKET", "S3_ENDPOINT_URL", "MAIL_SERVER", "PTCE_ENV"}}
    env["PTCE_INSTANCE_PATH"] = str(tmp_path)
    return env


def test_upgrade_then_check_on_empty_sqlite(base_env, tmp_path):
    up = _flask(["db", "upgrade"], base_env)
    assert up.returncode == 0, up.stderr
    assert (tmp_path / "ptce_aap.sqlite3").exists()
    check = _flask(["db", "check"], base_env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_upgrade_then_check_on_empty_postgresql(base_env):
    name = f"ptce_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {**base_env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}"}
        up = _flask(["db", "upgrade"], env)
        assert up.returncode == 0, up.stderr
        check = _flask(["db", "check"], env)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "No new upgrade operations detected" in check.stdout + check.stderr
        down = _flask(["db", "downgrade", "base"], env)
        assert down.returncode == 0, down.stderr
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
