"""What every storage backend shares: the ``Storage`` protocol, its errors, key checks and small helpers.

Keys are ``/``-separated relative paths made by the app (``dossiers/12/<uuid>.pdf``); ``validate_key``
refuses anything that could escape a folder. The local upload route asks the app, through
``register_upload_check``, whether a key still awaits its upload (registered by the services, so that
this package knows no model). See ``ptce_aap.storage`` for the whole picture.
"""

from __future__ import annotations

import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, Protocol
from urllib.parse import quote

from ptce_aap.tokens import STORAGE_MAX_AGE

CHUNK_SIZE = 64 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
KEY_MAX_LENGTH = 300  # Attachment.storage_key is a String(300)
MAX_EXPIRES = STORAGE_MAX_AGE  # the longest a SigV4 presigned URL may live; the same bound for local ones

_FORBIDDEN_KEY_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")


class StorageError(Exception):
    """The storage could not do what was asked."""


class InvalidKeyError(StorageError, ValueError):
    """A key that is not a safe relative path (``..``, absolute, backslash, NUL, hidden segment…)."""


class ObjectNotFoundError(StorageError, FileNotFoundError):
    """No object under this key."""


class FileTooLargeError(StorageError):
    """The file grew past the allowed size while it was being received; nothing was kept."""

    def __init__(self, max_size: int):
        super().__init__(f"file larger than {max_size} bytes")
        self.max_size = max_size


class EmptyFileError(StorageError):
    """The received file was empty; nothing was kept."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str | None
    etag: str | None  # MD5 of the content for single-part uploads (S3 and local), without quotes


def validate_key(key: str) -> str:
    """Return ``key`` if it is a safe relative path, else raise ``InvalidKeyError``.

    Refused: empty or too long keys, ``..`` anywhere, a leading ``/``, backslashes, NUL and other control
    characters, empty segments (``a//b``) and segments starting with a dot (the local backend keeps its own
    files in dot-folders).
    """
    if not isinstance(key, str) or not key or len(key) > KEY_MAX_LENGTH:
        raise InvalidKeyError(f"invalid storage key: {key!r}")
    if ".." in key or key.startswith("/") or _FORBIDDEN_KEY_CHARS.search(key):
        raise InvalidKeyError(f"invalid storage key: {key!r}")
    if any(not part or part.startswith(".") for part in key.split("/")):
        raise InvalidKeyError(f"invalid storage key: {key!r}")
    return key


def content_disposition(filename: str | None, disposition: str = "attachment") -> str:
    """A ``Content-Disposition`` value, with an ASCII fallback and the RFC 5987 ``filename*`` for
    French names: ``attachment; filename="Budget previsionnel.pdf"; filename*=UTF-8''Budget%20pr%C3%A9…``."""
    if not filename:
        return disposition
    name = _FORBIDDEN_KEY_CHARS.sub("", filename).replace("/", "_").strip() or "fichier"
    fallback = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    fallback = re.sub(r"[^A-Za-z0-9 ._()+,-]", "_", fallback).strip() or "fichier"
    if fallback == name:
        return f'{disposition}; filename="{name}"'
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class Storage(Protocol):
    """What the app needs from a file store. Keys are checked with ``validate_key``."""

    name: str

    def put(self, key: str, fileobj: IO[bytes], *, content_type: str | None = None) -> int:
        """Store what remains of ``fileobj`` (streamed, never read whole) under ``key``; return its size."""

    def open_stream(self, key: str) -> IO[bytes]:
        """A readable binary stream of the object (use it in a ``with``); ``ObjectNotFoundError`` if missing."""

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The object's bytes in chunks; the object is opened at once (missing: ``ObjectNotFoundError``)
        and closed when the iterator ends or is closed (a Flask response closes it)."""

    def delete(self, key: str) -> None:
        """Remove the object; no error when it is already gone."""

    def copy(self, src: str, dst: str, *, content_type: str | None = None) -> None:
        """Copy the object ``src`` to ``dst`` (replacing what ``dst`` held), inside the store; ``src`` stays.
        ``content_type``: the type stored with the copy (default: the type of ``src``).
        ``ObjectNotFoundError`` when ``src`` does not exist (nothing is written then)."""

    def iter_keys(self, folder: str, *, modified_before: float | None = None) -> Iterator[str]:
        """The keys under ``folder`` (``"incoming"`` → ``incoming/…``), optionally only those last written
        before ``modified_before`` (a POSIX timestamp). For sweeping, not for a hot path."""

    def head(self, key: str) -> ObjectInfo | None:
        """Size, content type and ETag of the object, or ``None`` when it does not exist."""

    def exists(self, key: str) -> bool: ...

    def presigned_get(self, key: str, *, expires: int = 300, filename: str | None = None,
                      content_type: str | None = None) -> str:
        """A URL that downloads the object for ``expires`` seconds, as an attachment named ``filename``."""

    def presigned_post(self, key: str, *, max_size: int, content_types: list[str] | None = None,
                       expires: int = 600) -> dict[str, Any]:
        """``{"url", "fields"}`` for a browser multipart POST of one file (fields first, the file last)."""

    def healthcheck(self) -> str:
        """``"ok"``, or raise."""


