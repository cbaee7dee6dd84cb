"""Load benchmarks (issue 13, point 3): gunicorn in production settings on loopback (PostgreSQL, Redis, a moto S3
server, an aiosmtpd sink, one RQ worker), driven by locust headless (``bench/locustfile.py``), one scenario at a
time. Every scenario prints req/s, p50/p95/p99, errors and its ratio to ``/healthz/live`` measured in the same
run (at the start and at the end: the ratio uses their mean), with the load average at that moment.

    .venv/bin/python bench/load.py [--dossiers 2000] [--sizes 500,2000] [--seconds 8] [--users 6]
                                   [--rush-users 50] [--rush-seconds 30] [--workers 5]

The data: ``flask ptce bench-data``'s generator (``ptce_aap.cli.bench_data.generate``) — one call in review of
``--dossiers`` dossiers with 60 reviewers, and an open call with ``--rush-users`` complete drafts for the
applicant pages and the deadline rush; ``--sizes`` adds calls of those sizes for the scaling curve (the lists
and the reviewer dashboard again on each). Writes ``bench/results/load.json``; ``bench/report.py`` renders it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, free_port, load, machine, scratch_database, services  # noqa: E402

BIN = Path(sys.prefix) / "bin"
THROUGHPUT = ["summary", "members", "budget", "project", "autosave", "reviewer_dashboard", "scoring_form",
              "instruction_list", "ranking", "api_list"]
LISTS = ["reviewer_dashboard", "instruction_list", "ranking", "api_list"]
# Targets (issue 13, point 4): the least ratio to /healthz/live of the same run.
TARGETS = {"summary": 0.12, "members": 0.12, "budget": 0.12, "project": 0.12, "autosave": 0.25,
           "reviewer_dashboard": 0.10, "instruction_list": 0.10, "api_list": 0.10}


def percentile(times: list[float], q: float) -> float:
    times = sorted(times)
    return times[max(0, min(len(times) - 1, int(round(q * len(times) + 0.5)) - 1))]


def summarise(records: dict) -> dict:
    out = {}
    for name, r in records.items():
        t = r["times"]
        span = max(r["last"] - r["first"], 1e-6)
        out[name] = {"requests": len(t), "rps": round(len(t) / span, 1), "p50_ms": round(statistics.median(t), 1),
                     "p95_ms": round(percentile(t, 0.95), 1), "p99_ms": round(percentile(t, 0.99), 1),
                     "errors": r["errors"], "error_kinds": r["error_kinds"]}
    return out


def build(size: int, drafts: int) -> dict:
    """The volume of one call (in-process, production settings, committed); the context locust reads."""
    import sqlalchemy as sa

    from ptce_aap.cli import bench_data
    from ptce_aap.extensions import db
    from ptce_aap.models.accounts import User
    from ptce_aap.models.dossiers import Dossier
    from ptce_aap.models.reviews import Assignment
    from ptce_aap.services import api_tokens

    started = time.monotonic()
    out = bench_data.generate(dossiers=size, reviewers=60, drafts=drafts, slug=f"bench-{size}")
    admin = db.session.scalar(sa.select(User).where(User.email == out.admin_email))
    _token, raw = api_tokens.create(admin, label="bench", by=admin)
    db.session.commit()
    reviewers = []
    for email in out.reviewer_emails[:8]:
        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        ids = db.session.scalars(sa.select(Assignment.dossier_id).where(Assignment.reviewer_id == user_id)
                                 .order_by(Assignment.id).limit(20)).all()
        reviewers.append({"email": email, "dossier_ids": list(ids)})
    drafts_ctx = []
    if out.draft_call is not None:
        # One applicant per draft, inserted in the same order.
        ids = db.session.scalars(sa.select(Dossier.id).where(Dossier.call_id == out.draft_call.id)
                                 .order_by(Dossier.id)).all()
        drafts_ctx = [{"email": email, "dossier_id": d} for email, d in zip(out.draft_emails, ids, strict=True)]
    seconds = round(time.monotonic() - started, 1)
    db.session.remove()
    return {"slug": out.call.slug, "dossiers": size, "admin": out.admin_email, "token": raw,
            "reviewers": reviewers, "drafts": drafts_ctx, "password": bench_data.BENCH_PASSWORD,
            "generated_in_s": seconds, "counts": out.counts}


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 (loopback)
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def run_locust(host: str, scenario: str, context: dict, users: int, seconds: int, env: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="ptce_locust") as tmp:
        ctx, out = Path(tmp) / "context.json", Path(tmp) / "out.json"
        ctx.write_text(json.dumps(context))
        cmd = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "-u", str(users),
               "-r", str(users), "--host", host, "--only-summary", "--stop-timeout", "5",
               "--loglevel", "ERROR"]
        before = load()
        proc = subprocess.run(cmd, env=env | {"BENCH_SCENARIO": scenario, "BENCH_CONTEXT": str(ctx),
                                              "BENCH_OUT": str(out),
                                              "BENCH_USERS": str(users), "BENCH_SECONDS": str(seconds)},
                              capture_output=True, text=True, timeout=seconds + 300)
        records = json.loads(out.read_text()) if out.exists() else {}
        if not records:  # nothing answered in time: say so, go on with the other scenarios
            print(f"locust {scenario}: no request completed\n{proc.stdout[-1500:]}", file=sys.stderr)
            records = {scenario: {"times": [0.0], "first": 0, "last": 1, "errors": 1,
                                  "error_kinds": {"no request completed in the run": 1}}}
        return {"users": users, "seconds": seconds, "load_before": before, "load_after": load(),
                "names": summarise(records)}


def main_name(result: dict) -> str:
    return max(result["names"], key=lambda n: result["names"][n]["requests"])


def report_line(label: str, result: dict, live_rps: float | None) -> str:
    name = main_name(result)
    r = result["names"][name]
    ratio = f"{100 * r['rps'] / live_rps:5.1f} %" if live_rps else "   —   "
    return (f"{label:44} {r['rps']:8.1f} req/s  p50 {r['p50_ms']:6.1f}  p95 {r['p95_ms']:6.1f}  "
            f"p99 {r['p99_ms']:6.1f} ms  errors {r['errors']:3}  ratio {ratio}  load {result['load_before']}"
            + (f"\n    errors: {r['error_kinds']}" if r["errors"] else ""))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dossiers", type=int, default=2000)
    parser.add_argument("--sizes", default="", help="other call sizes for the scaling curve, e.g. 500,5000")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--users", type=int, default=6)
    parser.add_argument("--rush-users", type=int, default=50)
    parser.add_argument("--rush-seconds", type=int, default=40)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--only", default="", help="scenarios to run (comma-separated), besides live")
    parser.add_argument("--hold", type=int, default=0, help="keep the server up this long (debugging, py-spy)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "load.json"))
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",") if s} - {args.dossiers})
    only = {s for s in args.only.split(",") if s}
    results = {"machine": machine(), "settings": {
        "gunicorn": f"{args.workers} sync workers", "users": args.users, "seconds": args.seconds,
        "rush_users": args.rush_users, "rush_seconds": args.rush_seconds, "dossiers": args.dossiers,
        "sizes": sizes}, "scenarios": {}, "scaling": {}}
    print(f"machine: {results['machine']}")
    with scratch_database() as url, services() as service_env:
        port = free_port()
        env = dict(os.environ) | service_env | {
            "PTCE_ENV": "production", "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "PROXY_HOPS": "1", "LOG_LEVEL": "WARNING",
            "PTCE_INSTANCE_PATH": tempfile.mkdtemp(prefix="ptce_bench"), "PYTHONPATH": str(ROOT)}
        os.environ.update(env)
        from flask_migrate import upgrade

        from ptce_aap import create_app

        app = create_app()
        contexts = {}
        with app.app_context():
            upgrade()
            for size in [args.dossiers, *sizes]:
                contexts[size] = build(size, args.rush_users if size == args.dossiers else 0)
                print(f"data: {size} dossiers in {contexts[size]['generated_in_s']} s {contexts[size]['counts']}")
            from ptce_aap.extensions import db

            db.engine.dispose()
        results["data"] = {size: {k: c[k] for k in ("slug", "generated_in_s", "counts")} for size, c in contexts.items()}
        server_log = open(Path(env["PTCE_INSTANCE_PATH"]) / "gunicorn.log", "w")  # noqa: SIM115 (closed below)
        server = subprocess.Popen([str(BIN / "gunicorn"), "--workers", str(args.workers), "--bind", f"127.0.0.1:{port}",
                                   "--chdir", str(ROOT), "--graceful-timeout", "5", "bench.wsgi_bench:app"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=server_log, start_new_session=True)
        worker = subprocess.Popen([str(BIN / "flask"), "--app", "wsgi", "ptce", "worker"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        host = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{host}/healthz/live")
            time.sleep(3)  # every worker booted
            for _ in range(4 * args.workers):  # and each has answered once (first-request work)
                wait_for(f"{host}/appels")
            main_ctx = contexts[args.dossiers]
            if args.hold:
                Path(args.out).with_suffix(".context.json").write_text(json.dumps(main_ctx))
                print(f"holding {host} for {args.hold} s; gunicorn pid {server.pid}", flush=True)
                time.sleep(args.hold)
            lives = []

            def live(label):
                r = run_locust(host, "live", main_ctx, args.users, args.seconds, env)
                results["scenarios"][label] = r
                lives.append(r["names"]["healthz/live"]["rps"])
                print(report_line(label, r, None))

            live("healthz/live (start)")
            for scenario in THROUGHPUT:
                if only and scenario not in only:
                    continue
                users = 4 if scenario == "reviewer_dashboard" else args.users
                r = run_locust(host, scenario, main_ctx, users, args.seconds, env)
                results["scenarios"][scenario] = r
                print(report_line(f"{scenario} ({args.dossiers} dossiers, {users} users)", r, lives[0]))
            for size in sizes:
                for scenario in LISTS:
                    if only and scenario not in only:
                        continue
                    users = 4 if scenario == "reviewer_dashboard" else args.users
                    r = run_locust(host, scenario, contexts[size], users, args.seconds, env)
                    results["scaling"].setdefault(scenario, {})[size] = r
                    print(report_line(f"{scenario} ({size} dossiers, {users} users)", r, lives[0]))
            for scenario in LISTS:
                if scenario in results["scenarios"]:
                    results["scaling"].setdefault(scenario, {})[args.dossiers] = results["scenarios"][scenario]
            if not only or "rush" in only:
                r = run_locust(host, "rush", main_ctx, args.rush_users, args.rush_seconds, env)
                results["scenarios"]["rush"] = r
                print(f"deadline rush: {args.rush_users} applicants, {args.rush_seconds} s, load {r['load_before']}")
                for name, s in sorted(r["names"].items()):
                    print(f"    {name:42} {s['requests']:6} req  {s['rps']:7.1f} req/s  p50 {s['p50_ms']:6.1f}  "
                          f"p95 {s['p95_ms']:6.1f}  p99 {s['p99_ms']:6.1f} ms  errors {s['errors']}"
                          + (f" {s['error_kinds']}" if s["errors"] else ""))
            live("healthz/live (end)")
        finally:
            for proc in (worker, server):
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(proc.pid, signal.SIGKILL)
            server_log.close()
    results["live_rps"] = round(statistics.mean(lives), 1)
    results["machine"]["load_average_after"] = load()
    for scenario in results["scenarios"].values():
        for s in scenario["names"].values():
            s["ratio"] = round(s["rps"] / results["live_rps"], 4)
    Path(args.out).write_text(json.dumps(results, indent=1) + "\n")
    print(f"/healthz/live: {lives} req/s (mean {results['live_rps']}); load after {load()}; written {args.out}")


if __name__ == "__main__":
    main()
