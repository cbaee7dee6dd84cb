"""Where uploaded files live: a small ``Storage`` interface and two backends.

- ``S3Storage``: any S3-compatible store (production), through boto3.
- ``LocalStorage``: a folder on this machine, for development and the embedded single-machine install.

``get_storage()`` returns the backend chosen by ``STORAGE_BACKEND``. Each backend has a ``name`` ("s3",
"local") that is stored on every file row (``Attachment.storage_backend``): ``storage_for(row.storage_backend)``
finds a file again even after the configured backend changed.

Uploads from the browser go straight to the store: ``presigned_post()`` gives a URL and form fields, the
browser posts the file there. The local backend has no server of its own, so the blueprint of
``ptce_aap.storage.routes`` plays S3's part (``/stockage/depot`` for uploads, ``/stockage/fichier/<token>``
for downloads): from the browser's point of view both backends behave the same.

The package: ``base`` (the ``Storage`` protocol, errors, key checks, shared helpers), ``local``
(``LocalStorage``), ``s3`` (``S3Storage``), ``routes`` (the local backend's signed routes; registered by
``create_app``, not imported here, so that using a backend never imports the web layer).

**A presigned POST can be replayed until it expires**: nothing cancels it once the file is received, and
whoever holds its fields can overwrite the object under its key. So a form is only ever signed for a
*staging* key (``incoming/<dossier_id>/<uuid>``, see ``ptce_aap.services.attachments``); confirming the
upload ``copy()``-es the object to a final key no form can reach (``dossiers/<dossier_id>/<uuid>/<name>``)
and verifies that copy (the staging object is deleted after the commit) — so what was checked,
fingerprinted and scanned cannot change afterwards. The local upload route can also ask the app whether a
key still awaits its upload (``register_upload_check``); S3 cannot, so there the staging/final split is the
protection.

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

from flask import Flask, current_app

from ptce_aap.storage.base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    KEY_MAX_LENGTH,
    MAX_EXPIRES,
    EmptyFileError,
    FileTooLargeError,
    InvalidKeyError,
    ObjectInfo,
    ObjectNotFoundError,
    Storage,
    StorageError,
    content_disposition,
    register_upload_check,
    remaining_size,
    validate_key,
)
from ptce_aap.storage.local import LocalStorage
from ptce_aap.storage.s3 import S3Storage

__all__ = [
    "BACKENDS", "CHUNK_SIZE", "DEFAULT_CONTENT_TYPE", "KEY_MAX_LENGTH", "MAX_EXPIRES", "EmptyFileError",
    "FileTooLargeError", "InvalidKeyError", "LocalStorage", "ObjectInfo", "ObjectNotFoundError", "S3Storage",
    "Storage", "StorageError", "content_disposition", "get_storage", "register_upload_check", "remaining_size",
    "storage_for", "validate_key",
]

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

