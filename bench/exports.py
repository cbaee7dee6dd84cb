"""Benchmark: peak memory (tracemalloc) and time of the instruction list's exports (CSV and XLSX, the whole
filtered list of a call) at 500 and 5,000 submitted dossiers, on PostgreSQL, read through the Flask test
client without buffering (as a server sends it). Prints and saves the numbers.

    .venv/bin/python bench/exports.py [--sizes 500,5000]

Target: memory flat in N — the rows are read in batches (``yield_per``), the CSV is sent line by line and
the XLSX is written row by row to a temporary file (openpyxl write-only, inline strings). What does grow with
N is the call's facts (a dict of scores and a set of conflicted ids: a few dozen bytes per scored dossier).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="500,5000")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    name = f"ptce_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update({"PTCE_ENV": "testing", "DATABASE_URL": f"postgresql://postgres@127.0.0.1/{name}",
                       "PTCE_INSTANCE_PATH": tempfile.mkdtemp(prefix=name)})
    for var in ("REDIS_URL", "S3_BUCKET", "MAIL_SERVER"):
        os.environ.pop(var, None)
    try:
        results = run(sizes)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    out = ROOT / "bench" / "results" / "exports.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    for size, formats in results["sizes"].items():
        for fmt, r in formats.items():
            print(f"{size:>6} dossiers  {fmt:4}  peak {r['peak_kib']:8.0f} KiB  {r['seconds']:6.2f} s  "
                  f"{r['bytes']:>10} bytes  {r['rows']} rows")


def _measure(client, url: str) -> dict:
    tracemalloc.start()
    start = time.perf_counter()
    response = client.get(url, buffered=False)
    assert response.status_code == 200, response.status_code
    size = rows = 0
    for chunk in response.iter_encoded():
        size += len(chunk)
        rows += chunk.count(b"\n")
    response.close()
    seconds = time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    if os.environ.get("BENCH_TOP"):
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:8]:
            print(stat)
    tracemalloc.stop()
    return {"peak_kib": round(peak / 1024), "seconds": round(seconds, 2), "bytes": size, "rows": rows}


def run(sizes: list[int]) -> dict:
    from datetime import timedelta
    from decimal import Decimal

    from flask_login.utils import _create_identifier
    from flask_migrate import upgrade

    from ptce_aap import create_app
    from ptce_aap.enums import CallStatus, Role
    from ptce_aap.extensions import db
    from ptce_aap.models.base import utcnow
    from ptce_aap.services import accounts, calls
    from tests.integration.test_eligibility import _bulk_dossiers

    app = create_app()
    with app.app_context():
        upgrade()
        now = utcnow()
        call = calls.create_call(slug="bench", title="Bench", opens_at=now - timedelta(days=40),
                                 closes_at=now - timedelta(days=1), envelope_eur=Decimal(1_000_000),
                                 max_amount_eur=Decimal(100_000), status=CallStatus.OPEN)
        admin = accounts.create_user("admin@example.org", "Coop-territoire-2026", roles=(Role.ADMIN,), verified=True)
        db.session.commit()
        call_id, admin_key = call.id, admin.get_id()
        db.session.remove()
    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session.update({"_user_id": admin_key, "_fresh": True, "_id": identifier})
    results = {"python": sys.version.split()[0], "sizes": {}}
    inserted = 0
    for size in sizes:
        with app.app_context():
            from ptce_aap.models.calls import Call

            while inserted < size:
                batch = min(1000, size - inserted)
                _bulk_dossiers(db, db.session.get(Call, call_id), batch)
                db.session.commit()
                inserted += batch
            db.session.remove()
        client.get("/admin/appels/bench/dossiers.csv")  # warm-up (templates, translations, first queries)
        results["sizes"][str(size)] = {fmt: _measure(client, f"/admin/appels/bench/dossiers.{fmt}?tri=pole")
                                       for fmt in ("csv", "xlsx")}
    with app.app_context():
        db.engine.dispose()
    return results


if __name__ == "__main__":
    main()
