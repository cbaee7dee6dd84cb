"""The ZIP of a call's documents (issue 11, point 3), built by a background job with its progress shown.

- ``start(call, by=…)``: the admin's request. Adds a ``JobRun`` (kind ``documents_zip``) and schedules the
  ``documents_zip`` task in the same transaction; audited. A build already under way is returned instead.
- ``build(job_run_id, call_id, checkpoint=…)``: the task. Streams every current document (status ``ready``:
  received, verified, not quarantined) of the call's submitted dossiers from the storage into a zip written
  to a temporary file — one folder per dossier (``00012 Pôle du Val``), safe file names, made unique in their
  folder — then puts the zip in the storage under ``archive_key(run)``. ``checkpoint()`` (the task's commit)
  is called every ``PROGRESS_EVERY`` files so that the progress page moves. A retried build starts again.
  A file missing from the storage is left out and counted in the final message.
- ``record_failure``: what the admin sees when a try fails.

Nothing here commits by itself. Memory stays flat in the number of files: the documents are read in pages
(``PAGE_SIZE``, keyset), each file goes through in chunks, the zip is on disk and so is its central directory
until the end (``ptce_aap.zipwriter``: ``zipfile`` would keep a ``ZipInfo`` per file), and the names already
taken are kept for the current folder only (the rows come dossier by dossier).
"""

from __future__ import annotations

import itertools
import logging
import re
import tempfile
import unicodedata
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa

from ptce_aap import audit, jobs
from ptce_aap.domain.filetypes import clean_filename
from ptce_aap.domain.formatting import format_number
from ptce_aap.enums import AttachmentStatus, DossierStatus, JobKind, JobStatus
from ptce_aap.extensions import db
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.models.outbox import JobRun
from ptce_aap.services.calls import lock_call
from ptce_aap.storage import get_storage, storage_for
from ptce_aap.storage.base import ObjectNotFoundError
from ptce_aap.zipwriter import SpoolingZipWriter

logger = logging.getLogger("ptce_aap.documents_zip")

PROGRESS_EVERY = 20
PAGE_SIZE = 500
STALE_AFTER = timedelta(hours=2)
NAME_MAX = 80
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def archive_key(run: JobRun) -> str:
    return f"exports/appels/{run.call_id}/pieces-{run.id}.zip"


def safe_name(text: str, *, fallback: str = "fichier", folder: bool = False) -> str:
    """A file or folder name every system accepts: no separator, control, reserved or invisible character,
    no leading dot, at most ``NAME_MAX`` characters (the extension kept). A file name loses any folder it
    names (``../../x`` → ``x``); a ``folder`` name (a pole's) keeps its text, separators replaced."""
    text = unicodedata.normalize("NFC", text or "")
    if folder:
        text = text.replace("/", "_").replace("\\", "_")
    name = clean_filename(text)
    name = _UNSAFE.sub("_", name).strip(" .") or fallback
    if len(name) > NAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:NAME_MAX - len(ext) - 1] + "." + ext) if dot and 0 < len(ext) <= 10 else name[:NAME_MAX]
    return name


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 1
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    while candidate.casefold() in taken:
        n += 1
        candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
    taken.add(candidate.casefold())
    return candidate


def _documents(call_id: int):
    """(dossier id, pole name, file name, backend, key, attachment id) of every current document of the call,
    in order of dossier, then attachment."""
    return sa.select(Attachment.dossier_id, Dossier.pole_name, Attachment.filename, Attachment.storage_backend,
                     Attachment.storage_key, Attachment.id).join(Dossier, Dossier.id == Attachment.dossier_id).where(
        Dossier.call_id == call_id, Dossier.status != DossierStatus.DRAFT,
        Attachment.status == AttachmentStatus.READY).order_by(Attachment.dossier_id, Attachment.id)


def _pages(call_id: int):
    """``_documents`` read ``PAGE_SIZE`` rows at a time (keyset on the order), each page its own query: the
    build's memory does not grow with the number of documents, and a page is read after the last checkpoint."""
    after = None
    while True:
        query = _documents(call_id).limit(PAGE_SIZE)
        if after is not None:
            query = query.where(sa.tuple_(Attachment.dossier_id, Attachment.id) > sa.tuple_(*after))
        rows = db.session.execute(query).all()
        yield from rows
        if len(rows) < PAGE_SIZE:
            return
        after = (rows[-1].dossier_id, rows[-1].id)


def document_count(call: Call) -> int:
    return _count(call.id)


def _count(call_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(_documents(call_id).subquery())) or 0


