"""Where uploaded files live: a small ``Storage`` interface and two backends.

- ``S3Storage``: any S3-compatible store (production), through boto3.
- ``LocalStorage``: a folder on this machine, for development and the embedded single-machine install.

``get_storage()`` returns the backend chosen by ``STORAGE_BACKEND``. Each backend has a ``name`` ("s3",
"local") that is stored on every file row (``Attachment.storage_backend``): ``storage_for(row.storage_backend)``
finds a file again even after the configured backend changed.

Uploads from the browser go straight to the store: ``presigned_post()`` gives a URL and form fields, the
browser posts the file there. The local backend has no server of its own, so the blueprint below plays S3's
part (``/stockage/depot`` for uploads, ``/stockage/fichier/<token>`` for downloads): from the browser's
point of view both backends behave the same.

**A presigned POST can be replayed until it expires**: nothing cancels it once the file is received, and
whoever holds its fields can overwrite the object under its key. So a form is only ever signed for a
*staging* key (``incoming/<dossier_id>/<uuid>``, see ``ptce_aap.services.attachments``); confirming the
upload ``copy()``-es the object to a final key no form can reach (``dossiers/<dossier_id>/<uuid>/<name>``)
and verifies that copy (the staging object is deleted after the commit) — so what was checked,
fingerprinted and scanned cannot change afterwards. The local upload route can also ask the app whether a key still awaits its upload
(``register_upload_check``); S3 cannot, so there the staging/final split is the protection.

**Production buckets should expire ``incoming/`` with a lifecycle rule** (e.g. delete objects under the
``incoming/`` prefix one day after creation, and abort incomplete multipart uploads): a replayed form may
leave an object there, which nothing else points to. ``purge_abandoned_uploads`` (``flask ptce tick``)
also sweeps ``incoming/`` (``iter_keys``), for stores without lifecycle rules and for the local backend.

**Always check an uploaded file after the upload** (``head(key).size``, then the real type from its first
bytes): the size and type limits put in a presigned POST are enforced by a real S3 server and by the local
route, but not by every S3-compatible store — moto (our test server) enforces neither — and when several
content types are allowed the policy cannot restrict the type at all (see ``S3Storage.presigned_post``).

Keys are ``/``-separated relative paths made by the app (``dossiers/12/<uuid>.pdf``); ``validate_key``
refuses anything that could escape a folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import IO, Any, Protocol
from urllib.parse import quote

from flask import Blueprint, Flask, current_app, has_request_context, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

CHUNK_SIZE = 64 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
KEY_MAX_LENGTH = 300  # Attachment.storage_key is a String(300)
MAX_EXPIRES = 7 * 24 * 3600  # the longest a SigV4 presigned URL may live; the same bound for local tokens
GET_SALT = "storage-get"
POST_SALT = "storage-post"

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


def _chunks(stream: IO[bytes], chunk_size: int) -> Iterator[bytes]:
    try:
        while chunk := stream.read(chunk_size):
            yield chunk
    finally:
        stream.close()


def _read_chunks(fileobj: IO[bytes], chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """Chunks of what remains of ``fileobj``, which is left open (it belongs to the caller)."""
    while chunk := fileobj.read(chunk_size):
        yield chunk


def _remaining_size(fileobj: IO[bytes]) -> int | None:
    """Bytes left to read in a seekable file, or ``None`` for a stream that cannot seek."""
    try:
        if not fileobj.seekable():
            return None
        start = fileobj.tell()
        end = fileobj.seek(0, os.SEEK_END)
        fileobj.seek(start)
    except (AttributeError, OSError):
        return None
    return end - start


def _folder_prefix(folder: str) -> str:
    """``"incoming"`` or ``"incoming/"`` → ``"incoming/"`` (a safe folder, never the whole store)."""
    folder = folder.rstrip("/") if isinstance(folder, str) else folder
    validate_key(folder)
    return folder + "/"


def _expiry(expires: int) -> int:
    return int(_now()) + max(1, min(int(expires), MAX_EXPIRES))


def _now() -> float:
    return time.time()


class _CountingReader:
    """Wraps a non-seekable stream and counts the bytes read through it."""

    def __init__(self, fileobj: IO[bytes]):
        self.fileobj = fileobj
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self.fileobj.read(size)
        self.count += len(data)
        return data


class S3Storage:
    """Any S3-compatible object store (AWS, Scaleway, OVH, Garage, MinIO…), via boto3.

    Uploads stream: a seekable file goes through ``put_object(Body=file)`` (constant memory); a stream
    that cannot seek goes through a single-threaded multipart upload (memory bounded by one part, 8 MiB).
    """

    name = "s3"
    multipart_chunk_size = 8 * 1024 * 1024

    def __init__(self, *, bucket: str, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None, client=None):
        if not bucket:
            raise StorageError("S3Storage needs a bucket (S3_BUCKET)")
        self.bucket = bucket
        if client is None:
            import boto3
            from botocore.config import Config

            # botocore >= 1.36 sends CRC32 checksums by default, which several S3-compatible stores refuse.
            config = Config(request_checksum_calculation="when_required",
                            response_checksum_validation="when_required", signature_version="s3v4")
            client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                                  aws_access_key_id=access_key_id or None,
                                  aws_secret_access_key=secret_access_key or None, config=config)
        self.client = client

    @classmethod
    def from_config(cls, config) -> S3Storage:
        return cls(bucket=config.get("S3_BUCKET"), endpoint_url=config.get("S3_ENDPOINT_URL"),
                   region=config.get("S3_REGION"), access_key_id=config.get("AWS_ACCESS_KEY_ID"),
                   secret_access_key=config.get("AWS_SECRET_ACCESS_KEY"))

    def __repr__(self) -> str:
        return f"<S3Storage bucket={self.bucket!r}>"

    @staticmethod
    def _is_missing(exc) -> bool:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}

    def put(self, key: str, fileobj: IO[bytes], *, content_type: str | None = None) -> int:
        validate_key(key)
        content_type = content_type or DEFAULT_CONTENT_TYPE
        size = _remaining_size(fileobj)
        if size is not None:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=fileobj, ContentLength=size,
                                   ContentType=content_type)
            return size
        from boto3.s3.transfer import TransferConfig

        reader = _CountingReader(fileobj)
        transfer = TransferConfig(multipart_threshold=self.multipart_chunk_size,
                                  multipart_chunksize=self.multipart_chunk_size, use_threads=False)
        self.client.upload_fileobj(reader, self.bucket, key, ExtraArgs={"ContentType": content_type},
                                   Config=transfer)
        return reader.count

    def open_stream(self, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError

        validate_key(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if self._is_missing(exc):
                raise ObjectNotFoundError(key) from exc
            raise

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        return _chunks(self.open_stream(key), chunk_size)

    def delete(self, key: str) -> None:
        validate_key(key)
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def copy(self, src: str, dst: str, *, content_type: str | None = None) -> None:
        """A server-side ``copy_object`` (objects up to 5 GB, S3's limit for one copy; the bytes do not go
        through the app). With the client built here no checksum header is sent
        (``request_checksum_calculation="when_required"``), which some S3-compatible stores refuse on a
        copy as on a put."""
        from botocore.exceptions import ClientError

        validate_key(src)
        validate_key(dst)
        extra: dict[str, str] = {}
        if content_type:
            extra = {"MetadataDirective": "REPLACE", "ContentType": content_type}
        try:
            self.client.copy_object(Bucket=self.bucket, Key=dst, CopySource={"Bucket": self.bucket, "Key": src},
                                    **extra)
        except ClientError as exc:
            if self._is_missing(exc):
                raise ObjectNotFoundError(src) from exc
            raise

    def iter_keys(self, folder: str, *, modified_before: float | None = None) -> Iterator[str]:
        prefix = _folder_prefix(folder)
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                if modified_before is not None and item["LastModified"].timestamp() >= modified_before:
                    continue
                try:
                    yield validate_key(item["Key"])
                except InvalidKeyError:  # not made by the app: not ours to touch
                    continue

    def head(self, key: str) -> ObjectInfo | None:
        from botocore.exceptions import ClientError

        validate_key(key)
        try:
            meta = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if self._is_missing(exc):
                return None
            raise
        etag = meta.get("ETag")
        return ObjectInfo(size=meta["ContentLength"], content_type=meta.get("ContentType"),
                          etag=etag.strip('"') if etag else None)

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def presigned_get(self, key: str, *, expires: int = 300, filename: str | None = None,
                      content_type: str | None = None) -> str:
        validate_key(key)
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentDisposition": content_disposition(filename)}
        if content_type:
            params["ResponseContentType"] = content_type
        return self.client.generate_presigned_url("get_object", Params=params,
                                                  ExpiresIn=max(1, min(int(expires), MAX_EXPIRES)))

    def presigned_post(self, key: str, *, max_size: int, content_types: list[str] | None = None,
                       expires: int = 600) -> dict[str, Any]:
        """A policy with ``content-length-range`` 1..``max_size`` and a Content-Type condition.

        With exactly one allowed type the policy requires it (``eq``) and the returned fields carry it.
        With several (or none), a policy cannot say "one of": it only requires a ``Content-Type`` form
        field (``starts-with ""``) — the browser must add it, set to the file's real type
        (``file.type || "application/octet-stream"``) — and the server re-checks the stored object after
        the upload (``head()`` and the file's first bytes). Sizes must be re-checked too (see the module
        docstring: not every S3-compatible store enforces the policy).
        """
        validate_key(key)
        fields: dict[str, str] = {}
        conditions: list[Any] = [["content-length-range", 1, int(max_size)]]
        if content_types and len(content_types) == 1:
            fields["Content-Type"] = content_types[0]
            conditions.append({"Content-Type": content_types[0]})
        else:
            conditions.append(["starts-with", "$Content-Type", ""])
        post = self.client.generate_presigned_post(
            self.bucket, key, Fields=fields, Conditions=conditions,
            ExpiresIn=max(1, min(int(expires), MAX_EXPIRES)))
        return {"url": post["url"], "fields": dict(post["fields"])}

    def healthcheck(self) -> str:
        self.client.head_bucket(Bucket=self.bucket)
        return "ok"


class LocalStorage:
    """Files in a folder on this machine — for development and the embedded single-machine install.

    Not for several app servers (they would not share the folder). Writes are atomic: the file is copied in
    chunks to a temporary file in the same folder, then renamed over the key (``os.replace``). The content
    type and MD5 (the ETag, as S3 gives for single uploads) are kept beside it in ``<root>/.meta/``.
    Presigned URLs point to this module's blueprint, which must be registered (``init_app``); they are
    signed with the app's ``SECRET_KEY``.
    """

    name = "local"
    meta_dir = ".meta"

    def __init__(self, root: str | os.PathLike, *, secret_key: str | None = None):
        self.root = Path(os.path.realpath(root))
        self.secret_key = secret_key

    @classmethod
    def from_config(cls, config) -> LocalStorage:
        if not config.get("LOCAL_STORAGE_DIR"):
            raise StorageError("LocalStorage needs LOCAL_STORAGE_DIR")
        return cls(config["LOCAL_STORAGE_DIR"], secret_key=config.get("SECRET_KEY"))

    def __repr__(self) -> str:
        return f"<LocalStorage root={str(self.root)!r}>"

    def _inside_root(self, path: Path) -> Path:
        real = os.path.realpath(path)
        if os.path.commonpath([real, self.root]) != str(self.root) or real == str(self.root):
            raise InvalidKeyError(f"storage key resolves outside the storage folder: {path}")
        return path

    def path(self, key: str) -> Path:
        """The file of ``key`` — always inside the root, also through symbolic links."""
        validate_key(key)
        return self._inside_root(self.root.joinpath(*key.split("/")))

    def _meta_path(self, key: str) -> Path:
        validate_key(key)
        *folders, filename = key.split("/")
        return self._inside_root(self.root.joinpath(self.meta_dir, *folders, filename + ".json"))

    def put(self, key: str, fileobj: IO[bytes], *, content_type: str | None = None) -> int:
        return self.write_chunks(key, _read_chunks(fileobj), content_type=content_type)

    def write_chunks(self, key: str, chunks: Iterable[bytes], *, content_type: str | None = None,
                     max_size: int | None = None, min_size: int = 0) -> int:
        """Write ``chunks`` atomically under ``key``; return the size.

        Beyond ``max_size`` the writing stops at once (``FileTooLargeError``); under ``min_size`` it is
        refused (``EmptyFileError``); in both cases, or on any error, nothing is kept and an object already
        under ``key`` is left untouched.
        """
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise FileTooLargeError(max_size)
                    md5.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size < min_size:
                raise EmptyFileError(key)
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        self._write_meta(key, {"content_type": content_type or DEFAULT_CONTENT_TYPE,
                               "etag": md5.hexdigest(), "size": size})
        return size

    def _write_meta(self, key: str, meta: dict) -> None:
        meta_path = self._meta_path(key)
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=meta_path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(meta, out)
            os.replace(tmp_name, meta_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise

    def _read_meta(self, key: str) -> dict:
        try:
            return json.loads(self._meta_path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def open_stream(self, key: str) -> IO[bytes]:
        path = self.path(key)
        try:
            return open(path, "rb")  # the caller closes it
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise ObjectNotFoundError(key) from exc

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        return _chunks(self.open_stream(key), chunk_size)

    def delete(self, key: str) -> None:
        for path in (self.path(key), self._meta_path(key)):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                os.unlink(path)

    def copy(self, src: str, dst: str, *, content_type: str | None = None) -> None:
        """A streamed copy through ``write_chunks``: atomic, with its own metadata (type, MD5). The source
        is read from the file opened at the start: replacing ``src`` meanwhile (uploads are written to a
        temporary file then renamed) cannot change what is copied."""
        self.path(dst)  # check the destination before reading anything
        with self.open_stream(src) as stream:
            if content_type is None:
                info = self.head(src)
                content_type = info.content_type if info else None
            self.write_chunks(dst, _read_chunks(stream), content_type=content_type)

    def iter_keys(self, folder: str, *, modified_before: float | None = None) -> Iterator[str]:
        """Regular files only: temporary files (``.tmp-…``), dot-folders and symbolic links are skipped."""
        top = self.path(_folder_prefix(folder).rstrip("/"))
        found = []
        for dirpath, dirnames, filenames in os.walk(top):  # does not follow symbolic links to folders
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            folders = Path(dirpath).relative_to(self.root).parts
            for filename in filenames:
                if filename.startswith("."):
                    continue
                try:
                    stat = os.lstat(os.path.join(dirpath, filename))
                except FileNotFoundError:  # deleted meanwhile
                    continue
                if not S_ISREG(stat.st_mode):
                    continue
                if modified_before is None or stat.st_mtime < modified_before:
                    found.append("/".join((*folders, filename)))
        yield from sorted(found)

    def head(self, key: str) -> ObjectInfo | None:
        path = self.path(key)
        try:
            stat = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not path.is_file():
            return None
        meta = self._read_meta(key)
        if meta.get("size") != stat.st_size:  # written by hand, or meta lagging behind: trust the file
            meta = {"content_type": meta.get("content_type")}
        content_type = meta.get("content_type") or mimetypes.guess_type(key)[0] or DEFAULT_CONTENT_TYPE
        return ObjectInfo(size=stat.st_size, content_type=content_type, etag=meta.get("etag"))

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def _serializer(self, salt: str) -> URLSafeTimedSerializer:
        if not self.secret_key:
            raise StorageError("LocalStorage needs SECRET_KEY to sign URLs")
        return URLSafeTimedSerializer(self.secret_key, salt=salt)

    def presigned_get(self, key: str, *, expires: int = 300, filename: str | None = None,
                      content_type: str | None = None) -> str:
        validate_key(key)
        token = self._serializer(GET_SALT).dumps(
            {"k": key, "e": _expiry(expires), "f": filename, "t": content_type})
        return _app_url("storage.download", token=token)

    def presigned_post(self, key: str, *, max_size: int, content_types: list[str] | None = None,
                       expires: int = 600) -> dict[str, Any]:
        """Like S3's: post ``fields`` then the file to ``url``. The route enforces the size while
        receiving and, unlike S3, also the list of allowed types."""
        validate_key(key)
        policy = self._serializer(POST_SALT).dumps(
            {"k": key, "m": int(max_size), "t": list(content_types or []), "e": _expiry(expires)})
        fields = {"key": key, "policy": policy}
        if content_types and len(content_types) == 1:
            fields["Content-Type"] = content_types[0]
        return {"url": _app_url("storage.upload"), "fields": fields}

    def load_token(self, token: str, salt: str) -> dict:
        """The claims of a token made by ``presigned_get``/``presigned_post``.

        Raises ``BadSignature`` when it was not made here (or was altered), ``SignatureExpired`` when
        its time is over."""
        from itsdangerous import SignatureExpired

        claims = self._serializer(salt).loads(token, max_age=MAX_EXPIRES)
        if not isinstance(claims, dict) or "k" not in claims or "e" not in claims:
            raise BadSignature("malformed storage token")
        if _now() > claims["e"]:
            raise SignatureExpired("storage token expired")
        validate_key(claims["k"])
        return claims

    def healthcheck(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.root, prefix=".health-") as probe:
            probe.write(b"ok")
            probe.flush()
        return "ok"


def _app_url(endpoint: str, **values) -> str:
    """An absolute URL of the app: from the current request, else from ``PUBLIC_BASE_URL``."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + current_app.url_map.bind("localhost").build(endpoint, values)


