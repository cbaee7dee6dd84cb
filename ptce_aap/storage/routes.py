"""The local backend's stand-in for S3: signed downloads (``/stockage/fichier/<token>``) and browser
uploads (``/stockage/depot``), so that from the browser's point of view both backends behave the same.

Registered by ``create_app`` (``init_app``) whatever the configured backend: files stored locally earlier
stay reachable after a move to S3. Links and upload policies are made by ``LocalStorage.presigned_get`` /
``presigned_post`` and checked here (``LocalStorage.load_token``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from flask import Blueprint, Flask, current_app, request
from flask_babel import gettext as _
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from ptce_aap import tokens
from ptce_aap.extensions import csrf
from ptce_aap.formatting import format_size
from ptce_aap.storage import storage_for
from ptce_aap.storage.base import (
    CHUNK_SIZE,
    DEFAULT_CONTENT_TYPE,
    EmptyFileError,
    FileTooLargeError,
    InvalidKeyError,
    ObjectNotFoundError,
    closing_chunks,
    content_disposition,
    upload_allowed,
)
from ptce_aap.storage.local import LocalStorage
from ptce_aap.web import render_error

bp = Blueprint("storage", __name__, url_prefix="/stockage")

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


@bp.get("/fichier/<token>")
def download(token: str):
    """Serve a file of the local backend to whoever holds a link made by ``presigned_get``."""
    storage = _local_storage()
    try:
        claims = storage.load_token(token, tokens.STORAGE_DOWNLOAD)
    except tokens.TokenExpired:
        return render_error(403, _("Ce lien de téléchargement a expiré. "
                                   "Rechargez la page pour en obtenir un nouveau."))
    except (tokens.TokenError, InvalidKeyError):
        return render_error(403, _("Ce lien de téléchargement n’est pas valide."))
    key = claims["k"]
    info = storage.head(key)
    try:
        stream = storage.open_stream(key)
    except ObjectNotFoundError:
        return render_error(404, _("Ce fichier n’existe plus."))
    size = os.fstat(stream.fileno()).st_size
    content_type = claims.get("t") or (info.content_type if info else None) or DEFAULT_CONTENT_TYPE
    response = current_app.response_class(closing_chunks(stream, CHUNK_SIZE), mimetype=content_type,
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
        return render_error(exc.status, exc.message)
    return "", 204


def _discard(stream) -> None:
    with contextlib.suppress(Exception):
        while stream.read(CHUNK_SIZE):
            pass


def _receive_upload(storage: LocalStorage, stream) -> None:
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
                                                size=format_size(exc.max_size))) from exc
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
    try:
        claims = storage.load_token(fields.get("policy", ""), tokens.STORAGE_UPLOAD)
    except tokens.TokenExpired as exc:
        raise _UploadRefused(403, _("Le délai pour envoyer ce fichier est dépassé. "
                                    "Rechargez la page et recommencez.")) from exc
    except (tokens.TokenError, InvalidKeyError) as exc:
        raise _UploadRefused(403, _("Envoi refusé : l’autorisation d’envoi n’est pas valide.")) from exc
    if fields.get("key") != claims["k"]:
        raise _UploadRefused(403, _("Envoi refusé : l’autorisation d’envoi ne correspond pas à ce fichier."))
    if not upload_allowed(claims["k"]):  # already received, or given up
        raise _UploadRefused(403, _("Envoi refusé : l’autorisation d’envoi n’est pas valide."))
    content_type = (fields.get("content-type") or file_type or DEFAULT_CONTENT_TYPE).strip()
    if claims.get("t") and content_type not in claims["t"]:
        raise _UploadRefused(400, _("Ce type de fichier n’est pas accepté ici."))
    return {**claims, "type": content_type}


def init_app(app: Flask) -> None:
    """Register the local backend's routes; the upload route is protected by its signed policy, not CSRF."""
    app.register_blueprint(bp)
    csrf.exempt(upload)