def start(call: Call, *, by) -> JobRun:
    """Queue the build of the call's documents archive; returns its ``JobRun``. Audited; caller commits.
    Two requests at the same instant (a double click, two admins) start one build: the second waits on the
    call's lock, then finds the first one's."""
    lock_call(call)
    pending = db.session.scalar(
        sa.select(JobRun).where(JobRun.call_id == call.id, JobRun.kind == JobKind.DOCUMENTS_ZIP,
                                JobRun.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
                                JobRun.created_at > utcnow() - STALE_AFTER)
        .order_by(JobRun.id.desc()).limit(1))
    if pending is not None:
        return pending
    total = document_count(call)
    run = JobRun(kind=JobKind.DOCUMENTS_ZIP, call_id=call.id, name=f"documents_zip:{call.id}",
                 status=JobStatus.QUEUED, done=0, total=total, message="En attente de traitement.",
                 created_by_id=by.id, created_at=utcnow())
    db.session.add(run)
    db.session.flush()
    jobs.schedule("documents_zip", dedupe_key=f"documents_zip:{run.id}", job_run_id=run.id, call_id=call.id)
    audit.record("call.documents_zip_requested", call, actor=by,
                 summary={"after": {"job_run": run.id, "total": total}})
    return run


def _progress(run: JobRun) -> str:
    return f"Pièces ajoutées à l’archive : {format_number(run.done)} sur {format_number(run.total)}."


def build(job_run_id: int, call_id: int, *, checkpoint: Callable[[], None]) -> str:
    run = db.session.get(JobRun, job_run_id)
    if run is None or run.kind != JobKind.DOCUMENTS_ZIP or run.call_id != call_id:
        return "missing"
    if run.status in (JobStatus.DONE, JobStatus.FAILED):
        return f"already {run.status.value}"
    run.status = JobStatus.RUNNING
    run.total, run.done = _count(call_id), 0
    run.message = _progress(run)
    checkpoint()
    missing = dossiers = 0
    folder, taken, dossier = "", set(), None
    with tempfile.TemporaryFile() as out:
        with SpoolingZipWriter(out) as archive:
            for dossier_id, pole_name, filename, backend, key, _id in _pages(call_id):
                if dossier_id != dossier:  # rows come dossier by dossier: one folder's names at a time
                    dossier, dossiers, taken = dossier_id, dossiers + 1, set()
                    folder = safe_name(f"{dossier_id:05d} {pole_name}", folder=True, fallback=f"{dossier_id:05d}")
                name = _unique(safe_name(filename), taken)
                try:
                    chunks = iter(storage_for(backend).iter_chunks(key))
                    first = next(chunks, b"")  # a missing object fails here, before its entry is written
                    archive.add(f"{folder}/{name}", itertools.chain([first], chunks))
                except ObjectNotFoundError:
                    missing += 1
                    logger.warning("document missing from storage", extra={"key": key, "job_run": run.id})
                run.done += 1
                if run.done % PROGRESS_EVERY == 0:
                    run.total = max(run.total, run.done)
                    run.message = _progress(run)
                    checkpoint()
        out.seek(0)
        size = get_storage().put(archive_key(run), out, content_type="application/zip")
    run.total = run.done  # what was read (a document may have become ready since the count)
    run.status = JobStatus.DONE
    run.finished_at = utcnow()
    run.message = (f"Terminé. L’archive contient {format_number(run.total - missing)} "
                   f"{'pièce' if run.total - missing < 2 else 'pièces'} de {format_number(dossiers)} "
                   f"{'dossier' if dossiers < 2 else 'dossiers'}.")
    if missing:
        run.message += (f" {format_number(missing)} {'pièce introuvable' if missing < 2 else 'pièces introuvables'}"
                        " dans le stockage n’y figure pas.")
    logger.info("documents zip done", extra={"job_run": run.id, "files": run.total, "bytes": size})
    return "done"


def record_failure(job_run_id: int, exc: Exception, *, last_attempt: bool) -> None:
    """After a failed try (its changes rolled back): tell the admin, and end the run if no try is left."""
    run = db.session.get(JobRun, job_run_id)
    if run is None:
        return
    if last_attempt:
        run.status = JobStatus.FAILED
        run.finished_at = utcnow()
        run.message = f"La préparation de l’archive s’est arrêtée sur une erreur : relancez-la. ({type(exc).__name__})"
    else:
        run.message = "Incident : nouvelle tentative automatique dans quelques instants."


def downloadable(run: JobRun) -> bool:
    return run.kind == JobKind.DOCUMENTS_ZIP and run.status == JobStatus.DONE
