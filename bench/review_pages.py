"""Benchmark: the review pages at issue 10's volume, on PostgreSQL, in-process (Flask test client, warm):
1,000 eligible dossiers, 60 reviewers of 8 institutions in the call's pool, ~5 % of the pairs in conflict
(declared, set and detected), then 2 reviewers per dossier with about two thirds of the reviews submitted.

Timed: the exact assignment proposal (``services.assignments.propose``, 1,000 × 60, no assignment yet, as
the admin's proposal page computes it), then the reviewer dashboard (pages 1 and 2), the scoring form (the
reading view beside the grid) of a review in progress and of a submitted one (the others' reviews shown), the
review's autosave (POST with the page's CSRF token, each one changing a comment), the admin's assignment
page, scores page (and its CSV), pool page and conflicts page — p50/p95 over repeated requests, with each
page's query count. The dossiers of the reviewer measured are filled as ``flask ptce bench-data`` fills its
own (texts, 15 members, 9 financing lines, the required documents, transitions, the rules' verdict). Prints and writes ``bench/results/review_pages.json`` (``--out`` to keep another copy).

    .venv/bin/python bench/review_pages.py [--requests 50] [--solves 3] [--profile "admin scores"]

Targets (issue 10, point 9): pages well under 100 ms (pretalx 2026.2's review dashboard takes 4–9 s on
this machine at the same volume), the solver a few seconds. ``--profile LABEL`` prints a cProfile of that
page (20 requests, sorted by cumulative time) instead of writing results.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
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
DOSSIERS, REVIEWERS, INSTITUTIONS = 1000, 60, 8


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--solves", type=int, default=3)
    parser.add_argument("--profile", default="", help="labels (or their starts, comma-separated) to profile")
    parser.add_argument("--out", default="", help="another file to write the results to")
    parser.add_argument("--queries", action="store_true", help="print the statements of each page's first request")
    parser.add_argument("--only", default="", help="time only these labels (or their starts, comma-separated); "
                                                   "the results are printed, not written")
    args = parser.parse_args()
    name = f"ptce_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ.update({"PTCE_ENV": "testing", "DATABASE_URL": f"postgresql://postgres@127.0.0.1/{name}",
                       "PTCE_INSTANCE_PATH": tempfile.mkdtemp(prefix=name)})
    for var in ("REDIS_URL", "S3_BUCKET", "MAIL_SERVER"):
        os.environ.pop(var, None)
    try:
        results = run(args.requests, args.solves, args.profile or args.only, profiling=bool(args.profile),
                      show_queries=args.queries)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if args.profile:
        return
    text = json.dumps(results, indent=2) + "\n"
    if args.out:
        Path(args.out).write_text(text)
    if not args.only:
        (ROOT / "bench" / "results" / "review_pages.json").write_text(text)
    s = results["solver"]
    print("load average", results["load_before"], "->", results["load_after"])
    print(f"{'solver propose (1,000 x 60)':30} p50 {s['p50_ms']:8.1f} ms  max {s['max_ms']:8.1f} ms  "
          f"CPU p50 {s['cpu_p50_ms']:8.1f} ms  "
          f"{s['new_pairs']} pairs, optimal: {s['optimal']}")
    for page, r in results["pages"].items():
        print(f"{page:30} p50 {r['p50_ms']:8.2f} ms  p95 {r['p95_ms']:8.2f} ms  CPU p50 {r['cpu_p50_ms']:7.2f} ms  "
              f"{r['queries']} queries  {r['kb']} kB")


def _client(app, user_key: str):
    from flask_login.utils import _create_identifier

    client = app.test_client()
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session.update({"_user_id": user_key, "_fresh": True, "_id": identifier})
    return client


def _autosaver(client, url: str):
    """A function that autosaves the review form of ``url`` as its script does (the fields of the page, its CSRF
    token, ``X-Autosave: 1``), one comment changed each time, and returns the response (asserted saved)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from _forms import form_fields

    fields = dict(form_fields(client.get(url).get_data(as_text=True), "data-autosave"))
    comment = next(name for name in fields if name.startswith("comment_"))
    state = {"version": fields["version"], "base": fields["base"]}

    def save():
        data = fields | state | {comment: f"Commentaire en cours d'écriture, {time.perf_counter()}."}
        response = client.post(url, data=data, headers={"X-Autosave": "1", "Accept": "application/json"})
        body = response.get_json()
        assert body and body.get("ok"), response.get_data(as_text=True)[:300]
        state.update(version=str(body["version"]), base=body["base"])
        return response

    return save


