"""Writes ``bench/RESULTS.md`` from ``bench/results/load.json`` and ``bench/results/exports.json`` (``make bench``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from load import TARGETS  # noqa: E402

LABELS = {"summary": "dossier summary (applicant)", "members": "section « membres » (15 members)",
          "budget": "section « budget »", "project": "section « projet »", "autosave": "autosave (section « projet »)",
          "reviewer_dashboard": "reviewer dashboard (4 reviewers)", "scoring_form": "scoring form (reviewer)",
          "instruction_list": "admin instruction list (50 rows)", "ranking": "admin ranking (whole call)",
          "api_list": "API dossiers list (50 rows, bearer)"}


def ms(x):
    return f"{x:,.0f}".replace(",", " ") if x >= 100 else f"{x:.1f}"


def row(label, r, target=None, load=""):
    ratio = r.get("ratio")
    verdict = ""
    if target is not None and ratio is not None:
        verdict = "met" if ratio >= target else "**missed**"
    return (f"| {label} | {r['rps']:.1f} | {ms(r['p50_ms'])} / {ms(r['p95_ms'])} / {ms(r['p99_ms'])} | {r['errors']} | "
            f"{100 * ratio:.1f} %" + (f" (target ≥ {100 * target:.0f} %, {verdict})" if target is not None else "")
            + f" | {load} |")


def main() -> None:
    load = json.loads((ROOT / "bench" / "results" / "load.json").read_text())
    exports_path = ROOT / "bench" / "results" / "exports.json"
    exports = json.loads(exports_path.read_text()) if exports_path.exists() else None
    m, s = load["machine"], load["settings"]
    out = ["# Benchmark results (`make bench`)", "",
           "Written by `bench/report.py` from `bench/results/load.json` and `bench/results/exports.json`. The machine "
           "is shared (other sessions run tests on the same 2 cores): **the ratios to `/healthz/live` of the same run "
           "matter, not the absolute numbers**; the load average is given with every result.", "",
           "## Machine and settings", "",
           f"- {m['cores']} cores, {m['platform']}; Python {m['python']}, PostgreSQL {m['postgresql']}, "
           f"{m['redis'].split(' sha')[0]}, Flask {m['flask']}, SQLAlchemy {m['sqlalchemy']}, {m['gunicorn']}, "
           f"{m['locust'].split(' from')[0]}.",
           f"- Load average (1, 5, 15 min) before: {m['load_average']}; after: {m.get('load_average_after', '?')}.",
           f"- gunicorn {s['gunicorn']}, `PTCE_ENV=production` (PostgreSQL, Redis for jobs and rate limits, a moto S3 "
           "server, an aiosmtpd sink, one RQ worker), loopback; the differences are in `bench/wsgi_bench.py` "
           "(cookies not `Secure` over HTTP; the per-user/token/address limits raised, their Redis cost kept).",
           f"- locust headless (FastHttpUser), closed loop: {s['users']} users per page for {s['seconds']} s after every "
           "user has logged in (logins not measured); the reviewer dashboard with 4 users; the rush with "
           f"{s['rush_users']} users at a person's pace for {s['rush_seconds']} s. Locust runs on the same 2 cores.",
           "- Data (`flask ptce bench-data`): " + "; ".join(
               f"{size} dossiers in {d['generated_in_s']} s ({d['counts']['members']} members, "
               f"{d['counts']['assignments']} assignments, {d['counts']['reviews']} reviews)"
               for size, d in load["data"].items()) + ".",
           f"- Ceiling `/healthz/live` (no I/O): {load['scenarios']['healthz/live (start)']['names']['healthz/live']['rps']:.0f} "
           f"req/s at the start, {load['scenarios']['healthz/live (end)']['names']['healthz/live']['rps']:.0f} at the end; "
           f"the ratios use the mean, {load['live_rps']:.0f} req/s.", "",
           f"## Pages at {s['dossiers']} dossiers", "",
           "| page | req/s | p50 / p95 / p99 ms | errors | ratio to /healthz/live | load average |", "|---|---|---|---|---|---|"]
    for name, label in LABELS.items():
        r = load["scenarios"].get(name)
        if r:
            main = max(r["names"].values(), key=lambda x: x["requests"])
            out.append(row(label, main, TARGETS.get(name), r["load_before"]))
    rush = load["scenarios"].get("rush")
    if rush:
        out += ["", f"## Deadline rush: {s['rush_users']} applicants for {s['rush_seconds']} s "
                f"(load average {rush['load_before']} → {rush['load_after']})", "",
                "Each applicant, logged in beforehand, pauses 0.5–1.5 s between actions: autosaves the « projet » section, "
                "reads the summary, uploads one document (presigned POST to S3, then confirm), and after 6–9 actions "
                "submits (then reads the summary). Targets: 0 errors, p95 of autosave and submit < 250 ms.", "",
                "| request | count | req/s | p50 / p95 / p99 ms | errors |", "|---|---|---|---|---|"]
        for name, r in sorted(rush["names"].items()):
            out.append(f"| {name} | {r['requests']} | {r['rps']:.1f} | {ms(r['p50_ms'])} / {ms(r['p95_ms'])} / "
                       f"{ms(r['p99_ms'])} | {r['errors']} |")
    if load.get("scaling"):
        sizes = sorted({int(k) for v in load["scaling"].values() for k in v})
        out += ["", "## Scaling: the same pages at " + ", ".join(str(x) for x in sizes) + " dossiers", "",
                "p50 ms (req/s). Query counts per page are constant in N: asserted by the test suite "
                "(`test_instruction_list.py::test_list_query_count_is_constant`, `test_ranking.py::"
                "test_ranking_pages_read_a_constant_number_of_queries`, `test_reviews.py::test_query_counts_are_constant`, "
                "`test_api.py::test_list_pages_run_a_constant_number_of_queries`).", "",
                "| page | " + " | ".join(f"{x} dossiers" for x in sizes) + " |", "|---|" + "---|" * len(sizes)]
        for name, per in load["scaling"].items():
            cells = []
            for x in sizes:
                r = per.get(str(x)) or per.get(x)
                if r:
                    main = max(r["names"].values(), key=lambda v: v["requests"])
                    cells.append(f"{ms(main['p50_ms'])} ({main['rps']:.0f}/s, load {r['load_before'].split()[0]})")
                else:
                    cells.append("—")
            out.append(f"| {LABELS.get(name, name)} | " + " | ".join(cells) + " |")
    if exports:
        out += ["", "## Exports and the documents ZIP (in-process, tracemalloc)", "",
                "| dossiers | CSV s / peak KiB | XLSX s / peak KiB | documents ZIP s / peak KiB (files) |", "|---|---|---|---|"]
        for size, r in exports["sizes"].items():
            z = r.get("zip")
            out.append(f"| {size} | {r['csv']['seconds']} / {r['csv']['peak_kib']} | {r['xlsx']['seconds']} / "
                       f"{r['xlsx']['peak_kib']} | " + (f"{z['seconds']} / {z['peak_kib']} ({z['files']})" if z else "—")
                       + " |")
        out.append(f"\nLoad average during the exports: {exports.get('load_before', '?')} → {exports.get('load_after', '?')}.")
    notes = ROOT / "bench" / "RESULTS_NOTES.md"
    if notes.exists():
        out += ["", notes.read_text().rstrip()]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(out) + "\n")
    print("written bench/RESULTS.md")


if __name__ == "__main__":
    main()
