"""Migrations bring an empty database, or one holding 0001's data, to exactly the models' schema, on
PostgreSQL and SQLite; 0002's data steps fill the new columns and its downgrade gives 0001 back."""

import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa

import ptce_aap.extensions  # noqa: F401  (its engine hook makes SQLite enforce foreign keys, as in the app)
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


# --- 0001 → 0002 with data in the tables ----------------------------------------------------------------

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# A value for each NOT NULL column a seeded row leaves out, by the column's reflected type.
FILLERS = [(sa.Boolean, False), (sa.Integer, 0), (sa.Numeric, 0), (sa.String, ""), (sa.Text, ""),
           (sa.JSON, []), (sa.DateTime, NOW), (sa.Date, date(2026, 1, 1))]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, base_env, tmp_path):
    """(environment for ``flask``, SQLAlchemy URL) of an empty database of each kind."""
    if request.param == "sqlite":
        yield base_env, f"sqlite:///{tmp_path}/ptce_aap.sqlite3"
        return
    name = f"ptce_mig_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ({**base_env, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}"},
               f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(engine) -> dict[str, sa.Table]:
    meta = sa.MetaData()
    meta.reflect(engine)
    return meta.tables


def _insert(conn, tables, table, **values) -> int:
    t = tables[table]
    row = {c.name: next(v for type_, v in FILLERS if isinstance(c.type, type_))
           for c in t.columns if not (c.primary_key or c.nullable or c.name in values)}
    return conn.execute(t.insert().values(**row, **values).returning(t.c.id)).scalar_one()


def _seed_0001(engine) -> dict:
    """A call with a scored, decided dossier, members with SIRETs, job runs named after a call."""
    tables = _tables(engine)
    with engine.begin() as conn:
        ids = {}

        def add(table, **values):
            return _insert(conn, tables, table, **values)

        institution = add("institutions", name="ANCT")
        reviewer = add("users", email="rapporteur@example.org", session_token="x", is_reviewer=True,
                       institution_id=institution)
        ids["call"] = call = add("calls", slug="ptce-2026", title="Appel PTCE", status="open",
                                 opens_at=NOW - timedelta(days=10), closes_at=NOW + timedelta(days=10),
                                 envelope_eur=100000, max_amount_eur=1000, max_state_share=0.5,
                                 reviewers_per_dossier=2, max_upload_bytes=1000)
        criterion = add("criteria", call_id=call, code="cooperation", label="Coopération", weight=25, max_score=5)
        pole = add("poles", name="Pôle du Val")
        ids["dossier"] = dossier = add("dossiers", call_id=call, pole_id=pole, status="reviewed", version=1,
                                       carrier_siret="73282932000074")
        ids["members"] = [add("members", dossier_id=dossier, position=i, siret=siret)
                          for i, siret in enumerate(["35600000000048", "", "356 000 000 00048"])]
        assignment = add("assignments", dossier_id=dossier, reviewer_id=reviewer, status="submitted")
        review = add("reviews", assignment_id=assignment, recommendation="favorable", submitted_at=NOW,
                     updated_at=NOW)
        add("review_scores", review_id=review, criterion_id=criterion, score=4)
        ids["decision"] = add("decisions", dossier_id=dossier, outcome="laureate", amount_eur=50000)
        add("regional_opinions", dossier_id=dossier, region_code="84", text="Avis favorable.", rank=1)
        add("conflicts_of_interest", reviewer_id=reviewer, call_id=call, pole_id=pole, siren="")
        add("api_tokens", user_id=reviewer, label="Export", token_sha256="0" * 64)
        for name in [f"eligibility_rerun:{call}", "eligibility_rerun:999999", "export"]:
            add("job_runs", name=name, status="done")
    return ids


def _rows(conn, sql):
    return [tuple(row) for row in conn.execute(sa.text(sql))]


def test_upgrade_from_0001_with_data_fills_the_new_columns_then_downgrades(database):
    env, url = database
    up = _flask(["db", "upgrade", "0001"], env)
    assert up.returncode == 0, up.stderr
    engine = sa.create_engine(url)
    try:
        ids = _seed_0001(engine)
        call, dossier = ids["call"], ids["dossier"]
        up = _flask(["db", "upgrade"], env)
        assert up.returncode == 0, up.stderr
        check = _flask(["db", "check"], env)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "No new upgrade operations detected" in check.stdout + check.stderr

        with engine.connect() as conn:
            assert _rows(conn, "SELECT siret, siren FROM members ORDER BY position") == [
                ("35600000000048", "356000000"), ("", ""), ("356 000 000 00048", "")]
            assert _rows(conn, "SELECT carrier_siren FROM dossiers") == [("732829320",)]
            assert _rows(conn, "SELECT name, kind, call_id FROM job_runs ORDER BY id") == [
                (f"eligibility_rerun:{call}", "eligibility_rerun", call),
                ("eligibility_rerun:999999", "eligibility_rerun", None), ("export", "other", None)]
            assert [(d, bool(current), ref) for d, current, ref in _rows(
                conn, "SELECT dossier_id, is_current, reference FROM decisions")] == [(dossier, True, "")]
            assert _rows(conn, "SELECT call_id, region_code, name FROM regional_groups") == [
                (call, "84", "Région 84")]
            assert _rows(conn, "SELECT o.call_id, g.region_code, o.motivation, o.status, o.rank "
                               "FROM regional_opinions o JOIN regional_groups g ON g.id = o.group_id") == [
                (call, "84", "Avis favorable.", "draft", 1)]
            assert _rows(conn, "SELECT stage, decline_reason FROM assignments") == [("national", "")]
            assert _rows(conn, "SELECT version FROM reviews") == [(1,)]
            assert _rows(conn, "SELECT siren, source, cleared_reason FROM conflicts_of_interest") == [
                (None, "declared", "")]
            assert _rows(conn, "SELECT kind FROM institutions") == [("other",)]
            assert _rows(conn, "SELECT prefix FROM api_tokens") == [("",)]
            assert _rows(conn, "SELECT count(*) FROM review_scores") == [(1,)]
        # Foreign keys hold on both databases (SQLite: engines turn them on once ptce_aap.extensions is
        # imported): a scored criterion cannot be deleted.
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM criteria"))

        # A correction after the upgrade: the history has two decisions, one current.
        tables = _tables(engine)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE decisions SET is_current = :no"), {"no": False})
            _insert(conn, tables, "decisions", dossier_id=dossier, outcome="laureate", amount_eur=60000,
                    is_current=True, supersedes_id=ids["decision"])

        down = _flask(["db", "downgrade", "0001"], env)
        assert down.returncode == 0, down.stderr
        with engine.connect() as conn:
            assert _rows(conn, "SELECT siret FROM members ORDER BY position") == [
                ("35600000000048",), ("",), ("356 000 000 00048",)]
            assert _rows(conn, "SELECT name FROM job_runs ORDER BY id") == [
                (f"eligibility_rerun:{call}",), ("eligibility_rerun:999999",), ("export",)]
            assert _rows(conn, "SELECT dossier_id, amount_eur FROM decisions") == [(dossier, 60000)]
            assert _rows(conn, "SELECT region_code, text, rank FROM regional_opinions") == [
                ("84", "Avis favorable.", 1)]
            assert _rows(conn, "SELECT siren FROM conflicts_of_interest") == [("",)]
            assert _rows(conn, "SELECT count(*) FROM review_scores") == [(1,)]
        inspector = sa.inspect(engine)
        assert "siren" not in {c["name"] for c in inspector.get_columns("members")}
        assert "publications" not in inspector.get_table_names()
    finally:
        engine.dispose()