BACKENDS = {"local": LocalStorage, "s3": S3Storage}


def _build(name: str, config) -> Storage:
    if name not in BACKENDS:
        raise StorageError(f"unknown storage backend: {name!r} (expected one of {', '.join(BACKENDS)})")
    return BACKENDS[name].from_config(config)


def get_storage(app: Flask | None = None) -> Storage:
    """The backend configured by ``STORAGE_BACKEND`` (built once per app)."""
    app = app or current_app._get_current_object()
    storage = app.extensions.get("ptce_storage")
    if storage is None:
        storage = app.extensions["ptce_storage"] = _build(app.config["STORAGE_BACKEND"], app.config)
    return storage


def storage_for(name: str, app: Flask | None = None) -> Storage:
    """The backend whose ``name`` is stored on a file row, configured or not (built once per app)."""
    app = app or current_app._get_current_object()
    default = get_storage(app)
    if default.name == name:
        return default
    others = app.extensions.setdefault("ptce_storage_others", {})
    if name not in others:
        others[name] = _build(name, app.config)
    return others[name]


# --- The local backend's stand-in for S3: signed downloads and browser uploads -------------------------

bp = Blueprint("storage", __name__, url_prefix="/stockage")

# folder prefix ("incoming/") -> check(key) -> may a browser upload still be stored under this key?
_UPLOAD_CHECKS: dict[str, Callable[[str], bool]] = {}


