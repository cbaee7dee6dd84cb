"""Benchmark: the dossier summary and section pages on PostgreSQL, for a realistic dossier
(15 members, 20 financing lines, 8 attachments). Prints and saves latency percentiles and query counts.

    .venv/bin/python bench/dossier_pages.py [--requests 200]

Target (SPEC §8, FACTS.md: ~280 req/s for a 200-row ORM page on this machine): every page under 25 ms
at the median in-process, and a constant number of queries per page.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    name = f"ptce_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update({"PTCE_ENV": "testing", "DATABASE_URL": f"postgresql://postgres@127.0.0.1/{name}",
                       "PTCE_INSTANCE_PATH": tempfile.mkdtemp(prefix=name)})
    for var in ("REDIS_URL", "S3_BUCKET", "MAIL_SERVER"):
        os.environ.pop(var, None)
    try:
        results = run(args.requests)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    out = ROOT / "bench" / "results" / "dossier_pages.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    for page, r in results["pages"].items():
        print(f"{page:28} p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms  {r['queries']} queries")


def run(n: int) -> dict:
    from datetime import timedelta
    from decimal import Decimal

    from flask_login.utils import _create_identifier
    from flask_migrate import upgrade

    from ptce_aap import create_app
    from ptce_aap.enums import CallStatus, FinancingKind, Role
    from ptce_aap.extensions import db
    from ptce_aap.models.base import utcnow
    from ptce_aap.models.dossiers import FinancingLine
    from ptce_aap.services import accounts, calls, dossiers
    from tests.fixtures.builders import fill_dossier

    app = create_app()
    with app.app_context():
        upgrade()
        now = utcnow()
        call = calls.create_call(slug="bench", title="Bench", opens_at=now - timedelta(days=1),
                                 closes_at=now + timedelta(days=30), envelope_eur=Decimal(1_000_000),
                                 max_amount_eur=Decimal(100_000), status=CallStatus.OPEN)
        user = accounts.create_user("bench@example.org", "Coop-territoire-2026", roles=(Role.APPLICANT,), verified=True)
        dossier = dossiers.start_dossier(call, pole_name="Pôle bench", by=user)
        fill_dossier(dossier, members=15)
        for i in range(16):
            dossier.financing_lines.append(FinancingLine(position=10 + i, kind=FinancingKind.EXPENSE,
                                                         label=f"Ligne {i}", amount_eur=Decimal(100)))
        db.session.commit()
        dossier_id, user_key = dossier.id, user.get_id()
        db.session.remove()
    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session.update({"_user_id": user_key, "_fresh": True, "_id": identifier})
    pages = {"summary": f"/porteur/dossiers/{dossier_id}", "members": f"/porteur/dossiers/{dossier_id}/membres",
             "budget": f"/porteur/dossiers/{dossier_id}/budget", "attachments": f"/porteur/dossiers/{dossier_id}/pieces",
             "dashboard": "/porteur/", "call page": "/appels/bench"}
    results = {"requests_per_page": n, "python": sys.version.split()[0], "pages": {}}
    with app.app_context():
        engine = db.engine
    for label, url in pages.items():
        count: list[int] = []

        def listener(*args, count=count, **kwargs):
            count.append(1)

        sa.event.listen(engine, "before_cursor_execute", listener)
        assert client.get(url).status_code == 200
        sa.event.remove(engine, "before_cursor_execute", listener)
        times = []
        for _ in range(n):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        times.sort()
        results["pages"][label] = {"p50_ms": round(statistics.median(times), 2),
                                   "p95_ms": round(times[int(len(times) * 0.95) - 1], 2), "queries": len(count)}
    with app.app_context():
        db.engine.dispose()
    return results


if __name__ == "__main__":
    main()
