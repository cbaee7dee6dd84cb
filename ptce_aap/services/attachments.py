"""Attachment use cases: start an upload, confirm (verify) it, replace and delete files.

An upload has two ways in, which end in the same ``confirm_upload``:

- with JavaScript: ``start_upload`` creates the row (``uploading``) with a *staging* key
  (``incoming/<dossier_id>/<uuid>``) and ``upload_form`` gives a presigned POST for that key only; the
  browser sends the file straight to the store, then asks for the confirmation;
- without JavaScript: the file goes through the app (``start_upload`` then ``receive_upload``, streamed),
  which writes it directly to its final key — no form is involved.

The final key (``dossiers/<dossier_id>/<uuid>/<safe name>``) is never given to a form. That matters
because a presigned POST stays valid for ``UPLOAD_EXPIRES`` whatever happens, and can be replayed: were it
signed for the key that is verified, the file could be replaced by anything after its checks (type,
antivirus, the SHA-256 printed on the receipt). So ``confirm_upload`` first copies the staging object to the
final key (``Storage.copy``), points the row to it and drops the staging object (after the commit), then
verifies *that copy*: a later write to the staging key changes nothing that was checked. Staging objects
left behind (a replayed form, an upload given up) are deleted by ``purge_abandoned_uploads``; production
buckets should also expire ``incoming/`` with a lifecycle rule (see ``ptce_aap.storage``).

``confirm_upload`` never trusts what the browser said: it checks that the object is there, its size
(``head``) and its real type (first bytes, zip markers — see ``ptce_aap.domain.filetypes``); a file that
fails is deleted from the store and its row marked ``rejected``. A file that passes becomes ``processing``
and the ``process_attachment`` job (``services.attachment_processing``: SHA-256, antivirus, page count)
makes it ``ready`` or ``quarantined``. ``Attachment.status`` changes only through ``set_attachment_status``
(``ATTACHMENT_TRANSITIONS``).

Like the other services they mutate, audit and schedule jobs; the caller commits. Refusals raise
``AttachmentRefused`` (a ``DomainError`` with a French message); when ``persist`` is true the refusal
changed something (a rejected row) that the caller must commit rather than roll back.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import IO

import sqlalchemy as sa

from ptce_aap import audit
from ptce_aap.domain import filetypes
from ptce_aap.domain.filetypes import (  # noqa: F401  (re-exported: the upload pages use them from here)
    ACCEPT_ATTRIBUTE,
    EXTENSIONS,
    FORMATS_TEXT,
    clean_filename,
    extension_of,
    key_filename,
    mime_for,
)
from ptce_aap.domain.messages import N_, Message, Size, join
from ptce_aap.enums import ATTACHMENT_TRANSITIONS, AttachmentStatus, DossierStatus, ScanStatus
from ptce_aap.errors import DomainError
from ptce_aap.extensions import db
from ptce_aap.jobs import schedule
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment, Dossier
from ptce_aap.permissions import dossier_accepts_changes
from ptce_aap.services.dossiers import lock_for_change
from ptce_aap.storage import (
    ObjectNotFoundError,
    Storage,
    get_storage,
    register_upload_check,
    remaining_size,
    storage_for,
)

logger = logging.getLogger("ptce_aap.attachments")


# Document types that take several files (every member signs its own letter); for the other types a
# new confirmed file replaces the previous one. (A call-level setting would be better: see DocumentType.)
MULTI_FILE_TYPES = frozenset({"engagements", "soutien_collectivite", "autre"})

UPLOAD_EXPIRES = 600  # seconds a presigned POST stays valid: long enough for the largest file on a slow line
STAGING_FOLDER = "incoming"  # the only keys upload forms are signed for: incoming/<dossier_id>/<uuid>
FINAL_FOLDER = "dossiers"  # verified files: dossiers/<dossier_id>/<uuid>/<safe name>, never writable by a form
STALE_UPLOAD_AFTER = timedelta(hours=1)  # an "uploading" row older than this was abandoned

NOT_RECEIVED = N_("Le fichier n'a pas été reçu : l'envoi a peut-être été interrompu. Réessayez.")
NOT_EDITABLE = N_("Ce dossier a été déposé : ses pièces ne sont plus modifiables.")
NOT_REQUESTED = N_("Ce document n'est pas demandé par la demande de compléments en cours (ou la date limite "
                   "de réponse est passée) : il ne peut pas être modifié.")
STORAGE_DOWN = N_("Le stockage des fichiers est momentanément indisponible : le fichier n'a pas été enregistré. "
                  "Réessayez dans quelques minutes.")


class AttachmentRefused(DomainError):
    """An upload refused with a French message. ``persist``: the refusal was recorded (commit it)."""

    def __init__(self, message: str, *, persist: bool = False, status: int = 422):
        super().__init__(message)
        self.persist = persist
        self.status = status


# --- Names, types and sizes ---------------------------------------------------------------------

def is_staging_key(key: str) -> bool:
    return key.startswith(STAGING_FOLDER + "/")


def final_key(attachment: Attachment) -> str:
    """Where a file lives once received: ``dossiers/<dossier_id>/<uuid>/<safe name>``, with the uuid of its
    staging key (so that confirming again after a rollback writes the same key)."""
    if not is_staging_key(attachment.storage_key):
        raise ValueError(f"not a staging key: {attachment.storage_key!r}")
    token = attachment.storage_key.rsplit("/", 1)[-1]
    return f"{FINAL_FOLDER}/{attachment.dossier_id}/{token}/{key_filename(attachment.filename)}"


def _awaits_upload(key: str) -> bool:
    """For the local upload route: may a browser still send a file to ``key``? Only while the row that
    owns this staging key is ``uploading`` (once confirmed, the row points to its final key)."""
    return db.session.scalar(sa.select(Attachment.id).where(
        Attachment.storage_key == key, Attachment.status == AttachmentStatus.UPLOADING)) is not None


register_upload_check(STAGING_FOLDER, _awaits_upload)


def too_large_message(limit: int) -> Message:
    return N_("Le fichier dépasse la taille maximale de %(size)s.", size=Size(limit))


def wrong_type_message(filename: str, expected: str | None, verdict: filetypes.Verdict) -> Message:
    return N_("« %(file)s » a été refusé : son contenu n'est pas %(expected)s comme l'indique son extension "
              "(c'est %(found)s). Vérifiez que vous avez choisi le bon fichier, ou enregistrez-le au bon format.",
              file=filename, expected=filetypes.type_name(expected),
              found=verdict.reason or filetypes.type_name(verdict.mime))


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


# --- Status ---------------------------------------------------------------------------------------

def set_attachment_status(attachment: Attachment, to: AttachmentStatus, *,
                          expected_from: AttachmentStatus | Collection[AttachmentStatus] | None = None,
                          by=None) -> None:
    """The only write path of ``Attachment.status``: the move must be in ``ATTACHMENT_TRANSITIONS`` and,
    with ``expected_from``, start from that status (a guard against a row changed meanwhile).

    An illegal move raises ``DomainError``. The caller audits the change with its own details (reason,
    checks' results), since they differ for each move; ``by`` is the acting user, ``None`` for a job."""
    current = attachment.status
    if expected_from is not None:
        allowed = {expected_from} if isinstance(expected_from, AttachmentStatus) else set(expected_from)
        if current not in allowed:
            raise DomainError(N_("Ce fichier n'est plus « %(expected)s » mais « %(current)s ».", current=current,
                                 expected=join((N_("%(name)s", name=s) for s in allowed), ", ")))
    if to not in ATTACHMENT_TRANSITIONS[current]:
        raise DomainError(N_("Transition impossible : %(before)s → %(after)s.", before=current, after=to))
    attachment.status = to
    logger.debug("attachment status changed", extra={"attachment_id": attachment.id, "from": current.value,
                                                      "to": to.value, "by": getattr(by, "id", None)})


# --- Use cases -----------------------------------------------------------------------------------

def _document_type(dossier: Dossier, code: str | None):
    for dt in dossier.call.document_types:
        if dt.code == code:
            return dt
    raise AttachmentRefused(N_("Choisissez le type de document à envoyer."), status=400)


def _summary(attachment: Attachment) -> dict:
    return {"filename": attachment.filename, "document_type": attachment.document_type_code,
            "status": attachment.status.value if attachment.status else None, "size": attachment.size,
            "sha256": attachment.sha256, "storage_key": attachment.storage_key}


def _check_open(dossier: Dossier, document_type_code: str | None) -> None:
    """A draft's documents change freely; while complements are requested, only the requested types."""
    if dossier.status == DossierStatus.DRAFT:
        return
    if not dossier_accepts_changes(dossier, document_type=document_type_code or ""):
        raise AttachmentRefused(NOT_REQUESTED if dossier.status == DossierStatus.CORRECTION else NOT_EDITABLE,
                                status=409)


def start_upload(dossier: Dossier, *, document_type_code: str | None, filename: str | None,
                 size: int | None, content_type: str | None, by) -> Attachment:
    """Check what the browser announces and create the ``uploading`` row with a fresh staging key.

    Refuses (``AttachmentRefused``, nothing recorded): a dossier no longer in draft, an unknown document
    type, a file name without an accepted extension, an empty or too large declared size.
    """
    _check_open(dossier, document_type_code)
    document_type = _document_type(dossier, document_type_code)
    name = clean_filename(filename)
    if not name:
        raise AttachmentRefused(N_("Choisissez un fichier à envoyer."), status=400)
    mime = mime_for(name)
    if mime is None:
        raise AttachmentRefused(N_("« %(file)s » n'est pas d'un format accepté. Formats acceptés : %(formats)s.",
                                   file=name, formats=FORMATS_TEXT))
    limit = upload_limit(dossier)
    if size is not None:
        if size <= 0:
            raise AttachmentRefused(N_("« %(file)s » est vide.", file=name))
        if size > limit:
            raise AttachmentRefused(too_large_message(limit))
    _forget_abandoned_uploads(dossier, by=by)
    storage = get_storage()
    key = f"{STAGING_FOLDER}/{dossier.id}/{uuid.uuid4().hex}"
    attachment = Attachment(
        dossier_id=dossier.id, document_type_code=document_type.code, filename=name,
        storage_backend=storage.name, storage_key=key, size=size, declared_mime=(content_type or "")[:120],
        mime=None, status=AttachmentStatus.UPLOADING, scan_status=ScanStatus.PENDING, uploaded_by_id=by.id)
    db.session.add(attachment)
    db.session.flush()
    audit.record("attachment.upload_started", attachment, actor=by, summary={"after": _summary(attachment)})
    return attachment


def upload_form(attachment: Attachment, dossier: Dossier) -> dict:
    """``{"url", "fields"}`` of the presigned POST for the browser (the file goes last, field ``file``).

    Only for an upload still waiting for its file, whose key is a staging key: a form is never signed for
    the key of a file that is (or will be) verified."""
    if attachment.status != AttachmentStatus.UPLOADING or not is_staging_key(attachment.storage_key):
        raise ValueError(f"no upload form for attachment {attachment.id} ({attachment.storage_key!r})")
    storage = storage_for(attachment.storage_backend)
    return storage.presigned_post(attachment.storage_key, max_size=upload_limit(dossier),
                                  content_types=[mime_for(attachment.filename)], expires=UPLOAD_EXPIRES)


def receive_upload(attachment: Attachment, dossier: Dossier, fileobj: IO[bytes]) -> int:
    """Stream a file received by the app (no-JavaScript form) into the store; return its size.

    The file is written directly to its final key (no form can reach it), and the row points there;
    ``confirm_upload`` then verifies it in place. A seekable file (Werkzeug's spooled upload) over the
    limit is refused before anything is stored.
    """
    if attachment.status != AttachmentStatus.UPLOADING or not is_staging_key(attachment.storage_key):
        raise ValueError(f"attachment {attachment.id} is not waiting for its file")
    size = remaining_size(fileobj)
    limit = upload_limit(dossier)
    if size is not None and size > limit:
        raise AttachmentRefused(too_large_message(limit))
    if size == 0:
        raise AttachmentRefused(N_("« %(file)s » est vide.", file=attachment.filename))
    storage = storage_for(attachment.storage_backend)
    key = final_key(attachment)
    try:
        stored = storage.put(key, fileobj, content_type=mime_for(attachment.filename))
    except Exception as exc:  # the store is down or refused: nothing to keep, the user can retry
        logger.exception("upload to storage failed", extra={"attachment_id": attachment.id})
        with contextlib.suppress(Exception):
            storage.delete(key)
        raise AttachmentRefused(STORAGE_DOWN, status=503) from exc
    attachment.storage_key = key
    return stored


def reject(attachment: Attachment, reason: str, *, by, delete_object: bool = True) -> None:
    """Mark an upload ``rejected`` with its reason and delete its object (the row stays as a record)."""
    before = _summary(attachment)
    if delete_object:
        storage_for(attachment.storage_backend).delete(attachment.storage_key)
    set_attachment_status(attachment, AttachmentStatus.REJECTED)
    attachment.rejection_reason = reason[:300]
    attachment.processed_at = utcnow()
    audit.record("attachment.rejected", attachment, actor=by,
                 summary={"before": before, "after": {"status": "rejected", "reason": reason}})


def confirm_upload(attachment: Attachment, dossier: Dossier, *, by, replaces_id: int | None = None) -> Attachment:
    """Move an uploaded object out of reach of its upload form, verify it, and hand it to the
    ``process_attachment`` job.

    - no object: ``AttachmentRefused(NOT_RECEIVED)``, the row stays ``uploading`` (nothing recorded);
    - larger than the call's limit, empty, or a content that is not what its extension says: the object
      is deleted, the row ``rejected`` (``persist=True``);
    - otherwise: ``processing``, the job is scheduled, and the files it replaces are deleted (the one
      named by ``replaces_id``; for a single-file document type, every previous file of that type).
    A browser upload (staging key) is first copied to its final key, which the row then points to, and
    the copy is what gets verified (``_move_to_final``); a file received by the app is already there.
    Confirming an upload already confirmed changes nothing.
    """
    if attachment.status != AttachmentStatus.UPLOADING:
        if attachment.status == AttachmentStatus.REJECTED:
            raise AttachmentRefused(attachment.rejection_reason or NOT_RECEIVED)
        return attachment
    lock_for_change(dossier)
    _check_open(dossier, attachment.document_type_code)
    before = _summary(attachment)
    storage = storage_for(attachment.storage_backend)
    if is_staging_key(attachment.storage_key):
        _move_to_final(attachment, dossier, storage, by=by)
    verdict = _verify_stored(attachment, dossier, storage, by=by)
    attachment.mime = verdict.mime
    set_attachment_status(attachment, AttachmentStatus.PROCESSING, expected_from=AttachmentStatus.UPLOADING)
    audit.record("attachment.received", attachment, actor=by, summary={"before": before,
                                                                       "after": _summary(attachment)})
    for old in _replaced_by(attachment, dossier, replaces_id):
        delete_attachment(old, by=by, reason="replaced", replaced_by=attachment)
    schedule("process_attachment", dedupe_key=f"process_attachment:{attachment.id}", attachment_id=attachment.id)
    return attachment


def _refuse_size(attachment: Attachment, dossier: Dossier, size: int | None, *, by) -> None:
    """Reject the upload (deleting the object under its current key) when ``size`` is missing, zero or
    over the call's limit."""
    if size is None:
        raise AttachmentRefused(NOT_RECEIVED, status=409)
    limit = upload_limit(dossier)
    if size > limit:
        reject(attachment, too_large_message(limit), by=by)
        raise AttachmentRefused(too_large_message(limit), persist=True)
    if size == 0:
        message = N_("« %(file)s » est vide.", file=attachment.filename)
        reject(attachment, message, by=by)
        raise AttachmentRefused(message, persist=True)


def _move_to_final(attachment: Attachment, dossier: Dossier, storage: Storage, *, by) -> None:
    """Copy the browser's upload from its staging key to its final key, point the row there, and delete
    the staging object once this is committed (``delete_stored_object`` deletes it then: no row points to
    it any more; if the transaction is rolled back, the staging object is still there to confirm again).

    The size is checked first, so that an oversized object is not copied (it is checked again on the
    copy: the staging object may change until the copy is made)."""
    staging = attachment.storage_key
    info = storage.head(staging)
    _refuse_size(attachment, dossier, info.size if info else None, by=by)
    final = final_key(attachment)
    try:
        storage.copy(staging, final, content_type=mime_for(attachment.filename))
    except ObjectNotFoundError as exc:  # deleted between head and copy
        raise AttachmentRefused(NOT_RECEIVED, status=409) from exc
    attachment.storage_key = final
    schedule("delete_stored_object", dedupe_key=f"delete_stored_object:{staging}",
             backend=attachment.storage_backend, key=staging)


def _verify_stored(attachment: Attachment, dossier: Dossier, storage: Storage, *, by) -> filetypes.Verdict:
    """The one check of a received file, whichever way it came, on the object under the row's (final)
    key: there, not empty, within the call's limit, and really of the type its extension says. Records
    the size; on failure rejects the upload (the object is deleted) and raises ``AttachmentRefused``."""
    info = storage.head(attachment.storage_key)
    _refuse_size(attachment, dossier, info.size if info else None, by=by)
    expected = mime_for(attachment.filename)
    try:
        with contextlib.closing(storage.open_stream(attachment.storage_key)) as stream:
            verdict = filetypes.verify_content(expected, stream, limit=info.size)
    except ObjectNotFoundError as exc:
        raise AttachmentRefused(NOT_RECEIVED, status=409) from exc
    if not verdict.ok:
        message = wrong_type_message(attachment.filename, expected, verdict)
        reject(attachment, message, by=by)
        raise AttachmentRefused(message, persist=True)
    attachment.size = info.size
    return verdict


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
    lock_for_change(dossier)
    _check_open(dossier, attachment.document_type_code)
    delete_attachment(attachment, by=by)


def _forget_abandoned_uploads(dossier: Dossier, *, by) -> None:
    """Delete the dossier's uploads started long ago and never confirmed (so that they stop being
    flagged as "en cours de vérification"). Their object, if any, goes too."""
    for attachment in _abandoned_uploads(Attachment.dossier_id == dossier.id):
        delete_attachment(attachment, by=by, reason="abandoned")


def purge_abandoned_uploads(*, now: datetime | None = None) -> int:
    """Delete every upload started more than ``STALE_UPLOAD_AFTER`` ago and never confirmed, in all
    dossiers, with its staging object (after the commit); then sweep the staging folder (``_sweep_staging``).
    For ``flask ptce tick``. Returns how many rows were deleted; the caller commits."""
    now = now or utcnow()
    stale = _abandoned_uploads(now=now)
    for attachment in stale:
        delete_attachment(attachment, by=None, reason="abandoned")
    _sweep_staging(modified_before=now - STALE_UPLOAD_AFTER)
    return len(stale)


SWEEP_MAX = 1000  # staging objects deleted per sweep at most (the next tick goes on)


def _sweep_staging(*, modified_before: datetime) -> int:
    """Delete the staging objects of the configured store last written before ``modified_before`` that no
    row points to: a replayed upload form, a file that arrived after its upload was deleted, a staging
    object whose deletion failed. (An upload older than that is abandoned anyway: its row goes too.)
    A store that cannot be reached is logged, not raised: the tick goes on. Returns how many."""
    storage = get_storage()
    try:
        keys = list(itertools.islice(
            storage.iter_keys(STAGING_FOLDER, modified_before=modified_before.timestamp()), SWEEP_MAX))
    except Exception:  # the store is down: the next tick will sweep
        logger.exception("listing the staging uploads failed")
        return 0
    used: set[str] = set()
    for start in range(0, len(keys), 500):
        used.update(db.session.scalars(sa.select(Attachment.storage_key).where(
            Attachment.storage_backend == storage.name, Attachment.storage_key.in_(keys[start:start + 500]))))
    swept = 0
    for key in keys:
        if key in used:
            continue
        try:
            storage.delete(key)
        except Exception:
            logger.exception("deleting a staging upload failed")
            break
        swept += 1
    if swept:
        logger.info("staging uploads swept: %d", swept)
    return swept


def _abandoned_uploads(*where, now: datetime | None = None) -> list[Attachment]:
    cutoff = (now or utcnow()) - STALE_UPLOAD_AFTER
    return list(db.session.scalars(sa.select(Attachment).where(
        Attachment.status == AttachmentStatus.UPLOADING, Attachment.created_at < cutoff, *where)
        .order_by(Attachment.id)))