def register_upload_check(folder: str, check: Callable[[str], bool]) -> None:
    """Have the local upload route ask ``check(key)`` before storing a browser upload under ``folder/``,
    and refuse it (403) when the answer is false — e.g. when the upload was already confirmed, so that a
    replayed form is refused at once. ``check`` runs in the upload's request (it may query the database).

    Registered by the app's services (``ptce_aap.services.attachments``), so that this module knows no
    model. A defence in depth only: S3 cannot ask, and what protects a verified file on both backends is
    that no form is ever signed for its key (see the module docstring).
    """
    _UPLOAD_CHECKS[_folder_prefix(folder)] = check


_FIELD_MAX_SIZE = 16 * 1024
_MAX_PARTS = 32


class _UploadRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _local_storage() -> LocalStorage:
    # Also when the app is configured for S3: files stored locally earlier stay reachable.
    return storage_for(LocalStorage.name)  # type: ignore[return-value]


def _error(status: int, message: str):
    from ptce_aap.web import render_error

    return render_error(status, message)


@bp.get("/fichier/<token>")
def download(token: str):
    """Serve a file of the local backend to whoever holds a link made by ``presigned_get``."""
    from flask_babel import gettext as _
    from itsdangerous import SignatureExpired

    storage = _local_storage()
    try:
        claims = storage.load_token(token, GET_SALT)
    except SignatureExpired:
        return _error(403, _("Ce lien de téléchargement a expiré. Rechargez la page pour en obtenir un nouveau."))
    except (BadSignature, InvalidKeyError):
        return _error(403, _("Ce lien de téléchargement n’est pas valide."))
    key = claims["k"]
    info = storage.head(key)
    try:
        stream = storage.open_stream(key)
    except ObjectNotFoundError:
        return _error(404, _("Ce fichier n’existe plus."))
    size = os.fstat(stream.fileno()).st_size
    content_type = claims.get("t") or (info.content_type if info else None) or DEFAULT_CONTENT_TYPE
    response = current_app.response_class(_chunks(stream, CHUNK_SIZE), mimetype=content_type,
                                          direct_passthrough=True)
    response.content_length = size
    response.headers["Content-Disposition"] = content_disposition(claims.get("f"))
    response.headers["Cache-Control"] = "private, no-store"
    if info and info.etag:
        response.set_etag(info.etag)
    return response


