"""Attachment use cases: start an upload, confirm (verify) it, replace and delete files.

An upload has two ways in, which end in the same ``confirm_upload``:

- with JavaScript: ``start_upload`` creates the row (``uploading``) and ``upload_form`` gives a presigned
  POST; the browser sends the file straight to the store, then asks for the confirmation;
- without JavaScript: the file goes through the app (``start_upload`` then ``receive_upload``, streamed).

``confirm_upload`` never trusts what the browser said: it checks that the object is there, its size
(``head``) and its real type (first bytes, zip markers — see ``ptce_aap.documents``); a file that fails is
deleted from the store and its row marked ``rejected``. A file that passes becomes ``processing`` and the
``process_attachment`` job (SHA-256, antivirus, page count) makes it ``ready`` or ``quarantined``.

Like the other services they mutate, audit and schedule jobs; the caller commits. Refusals raise
``AttachmentRefused`` (a ``DomainError`` with a French message); when ``persist`` is true the refusal
changed something (a rejected row) that the caller must commit rather than roll back.
"""

from __future__ import annotations

import contextlib
import logging
import re
import unicodedata
import uuid
from datetime import timedelta
from typing import IO

import sqlalchemy as sa

from ptce_aap import audit, documents
from ptce_aap.enums import AttachmentStatus, ScanStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.jobs import schedule
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.storage import get_storage, storage_for

logger = logging.getLogger("ptce_aap.attachments")

# Extension -> the MIME type stored and expected. Only these are accepted.
EXTENSIONS: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
}
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in EXTENSIONS)  # for <input type=file accept=…>
FORMATS_TEXT = "PDF, PNG, JPEG, Word (DOC, DOCX), Excel (XLS, XLSX), PowerPoint (PPT, PPTX), OpenDocument (ODT, ODS, ODP)"

# Document types that take several files (every member signs its own letter); for the other types a
# new confirmed file replaces the previous one. (A call-level setting would be better: see DocumentType.)
MULTI_FILE_TYPES = frozenset({"engagements", "soutien_collectivite", "autre"})

UPLOAD_EXPIRES = 600  # seconds a presigned POST stays valid
STALE_UPLOAD_AFTER = timedelta(hours=1)  # an "uploading" row older than this was abandoned
FILENAME_MAX = 200

NOT_RECEIVED = "Le fichier n'a pas été reçu : l'envoi a peut-être été interrompu. Réessayez."
NOT_EDITABLE = "Ce dossier a été déposé : ses pièces ne sont plus modifiables."
STORAGE_DOWN = ("Le stockage des fichiers est momentanément indisponible : le fichier n'a pas été enregistré. "
                "Réessayez dans quelques minutes.")


class AttachmentRefused(DomainError):
    """An upload refused with a French message. ``persist``: the refusal was recorded (commit it)."""

    def __init__(self, message: str, *, persist: bool = False, status: int = 422):
        super().__init__(message)
        self.persist = persist
        self.status = status


# --- Names, types and sizes ---------------------------------------------------------------------

_INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}  # controls, bidi overrides (“fichier‮fdp.exe”)…


def clean_filename(name: str | None) -> str:
    """The name to show and to download under: no folder, no control or bidi characters, no leading
    dots, at most ``FILENAME_MAX`` characters (the extension is kept)."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(" " if unicodedata.category(c) in {"Zs"} else c for c in name
                   if unicodedata.category(c) not in _INVISIBLE)
    name = re.sub(r"\s+", " ", name).strip().lstrip(".").rstrip(". ").strip()
    if len(name) > FILENAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[:FILENAME_MAX - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:FILENAME_MAX]
    return name


def key_filename(name: str) -> str:
    """An ASCII version of a clean name for the storage key (``Budget prévisionnel.pdf`` →
    ``Budget-previsionnel.pdf``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, ext = ascii_name.rpartition(".")
    if not dot:
        stem, ext = ascii_name, ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:80] or "fichier"
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext).lower()[:10]
    return f"{stem}.{ext}" if ext else stem


def extension_of(filename: str) -> str:
    _stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot else ""


