"""``S3Storage``: any S3-compatible object store, via boto3 (production).

boto3/botocore are imported inside the methods: they are slow to import, and ``storage`` imports this
module whatever the backend, so that the local backend (development, tests) never loads them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from ptce_aap.storage.base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    MAX_EXPIRES,
    InvalidKeyError,
    ObjectInfo,
    ObjectNotFoundError,
    StorageError,
    closing_chunks,
    content_disposition,
    folder_prefix,
    remaining_size,
    validate_key,
)

# boto3 and botocore are imported inside the methods: importing them takes about half a second and a
# good deal of memory, which the embedded install (local backend) and most CLI commands never need.


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
            import boto3  # heavy, S3 mode only (see the module docstring)
            from botocore.config import Config  # heavy, S3 mode only (see the module docstring)

            # botocore >= 1.36 sends CRC32 checksums by default, which several S3-compatible stores refuse.
            # A store that does not answer fails the request in seconds (a 503 page, a job retried later),
            # instead of botocore's 60 s timeouts and five attempts.
            config = Config(request_checksum_calculation="when_required",
                            response_checksum_validation="when_required", signature_version="s3v4",
                            connect_timeout=5, read_timeout=30, retries={"max_attempts": 2, "mode": "standard"})
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
        size = remaining_size(fileobj)
        if size is not None:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=fileobj, ContentLength=size,
                                   ContentType=content_type)
            return size
        from boto3.s3.transfer import TransferConfig  # heavy, S3 mode only (see the module docstring)

        reader = _CountingReader(fileobj)
        transfer = TransferConfig(multipart_threshold=self.multipart_chunk_size,
                                  multipart_chunksize=self.multipart_chunk_size, use_threads=False)
        self.client.upload_fileobj(reader, self.bucket, key, ExtraArgs={"ContentType": content_type},
                                   Config=transfer)
        return reader.count

    def open_stream(self, key: str) -> IO[bytes]:
        from botocore.exceptions import ClientError  # heavy, S3 mode only (see the module docstring)

        validate_key(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if self._is_missing(exc):
                raise ObjectNotFoundError(key) from exc
            raise

    def iter_chunks(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        return closing_chunks(self.open_stream(key), chunk_size)

    def delete(self, key: str) -> None:
        validate_key(key)
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def copy(self, src: str, dst: str, *, content_type: str | None = None) -> None:
        """A server-side ``copy_object`` (objects up to 5 GB, S3's limit for one copy; the bytes do not go
        through the app). With the client built here no checksum header is sent
        (``request_checksum_calculation="when_required"``), which some S3-compatible stores refuse on a
        copy as on a put."""
        from botocore.exceptions import ClientError  # heavy, S3 mode only (see the module docstring)

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
        prefix = folder_prefix(folder)
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
        from botocore.exceptions import ClientError  # heavy, S3 mode only (see the module docstring)

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