def _percentiles(times: list[float]) -> dict:
    times = sorted(times)
    return {"p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[max(0, int(len(times) * 0.95 + 0.5) - 1)], 2), "n": len(times)}


def build(rng):
    """The call, its pool, conflicts and eligible dossiers (bulk rows: this is load, not a journey)."""
    from datetime import timedelta
    from decimal import Decimal

    from ptce_aap.enums import CallStatus, ConflictSource, DossierStatus, InstitutionKind, Role
    from ptce_aap.extensions import db
    from ptce_aap.models.accounts import Institution
    from ptce_aap.models.base import utcnow
    from ptce_aap.models.dossiers import Dossier, Pole
    from ptce_aap.models.pool import ReviewerPoolMember
    from ptce_aap.models.reviews import ConflictOfInterest
    from ptce_aap.services import accounts, calls

    now = utcnow()
    call = calls.create_call(slug="bench", title="Bench", opens_at=now - timedelta(days=60),
                             closes_at=now - timedelta(days=30), envelope_eur=Decimal(1_000_000),
                             max_amount_eur=Decimal(100_000), status=CallStatus.REVIEW)
    call.review_deadline_at = now + timedelta(days=10)
    admin = accounts.create_user("admin@example.org", "Coop-territoire-2026", roles=(Role.ADMIN,), verified=True)
    owner = accounts.create_user("porteur@example.org", "Coop-territoire-2026", verified=True)
    kinds = list(InstitutionKind)
    institutions = [Institution(name=f"Institution {i}", short_name=f"I{i}", kind=kinds[i % len(kinds)])
                    for i in range(INSTITUTIONS)]
    db.session.add_all(institutions)
    db.session.flush()
    reviewers = [accounts.create_user(f"r{i}@example.org", "Coop-territoire-2026", roles=(Role.REVIEWER,),
                                      full_name=f"Rapporteur {i:02d}", institution=institutions[i % INSTITUTIONS],
                                      verified=True) for i in range(REVIEWERS)]
    db.session.flush()
    regions = ["11", "84", "93", "76", "32", "44", "75", "53"]
    domains = ["alimentation", "emploi_insertion", "mobilite", "energie", "culture", "economie_circulaire"]
    db.session.add_all([ReviewerPoolMember(call_id=call.id, user_id=r.id, institution_id=r.institution_id,
                                           capacity=45, activity_domains=rng.sample(domains, 2),
                                           region_codes=[regions[i % len(regions)]], invited_by_id=admin.id)
                        for i, r in enumerate(reviewers)])
    poles = [Pole(name=f"Pôle {i:04d}", created_by_id=owner.id) for i in range(DOSSIERS)]
    db.session.add_all(poles)
    db.session.flush()
    dossiers = [Dossier(call_id=call.id, pole_id=p.id, pole_name=p.name, status=DossierStatus.ELIGIBLE,
                        region_code=rng.choice(regions), activity_domains=rng.sample(domains, 2),
                        submitted_at=now) for p in poles]
    db.session.add_all(dossiers)
    db.session.flush()
    sources = [ConflictSource.DECLARED, ConflictSource.ADMIN, ConflictSource.DETECTED]
    conflicts = {(d.pole_id, r.id) for d in dossiers for r in reviewers if rng.random() < 0.05}
    db.session.add_all([ConflictOfInterest(call_id=call.id, reviewer_id=r, pole_id=p, source=sources[(p + r) % 3],
                                           reason="Bench.", declared_by_id=r if (p + r) % 3 == 0 else admin.id)
                        for p, r in sorted(conflicts)])
    db.session.commit()
    return call, admin, reviewers, dossiers, conflicts


def assign_and_review(rng, call, reviewers, dossiers, conflicts, pairs) -> None:
    from ptce_aap.enums import AssignmentStatus, DossierStatus, Recommendation
    from ptce_aap.extensions import db
    from ptce_aap.models.base import utcnow
    from ptce_aap.models.reviews import Assignment, Review, ReviewScore

    now = utcnow()
    criteria = list(call.criteria)
    by_id = {r.id: r for r in reviewers}
    for dossier_id, reviewer_id in pairs:
        r = by_id[reviewer_id]
        a = Assignment(dossier_id=dossier_id, reviewer_id=r.id, institution_id=r.institution_id,
                       due_at=call.review_deadline_at)
        db.session.add(a)
        roll = rng.random()
        if roll < 0.67:
            a.status = AssignmentStatus.SUBMITTED
            db.session.add(Review(assignment=a, recommendation=rng.choice(list(Recommendation)), submitted_at=now,
                                  confidential_note="À discuter." if roll < 0.05 else "",
                                  scores=[ReviewScore(criterion_id=c.id, score=rng.randint(1, 5), comment="Motivé.")
                                          for c in criteria]))
        elif roll < 0.8:
            a.status = AssignmentStatus.IN_PROGRESS
            db.session.add(Review(assignment=a, scores=[ReviewScore(criterion_id=criteria[0].id, score=3,
                                                                    comment="")]))
    for d in dossiers:
        d.status = DossierStatus.IN_REVIEW
    db.session.commit()


def fill(rng, call, dossier_ids: list[int]) -> None:
    """Give ``dossier_ids`` what a submitted dossier of ``bench-data`` has (its own helpers): the texts and
    facts, 15 members, a balanced financing plan, the required documents (rows), a receipt number, the
    transitions and the rules' real verdict."""
    from datetime import timedelta

    from ptce_aap.cli import bench_data
    from ptce_aap.domain import eligibility as rules
    from ptce_aap.enums import DossierStatus
    from ptce_aap.extensions import db
    from ptce_aap.models.base import utcnow
    from ptce_aap.models.dossiers import Dossier, DossierTransition, EligibilityCheck
    from ptce_aap.services.eligibility import call_facts, dossier_facts

    now = utcnow()
    dossiers = [db.session.get(Dossier, i) for i in dossier_ids]
    rows = bench_data._dossier_rows(call, [d.pole_id for d in dossiers], 0, rng, now, submitted=True,
                                    status=lambda _n: DossierStatus.IN_REVIEW)
    for dossier, row in zip(dossiers, rows, strict=True):
        for key in ("call_id", "pole_id", "status", "version", "created_at", "updated_at", "region_code"):
            row.pop(key)
        row["pole_name"] = dossier.pole_name
        for key, value in row.items():
            setattr(dossier, key, value)
        dossier.receipt_number = f"PTCE-{now.year}-{dossier.id:06d}"
    db.session.flush()
    bench_data._contents(call, dossier_ids, [r["total_budget_eur"] for r in rows], 0, rng, now, ineligible_every=0)
    db.session.expire_all()
    facts = call_facts(db.session.get(type(call), call.id))
    for dossier in dossiers:
        verdict = rules.evaluate(dossier_facts(dossier), facts)
        db.session.add(EligibilityCheck(dossier_id=dossier.id, is_eligible=verdict.is_eligible, ran_at=now,
                                        results=[r.as_dict() for r in verdict.results]))
        at = dossier.submitted_at - timedelta(days=5)
        db.session.add_all([
            DossierTransition(dossier_id=dossier.id, from_status=DossierStatus.DRAFT,
                              to_status=DossierStatus.SUBMITTED, reason="", at=at),
            DossierTransition(dossier_id=dossier.id, from_status=DossierStatus.SUBMITTED,
                              to_status=DossierStatus.ELIGIBLE, reason="Vérification automatique.",
                              at=at + timedelta(minutes=2)),
            DossierTransition(dossier_id=dossier.id, from_status=DossierStatus.ELIGIBLE,
                              to_status=DossierStatus.IN_REVIEW, reason="", at=now)])
    db.session.commit()


def run(n: int, solves: int, labels: str, *, profiling: bool = False, show_queries: bool = False) -> dict:
    import random

    from flask_migrate import upgrade

    from ptce_aap import create_app
    from ptce_aap.extensions import db
    from ptce_aap.models.calls import Call
    from ptce_aap.models.reviews import Assignment
    from ptce_aap.services import assignments

    rng = random.Random(2026)
    # As bench/wsgi_bench.py: the autosave limit is a policy, not a cost (the limiter still counts each one).
    app = create_app({"AUTOSAVE_RATE_LIMIT": "100000 per minute"})
    logging.getLogger("ptce_aap").setLevel(logging.WARNING)  # one JSON line per request otherwise
    results = {"requests_per_page": n, "python": sys.version.split()[0], "dossiers": DOSSIERS,
               "reviewers": REVIEWERS, "institutions": INSTITUTIONS, "load_before": os.getloadavg(), "pages": {}}
    with app.app_context():
        upgrade()
        call, admin, reviewers, dossiers, conflicts = build(rng)
        results["conflicts"] = len(conflicts)
        times, cpu, proposal = [], [], None
        for _ in range(solves):
            db.session.expire_all()
            start, start_cpu = time.perf_counter(), time.process_time()
            proposal = assignments.propose(db.session.get(Call, call.id))
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        pairs = list(proposal.proposal.new)
        results["solver"] = {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
                             "cpu_p50_ms": round(statistics.median(cpu), 1), "runs": solves, "new_pairs": len(pairs),
                             "optimal": bool(getattr(proposal.proposal, "optimal", True))}
        assign_and_review(rng, call, reviewers, dossiers, conflicts, pairs)
        admin_key = admin.get_id()
        busiest = max(reviewers, key=lambda r: sum(1 for _d, rid in pairs if rid == r.id))
        reviewer_key = busiest.get_id()
        results["reviewer_dossiers"] = sum(1 for _d, rid in pairs if rid == busiest.id)
        mine = list(db.session.scalars(sa.select(Assignment).where(Assignment.reviewer_id == busiest.id)
                                       .order_by(Assignment.id)))
        fill(rng, call, [a.dossier_id for a in mine])
        # A review in progress (the form editable, the others hidden), and a submitted one of a dossier whose
        # other review is submitted too (shown).
        draft_dossier = next(a.dossier_id for a in mine if a.review is not None and a.review.submitted_at is None)
        done_dossier = next(a.dossier_id for a in mine if a.review is not None and a.review.submitted_at is not None
                            and all(o.review is not None and o.review.submitted_at is not None
                                    for o in db.session.scalars(sa.select(Assignment).where(
                                        Assignment.dossier_id == a.dossier_id))))
        db.session.remove()
    pages = {"reviewer dashboard": (reviewer_key, "/rapporteur/"),
             "reviewer dashboard, page 2": (reviewer_key, "/rapporteur/?page=2&tri=pole"),
             "scoring form (in progress)": (reviewer_key, f"/rapporteur/dossiers/{draft_dossier}/evaluation"),
             "scoring form (submitted)": (reviewer_key, f"/rapporteur/dossiers/{done_dossier}/evaluation"),
             "review autosave": (reviewer_key, f"/rapporteur/dossiers/{draft_dossier}/evaluation"),
             "admin assignments": (admin_key, "/admin/appels/bench/affectations"),
             "admin scores": (admin_key, "/admin/appels/bench/notes"),
             "admin scores CSV": (admin_key, "/admin/appels/bench/notes.csv"),
             "admin ranking": (admin_key, "/admin/appels/bench/classement"),
             "admin ranking XLSX": (admin_key, "/admin/appels/bench/classement.xlsx"),
             "admin pool": (admin_key, "/admin/appels/bench/rapporteurs"),
             "admin conflicts": (admin_key, "/admin/appels/bench/conflits")}
    with app.app_context():
        engine = db.engine
    for label, (key, url) in pages.items():
        if labels and not any(label.startswith(p.strip()) for p in labels.split(",")):
            continue
        client = _client(app, key)
        get = _autosaver(client, url) if label == "review autosave" else lambda client=client, url=url: client.get(url)
        count: list[int] = []

        def listener(_conn, _cursor, statement, *args, count=count, label=label, **kwargs):
            count.append(1)
            if show_queries:
                print(f"  [{label} {len(count)}] {' '.join(statement.split())[:400]}")

        sa.event.listen(engine, "before_cursor_execute", listener)
        first = get()
        sa.event.remove(engine, "before_cursor_execute", listener)
        assert first.status_code == 200, (url, first.status_code)
        if profiling:
            profiler = cProfile.Profile(time.process_time)  # CPU time: waits on PostgreSQL and the load left out
            profiler.enable()
            for _ in range(20):
                get()
            profiler.disable()
            if os.environ.get("BENCH_PROFILE_DUMP"):
                profiler.dump_stats(os.environ["BENCH_PROFILE_DUMP"])
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "60")))
            stats.sort_stats("tottime").print_stats(25)
            print(label, url)
            print(out.getvalue())
            continue
        times, cpu = [], []
        for _ in range(n):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = get()
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            assert response.status_code == 200
        # Wall time depends on the other processes of the machine; the CPU time of this process (Python,
        # templates, drivers — not PostgreSQL's) much less.
        results["pages"][label] = _percentiles(times) | {"cpu_p50_ms": round(statistics.median(cpu), 2),
                                                         "queries": len(count),
                                                         "kb": round(len(first.get_data()) / 1024)}
    results["load_after"] = os.getloadavg()
    with app.app_context():
        db.engine.dispose()
    return results


if __name__ == "__main__":
    main()