def mime_for(filename: str) -> str | None:
    """The MIME type an accepted file name promises, or ``None`` for an extension not accepted."""
    return EXTENSIONS.get(extension_of(filename))


def _french_number(value: float) -> str:
    """``1,5``, ``350``, ``1 000`` (narrow no-break space), whatever the request's locale (jobs have none)."""
    if value % 1:
        return f"{value:,.1f}".replace(",", "\u202f").replace(".", ",")
    return f"{int(value):,}".replace(",", "\u202f")


def human_size(size: int | None) -> str:
    """``12 octets``, ``350 ko``, ``1,2 Mo`` (1 ko = 1 024 octets)."""
    if size is None:
        return "—"
    if size >= 1024 * 1024:
        return f"{_french_number(round(size / (1024 * 1024), 1))} Mo"
    if size >= 1024:
        return f"{_french_number(round(size / 1024, 1))} ko"
    return f"{_french_number(size)} {'octet' if size < 2 else 'octets'}"


def too_large_message(limit: int) -> str:
    return f"Le fichier dépasse la taille maximale de {human_size(limit)}."


def wrong_type_message(filename: str, expected: str | None, verdict: documents.Verdict) -> str:
    return (f"« {filename} » a été refusé : son contenu n'est pas {documents.type_name(expected)} comme "
            f"l'indique son extension (c'est {verdict.reason or documents.type_name(verdict.mime)}). "
            "Vérifiez que vous avez choisi le bon fichier, ou enregistrez-le au bon format.")


def upload_limit(dossier: Dossier) -> int:
    return int(dossier.call.max_upload_bytes)


def ordered_document_types(call) -> list:
    """The call's document types, required ones first, then in the call's order."""
    return sorted(call.document_types, key=lambda dt: (not dt.is_required, dt.position, dt.id or 0))


def is_stale(attachment: Attachment, now=None) -> bool:
    """An upload started long ago and never confirmed (the browser was closed, the network dropped)."""
    now = now or utcnow()
    return (attachment.status == AttachmentStatus.UPLOADING and attachment.created_at is not None
            and attachment.created_at < now - STALE_UPLOAD_AFTER)


# --- Use cases -----------------------------------------------------------------------------------

def _document_type(dossier: Dossier, code: str | None):
    for dt in dossier.call.document_types:
        if dt.code == code:
            return dt
    raise AttachmentRefused("Choisissez le type de document à envoyer.", status=400)


def _summary(attachment: Attachment) -> dict:
    return {"filename": attachment.filename, "document_type": attachment.document_type_code,
            "status": attachment.status.value if attachment.status else None, "size": attachment.size,
            "sha256": attachment.sha256, "storage_key": attachment.storage_key}


def start_upload(dossier: Dossier, *, document_type_code: str | None, filename: str | None,
                 size: int | None, content_type: str | None, by) -> Attachment:
    """Check what the browser announces and create the ``uploading`` row with a fresh storage key.

    Refuses (``AttachmentRefused``, nothing recorded): a dossier no longer in draft, an unknown document
    type, a file name without an accepted extension, an empty or too large declared size.
    """
    if not dossier.is_editable:
        raise AttachmentRefused(NOT_EDITABLE, status=409)
    document_type = _document_type(dossier, document_type_code)
    name = clean_filename(filename)
    if not name:
        raise AttachmentRefused("Choisissez un fichier à envoyer.", status=400)
    mime = mime_for(name)
    if mime is None:
        raise AttachmentRefused(f"« {name} » n'est pas d'un format accepté. Formats acceptés : {FORMATS_TEXT}.")
    limit = upload_limit(dossier)
    if size is not None:
        if size <= 0:
            raise AttachmentRefused(f"« {name} » est vide.")
        if size > limit:
            raise AttachmentRefused(too_large_message(limit))
    _forget_abandoned_uploads(dossier, by=by)
    storage = get_storage()
    key = f"dossiers/{dossier.id}/{uuid.uuid4().hex}/{key_filename(name)}"
    attachment = Attachment(
        dossier_id=dossier.id, document_type_code=document_type.code, filename=name,
        storage_backend=storage.name, storage_key=key, size=size, declared_mime=(content_type or "")[:120],
        mime=None, status=AttachmentStatus.UPLOADING, scan_status=ScanStatus.PENDING, uploaded_by_id=by.id)
    db.session.add(attachment)
    db.session.flush()
    audit.record("attachment.upload_started", attachment, actor=by, summary={"after": _summary(attachment)})
    return attachment


