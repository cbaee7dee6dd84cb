"""What is inside an uploaded document, and the ``process_attachment`` job that finds out.

- ``verify_content(expected_mime, stream)``: does the content really have the type its extension
  promises? The first bytes are sniffed with ``filetype``; OOXML (docx/xlsx/pptx) and ODF (odt/ods/odp)
  files are zip containers whose local file headers are walked from the stream until the marker is
  found (``[Content_Types].xml`` plus the main folder; the ``mimetype`` first entry), so only the
  beginning of the file is read; old Office files (doc/xls/ppt) are OLE containers (magic bytes).
- ``ClamdStream``: a clamd client speaking ``zINSTREAM`` over TCP (``CLAMD_ADDRESS = "host:port"``).
- ``process_attachment(id)`` (the job): streams the object once — SHA-256, size, antivirus and a spooled
  copy for the type check and the PDF page count — then marks the attachment ready, quarantined or
  rejected. The object is the one under the row's final key, which no upload form can write (see
  ``ptce_aap.services.attachments``): what is fingerprinted and scanned stays what is stored. Idempotent; raises when the storage (or clamd) is unreachable so that the job is retried,
  leaving the attachment "processing" meanwhile.

Upload use cases (start, confirm, replace, delete) are in ``ptce_aap.services.attachments``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import socket
import struct
import tempfile
import warnings
from dataclasses import dataclass
from typing import IO

import filetype
import sqlalchemy as sa
from flask import current_app

from ptce_aap import audit
from ptce_aap.enums import AttachmentStatus, ScanStatus
from ptce_aap.extensions import db
from ptce_aap.jobs import is_last_attempt, task
from ptce_aap.models.base import utcnow
from ptce_aap.models.dossiers import Attachment

logger = logging.getLogger("ptce_aap.documents")

HEAD_SIZE = 8192  # what filetype reads
CHUNK_SIZE = 64 * 1024
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_WALK_MAX_ENTRIES = 2000
PDF = "application/pdf"

OLE_TYPES = {"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"}
# OOXML type -> the folder its main part lives in.
OOXML_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "word/",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xl/",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "ppt/",
}
ODF_TYPES = {"application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
             "application/vnd.oasis.opendocument.presentation"}

# Names shown to people when a content is not what its extension says.
TYPE_NAMES = {
    PDF: "un document PDF",
    "image/png": "une image PNG",
    "image/jpeg": "une image JPEG",
    "image/gif": "une image GIF",
    "image/webp": "une image WebP",
    "image/tiff": "une image TIFF",
    "image/bmp": "une image BMP",
    "application/msword": "un document Word (.doc)",
    "application/vnd.ms-excel": "un classeur Excel (.xls)",
    "application/vnd.ms-powerpoint": "une présentation PowerPoint (.ppt)",
    "application/x-ole-storage": "un ancien document Office",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "un document Word (.docx)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "un classeur Excel (.xlsx)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation":
        "une présentation PowerPoint (.pptx)",
    "application/vnd.oasis.opendocument.text": "un texte OpenDocument (.odt)",
    "application/vnd.oasis.opendocument.spreadsheet": "un classeur OpenDocument (.ods)",
    "application/vnd.oasis.opendocument.presentation": "une présentation OpenDocument (.odp)",
    "application/zip": "une archive ZIP",
    "application/x-msdownload": "un programme exécutable",
    "application/x-executable": "un programme exécutable",
    "text/html": "une page web",
}


def type_name(mime: str | None) -> str:
    return TYPE_NAMES.get(mime or "", "un fichier d'un autre type" if mime else "un fichier de type inconnu")


# --- Type checks --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """The result of ``verify_content``: ``ok``, the detected type (``None`` if unknown) and why not."""

    ok: bool
    mime: str | None
    reason: str = ""


class _Buffered:
    """A forward-only view of a stream with a small buffer (for walking zip headers).

    ``limit`` bounds how many bytes are ever read from the stream."""

    def __init__(self, stream: IO[bytes], head: bytes = b"", limit: int | None = None):
        self.stream = stream
        self.buf = bytearray(head)
        self.read_total = len(head)
        self.limit = limit
        self.eof = False

    def _fill(self, at_least: int) -> bool:
        while len(self.buf) < at_least and not self.eof:
            size = CHUNK_SIZE
            if self.limit is not None:
                size = min(size, self.limit - self.read_total)
                if size <= 0:
                    self.eof = True
                    break
            chunk = self.stream.read(size)
            if not chunk:
                self.eof = True
                break
            self.read_total += len(chunk)
            self.buf += chunk
        return len(self.buf) >= at_least

    def peek(self, n: int) -> bytes:
        self._fill(n)
        return bytes(self.buf[:n])

    def take(self, n: int) -> bytes:
        self._fill(n)
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def skip(self, n: int) -> bool:
        while n > 0:
            if not self.buf and not self._fill(1):
                return False
            step = min(n, len(self.buf))
            del self.buf[:step]
            n -= step
        return True

    def seek_signature(self, signature: bytes) -> bool:
        """Drop bytes up to the next ``signature`` (left at the start of the buffer)."""
        while True:
            index = self.buf.find(signature)
            if index >= 0:
                del self.buf[:index]
                return True
            keep = len(signature) - 1
            if len(self.buf) > keep:
                del self.buf[:len(self.buf) - keep]
            if not self._fill(len(self.buf) + 1):
                return False


@dataclass(frozen=True)
class ZipEntry:
    name: str
    method: int
    data_start: bytes  # up to the first 128 bytes of the stored data (meaningful when method == 0)


_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")


def zip_entries(reader: _Buffered, max_entries: int = ZIP_WALK_MAX_ENTRIES):
    """The entries of a zip, from its local file headers, in order — read forward only.

    An entry whose compressed size is not in its header (bit 3, zip64) is skipped by looking for the next
    header's signature. Stops at the central directory, at the end of the data, or after ``max_entries``.
    """
    for _ in range(max_entries):
        header = reader.peek(_LOCAL_HEADER.size)
        if len(header) < _LOCAL_HEADER.size or not header.startswith(ZIP_MAGIC):
            return
        (_sig, _version, flags, method, _time, _date, _crc, compressed_size, _size, name_length,
         extra_length) = _LOCAL_HEADER.unpack(header)
        reader.take(_LOCAL_HEADER.size)
        raw_name = reader.take(name_length)
        if len(raw_name) < name_length or not reader.skip(extra_length):
            return
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "replace")
        known_size = not (flags & 0x08) and compressed_size != 0xFFFFFFFF
        data_start = reader.peek(min(128, compressed_size)) if known_size else b""
        yield ZipEntry(name=name, method=method, data_start=data_start)
        if known_size:
            if not reader.skip(compressed_size):
                return
        elif not reader.seek_signature(ZIP_MAGIC):
            return


def _check_ooxml(expected: str, reader: _Buffered) -> Verdict:
    folder = OOXML_TYPES[expected]
    known_folders = set(OOXML_TYPES.values())
    has_types, folders = False, set()
    for entry in zip_entries(reader):
        has_types = has_types or entry.name == "[Content_Types].xml"
        top = entry.name.split("/", 1)[0] + "/"
        if top in known_folders:
            folders.add(top)
        if has_types and folder in folders:
            return Verdict(True, expected)
    if has_types:  # an Office document of another kind (a .xlsx renamed .docx), or a broken one
        other = next((mime for mime, f in OOXML_TYPES.items() if f in folders), None)
        return Verdict(False, other, type_name(other) if other else "un document Office incomplet")
    return Verdict(False, "application/zip", type_name("application/zip"))


def _check_odf(expected: str, reader: _Buffered) -> Verdict:
    first = next(zip_entries(reader, max_entries=1), None)
    if first is None or first.name != "mimetype" or first.method != 0:
        return Verdict(False, "application/zip", type_name("application/zip"))
    declared = first.data_start.decode("ascii", "replace").strip()
    if declared != expected:
        return Verdict(False, declared or None, type_name(declared) if declared in ODF_TYPES
                       else "un autre type de document OpenDocument")
    return Verdict(True, expected)


def sniff(head: bytes) -> str | None:
    """The type of a content from its first bytes (``None`` when unknown)."""
    if head.startswith(OLE_MAGIC):
        kind = filetype.guess(head)
        return kind.mime if kind and kind.mime in OLE_TYPES else "application/x-ole-storage"
    kind = filetype.guess(head) if head else None
    return kind.mime if kind else None


def verify_content(expected: str, stream: IO[bytes], *, limit: int | None = None) -> Verdict:
    """Check that ``stream`` (read forward, at most ``limit`` bytes) holds a document of type ``expected``.

    ``reason`` (when not ok) says in French what the content looks like instead (« un programme
    exécutable »). Old Office files are accepted whatever their exact OLE flavour (.doc/.xls/.ppt vary).
    """
    reader = _Buffered(stream, limit=limit)
    head = reader.peek(HEAD_SIZE)
    detected = sniff(head)
    if expected in OLE_TYPES:
        if head.startswith(OLE_MAGIC):
            return Verdict(True, detected if detected in OLE_TYPES else expected)
        return Verdict(False, detected, type_name(detected))
    if expected in OOXML_TYPES or expected in ODF_TYPES:
        if expected in OOXML_TYPES and head.startswith(OLE_MAGIC):  # how Office stores encrypted files
            return Verdict(False, detected, "un document Office protégé par un mot de passe ou d'un ancien format")
        if not head.startswith(ZIP_MAGIC):
            return Verdict(False, detected, type_name(detected))
        return _check_ooxml(expected, reader) if expected in OOXML_TYPES else _check_odf(expected, reader)
    if detected == expected:
        return Verdict(True, detected)
    return Verdict(False, detected, type_name(detected))


def pdf_page_count(fileobj: IO[bytes]) -> int | None:
    """The number of pages of a PDF with ``pypdf`` when it is installed; ``None`` otherwise or when the
    file cannot be read (encrypted, damaged)."""
    try:
        from pypdf import PdfReader
    except ImportError:
        return None
    try:
        fileobj.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return len(PdfReader(fileobj).pages)
    except Exception:  # any damaged or hostile PDF: the count is a convenience, not a check
        logger.info("PDF page count failed", exc_info=True)
        return None


# --- ClamAV ---------------------------------------------------------------------------------------

class ClamdUnavailable(Exception):  # noqa: N818
    """clamd could not be reached or hung up before answering: try again later."""


class ClamdScanError(Exception):
    """clamd answered with an error (e.g. "INSTREAM size limit exceeded"): retrying will not help."""


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str | None = None


def parse_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (or ``"[::1]:3310"``) → ``(host, port)``."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"CLAMD_ADDRESS must be host:port, not {address!r}")
    return host.strip("[]"), int(port)


class ClamdStream:
    """One ``zINSTREAM`` scan: ``send(chunk)`` as the file streams by, then ``result()``.

    Chunks are framed by a 4-byte big-endian length; four zero bytes end the stream. Past its
    ``StreamMaxLength`` clamd answers "size limit exceeded" and closes the socket: a broken pipe while
    sending is therefore not an error by itself — the reply is read and tells what happened.
    """

    max_chunk = 1024 * 1024

    def __init__(self, address: str, *, timeout: float = 30.0):
        host, port = parse_address(address)
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.sendall(b"zINSTREAM\0")
        except OSError as exc:
            raise ClamdUnavailable(f"clamd {address}: {exc}") from exc
        self.address = address
        self.closed_by_peer = False

    def send(self, chunk: bytes) -> None:
        if self.closed_by_peer:
            return
        view = memoryview(chunk)
        try:
            for start in range(0, len(view), self.max_chunk):
                part = view[start:start + self.max_chunk]
                self.sock.sendall(struct.pack("!L", len(part)) + part)
        except (BrokenPipeError, ConnectionResetError):
            self.closed_by_peer = True
        except OSError as exc:
            self.close()
            raise ClamdUnavailable(f"clamd {self.address}: {exc}") from exc

    def result(self) -> ScanResult:
        try:
            if not self.closed_by_peer:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.sock.sendall(b"\0\0\0\0")
            reply = bytearray()
            while not reply.endswith(b"\0"):
                try:
                    data = self.sock.recv(4096)
                except ConnectionResetError:
                    break
                if not data:
                    break
                reply += data
        except OSError as exc:
            raise ClamdUnavailable(f"clamd {self.address}: {exc}") from exc
        finally:
            self.close()
        return parse_reply(reply.rstrip(b"\0\n").decode("utf-8", "replace"), self.address)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def parse_reply(text: str, address: str = "clamd") -> ScanResult:
    """``stream: OK`` / ``stream: Eicar-Signature FOUND`` / ``… ERROR``."""
    if not text:
        raise ClamdUnavailable(f"{address}: no answer")
    body = text.split(":", 1)[1].strip() if ":" in text else text.strip()
    if body == "OK":
        return ScanResult(infected=False)
    if body.endswith(" FOUND"):
        return ScanResult(infected=True, signature=body.removesuffix(" FOUND").strip())
    raise ClamdScanError(f"{address}: {text}")


def scan_bytes(address: str, data: bytes) -> ScanResult:
    """Scan a small content in one go (tests, health checks)."""
    stream = ClamdStream(address)
    stream.send(data)
    return stream.result()


# --- The processing job ---------------------------------------------------------------------------

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


@task("process_attachment")
def task_process_attachment(attachment_id: int) -> str:
    return process_attachment(attachment_id)


def process_attachment(attachment_id: int) -> str:
    """Check, fingerprint and scan one confirmed upload; commits. Returns what happened.

    The row is locked (``FOR UPDATE SKIP LOCKED``) while the file streams by, so that a job run twice at
    once does the work once. Only an attachment in ``processing`` is touched: ready, rejected,
    quarantined or deleted ones are left as they are (the job is idempotent).
    """
    from ptce_aap.models.calls import Call
    from ptce_aap.models.dossiers import Dossier
    from ptce_aap.services import attachments as service
    from ptce_aap.storage import ObjectNotFoundError, storage_for

    attachment = db.session.execute(
        sa.select(Attachment).where(Attachment.id == attachment_id).with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if attachment is None:
        db.session.rollback()
        return "missing" if db.session.get(Attachment, attachment_id) is None else "busy"
    if attachment.status != AttachmentStatus.PROCESSING:
        db.session.rollback()
        return f"already {attachment.status.value}"
    limit = db.session.scalar(sa.select(Call.max_upload_bytes).join(Dossier, Dossier.call_id == Call.id)
                              .where(Dossier.id == attachment.dossier_id))
    expected = service.mime_for(attachment.filename) or attachment.mime or ""
    storage = storage_for(attachment.storage_backend)
    address = current_app.config.get("CLAMD_ADDRESS")
    scanner = None
    try:
        if address:  # unreachable: raises, the job is retried (see below for the last try)
            scanner = ClamdStream(address, timeout=current_app.config.get("CLAMD_TIMEOUT", 60))
        result = analyse(storage.iter_chunks(attachment.storage_key), expected_mime=expected, scanner=scanner)
    except ObjectNotFoundError:
        service.reject(attachment, "Le fichier n'a pas été retrouvé dans le stockage : envoyez-le à nouveau.",
                       by=None, delete_object=False)
        db.session.commit()
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

    before = {"status": attachment.status.value, "scan_status": attachment.scan_status.value}
    if limit is not None and result.size > limit:
        service.reject(attachment, service.too_large_message(limit), by=None)
        db.session.commit()
        return "rejected"
    if not result.verdict.ok:
        service.reject(attachment, service.wrong_type_message(attachment.filename, expected, result.verdict),
                       by=None)
        db.session.commit()
        return "rejected"
    attachment.size = result.size
    attachment.sha256 = result.sha256
    attachment.mime = result.verdict.mime
    attachment.page_count = result.page_count
    attachment.processed_at = utcnow()
    if result.scan is not None and result.scan.infected:
        attachment.status = AttachmentStatus.QUARANTINED
        attachment.scan_status = ScanStatus.INFECTED
        attachment.rejection_reason = f"L'antivirus a détecté « {result.scan.signature} »."[:300]
        action = "attachment.quarantined"
        logger.warning("infected upload quarantined", extra={"attachment_id": attachment.id})
    elif address and result.scan is None:
        # A scanner is configured but could not analyse this file (too large for it, or unreachable on the
        # last try): never serve it as if it were clean.
        attachment.scan_status = ScanStatus.ERROR
        logger.error("antivirus could not analyse the attachment: %s", result.scan_error)
        service.reject(attachment, "L'antivirus n'a pas pu analyser ce fichier : envoyez-le de nouveau (s'il est "
                       "très volumineux, réduisez sa taille, par exemple en compressant le PDF).", by=None)
        db.session.commit()
        return "rejected"
    else:
        attachment.status = AttachmentStatus.READY
        attachment.scan_status = ScanStatus.CLEAN if result.scan is not None else ScanStatus.NOT_SCANNED
        action = "attachment.ready"
    audit.record(action, attachment, actor=None, summary={
        "before": before,
        "after": {"status": attachment.status.value, "scan_status": attachment.scan_status.value,
                  "size": attachment.size, "sha256": attachment.sha256, "mime": attachment.mime,
                  "page_count": attachment.page_count,
                  **({"signature": result.scan.signature} if result.scan and result.scan.infected else {})}})
    db.session.commit()
    return attachment.status.value


def reschedule_abandoned_processing() -> int:
    """Give a new ``process_attachment`` job to every attachment still ``processing`` that no job will
    finish: its jobs all ended (the store was down longer than every retry, or a run found the row
    busy and its holder died). Run by ``flask ptce tick``; the caller commits. Returns how many."""
    from ptce_aap.enums import OutboxStatus
    from ptce_aap.jobs import schedule
    from ptce_aap.models.outbox import OutboxEntry

    running = (sa.select(OutboxEntry.kwargs["attachment_id"].as_integer())
               .where(OutboxEntry.task == "process_attachment",
                      OutboxEntry.status.in_([OutboxStatus.PENDING, OutboxStatus.ENQUEUED])))
    stuck = db.session.scalars(
        sa.select(Attachment.id).where(Attachment.status == AttachmentStatus.PROCESSING,
                                       Attachment.id.not_in(running.scalar_subquery()))
        .order_by(Attachment.id)).all()
    for attachment_id in stuck:
        schedule("process_attachment", dedupe_key=f"process_attachment:{attachment_id}:{utcnow():%Y%m%d%H%M%S%f}",
                 attachment_id=attachment_id)
        logger.warning("attachment still processing without a job: scheduled again",
                       extra={"attachment_id": attachment_id})
    return len(stuck)


@task("delete_stored_object")
def task_delete_stored_object(backend: str, key: str) -> str:
    """Remove a file whose row is gone (deleted or replaced attachment). Does nothing while a row still
    points to ``key``; deleting a missing object is not an error (idempotent)."""
    from ptce_aap.storage import storage_for

    if db.session.scalar(sa.select(Attachment.id).where(Attachment.storage_key == key)) is not None:
        return "still used"
    storage_for(backend).delete(key)
    return "deleted"
