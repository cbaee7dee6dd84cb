"""Benchmark: the applicant's dossier pages in-process on PostgreSQL, for a draft of ``flask ptce bench-data``
(15 members, 9 financing lines, 6 documents: complete, not submitted), and its autosave. Prints and saves
latency percentiles (wall and CPU) and query counts; ``--profile LABEL`` prints a cProfile of that page instead.

    .venv/bin/python bench/dossier_pages.py [--requests 100] [--profile "summary,members"]

The load benchmark (``bench/load.py``) measures the same pages under gunicorn; this one is for profiling and
for before/after comparisons of the CPU time a request costs (less sensitive to the machine's load).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import pstats
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, load, login_client, scratch_database, testing_env  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--profile", default="", help="labels to profile (comma-separated starts)")
    parser.add_argument("--out", default="")
    parser.add_argument("--profile-dir", default="", help="also write each profile there (LABEL.prof, for pstats)")
    args = parser.parse_args()
    with scratch_database() as url:
        testing_env(url)
        results = run(args.requests, args.profile, args.profile_dir)
    if args.profile:
        return
    text = json.dumps(results, indent=2) + "\n"
    (ROOT / "bench" / "results" / "dossier_pages.json").write_text(text)
    if args.out:
        Path(args.out).write_text(text)
    for page, r in results["pages"].items():
        print(f"{page:28} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  CPU p50 {r['cpu_p50_ms']:7.2f} ms  "
              f"{r['queries']} queries  {r['kb']} kB")


def run(n: int, profile: str, profile_dir: str = "") -> dict:
    import re

    from flask_migrate import upgrade

    from ptce_aap import create_app
    from ptce_aap.cli import bench_data
    from ptce_aap.extensions import db
    from ptce_aap.models.accounts import User
    from ptce_aap.models.dossiers import Dossier

    # The autosave limit is a policy, not a cost (as in ``wsgi_bench.py``): raised above the benchmark's pace,
    # the limiter still counts every autosave.
    app = create_app({"AUTOSAVE_RATE_LIMIT": "100000 per minute"})
    logging.getLogger("ptce_aap").setLevel(logging.WARNING)
    with app.app_context():
        upgrade()
        out = bench_data.generate(dossiers=0, reviewers=0, drafts=1, slug="pages")
        db.session.commit()
        user = db.session.scalar(sa.select(User).where(User.email == out.draft_emails[0]))
        dossier_id = db.session.scalar(sa.select(Dossier.id).where(Dossier.call_id == out.draft_call.id))
        key = user.get_id()
        db.session.remove()
    client = login_client(app, key)
    base = f"/porteur/dossiers/{dossier_id}"
    pages = {"summary": base, "members": f"{base}/membres", "budget": f"{base}/budget",
             "project": f"{base}/projet", "identity": f"{base}/identite", "attachments": f"{base}/pieces",
             "dashboard": "/porteur/", "autosave (projet)": f"{base}/projet"}
    results = {"requests_per_page": n, "python": sys.version.split()[0], "load_before": load(), "pages": {}}
    with app.app_context():
        engine = db.engine
    form_page = client.get(f"{base}/projet").get_data(as_text=True)
    fields = _fields(form_page)
    state = {"version": dict(fields)["version"], "base": dict(fields)["base"]}

    def request(label, url):
        if not label.startswith("autosave"):
            return client.get(url)
        data = dict(fields) | state | {"summary": dict(fields)["summary"] + f" {time.perf_counter()}"}
        response = client.post(url, data=data, headers={"X-Autosave": "1", "Accept": "application/json"})
        body = response.get_json()
        assert body and body.get("ok"), response.get_data(as_text=True)[:200]
        state.update(version=str(body["version"]), base=body["base"])
        return response

    for label, url in pages.items():
        if profile and not any(label.startswith(p.strip()) for p in profile.split(",")):
            continue
        count: list[int] = []

        def listener(*args, count=count, **kwargs):
            count.append(1)

        sa.event.listen(engine, "before_cursor_execute", listener)
        first = request(label, url)
        sa.event.remove(engine, "before_cursor_execute", listener)
        assert first.status_code == 200, (url, first.status_code)
        if profile:
            profiler = cProfile.Profile(time.process_time)  # CPU time: waits on PostgreSQL and the load left out
            profiler.enable()
            for _ in range(30):
                request(label, url)
            profiler.disable()
            if profile_dir:
                profiler.dump_stats(str(Path(profile_dir) / f"{label.split()[0]}.prof"))
            buffer = io.StringIO()
            stats = pstats.Stats(profiler, stream=buffer)
            stats.sort_stats("cumulative").print_stats(45)
            stats.sort_stats("tottime").print_stats(25)
            print(label, url)
            print(re.sub(r"/work/\S+/site-packages/", "", buffer.getvalue()))
            continue
        times, cpu = [], []
        for _ in range(n):
            start, start_cpu = time.perf_counter(), time.process_time()
            response = request(label, url)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            assert response.status_code == 200
        times.sort()
        results["pages"][label] = {"p50_ms": round(statistics.median(times), 2),
                                   "p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
                                   "cpu_p50_ms": round(statistics.median(cpu), 2), "queries": len(count),
                                   "kb": round(len(first.get_data()) / 1024)}
    results["load_after"] = load()
    with app.app_context():
        db.engine.dispose()
    return results


def _fields(html: str) -> list[tuple[str, str]]:
    from _forms import form_fields

    return form_fields(html, "data-autosave")


if __name__ == "__main__":
    main()