@bp.post("/depot")
def upload():
    """Receive a browser upload made with ``LocalStorage.presigned_post``, as S3 would.

    The form's fields come first (``key``, ``policy``, optionally ``Content-Type``), the file last. The
    file is streamed into the folder and dropped as soon as it grows past the policy's size (413).
    Protected by the signed policy, not by a CSRF token (``init_app`` exempts this view). 204 when stored.
    """
    storage = _local_storage()
    stream = request.stream
    try:
        _receive_upload(storage, stream)
    except _UploadRefused as exc:
        _discard(stream)  # read the rest so that the browser gets the answer instead of a reset connection
        return _error(exc.status, exc.message)
    return "", 204


def _discard(stream) -> None:
    with contextlib.suppress(Exception):
        while stream.read(CHUNK_SIZE):
            pass


def _receive_upload(storage: LocalStorage, stream) -> None:
    from flask_babel import gettext as _
    from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

    boundary = request.mimetype_params.get("boundary")
    if request.mimetype != "multipart/form-data" or not boundary:
        raise _UploadRefused(400, _("Envoi invalide : un formulaire multipart/form-data est attendu."))
    # The decoder's limit bounds its buffer (one read plus what it keeps back), not the file.
    decoder = MultipartDecoder(boundary.encode("latin-1"), 4 * CHUNK_SIZE, max_parts=_MAX_PARTS)

    def events() -> Iterator:
        for data in _read_chunks_then_none(stream):
            decoder.receive_data(data)
            event = decoder.next_event()
            while not isinstance(event, NeedData | Epilogue):
                yield event
                event = decoder.next_event()
            if isinstance(event, Epilogue):
                return

    def part_data(stream_events: Iterator) -> Iterator[bytes]:
        for event in stream_events:
            if not isinstance(event, Data):
                raise ValueError("multipart data expected")
            yield event.data
            if not event.more_data:
                return

    fields: dict[str, str] = {}
    stream_events = events()
    try:
        for event in stream_events:
            if isinstance(event, Field):
                value = bytearray()
                for data in part_data(stream_events):
                    value += data
                    if len(value) > _FIELD_MAX_SIZE:
                        raise _UploadRefused(400, _("Envoi invalide : un champ du formulaire est trop long."))
                fields[event.name.lower()] = value.decode("utf-8", "replace")
            elif isinstance(event, File):
                file_type = event.headers.get("Content-Type")
                claims = _check_policy(storage, fields, file_type)
                try:
                    storage.write_chunks(claims["k"], part_data(stream_events), content_type=claims["type"],
                                         max_size=claims["m"], min_size=1)
                except FileTooLargeError as exc:
                    raise _UploadRefused(413, _("Le fichier dépasse la taille autorisée (%(size)s).",
                                                size=_human_size(exc.max_size))) from exc
                except EmptyFileError as exc:
                    raise _UploadRefused(400, _("Le fichier envoyé est vide.")) from exc
                return  # like S3, whatever follows the file is ignored
    except ValueError as exc:  # malformed multipart body
        raise _UploadRefused(400, _("Envoi invalide : le formulaire n’a pas pu être lu.")) from exc
    raise _UploadRefused(400, _("Aucun fichier reçu."))


