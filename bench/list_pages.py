"""Benchmark: the call-wide lists in-process on PostgreSQL (issue 13): the admin instruction list (pages 1 and 20,
sorted by score, filtered by minimum score and « désaccord »), the ranking (pages 1 and 20, filtered) and the API
dossier list (pages 1 and 20, bearer token), each on calls of ``flask ptce bench-data`` of several sizes. Prints
and saves wall p50/p95, CPU p50 and query counts; ``--profile LABEL`` prints a cProfile (CPU time) instead.

    .venv/bin/python bench/list_pages.py [--sizes 500,2000,5000] [--requests 20] [--profile "instruction p1"]
        [--keep]  # the scratch database is kept (its name printed) and reused by --database NAME

The load benchmark (``bench/load.py``) measures the same pages under gunicorn; this one measures the CPU time a
request costs (less sensitive to the machine's load) and whether it is flat in the size of the call.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import logging
import pstats
import re
import statistics
import sys
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ADMIN, ROOT, load, login_client, scratch_database, testing_env  # noqa: E402


def pages(slug: str) -> dict[str, str]:
    admin = f"/admin/appels/{slug}"
    return {"instruction p1": f"{admin}/dossiers",
            "instruction p20": f"{admin}/dossiers?page=20",
            "instruction by score": f"{admin}/dossiers?tri=note&ordre=desc",
            "instruction filtered": f"{admin}/dossiers?note_min=50&desaccord=1",
            "ranking p1": f"{admin}/classement",
            "ranking p20": f"{admin}/classement?page=20",
            "ranking filtered": f"{admin}/classement?desaccord=y&min=40&tri=moyenne",
            "api p1": f"/api/v1/calls/{slug}/dossiers",
            "api p8": f"/api/v1/calls/{slug}/dossiers?page=8"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="500,2000,5000")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--profile", default="", help="labels to profile (comma-separated starts)")
    parser.add_argument("--database", default="", help="reuse this scratch database (made by --keep)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.database:
        database = contextlib.nullcontext(f"postgresql+psycopg://postgres@127.0.0.1:5432/{args.database}")
    elif args.keep:
        database = contextlib.nullcontext(_new_database())
    else:
        database = scratch_database()
    with database as url:
        testing_env(url)
        print("database", url.rsplit("/", 1)[1], flush=True)
        results = run(sizes, args.requests, args.profile)
    if args.profile:
        return
    text = json.dumps(results, indent=2) + "\n"
    (ROOT / "bench" / "results" / "list_pages.json").write_text(text)
    if args.out:
        Path(args.out).write_text(text)
    print(f"load average {results['load_before']} -> {results['load_after']}")
    for size, by_page in results["sizes"].items():
        for page, r in by_page.items():
            print(f"{size:>5} {page:22} p50 {r['p50_ms']:8.1f} ms  p95 {r['p95_ms']:8.1f} ms  "
                  f"CPU p50 {r['cpu_p50_ms']:8.1f} ms  {r['queries']:3} queries  {r['kb']:4} kB")


def _new_database() -> str:
    import uuid

    name = f"ptce_bench_lists_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _prepare(app, sizes: list[int]) -> dict[int, dict]:
    """Each size's call (generated unless the database already has it), its admin and an API token."""
    from flask_migrate import upgrade

    from ptce_aap.cli import bench_data
    from ptce_aap.extensions import db
    from ptce_aap.models.accounts import User
    from ptce_aap.models.calls import Call
    from ptce_aap.services import api_tokens

    out = {}
    with app.app_context():
        upgrade()
        for size in sizes:
            slug = f"lists-{size}"
            if db.session.scalar(sa.select(Call.id).where(Call.slug == slug)) is None:
                started = time.monotonic()
                bench_data.generate(dossiers=size, reviewers=60, slug=slug)
                db.session.commit()
                print(f"generated {size} dossiers in {time.monotonic() - started:.1f} s", flush=True)
            admin = db.session.scalar(sa.select(User).where(User.email == f"admin-{slug}-0@bench.example.org"))
            _token, raw = api_tokens.create(admin, label=f"bench {time.time()}", by=admin)
            db.session.commit()
            out[size] = {"slug": slug, "admin": admin.get_id(), "token": raw}
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        db.session.remove()
    return out


def run(sizes: list[int], n: int, profile: str) -> dict:
    from ptce_aap import create_app
    from ptce_aap.extensions import db

    app = create_app()
    logging.getLogger("ptce_aap").setLevel(logging.WARNING)
    contexts = _prepare(app, sizes)
    with app.app_context():
        engine = db.engine
    results = {"requests_per_page": n, "python": sys.version.split()[0], "load_before": load(), "sizes": {}}
    for size in sizes:
        ctx = contexts[size]
        client = login_client(app, ctx["admin"])
        bearer = {"Authorization": f"Bearer {ctx['token']}"}
        results["sizes"][size] = {}
        for label, url in pages(ctx["slug"]).items():
            if profile and not any(label.startswith(p.strip()) for p in profile.split(",")):
                continue
            headers = bearer if label.startswith("api") else {}
            count: list[int] = []

            def listener(*args, count=count, **kwargs):
                count.append(1)

            sa.event.listen(engine, "before_cursor_execute", listener)
            first = client.get(url, headers=headers)
            sa.event.remove(engine, "before_cursor_execute", listener)
            assert first.status_code == 200, (url, first.status_code, first.get_data(as_text=True)[:300])
            if profile:
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                for _ in range(n):
                    client.get(url, headers=headers)
                profiler.disable()
                buffer = io.StringIO()
                stats = pstats.Stats(profiler, stream=buffer)
                stats.sort_stats("cumulative").print_stats(45)
                stats.sort_stats("tottime").print_stats(25)
                print(size, label, url)
                print(re.sub(r"/work/\S+/site-packages/", "", buffer.getvalue()))
                continue
            times, cpu = [], []
            for _ in range(n):
                start, start_cpu = time.perf_counter(), time.process_time()
                response = client.get(url, headers=headers)
                times.append((time.perf_counter() - start) * 1000)
                cpu.append((time.process_time() - start_cpu) * 1000)
                assert response.status_code == 200
            times.sort()
            results["sizes"][size][label] = {
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(times[max(0, int(len(times) * 0.95 + 0.5) - 1)], 1),
                "cpu_p50_ms": round(statistics.median(cpu), 1), "queries": len(count),
                "kb": round(len(first.get_data()) / 1024)}
            print(size, label, results["sizes"][size][label], flush=True)
    results["load_after"] = load()
    with app.app_context():
        db.engine.dispose()
    return results


if __name__ == "__main__":
    main()