def upload_form(attachment: Attachment, dossier: Dossier) -> dict:
    """``{"url", "fields"}`` of the presigned POST for the browser (the file goes last, field ``file``)."""
    storage = storage_for(attachment.storage_backend)
    return storage.presigned_post(attachment.storage_key, max_size=upload_limit(dossier),
                                  content_types=[mime_for(attachment.filename)], expires=UPLOAD_EXPIRES)


def receive_upload(attachment: Attachment, dossier: Dossier, fileobj: IO[bytes]) -> int:
    """Stream a file received by the app (no-JavaScript form) into the store; return its size.

    A seekable file (Werkzeug's spooled upload) over the limit is refused before anything is stored.
    """
    size = _remaining_size(fileobj)
    limit = upload_limit(dossier)
    if size is not None and size > limit:
        raise AttachmentRefused(too_large_message(limit))
    if size == 0:
        raise AttachmentRefused(f"« {attachment.filename} » est vide.")
    storage = storage_for(attachment.storage_backend)
    try:
        return storage.put(attachment.storage_key, fileobj, content_type=mime_for(attachment.filename))
    except Exception as exc:  # the store is down or refused: nothing to keep, the user can retry
        logger.exception("upload to storage failed", extra={"attachment_id": attachment.id})
        with contextlib.suppress(Exception):
            storage.delete(attachment.storage_key)
        raise AttachmentRefused(STORAGE_DOWN, status=503) from exc


def _remaining_size(fileobj) -> int | None:
    try:
        if not fileobj.seekable():
            return None
        start = fileobj.tell()
        end = fileobj.seek(0, 2)
        fileobj.seek(start)
        return end - start
    except (AttributeError, OSError, ValueError):
        return None


def reject(attachment: Attachment, reason: str, *, by, delete_object: bool = True) -> None:
    """Mark an upload ``rejected`` with its reason and delete its object (the row stays as a record)."""
    before = _summary(attachment)
    if delete_object:
        storage_for(attachment.storage_backend).delete(attachment.storage_key)
    attachment.status = AttachmentStatus.REJECTED
    attachment.rejection_reason = reason[:300]
    attachment.processed_at = utcnow()
    audit.record("attachment.rejected", attachment, actor=by,
                 summary={"before": before, "after": {"status": "rejected", "reason": reason}})


def confirm_upload(attachment: Attachment, dossier: Dossier, *, by, replaces_id: int | None = None) -> Attachment:
    """Verify an uploaded object and hand it to the ``process_attachment`` job.

    - no object: ``AttachmentRefused(NOT_RECEIVED)``, the row stays ``uploading`` (nothing recorded);
    - larger than the call's limit, empty, or a content that is not what its extension says: the object
      is deleted, the row ``rejected`` (``persist=True``);
    - otherwise: ``processing``, the job is scheduled, and the files it replaces are deleted (the one
      named by ``replaces_id``; for a single-file document type, every previous file of that type).
    Confirming an upload already confirmed changes nothing.
    """
    if attachment.status != AttachmentStatus.UPLOADING:
        if attachment.status == AttachmentStatus.REJECTED:
            raise AttachmentRefused(attachment.rejection_reason or NOT_RECEIVED)
        return attachment
    if not dossier.is_editable:
        raise AttachmentRefused(NOT_EDITABLE, status=409)
    storage = storage_for(attachment.storage_backend)
    info = storage.head(attachment.storage_key)
    if info is None:
        raise AttachmentRefused(NOT_RECEIVED, status=409)
    limit = upload_limit(dossier)
    expected = mime_for(attachment.filename)
    if info.size > limit:
        reject(attachment, too_large_message(limit), by=by)
        raise AttachmentRefused(too_large_message(limit), persist=True)
    if info.size == 0:
        message = f"« {attachment.filename} » est vide."
        reject(attachment, message, by=by)
        raise AttachmentRefused(message, persist=True)
    with contextlib.closing(storage.open_stream(attachment.storage_key)) as stream:
        verdict = documents.verify_content(expected, stream, limit=info.size)
    if not verdict.ok:
        message = wrong_type_message(attachment.filename, expected, verdict)
        reject(attachment, message, by=by)
        raise AttachmentRefused(message, persist=True)
    before = _summary(attachment)
    attachment.size = info.size
    attachment.mime = verdict.mime
    attachment.status = AttachmentStatus.PROCESSING
    audit.record("attachment.received", attachment, actor=by, summary={"before": before,
                                                                       "after": _summary(attachment)})
    for old in _replaced_by(attachment, dossier, replaces_id):
        delete_attachment(old, by=by, reason="replaced", replaced_by=attachment)
    schedule("process_attachment", dedupe_key=f"process_attachment:{attachment.id}", attachment_id=attachment.id)
    return attachment


