"""Benchmark: the reviewer's dashboard and the admin's scores page at issue 10's volume (1,000 submitted
dossiers, 60 reviewers, 2 reviewers per dossier, about two thirds of the reviews submitted). Prints and
saves latency percentiles and query counts.

    .venv/bin/python bench/review_pages.py [--requests 50]

Target (issue 10, point 9): the reviewer dashboard well under 100 ms (pretalx 2026.2's review dashboard
takes 4–9 s on this machine at the same volume). The scores page shows all 1,000 dossiers at once.
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
DOSSIERS, REVIEWERS = 1000, 60


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
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
    out = ROOT / "bench" / "results" / "review_pages.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    for page, r in results["pages"].items():
        print(f"{page:28} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  {r['queries']} queries")


def _client(app, user_key: str):
    from flask_login.utils import _create_identifier

    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session.update({"_user_id": user_key, "_fresh": True, "_id": identifier})
    return client


def run(n: int) -> dict:
    import random
    from datetime import timedelta
    from decimal import Decimal

    from flask_migrate import upgrade

    from ptce_aap import create_app
    from ptce_aap.enums import AssignmentStatus, CallStatus, DossierStatus, Recommendation, Role
    from ptce_aap.extensions import db
    from ptce_aap.models.base import utcnow
    from ptce_aap.models.dossiers import Dossier, Pole
    from ptce_aap.models.reviews import Assignment, Review, ReviewScore
    from ptce_aap.services import accounts, calls

    rng = random.Random(2026)
    app = create_app()
    with app.app_context():
        upgrade()
        now = utcnow()
        call = calls.create_call(slug="bench", title="Bench", opens_at=now - timedelta(days=60),
                                 closes_at=now - timedelta(days=30), envelope_eur=Decimal(1_000_000),
                                 max_amount_eur=Decimal(100_000), status=CallStatus.REVIEW)
        call.review_deadline_at = now + timedelta(days=10)
        admin = accounts.create_user("admin@example.org", "Coop-territoire-2026", roles=(Role.ADMIN,), verified=True)
        owner = accounts.create_user("porteur@example.org", "Coop-territoire-2026", verified=True)
        institutions = [accounts.get_or_create_institution(f"Institution {i}", f"I{i}") for i in range(8)]
        reviewers = [accounts.create_user(f"r{i}@example.org", "Coop-territoire-2026", roles=(Role.REVIEWER,),
                                          institution=institutions[i % 8], verified=True) for i in range(REVIEWERS)]
        db.session.flush()
        criteria = list(call.criteria)
        poles = [Pole(name=f"Pôle {i}", created_by_id=owner.id) for i in range(DOSSIERS)]
        db.session.add_all(poles)
        db.session.flush()
        dossiers = [Dossier(call_id=call.id, pole_id=p.id, pole_name=p.name, status=DossierStatus.SUBMITTED,
                            region_code=rng.choice(["11", "84", "93", "76"]), submitted_at=now) for p in poles]
        db.session.add_all(dossiers)
        db.session.flush()
        for i, d in enumerate(dossiers):
            for k in (i % REVIEWERS, (i + 1 + i // REVIEWERS) % REVIEWERS):
                a = Assignment(dossier_id=d.id, reviewer_id=reviewers[k].id, institution_id=reviewers[k].institution_id)
                db.session.add(a)
                if rng.random() < 0.67:
                    a.status = AssignmentStatus.SUBMITTED
                    db.session.add(Review(assignment=a, recommendation=Recommendation.FAVORABLE, submitted_at=now,
                                          scores=[ReviewScore(criterion_id=c.id, score=rng.randint(0, 5),
                                                              comment="Motivé.") for c in criteria]))
        db.session.commit()
        admin_key, reviewer_key = admin.get_id(), reviewers[7].get_id()
        db.session.remove()
    pages = {"reviewer dashboard": (reviewer_key, "/rapporteur/"),
             "reviewer dashboard, page 2": (reviewer_key, "/rapporteur/?page=2&tri=pole"),
             "admin scores (1,000 rows)": (admin_key, "/admin/appels/bench/notes"),
             "admin scores CSV": (admin_key, "/admin/appels/bench/notes.csv")}
    results = {"requests_per_page": n, "python": sys.version.split()[0], "dossiers": DOSSIERS,
               "reviewers": REVIEWERS, "pages": {}}
    with app.app_context():
        engine = db.engine
    for label, (key, url) in pages.items():
        client = _client(app, key)
        count: list[int] = []

        def listener(*args, count=count, **kwargs):
            count.append(1)

        sa.event.listen(engine, "before_cursor_execute", listener)
        assert client.get(url).status_code == 200, url
        sa.event.remove(engine, "before_cursor_execute", listener)
        times = []
        for _ in range(n if "admin" not in label else max(5, n // 5)):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        times.sort()
        results["pages"][label] = {"p50_ms": round(statistics.median(times), 2),
                                   "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 2),
                                   "queries": len(count)}
    with app.app_context():
        db.engine.dispose()
    return results


if __name__ == "__main__":
    main()
