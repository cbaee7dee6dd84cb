"""Benchmark: the call-wide eligibility re-run (``services.eligibility_runs``) through the production path.

A scratch PostgreSQL database, ``flask ptce bench-data --dossiers N --reviewers 0`` (in-process ``generate``:
N dossiers eligible or ineligible, the rules' verdict stored), the app in **production settings** (Redis queue,
moto S3, aiosmtpd sink, as ``load.py``) and **W real RQ worker processes** (``flask --app wsgi ptce worker``).
The admin's request (the confirmation page's form, CSRF token included, POSTed by a logged-in test client: the
outbox row is dispatched to Redis after the commit, as a server does) starts the clock; it stops when the
``JobRun`` reads ``done``, polled every 0.2 s from another connection (what the progress page reads). The
progress seen meanwhile, the load average and the machine are written to ``results/eligibility_run.json``.

    .venv/bin/python bench/eligibility_run.py [--dossiers 10000] [--workers 2]
    .venv/bin/python bench/eligibility_run.py --dossiers 1000 --profile   # cProfile of the re-run, in-process

Target (issue 13): 10,000 dossiers with 2 workers < 120 s.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _forms import form_fields  # noqa: E402
from _setup import ROOT, load, login_client, machine, scratch_database, services, testing_env  # noqa: E402

BIN = Path(sys.executable).parent


def _generate(app, dossiers: int) -> dict:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from ptce_aap.cli import bench_data
    from ptce_aap.extensions import db
    from ptce_aap.models.accounts import User

    with app.app_context():
        upgrade()
        start = time.perf_counter()
        out = bench_data.generate(dossiers=dossiers, reviewers=0, slug=f"eligibilite-{dossiers}")
        db.session.commit()
        seconds = round(time.perf_counter() - start, 1)
        admin_key = db.session.scalar(sa.select(User).where(User.email == out.admin_email)).get_id()
        slug, call_id = out.call.slug, out.call.id
        db.session.remove()
        db.engine.dispose()
    print(f"data: {dossiers} dossiers in {seconds} s", flush=True)
    return {"slug": slug, "call_id": call_id, "admin_key": admin_key, "admin_email": out.admin_email,
            "generated_in_s": seconds}


def _poll(url: str, run_id: int, timeout: float) -> tuple[str, list]:
    """(final status, [(seconds, status, done)…]) of the JobRun, read every 0.2 s on a connection of its own."""
    import psycopg

    seen = []
    start = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        while True:
            status, done, total = conn.execute("SELECT status, done, total FROM job_runs WHERE id = %s",
                                               (run_id,)).fetchone()
            elapsed = time.perf_counter() - start
            if not seen or seen[-1][1:] != [status, done]:
                seen.append([round(elapsed, 2), status, done])
            if status in ("done", "failed") or elapsed > timeout:
                return status, seen
            time.sleep(0.2)


def run(args) -> dict:
    results = {"machine": machine(), "settings": {"dossiers": args.dossiers, "workers": args.workers}}
    print(f"machine: {results['machine']}", flush=True)
    with scratch_database() as url, services() as service_env:
        env = dict(os.environ) | service_env | {
            "PTCE_ENV": "production", "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
            "PUBLIC_BASE_URL": "http://127.0.0.1:5000", "LOG_LEVEL": "WARNING",
            "PTCE_INSTANCE_PATH": tempfile.mkdtemp(prefix="ptce_bench"), "PYTHONPATH": str(ROOT)}
        os.environ.update(env)
        from ptce_aap import create_app

        app = create_app({"SESSION_COOKIE_SECURE": False})  # the test client speaks HTTP (as bench/wsgi_bench.py)
        logging.getLogger("ptce_aap").setLevel(logging.WARNING)
        data = _generate(app, args.dossiers)
        results["data"] = {"generated_in_s": data["generated_in_s"]}
        logs = [open(Path(env["PTCE_INSTANCE_PATH"]) / f"worker-{i}.log", "wb")  # noqa: SIM115 (closed below)
                for i in range(args.workers)]
        workers = [subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "ptce", "worker"], cwd=ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True) for log in logs]
        try:
            time.sleep(4)  # the workers have imported the app and listen on the queue
            client = login_client(app, data["admin_key"])
            page = client.get(f"/admin/appels/{data['slug']}/eligibilite")
            assert page.status_code == 200, page.status_code
            fields = form_fields(page.get_data(as_text=True), "/eligibilite")
            results["load_before"] = load()
            start = time.perf_counter()
            response = client.post(f"/admin/appels/{data['slug']}/eligibilite", data=dict(fields),
                                   headers={"Referer": page.request.url})  # as a browser (CSRF checks it)
            assert response.status_code == 302, (response.status_code, re.sub(r"<[^>]+>|\s+", " ", response.get_data(as_text=True))[-1500:])
            run_id = int(re.search(r"/taches/(\d+)", response.headers["Location"]).group(1))
            status, seen = _poll(url, run_id, args.timeout)
            seconds = time.perf_counter() - start
            results["load_after"] = load()
            with app.app_context():
                from ptce_aap.extensions import db
                from ptce_aap.models.outbox import JobRun

                message = db.session.get(JobRun, run_id).message
                db.session.remove()
                db.engine.dispose()
            results["run"] = {"status": status, "seconds": round(seconds, 1), "message": message,
                              "dossiers_per_s": round(args.dossiers / seconds, 1), "progress": seen}
        finally:
            for proc in workers:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(proc.pid, signal.SIGKILL)
            for log in logs:
                log.close()
            results["worker_log_tail"] = [(Path(log.name).read_text(errors="replace")[-1500:]) for log in logs]
    results["target"] = {"seconds": 120, "met": results["run"]["status"] == "done" and results["run"]["seconds"] < 120}
    return results


def profile(args) -> None:
    """The re-run in-process (testing settings, inline jobs) under cProfile: where a dossier's time goes."""
    import sqlalchemy as sa

    with scratch_database() as url:
        testing_env(url)
        from ptce_aap import create_app
        from ptce_aap.extensions import db
        from ptce_aap.models.accounts import User
        from ptce_aap.services import eligibility, eligibility_runs

        app = create_app()
        logging.getLogger("ptce_aap").setLevel(logging.WARNING)
        data = _generate(app, args.dossiers)
        with app.app_context():
            from ptce_aap.models.calls import Call

            call = db.session.get(Call, data["call_id"])
            admin = db.session.scalar(sa.select(User).where(User.email == data["admin_email"]))
            run = eligibility.rerun_for_call(call, by=admin)
            db.session.commit()
            run_id = run.id
            db.session.remove()
            profiler = cProfile.Profile()
            start, cpu = time.perf_counter(), time.process_time()
            profiler.enable()
            eligibility_runs.rerun(run_id, data["call_id"], checkpoint=db.session.commit)
            db.session.commit()
            profiler.disable()
            print(f"re-run of {args.dossiers}: {time.perf_counter() - start:.1f} s wall, "
                  f"{time.process_time() - cpu:.1f} s CPU (under cProfile)")
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
            print(out.getvalue())
            db.session.remove()
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900, help="give up waiting after this many seconds")
    parser.add_argument("--profile", action="store_true", help="cProfile the re-run in-process instead")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "eligibility_run.json"))
    args = parser.parse_args()
    if args.profile:
        profile(args)
        return
    results = run(args)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    r = results["run"]
    print(f"eligibility re-run: {args.dossiers} dossiers, {args.workers} workers: {r['status']} in {r['seconds']} s "
          f"({r['dossiers_per_s']} dossiers/s; target < 120 s: {'met' if results['target']['met'] else 'MISSED'}); "
          f"load {results['load_before']} -> {results['load_after']}\n{r['message']}")


if __name__ == "__main__":
    main()