def closing_chunks(stream: IO[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Chunks of ``stream``, closed when the iterator ends or is closed."""
    try:
        while chunk := stream.read(chunk_size):
            yield chunk
    finally:
        stream.close()


def read_chunks(fileobj: IO[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Chunks of what remains of ``fileobj``, which is left open (it belongs to the caller)."""
    while chunk := fileobj.read(chunk_size):
        yield chunk


def remaining_size(fileobj: IO[bytes]) -> int | None:
    """Bytes left to read in a seekable file, or ``None`` for a stream that cannot seek."""
    try:
        if not fileobj.seekable():
            return None
        start = fileobj.tell()
        end = fileobj.seek(0, os.SEEK_END)
        fileobj.seek(start)
    except (AttributeError, OSError, ValueError):  # ValueError: a closed file
        return None
    return end - start


def folder_prefix(folder: str) -> str:
    """``"incoming"`` or ``"incoming/"`` → ``"incoming/"`` (a safe folder, never the whole store)."""
    folder = folder.rstrip("/") if isinstance(folder, str) else folder
    validate_key(folder)
    return folder + "/"


def deadline(expires: int) -> int:
    """The POSIX time ``expires`` seconds from now, at least 1 second and at most ``MAX_EXPIRES``."""
    return int(_now()) + max(1, min(int(expires), MAX_EXPIRES))


def is_past(when: float) -> bool:
    return _now() > when


def _now() -> float:  # one clock for deadlines, replaced in tests
    return time.time()


# --- Which keys the local upload route may still write --------------------------------------------------

# folder prefix ("incoming/") -> check(key) -> may a browser upload still be stored under this key?
_UPLOAD_CHECKS: dict[str, Callable[[str], bool]] = {}


def register_upload_check(folder: str, check: Callable[[str], bool]) -> None:
    """Have the local upload route ask ``check(key)`` before storing a browser upload under ``folder/``,
    and refuse it (403) when the answer is false — e.g. when the upload was already confirmed, so that a
    replayed form is refused at once. ``check`` runs in the upload's request (it may query the database).

    Registered by the app's services (``ptce_aap.services.attachments``), so that this package knows no
    model. A defence in depth only: S3 cannot ask, and what protects a verified file on both backends is
    that no form is ever signed for its key (see ``ptce_aap.storage``).
    """
    _UPLOAD_CHECKS[folder_prefix(folder)] = check


def upload_allowed(key: str) -> bool:
    """False when a registered check refuses a browser upload under ``key`` (already received, given up)."""
    return all(check(key) for prefix, check in _UPLOAD_CHECKS.items() if key.startswith(prefix))
