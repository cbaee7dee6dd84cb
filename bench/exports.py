"""Benchmark: time and peak memory (tracemalloc) of the instruction list's exports (CSV and XLSX, the whole
filtered list of a call) and of the documents ZIP (``services.documents_zip.build``, the job's work), at 500,
2,000 and 5,000 submitted dossiers on PostgreSQL, in-process. The data is ``flask ptce bench-data``'s (one call
per size: 15 members, 9 financing lines and 6 documents a dossier). The exports are read through the Flask test
client without buffering (as a server sends them). For the ZIP, each document gets a small file (2 KiB) in the
local storage: the cost of a ZIP is per file, and the point is that memory stays flat.

    .venv/bin/python bench/exports.py [--sizes 500,2000,5000] [--zip-sizes 500,2000]

Target (issue 13): the export of 5,000 dossiers < 15 s with flat memory — the rows are read in batches
(``yield_per``), the CSV is sent line by line and the XLSX written row by row to a temporary file (openpyxl
write-only); the ZIP streams each file into a zip on disk. Export times are measured without tracemalloc
(then the peak with it); the ZIP's time is under tracemalloc. ``BENCH_TOP=1`` prints the biggest allocations.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, load, login_client, scratch_database, testing_env  # noqa: E402

FILE = b"%PDF-1.4\n" + b"0" * 2038 + b"\n"


def _traced(fn, *, timed: bool = False) -> dict:
    """Peak memory of ``fn`` under tracemalloc; with ``timed``, its time from a run without tracemalloc first
    (tracemalloc slows allocation-heavy code 2–3×); otherwise the time under tracemalloc."""
    untraced = None
    if timed:
        start = time.perf_counter()
        fn()
        untraced = time.perf_counter() - start
    tracemalloc.start()
    start = time.perf_counter()
    extra = fn()
    seconds = untraced if timed else time.perf_counter() - start
    _current, peak = tracemalloc.get_traced_memory()
    if os.environ.get("BENCH_TOP"):
        for stat in tracemalloc.take_snapshot().statistics("lineno")[:8]:
            print(stat)
    tracemalloc.stop()
    return {"peak_kib": round(peak / 1024), "seconds": round(seconds, 2)} | extra


def _export(client, url: str) -> dict:
    def read():
        response = client.get(url, buffered=False)
        assert response.status_code == 200, response.status_code
        size = rows = 0
        for chunk in response.iter_encoded():
            size += len(chunk)
            rows += chunk.count(b"\n")
        response.close()
        return {"bytes": size, "rows": rows}

    return _traced(read, timed=True)


def _zip(app, slug: str, admin_email: str) -> dict:
    import sqlalchemy as sa

    from ptce_aap.extensions import db
    from ptce_aap.models.accounts import User
    from ptce_aap.models.calls import Call
    from ptce_aap.models.dossiers import Attachment, Dossier
    from ptce_aap.services import documents_zip
    from ptce_aap.storage import get_storage

    with app.app_context():
        storage = get_storage()
        call = db.session.scalar(sa.select(Call).where(Call.slug == slug))
        keys = db.session.scalars(sa.select(Attachment.storage_key).join(Dossier)
                                  .where(Dossier.call_id == call.id)).all()
        for key in keys:
            storage.put(key, io.BytesIO(FILE), content_type="application/pdf")
        db.session.execute(sa.update(Attachment).where(Attachment.storage_key.in_(keys))
                           .values(storage_backend=storage.name).execution_options(synchronize_session=False))
        admin = db.session.scalar(sa.select(User).where(User.email == admin_email))
        run = documents_zip.start(call, by=admin)
        db.session.commit()
        run_id, call_id = run.id, call.id
        db.session.remove()
        result = _traced(lambda: {"outcome": documents_zip.build(run_id, call_id, checkpoint=db.session.commit),
                                  "files": len(keys)})
        db.session.commit()
        db.session.remove()
    return result


def run(sizes: list[int], zip_sizes: set[int]) -> dict:
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from ptce_aap import create_app
    from ptce_aap.cli import bench_data
    from ptce_aap.extensions import db
    from ptce_aap.models.accounts import User

    app = create_app()
    logging.getLogger("ptce_aap").setLevel(logging.WARNING)  # one JSON line per request otherwise
    results = {"python": sys.version.split()[0], "load_before": load(), "sizes": {}}
    for size in sizes:
        with app.app_context():
            if not results["sizes"]:
                upgrade()
            out = bench_data.generate(dossiers=size, reviewers=0, slug=f"export-{size}")
            db.session.commit()
            admin_key = db.session.scalar(sa.select(User).where(User.email == out.admin_email)).get_id()
            slug = out.call.slug
            db.session.remove()
        client = login_client(app, admin_key)
        client.get(f"/admin/appels/{slug}/dossiers.csv")  # warm-up (templates, translations, first queries)
        r = {fmt: _export(client, f"/admin/appels/{slug}/dossiers.{fmt}?tri=pole") for fmt in ("csv", "xlsx")}
        with_zip = size in zip_sizes
        if with_zip:
            r["zip"] = _zip(app, slug, out.admin_email)
        r["load"] = load()
        results["sizes"][str(size)] = r
        print(f"{size:>6} dossiers  CSV {r['csv']['seconds']:6.2f} s {r['csv']['peak_kib']:7} KiB  "
              f"XLSX {r['xlsx']['seconds']:6.2f} s {r['xlsx']['peak_kib']:7} KiB"
              + (f"  ZIP {r['zip']['seconds']:6.2f} s {r['zip']['peak_kib']:7} KiB ({r['zip']['files']} files)"
                 if with_zip else "") + f"  load {r['load']}", flush=True)
    results["load_after"] = load()
    with app.app_context():
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="500,2000,5000")
    parser.add_argument("--zip-sizes", default="500,2000",
                        help="sizes at which the documents ZIP is built too (6 files a dossier; ~2–5 ms a file)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    with scratch_database() as url:
        testing_env(url)
        results = run(sizes, {int(s) for s in args.zip_sizes.split(",") if s})
    out = ROOT / "bench" / "results" / "exports.json"
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
