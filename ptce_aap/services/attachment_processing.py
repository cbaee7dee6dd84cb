"""What the ``process_attachment`` job does with a confirmed upload, and the clean-up of stored objects.

``process_attachment(id)`` streams the object once — SHA-256, size, antivirus (``ptce_aap.clamd``) and a
spooled copy for the type check and the PDF page count (``ptce_aap.domain.filetypes``) — then marks the
attachment ready, quarantined or rejected. The object is the one under the row's final key, which no
upload form can write (see ``ptce_aap.services.attachments``): what is fingerprinted and scanned stays
what is stored. Idempotent; raises when the storage (or clamd) is unreachable so that the job is
retried, leaving the attachment "processing" meanwhile. Nothing here commits: the task does.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ptce_aap import audit, jobs
from ptce_aap import storage as file_storage
from ptce_aap.clamd import ClamdScanError, ClamdStream, ClamdUnavailable, ScanResult
from ptce_aap.domain.filetypes import PDF, Verdict, pdf_page_count, verify_content
from ptce_aap.enums import AttachmentStatus, ScanStatus
from ptce_aap.extensions import db
from ptce_aap.jobs import is_last_attempt
from ptce_aap.models.base import utcnow
from ptce_aap.models.calls import Call
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.services import attachments as service
from ptce_aap.services.attachments import set_attachment_status

logger = logging.getLogger("ptce_aap.attachment_processing")

UNSCANNED = ("L'antivirus n'a pas pu analyser ce fichier : envoyez-le de nouveau (s'il est très volumineux, "
             "réduisez sa taille, par exemple en compressant le PDF).")


@dataclass
class Analysis:
    size: int
    sha256: str
    verdict: Verdict
    page_count: int | None
    scan: ScanResult | None
    scan_error: str = ""


def analyse(chunks, *, expected_mime: str, scanner: ClamdStream | None) -> Analysis:
    """One pass over the content: SHA-256, size, antivirus and a spooled copy for the checks after."""
    sha = hashlib.sha256()
    size = 0
    with tempfile.SpooledTemporaryFile(max_size=256 * 1024) as spool:
        try:
            for chunk in chunks:
                sha.update(chunk)
                size += len(chunk)
                spool.write(chunk)
                if scanner is not None:
                    scanner.send(chunk)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        scan, scan_error = None, ""
        if scanner is not None:
            try:
                scan = scanner.result()
            except ClamdScanError as exc:
                scan_error = str(exc)
        spool.seek(0)
        verdict = verify_content(expected_mime, spool)
        pages = pdf_page_count(spool) if verdict.ok and verdict.mime == PDF else None
    return Analysis(size=size, sha256=sha.hexdigest(), verdict=verdict, page_count=pages, scan=scan,
                    scan_error=scan_error)


def process_attachment(attachment_id: int) -> str:
    """Check, fingerprint and scan one confirmed upload. Returns what happened; the caller commits.

    The row is locked (``FOR UPDATE SKIP LOCKED``) while the file streams by, until the caller's commit,
    so that a job run twice at once does the work once. Only an attachment in ``processing`` is touched:
    ready, rejected, quarantined or deleted ones are left as they are (the job is idempotent).
    """
    attachment = db.session.execute(
        sa.select(Attachment).where(Attachment.id == attachment_id).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if attachment is None:
        return "missing" if db.session.get(Attachment, attachment_id) is None else "busy"
    if attachment.status != AttachmentStatus.PROCESSING:
        return f"already {attachment.status.value}"
    limit = db.session.scalar(sa.select(Call.max_upload_bytes).join(Dossier, Dossier.call_id == Call.id)
                              .where(Dossier.id == attachment.dossier_id))
    expected = service.mime_for(attachment.filename) or attachment.mime or ""
    storage = file_storage.storage_for(attachment.storage_backend)
    address = current_app.config.get("CLAMD_ADDRESS")
    scanner = None
    try:
        if address:  # unreachable: raises, the job is retried (see below for the last try)
            scanner = ClamdStream(address, timeout=current_app.config.get("CLAMD_TIMEOUT", 60))
        result = analyse(storage.iter_chunks(attachment.storage_key), expected_mime=expected, scanner=scanner)
    except file_storage.ObjectNotFoundError:
        service.reject(attachment, "Le fichier n'a pas été retrouvé dans le stockage : envoyez-le à nouveau.",
                       by=None, delete_object=False)
        return "rejected"
    except ClamdUnavailable as exc:
        if not is_last_attempt():
            raise
        logger.error("antivirus unreachable on the last try, attachment left unscanned: %s", exc)
        result = analyse(storage.iter_chunks(attachment.storage_key), expected_mime=expected, scanner=None)
        result.scan_error = str(exc)
    finally:
        if scanner is not None:
            scanner.close()
    return _record(attachment, result, limit=limit, expected=expected, scanned=bool(address))


def _record(attachment: Attachment, result: Analysis, *, limit: int | None, expected: str, scanned: bool) -> str:
    """Store what the analysis found: rejected, quarantined or ready."""
    before = {"status": attachment.status.value, "scan_status": attachment.scan_status.value}
    if limit is not None and result.size > limit:
        service.reject(attachment, service.too_large_message(limit), by=None)
        return "rejected"
    if not result.verdict.ok:
        service.reject(attachment, service.wrong_type_message(attachment.filename, expected, result.verdict),
                       by=None)
        return "rejected"
    attachment.size = result.size
    attachment.sha256 = result.sha256
    attachment.mime = result.verdict.mime
    attachment.page_count = result.page_count
    attachment.processed_at = utcnow()
    if result.scan is not None and result.scan.infected:
        set_attachment_status(attachment, AttachmentStatus.QUARANTINED, expected_from=AttachmentStatus.PROCESSING)
        attachment.scan_status = ScanStatus.INFECTED
        attachment.rejection_reason = f"L'antivirus a détecté « {result.scan.signature} »."[:300]
        action = "attachment.quarantined"
        logger.warning("infected upload quarantined", extra={"attachment_id": attachment.id})
    elif scanned and result.scan is None:
        # A scanner is configured but could not analyse this file (too large for it, or unreachable on the
        # last try): never serve it as if it were clean.
        attachment.scan_status = ScanStatus.ERROR
        logger.error("antivirus could not analyse the attachment: %s", result.scan_error)
        service.reject(attachment, UNSCANNED, by=None)
        return "rejected"
    else:
        set_attachment_status(attachment, AttachmentStatus.READY, expected_from=AttachmentStatus.PROCESSING)
        attachment.scan_status = ScanStatus.CLEAN if result.scan is not None else ScanStatus.NOT_SCANNED
        action = "attachment.ready"
    audit.record(action, attachment, actor=None, summary={
        "before": before,
        "after": {"status": attachment.status.value, "scan_status": attachment.scan_status.value,
                  "size": attachment.size, "sha256": attachment.sha256, "mime": attachment.mime,
                  "page_count": attachment.page_count,
                  **({"signature": result.scan.signature} if result.scan and result.scan.infected else {})}})
    return attachment.status.value


def dossier_id_of(attachment_id: int) -> int | None:
    return db.session.scalar(sa.select(Attachment.dossier_id).where(Attachment.id == attachment_id))


def reschedule_abandoned_processing() -> int:
    """Give a new ``process_attachment`` job to every attachment still ``processing`` that no job will
    finish: its jobs all ended (the store was down longer than every retry, or a run found the row
    busy and its holder died). Run by ``flask ptce tick``; the caller commits. Returns how many."""
    return len(jobs.reschedule_orphans("process_attachment", Attachment.id,
                                       Attachment.status == AttachmentStatus.PROCESSING, arg="attachment_id"))


def delete_stored_object(backend: str, key: str) -> str:
    """Remove a file whose row is gone (deleted or replaced attachment). Does nothing while a row still
    points to ``key``; deleting a missing object is not an error (idempotent)."""
    if db.session.scalar(sa.select(Attachment.id).where(Attachment.storage_key == key)) is not None:
        return "still used"
    file_storage.storage_for(backend).delete(key)
    return "deleted"