def _read_chunks_then_none(stream) -> Iterator[bytes | None]:
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk
    yield None


def _check_policy(storage: LocalStorage, fields: dict[str, str], file_type: str | None) -> dict:
    """The policy's claims, plus ``type``: the content type to store. Raises ``_UploadRefused``."""
    from flask_babel import gettext as _
    from itsdangerous import SignatureExpired

    try:
        claims = storage.load_token(fields.get("policy", ""), POST_SALT)
    except SignatureExpired as exc:
        raise _UploadRefused(403, _("Le délai pour envoyer ce fichier est dépassé. "
                                    "Rechargez la page et recommencez.")) from exc
    except (BadSignature, InvalidKeyError) as exc:
        raise _UploadRefused(403, _("Envoi refusé : l’autorisation d’envoi n’est pas valide.")) from exc
    if fields.get("key") != claims["k"]:
        raise _UploadRefused(403, _("Envoi refusé : l’autorisation d’envoi ne correspond pas à ce fichier."))
    for prefix, check in _UPLOAD_CHECKS.items():
        if claims["k"].startswith(prefix) and not check(claims["k"]):  # already received, or given up
            raise _UploadRefused(403, _("Envoi refusé : l’autorisation d’envoi n’est pas valide."))
    content_type = (fields.get("content-type") or file_type or DEFAULT_CONTENT_TYPE).strip()
    if claims.get("t") and content_type not in claims["t"]:
        raise _UploadRefused(400, _("Ce type de fichier n’est pas accepté ici."))
    return {**claims, "type": content_type}


def _human_size(size: int) -> str:
    from flask_babel import format_decimal

    if size >= 1024 * 1024:
        return f"{format_decimal(round(size / (1024 * 1024), 1))} Mo"
    if size >= 1024:
        return f"{format_decimal(round(size / 1024, 1))} ko"
    return f"{size} octets"


def init_app(app: Flask) -> None:
    """Register the local backend's routes; the upload route is protected by its signed policy, not CSRF."""
    from ptce_aap.extensions import csrf

    app.register_blueprint(bp)
    csrf.exempt(upload)
