"""What is inside an uploaded document, checked from its bytes only (no Flask, no database).

- File names: ``clean_filename`` (what to show and download under), ``key_filename`` (ASCII, for storage
  keys), and the accepted extensions with the type each promises (``EXTENSIONS``, ``mime_for``).
- ``verify_content(expected_mime, stream)``: does the content really have the type its extension
  promises? The first bytes are sniffed with ``filetype``; OOXML (docx/xlsx/pptx) and ODF (odt/ods/odp)
  files are zip containers whose local file headers are walked from the stream until the marker is
  found (``[Content_Types].xml`` plus the main folder; the ``mimetype`` first entry), so only the
  beginning of the file is read; old Office files (doc/xls/ppt) are OLE containers (magic bytes).
- ``pdf_page_count``: with ``pypdf`` when it is installed.

The antivirus client is ``ptce_aap.clamd``; the job that runs both is
``ptce_aap.services.attachment_processing``.
"""

from __future__ import annotations

import logging
import re
import struct
import unicodedata
import warnings
from dataclasses import dataclass
from typing import IO

import filetype

from ptce_aap.domain.messages import N_, Message

logger = logging.getLogger("ptce_aap.filetypes")

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
    PDF: N_("un document PDF"),
    "image/png": N_("une image PNG"),
    "image/jpeg": N_("une image JPEG"),
    "image/gif": N_("une image GIF"),
    "image/webp": N_("une image WebP"),
    "image/tiff": N_("une image TIFF"),
    "image/bmp": N_("une image BMP"),
    "application/msword": N_("un document Word (.doc)"),
    "application/vnd.ms-excel": N_("un classeur Excel (.xls)"),
    "application/vnd.ms-powerpoint": N_("une présentation PowerPoint (.ppt)"),
    "application/x-ole-storage": N_("un ancien document Office"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": N_("un document Word (.docx)"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": N_("un classeur Excel (.xlsx)"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation":
        N_("une présentation PowerPoint (.pptx)"),
    "application/vnd.oasis.opendocument.text": N_("un texte OpenDocument (.odt)"),
    "application/vnd.oasis.opendocument.spreadsheet": N_("un classeur OpenDocument (.ods)"),
    "application/vnd.oasis.opendocument.presentation": N_("une présentation OpenDocument (.odp)"),
    "application/zip": N_("une archive ZIP"),
    "application/x-msdownload": N_("un programme exécutable"),
    "application/x-executable": N_("un programme exécutable"),
    "text/html": N_("une page web"),
}


def type_name(mime: str | None) -> Message:
    return TYPE_NAMES.get(mime or "", N_("un fichier d'un autre type") if mime else N_("un fichier de type inconnu"))


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

FILENAME_MAX = 200


# --- Names ---------------------------------------------------------------------------------------

_INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}  # controls, bidi overrides (“fichier‮fdp.exe”)…


# Windows device names: « CON.pdf » (whatever the extension, the case or trailing spaces) is no file there.
WINDOWS_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                              *(f"LPT{i}" for i in range(10))})


def _not_a_device(name: str) -> str:
    """``_CON.pdf`` for ``CON.pdf``: a name Windows would take for a device gets an underscore first."""
    return "_" + name if name.split(".", 1)[0].rstrip(" ").upper() in WINDOWS_RESERVED else name


def clean_filename(name: str | None) -> str:
    """The name to show and to download under: no folder, no control or bidi characters, no leading
    dots, no Windows device name (``_CON.pdf``), at most ``FILENAME_MAX`` characters (the extension is kept)."""
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
    return _not_a_device(name) if name else name


def key_filename(name: str) -> str:
    """An ASCII version of a clean name for the storage key (``Budget prévisionnel.pdf`` →
    ``Budget-previsionnel.pdf``)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, ext = ascii_name.rpartition(".")
    if not dot:
        stem, ext = ascii_name, ""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-_")[:80] or "fichier"
    ext = re.sub(r"[^A-Za-z0-9]+", "", ext).lower()[:10]
    if stem.upper() in WINDOWS_RESERVED:
        stem = "fichier-" + stem
    return f"{stem}.{ext}" if ext else stem


def extension_of(filename: str) -> str:
    _stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot else ""


def mime_for(filename: str) -> str | None:
    """The MIME type an accepted file name promises, or ``None`` for an extension not accepted."""
    return EXTENSIONS.get(extension_of(filename))


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
        return Verdict(False, other, type_name(other) if other else N_("un document Office incomplet"))
    return Verdict(False, "application/zip", type_name("application/zip"))


def _check_odf(expected: str, reader: _Buffered) -> Verdict:
    first = next(zip_entries(reader, max_entries=1), None)
    if first is None or first.name != "mimetype" or first.method != 0:
        return Verdict(False, "application/zip", type_name("application/zip"))
    declared = first.data_start.decode("ascii", "replace").strip()
    if declared != expected:
        return Verdict(False, declared or None, type_name(declared) if declared in ODF_TYPES
                       else N_("un autre type de document OpenDocument"))
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
            return Verdict(False, detected, N_("un document Office protégé par un mot de passe ou d'un ancien "
                                                   "format"))
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
        from pypdf import PdfReader  # an optional dependency: imported here so that its absence is not fatal
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