def _replaced_by(attachment: Attachment, dossier: Dossier, replaces_id: int | None) -> list[Attachment]:
    """The rows a newly confirmed file replaces: the one the user chose to replace (same dossier and
    document type), every earlier file of a single-file type, and the refused tries of that type."""
    siblings = db.session.scalars(
        sa.select(Attachment).where(Attachment.dossier_id == dossier.id, Attachment.id != attachment.id,
                                    Attachment.document_type_code == attachment.document_type_code)
        .order_by(Attachment.id)).all()
    single = attachment.document_type_code not in MULTI_FILE_TYPES
    return [a for a in siblings
            if a.id == replaces_id or a.status == AttachmentStatus.REJECTED
            or (single and a.status != AttachmentStatus.UPLOADING)]


def delete_attachment(attachment: Attachment, *, by, reason: str = "deleted",
                      replaced_by: Attachment | None = None) -> None:
    """Delete the row now and its object after the commit (``delete_stored_object`` job)."""
    summary = {"before": _summary(attachment), "reason": reason}
    if replaced_by is not None:
        summary["replaced_by"] = replaced_by.id
    audit.record("attachment.replaced" if replaced_by is not None else "attachment.deleted", attachment,
                 actor=by, summary=summary)
    if attachment.status != AttachmentStatus.REJECTED:  # a rejected file's object is already gone
        schedule("delete_stored_object", dedupe_key=f"delete_stored_object:{attachment.id}",
                 backend=attachment.storage_backend, key=attachment.storage_key)
    db.session.delete(attachment)


def delete_by_user(attachment: Attachment, dossier: Dossier, *, by) -> None:
    if not dossier.is_editable:
        raise AttachmentRefused(NOT_EDITABLE, status=409)
    delete_attachment(attachment, by=by)


def _forget_abandoned_uploads(dossier: Dossier, *, by) -> None:
    """Delete the dossier's uploads started long ago and never confirmed (so that they stop being
    flagged as "en cours de vérification"). Their object, if any, goes too."""
    for attachment in _abandoned_uploads(Attachment.dossier_id == dossier.id):
        delete_attachment(attachment, by=by, reason="abandoned")


def purge_abandoned_uploads() -> int:
    """Delete every upload started more than ``STALE_UPLOAD_AFTER`` ago and never confirmed, in all
    dossiers (for ``flask ptce tick``). Returns how many; the caller commits."""
    stale = _abandoned_uploads()
    for attachment in stale:
        delete_attachment(attachment, by=None, reason="abandoned")
    return len(stale)


def _abandoned_uploads(*where) -> list[Attachment]:
    cutoff = utcnow() - STALE_UPLOAD_AFTER
    return list(db.session.scalars(sa.select(Attachment).where(
        Attachment.status == AttachmentStatus.UPLOADING, Attachment.created_at < cutoff, *where)
        .order_by(Attachment.id)))
