"""``LocalStorage``: files in a folder on this machine — for development and the embedded single-machine
install, not for production with several app servers. Its presigned URLs point to ``ptce_aap.storage.routes``."""

from __future__ import annotations

import contextlib
import hashlib
import json
import mimetypes
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from stat import S_ISREG
from typing import IO, Any

from flask import has_request_context, url_for

from ptce_aap import tokens
from ptce_aap.storage.base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    EmptyFileError,
    FileTooLargeError,
    InvalidKeyError,
    ObjectInfo,
    ObjectNotFoundError,
    StorageError,
    closing_chunks,
    deadline,
    folder_prefix,
    is_past,
    read_chunks,
    validate_key,
)
from ptce_aap.urls import external_url


@contextlib.contextmanager
def _replacing(path: Path, suffix: str, mode: str, **open_args) -> Iterator[IO]:
    """A temporary file beside ``path`` that takes its place (atomically) when the block ends without an
    error, and is removed otherwise: a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix)
    try:
        with os.fdopen(fd, mode, **open_args) as out:
            yield out
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


class LocalStorage:
    """Files in a folder on this machine — for development and the embedded single-machine install.

    Not for several app servers (they would not share the folder). Writes are atomic: the file is copied in
    chunks to a temporary file in the same folder, then renamed over the key (``os.replace``). The content
    type and MD5 (the ETag, as S3 gives for single uploads) are kept beside it in ``<root>/.meta/``.
    Presigned URLs point to the routes of ``ptce_aap.storage.routes``, which must be registered
    (``init_app``); they are signed with the app's ``SECRET_KEY`` (``ptce_aap.tokens``).
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
        return self.write_chunks(key, read_chunks(fileobj), content_type=content_type)

    def write_chunks(self, key: str, chunks: Iterable[bytes], *, content_type: str | None = None,
                     max_size: int | None = None, min_size: int = 0) -> int:
        """Write ``chunks`` atomically under ``key``; return the size.

        Beyond ``max_size`` the writing stops at once (``FileTooLargeError``); under ``min_size`` it is
        refused (``EmptyFileError``); in both cases, or on any error, nothing is kept and an object already
        under ``key`` is left untouched.
        """
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        with _replacing(self.path(key), ".part", "wb") as out:
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
        self._write_meta(key, {"content_type": content_type or DEFAULT_CONTENT_TYPE,
                               "etag": md5.hexdigest(), "size": size})
        return size

    def _write_meta(self, key: str, meta: dict) -> None:
        with _replacing(self._meta_path(key), ".json", "w", encoding="utf-8") as out:
            json.dump(meta, out)

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
        return closing_chunks(self.open_stream(key), chunk_size)

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
            self.write_chunks(dst, read_chunks(stream), content_type=content_type)

    def iter_keys(self, folder: str, *, modified_before: float | None = None) -> Iterator[str]:
        """Regular files only: temporary files (``.tmp-…``), dot-folders and symbolic links are skipped."""
        top = self.path(folder_prefix(folder).rstrip("/"))
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

    def _sign(self, purpose: tokens.Purpose, claims: dict) -> str:
        if not self.secret_key:
            raise StorageError("LocalStorage needs SECRET_KEY to sign URLs")
        return tokens.make_token(purpose, claims, secret_key=self.secret_key)

    def presigned_get(self, key: str, *, expires: int = 300, filename: str | None = None,
                      content_type: str | None = None) -> str:
        validate_key(key)
        token = self._sign(tokens.STORAGE_DOWNLOAD,
                           {"k": key, "e": deadline(expires), "f": filename, "t": content_type})
        return _app_url("storage.download", token=token)

    def presigned_post(self, key: str, *, max_size: int, content_types: list[str] | None = None,
                       expires: int = 600) -> dict[str, Any]:
        """Like S3's: post ``fields`` then the file to ``url``. The route enforces the size while
        receiving and, unlike S3, also the list of allowed types."""
        validate_key(key)
        policy = self._sign(tokens.STORAGE_UPLOAD,
                            {"k": key, "m": int(max_size), "t": list(content_types or []), "e": deadline(expires)})
        fields = {"key": key, "policy": policy}
        if content_types and len(content_types) == 1:
            fields["Content-Type"] = content_types[0]
        return {"url": _app_url("storage.upload"), "fields": fields}

    def load_token(self, token: str, purpose: tokens.Purpose) -> dict:
        """The claims of a token made by ``presigned_get`` (``tokens.STORAGE_DOWNLOAD``) or
        ``presigned_post`` (``tokens.STORAGE_UPLOAD``).

        Raises ``tokens.TokenError`` when it was not made here for this purpose (or was altered),
        ``tokens.TokenExpired`` when its time (``expires`` when it was made) is over, ``InvalidKeyError``
        for a key that is not safe."""
        if purpose not in (tokens.STORAGE_DOWNLOAD, tokens.STORAGE_UPLOAD):
            raise ValueError(f"not a storage token purpose: {purpose!r}")
        if not self.secret_key:
            raise StorageError("LocalStorage needs SECRET_KEY to check URLs")
        claims = tokens.read_token(purpose, token, secret_key=self.secret_key)
        if not isinstance(claims.get("k"), str) or not isinstance(claims.get("e"), int | float):
            raise tokens.TokenError("malformed storage token")
        if is_past(claims["e"]):
            raise tokens.TokenExpired("storage token expired")
        validate_key(claims["k"])
        return claims

    def healthcheck(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=self.root, prefix=".health-") as probe:
            probe.write(b"ok")
            probe.flush()
        return "ok"


def _app_url(endpoint: str, **values) -> str:
    """An absolute URL of the app: in a request, on the host the page came from (so that the browser
    posts to the page's own origin), else at ``PUBLIC_BASE_URL``."""
    if has_request_context():
        return url_for(endpoint, _external=True, **values)
    return external_url(endpoint, **values)
