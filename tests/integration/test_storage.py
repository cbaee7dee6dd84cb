"""The storage service on real parts: the moto S3 server, and a folder served by the app over real HTTP.

What a browser or a caller sees must be the same with both backends, so most tests run on both
(``backend`` is parametrized). The local backend's routes run in a real WSGI server in a thread, so that
``requests`` talks to both backends the same way.

Two things moto does not do, which real S3 does (each has its own test below, so we notice if that
changes): it does not enforce a presigned POST policy (``content-length-range``, Content-Type), and it
checks neither the signature nor the expiry of a presigned GET URL. Hence callers verify size and type
after every upload, and those checks are tested on the local backend, which enforces them.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from werkzeug.datastructures import FileStorage
from werkzeug.serving import make_server
from werkzeug.test import stream_encode_multipart

from ptce_aap.storage import (
    InvalidKeyError,
    LocalStorage,
    ObjectInfo,
    ObjectNotFoundError,
    S3Storage,
    StorageError,
    get_storage,
    storage_for,
)
from ptce_aap.storage import base as storage_base
from ptce_aap.storage import routes as storage_routes
from tests.fixtures.services import free_port

MB = 1024 * 1024
FRENCH_NAME = "Budget prévisionnel 2025 – été.pdf"
FRENCH_DISPOSITION = ("attachment; filename=\"Budget previsionnel 2025 _ ete.pdf\"; "
                      "filename*=UTF-8''Budget%20pr%C3%A9visionnel%202025%20%E2%80%93%20%C3%A9t%C3%A9.pdf")


def _local_app(overrides: dict):
    from ptce_aap import create_app

    app = create_app(overrides)
    if "storage" not in app.blueprints:  # until create_app calls storage.init_app itself
        storage_routes.init_app(app)
    return app


@pytest.fixture(scope="module")
def local_server(test_settings, tmp_path_factory):
    """An app on the local backend, served over HTTP on a free port (PUBLIC_BASE_URL points to it)."""
    port = free_port()
    app = _local_app({"STORAGE_BACKEND": "local", "LOCAL_STORAGE_DIR": str(tmp_path_factory.mktemp("storage")),
                      "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"})
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture(params=["local", "s3"])
def backend(request):
    """Each backend as the app configures it, inside its app's context."""
    # The session app (not the ``app`` fixture): these tests touch no table, so nothing to empty.
    app = request.getfixturevalue("local_server" if request.param == "local" else "_app")
    with app.app_context():
        store = get_storage()
        assert store.name == request.param
        yield store


@pytest.fixture
def local(local_server):
    with local_server.app_context():
        yield get_storage()


@pytest.fixture
def s3(_app):
    with _app.app_context():
        yield get_storage()


@pytest.fixture
def new_key():
    """``new_key(name, store)`` gives a fresh key; what is stored under it is deleted after the test
    (moto keeps objects in memory)."""
    made: list[tuple[object, str]] = []

    def _new(name: str, store) -> str:
        key = f"tests/{uuid.uuid4().hex}/{name}"
        made.append((store, key))
        return key

    yield _new
    for store, key in made:
        store.delete(key)


def _random_file(path: Path, size: int) -> tuple[str, str]:
    """Write ``size`` random bytes to ``path``; return their SHA-256 and MD5."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "wb") as out:
        remaining = size
        while remaining:
            chunk = os.urandom(min(remaining, MB))
            out.write(chunk)
            sha.update(chunk)
            md5.update(chunk)
            remaining -= len(chunk)
    return sha.hexdigest(), md5.hexdigest()


def _sha256(chunks) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


class _Unseekable:
    """A stream that can only be read, like a socket."""

    def __init__(self, data: bytes):
        self._buffer = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._buffer.read(size)

    def seekable(self) -> bool:
        return False


# --- the same behaviour on both backends ---------------------------------------------------------------

def test_put_streams_a_5mb_file_and_reads_it_back(backend, new_key, tmp_path):
    source = tmp_path / "budget.pdf"
    sha, md5 = _random_file(source, 5 * MB)
    key = new_key("budget.pdf", backend)

    with open(source, "rb") as fileobj:
        assert backend.put(key, fileobj, content_type="application/pdf") == 5 * MB

    sizes = []

    def recorded(chunks):
        for chunk in chunks:
            sizes.append(len(chunk))
            yield chunk

    assert _sha256(recorded(backend.iter_chunks(key))) == sha
    assert max(sizes) <= 64 * 1024
    assert sum(sizes) == 5 * MB
    with backend.open_stream(key) as stream:
        assert _sha256(iter(lambda: stream.read(MB), b"")) == sha
    assert backend.head(key) == ObjectInfo(size=5 * MB, content_type="application/pdf", etag=md5)


def test_put_accepts_a_stream_that_cannot_seek(backend, new_key):
    data = os.urandom(300_000)
    key = new_key("flux.bin", backend)

    assert backend.put(key, _Unseekable(data), content_type="image/png") == 300_000

    assert b"".join(backend.iter_chunks(key)) == data
    info = backend.head(key)
    assert (info.size, info.content_type) == (300_000, "image/png")


def test_put_replaces_an_existing_object(backend, new_key):
    key = new_key("statuts.pdf", backend)
    backend.put(key, io.BytesIO(b"version 1"), content_type="text/plain")
    backend.put(key, io.BytesIO(b"version 2, longer"), content_type="application/pdf")

    assert b"".join(backend.iter_chunks(key)) == b"version 2, longer"
    assert backend.head(key) == ObjectInfo(size=17, content_type="application/pdf",
                                           etag=hashlib.md5(b"version 2, longer", usedforsecurity=False).hexdigest())


def test_put_without_content_type_stores_octet_stream(backend, new_key):
    key = new_key("sans-type", backend)
    backend.put(key, io.BytesIO(b"abc"))
    assert backend.head(key).content_type == "application/octet-stream"


def test_missing_object(backend, new_key):
    key = new_key("absent.pdf", backend)
    assert backend.head(key) is None
    assert backend.exists(key) is False
    with pytest.raises(ObjectNotFoundError):
        backend.open_stream(key)
    with pytest.raises(ObjectNotFoundError):  # raised at once, not at the first chunk
        backend.iter_chunks(key)


def test_exists_and_delete_is_idempotent(backend, new_key):
    key = new_key("rib.pdf", backend)
    backend.put(key, io.BytesIO(b"RIB"), content_type="application/pdf")
    assert backend.exists(key) is True

    backend.delete(key)
    assert backend.exists(key) is False
    backend.delete(key)  # already gone: no error
    assert backend.head(key) is None


@pytest.mark.parametrize("key", ["../secret", "/etc/passwd", "a\\b", "a\x00b", "a/../../b", ".meta/x"])
def test_unsafe_keys_are_refused(backend, key):
    for operation in (
        lambda: backend.put(key, io.BytesIO(b"x")),
        lambda: backend.open_stream(key),
        lambda: backend.head(key),
        lambda: backend.delete(key),
        lambda: backend.presigned_get(key),
        lambda: backend.presigned_post(key, max_size=10),
        lambda: backend.copy(key, "tests/ok.pdf"),
        lambda: backend.copy("tests/ok.pdf", key),
        lambda: list(backend.iter_keys(key)),
    ):
        with pytest.raises(InvalidKeyError):
            operation()


def test_copy_makes_an_independent_copy_and_keeps_the_source(backend, new_key):
    data = b"%PDF-1.7 " + os.urandom(300_000)
    src, dst = new_key("incoming-statuts", backend), new_key("statuts.pdf", backend)
    backend.put(src, io.BytesIO(data), content_type="application/pdf")

    assert backend.copy(src, dst) is None
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert backend.head(dst) == ObjectInfo(size=len(data), content_type="application/pdf", etag=md5)
    assert b"".join(backend.iter_chunks(dst)) == data
    assert b"".join(backend.iter_chunks(src)) == data  # a copy, not a move

    # Writing the source again afterwards (a replayed upload form) leaves the copy alone.
    backend.put(src, io.BytesIO(b"MZ\x90\x00"), content_type="application/x-msdownload")
    assert b"".join(backend.iter_chunks(dst)) == data
    backend.delete(src)
    assert b"".join(backend.iter_chunks(dst)) == data


def test_copy_replaces_the_destination_and_can_set_the_type(backend, new_key):
    src, dst = new_key("source", backend), new_key("dest.pdf", backend)
    backend.put(src, io.BytesIO(b"%PDF new"), content_type="application/octet-stream")
    backend.put(dst, io.BytesIO(b"old content, longer"), content_type="text/plain")

    backend.copy(src, dst, content_type="application/pdf")

    assert b"".join(backend.iter_chunks(dst)) == b"%PDF new"
    assert backend.head(dst).content_type == "application/pdf"
    assert backend.head(src).content_type == "application/octet-stream"


def test_copy_of_a_missing_object_writes_nothing(backend, new_key):
    src, dst = new_key("absent", backend), new_key("dest.pdf", backend)
    with pytest.raises(ObjectNotFoundError):
        backend.copy(src, dst)
    assert backend.exists(dst) is False

    backend.put(dst, io.BytesIO(b"kept"))
    with pytest.raises(ObjectNotFoundError):
        backend.copy(src, dst)
    assert b"".join(backend.iter_chunks(dst)) == b"kept"


def test_iter_keys_lists_a_folder_by_age(backend, new_key):
    folder = new_key("incoming", backend)
    keys = sorted([f"{folder}/{uuid.uuid4().hex}", f"{folder}/1/{uuid.uuid4().hex}"])
    beside = f"{folder}-other/x"  # shares the prefix, not the folder
    try:
        for key in (*keys, beside):
            backend.put(key, io.BytesIO(b"x"))
        assert list(backend.iter_keys(folder)) == keys
        assert list(backend.iter_keys(folder + "/")) == keys
        assert list(backend.iter_keys(folder, modified_before=time.time() + 60)) == keys
        assert list(backend.iter_keys(folder, modified_before=time.time() - 3600)) == []
        assert list(backend.iter_keys(f"{folder}-absent")) == []
    finally:
        for key in (*keys, beside):
            backend.delete(key)


def test_iter_chunks_closes_the_stream_when_abandoned(backend, new_key):
    key = new_key("gros.bin", backend)
    backend.put(key, io.BytesIO(b"x" * 500_000))
    chunks = backend.iter_chunks(key, chunk_size=1000)
    assert next(chunks) == b"x" * 1000
    chunks.close()  # a leaked file or connection would be an error under filterwarnings=error


def test_presigned_get_downloads_the_file_as_an_attachment(backend, new_key):
    data = os.urandom(200_000)
    key = new_key("budget.pdf", backend)
    backend.put(key, io.BytesIO(data), content_type="application/octet-stream")

    url = backend.presigned_get(key, filename=FRENCH_NAME, content_type="application/pdf")
    with requests.get(url, timeout=10) as response:
        assert response.status_code == 200
        assert response.content == data
        assert response.headers["Content-Disposition"] == FRENCH_DISPOSITION
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Length"] == "200000"


def test_presigned_get_without_filename_keeps_the_stored_type(backend, new_key):
    key = new_key("note.txt", backend)
    backend.put(key, io.BytesIO(b"bonjour"), content_type="text/plain")

    with requests.get(backend.presigned_get(key), timeout=10) as response:
        assert response.status_code == 200
        assert response.content == b"bonjour"
        assert response.headers["Content-Type"].split(";")[0] == "text/plain"
        assert response.headers["Content-Disposition"] == "attachment"


def test_presigned_post_with_one_type_creates_the_object(backend, new_key):
    data = b"%PDF-1.7 " + os.urandom(50_000)
    key = new_key("statuts.pdf", backend)
    post = backend.presigned_post(key, max_size=MB, content_types=["application/pdf"])

    assert post["fields"]["key"] == key
    assert post["fields"]["Content-Type"] == "application/pdf"
    with requests.post(post["url"], data=post["fields"], timeout=10,
                       files={"file": ("Statuts signés.pdf", data, "application/pdf")}) as response:
        assert (response.status_code, response.content) == (204, b"")

    assert backend.head(key) == ObjectInfo(size=len(data), content_type="application/pdf",
                                           etag=hashlib.md5(data, usedforsecurity=False).hexdigest())
    assert b"".join(backend.iter_chunks(key)) == data


def test_presigned_post_with_several_types_stores_the_type_sent_by_the_browser(backend, new_key):
    key = new_key("logo.png", backend)
    post = backend.presigned_post(key, max_size=MB, content_types=["application/pdf", "image/png"])

    assert "Content-Type" not in post["fields"]
    fields = {**post["fields"], "Content-Type": "image/png"}  # what the page's script adds: file.type
    with requests.post(post["url"], data=fields, files={"file": ("logo.png", b"\x89PNG....", "image/png")},
                       timeout=10) as response:
        assert response.status_code == 204

    assert backend.head(key).content_type == "image/png"


def test_healthcheck(backend):
    assert backend.healthcheck() == "ok"


# --- S3 only: what moto does not check ------------------------------------------------------------------

def test_moto_does_not_enforce_content_length_range(s3, new_key):
    """moto accepts a 5 kB file under a 1 kB policy (real S3 answers 400 EntityTooLarge).

    So a caller must never trust the policy alone: after every upload it reads ``head(key).size``
    (and the file's first bytes for its type) and refuses the file when they are wrong."""
    key = new_key("trop-gros.pdf", s3)
    post = s3.presigned_post(key, max_size=1000, content_types=["application/pdf"])
    assert ["content-length-range", 1, 1000] in _policy_conditions(post)

    with requests.post(post["url"], data=post["fields"], files={"file": ("x.pdf", b"x" * 5000, "application/pdf")},
                       timeout=10) as response:
        assert response.status_code == 204

    assert s3.head(key).size == 5000


def test_s3_presigned_post_policy_conditions(s3, new_key):
    one = s3.presigned_post(new_key("a.pdf", s3), max_size=2 * MB, content_types=["application/pdf"])
    several = s3.presigned_post(new_key("b.pdf", s3), max_size=2 * MB, content_types=["application/pdf", "image/png"])

    assert {"Content-Type": "application/pdf"} in _policy_conditions(one)
    assert ["starts-with", "$Content-Type", ""] in _policy_conditions(several)
    assert ["content-length-range", 1, 2 * MB] in _policy_conditions(several)


def test_moto_checks_neither_expiry_nor_signature_of_presigned_get(s3, new_key):
    """Real S3 refuses an expired or altered presigned URL with 403; moto serves both. What we can check
    here is that the URL carries the expiry asked for (the local backend's expiry is tested below)."""
    key = new_key("note.txt", s3)
    s3.put(key, io.BytesIO(b"bonjour"), content_type="text/plain")

    url = s3.presigned_get(key, expires=1)
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["1"]
    assert parse_qs(urlsplit(s3.presigned_get(key)).query)["X-Amz-Expires"] == ["300"]
    assert parse_qs(urlsplit(s3.presigned_get(key, expires=10**9)).query)["X-Amz-Expires"] == ["604800"]
    time.sleep(2.1)
    with requests.get(url, timeout=10) as response:
        assert response.status_code == 200  # real S3: 403 "Request has expired"


def test_s3_healthcheck_raises_when_the_bucket_is_missing(s3_server):
    store = S3Storage(bucket="ptce-bucket-absent", endpoint_url=s3_server, region="us-east-1",
                      access_key_id="testing", secret_access_key="testing")
    with pytest.raises(ClientError):
        store.healthcheck()


def test_s3_copy_is_server_side_and_sends_no_checksum_header(s3, new_key):
    """``copy`` is one ``CopyObject`` request without body nor ``x-amz-checksum-*`` /
    ``x-amz-sdk-checksum-algorithm`` headers, which some S3-compatible stores refuse."""
    src, dst = new_key("source", s3), new_key("dest.pdf", s3)
    s3.put(src, io.BytesIO(b"%PDF"), content_type="application/pdf")
    sent = []

    def record(request, **kwargs):
        sent.append((request.method, dict(request.headers), request.body))

    s3.client.meta.events.register("before-send.s3", record)
    try:
        s3.copy(src, dst, content_type="application/pdf")
    finally:
        s3.client.meta.events.unregister("before-send.s3", record)

    assert len(sent) == 1
    method, headers, body = sent[0]
    lowered = {k.lower(): v for k, v in headers.items()}
    assert method == "PUT" and not body
    assert "x-amz-copy-source" in lowered
    assert not [k for k in lowered if k.startswith("x-amz-checksum") or k == "x-amz-sdk-checksum-algorithm"]
    assert s3.head(dst).size == 4


def test_s3_client_sends_no_checksum_by_default(s3):
    config = s3.client.meta.config
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    assert config.signature_version == "s3v4"


def _policy_conditions(post: dict) -> list:
    import base64
    import json

    return json.loads(base64.b64decode(post["fields"]["policy"]))["conditions"]


# --- local only: the routes that stand in for S3 --------------------------------------------------------

def _leftovers(store: LocalStorage) -> list[str]:
    return [name for _, _, files in os.walk(store.root) for name in files if name.startswith(".tmp-")]


def _post(post: dict, data: bytes, *, fields: dict | None = None, filename="x.pdf", content_type="application/pdf"):
    return requests.post(post["url"], data={**post["fields"], **(fields or {})},
                         files={"file": (filename, data, content_type)}, timeout=30)


@pytest.mark.parametrize("size", [5000, 2 * MB])
def test_local_upload_refuses_a_file_larger_than_the_policy(local, new_key, size):
    key = new_key("trop-gros.pdf", local)
    post = local.presigned_post(key, max_size=1000, content_types=["application/pdf"])

    with _post(post, b"x" * size) as response:
        assert response.status_code == 413
        assert "Le fichier dépasse la taille autorisée (1\u202f000 octets)." in response.text  # domain.formatting

    assert local.exists(key) is False
    assert _leftovers(local) == []


def test_local_upload_refused_leaves_the_previous_file(local, new_key):
    key = new_key("statuts.pdf", local)
    local.put(key, io.BytesIO(b"version 1"), content_type="application/pdf")
    post = local.presigned_post(key, max_size=2048, content_types=["application/pdf"])

    with _post(post, b"x" * 3000) as response:
        assert response.status_code == 413
        assert "2 ko" in response.text

    assert b"".join(local.iter_chunks(key)) == b"version 1"


def test_local_upload_accepts_exactly_max_size(local, new_key):
    key = new_key("juste.pdf", local)
    post = local.presigned_post(key, max_size=1000, content_types=["application/pdf"])
    with _post(post, b"x" * 1000) as response:
        assert response.status_code == 204
    assert local.head(key).size == 1000


def test_local_upload_refuses_an_expired_policy(local, new_key, monkeypatch):
    key = new_key("tard.pdf", local)
    post = local.presigned_post(key, max_size=1000, expires=600)
    real_now = storage_base._now()
    monkeypatch.setattr(storage_base, "_now", lambda: real_now + 601)

    with _post(post, b"x" * 10) as response:
        assert response.status_code == 403
        assert "Le délai pour envoyer ce fichier est dépassé." in response.text

    assert local.exists(key) is False


def test_local_upload_refuses_a_tampered_policy(local, new_key):
    key = new_key("statuts.pdf", local)
    post = local.presigned_post(key, max_size=1000)
    bigger = local.presigned_post(key, max_size=10**9)["fields"]["policy"]
    forged = bigger.rsplit(".", 1)[0] + "." + post["fields"]["policy"].rsplit(".", 1)[1]

    with _post(post, b"x" * 10, fields={"policy": forged}) as response:
        assert response.status_code == 403
        assert "l’autorisation d’envoi n’est pas valide" in response.text
    assert local.exists(key) is False


def test_local_upload_refuses_another_key_than_the_policy(local, new_key):
    key, other = new_key("a.pdf", local), new_key("b.pdf", local)
    post = local.presigned_post(key, max_size=1000)

    with _post(post, b"x" * 10, fields={"key": other}) as response:
        assert response.status_code == 403
        assert "ne correspond pas à ce fichier" in response.text
    assert local.exists(key) is False
    assert local.exists(other) is False


def test_local_upload_refuses_a_type_not_in_the_policy(local, new_key):
    key = new_key("a.pdf", local)
    post = local.presigned_post(key, max_size=1000, content_types=["application/pdf", "image/png"])

    with _post(post, b"MZ...", fields={"Content-Type": "application/x-msdownload"}, filename="a.exe",
               content_type="application/x-msdownload") as response:
        assert response.status_code == 400
        assert "Ce type de fichier n’est pas accepté ici." in response.text
    assert local.exists(key) is False


def test_local_upload_without_type_field_uses_the_file_part_type(local, new_key):
    key = new_key("a.png", local)
    post = local.presigned_post(key, max_size=1000, content_types=["application/pdf", "image/png"])
    with _post(post, b"\x89PNG", filename="a.png", content_type="image/png") as response:
        assert response.status_code == 204
    assert local.head(key).content_type == "image/png"


def test_local_upload_refuses_an_empty_file(local, new_key):
    key = new_key("vide.pdf", local)
    post = local.presigned_post(key, max_size=1000)
    with _post(post, b"") as response:
        assert response.status_code == 400
        assert "Le fichier envoyé est vide." in response.text
    assert local.exists(key) is False


def test_local_upload_without_a_file_or_multipart_is_refused(local, new_key):
    key = new_key("rien.pdf", local)
    post = local.presigned_post(key, max_size=1000)
    with requests.post(post["url"], files={k: (None, v) for k, v in post["fields"].items()},
                       timeout=10) as response:
        assert response.status_code == 400
        assert "Aucun fichier reçu." in response.text
    with requests.post(post["url"], data=post["fields"], timeout=10) as response:  # urlencoded
        assert response.status_code == 400
        assert "multipart/form-data est attendu" in response.text
    assert local.exists(key) is False


def test_local_upload_needs_no_csrf_token(test_settings, tmp_path):
    """The upload route is exempt from CSRF: the signed policy protects it."""
    app = _local_app({"STORAGE_BACKEND": "local", "LOCAL_STORAGE_DIR": str(tmp_path), "WTF_CSRF_ENABLED": True})
    with app.app_context():
        store = get_storage()
        post = store.presigned_post("dossiers/1/statuts.pdf", max_size=1000)
        response = app.test_client().post(
            urlsplit(post["url"]).path, content_type="multipart/form-data",
            data={**post["fields"], "file": (io.BytesIO(b"%PDF"), "statuts.pdf", "application/pdf")})
        assert response.status_code == 204
        assert store.head("dossiers/1/statuts.pdf").size == 4


def test_local_upload_asks_the_check_registered_for_its_folder(local, new_key, monkeypatch):
    """``register_upload_check``: the app can refuse an upload whose key no longer awaits a file."""
    asked, answers = [], {}

    def check(key: str) -> bool:
        asked.append(key)
        return answers.get(key, False)

    folder = new_key("staging", local)
    monkeypatch.setattr(storage_base, "_UPLOAD_CHECKS", {})
    storage_base.register_upload_check(folder, check)
    waiting, done, elsewhere = f"{folder}/waiting", f"{folder}/done", new_key("ailleurs.pdf", local)
    answers[waiting] = True
    try:
        for key, status in ((waiting, 204), (done, 403), (elsewhere, 204)):
            with _post(local.presigned_post(key, max_size=1000), b"%PDF") as response:
                assert response.status_code == status, key
        assert asked == [waiting, done]  # keys outside the folder are not its business
        assert local.exists(waiting) and local.exists(elsewhere)
        assert local.exists(done) is False
    finally:
        local.delete(waiting)


def test_local_download_refuses_an_expired_link(local, new_key, monkeypatch):
    key = new_key("note.txt", local)
    local.put(key, io.BytesIO(b"bonjour"))
    url = local.presigned_get(key, expires=300)
    real_now = storage_base._now()
    monkeypatch.setattr(storage_base, "_now", lambda: real_now + 301)

    with requests.get(url, timeout=10) as response:
        assert response.status_code == 403
        assert "Ce lien de téléchargement a expiré." in response.text
        assert b"bonjour" not in response.content


def test_local_download_refuses_a_tampered_link(local, new_key):
    key, other = new_key("mien.txt", local), new_key("pas-a-moi.txt", local)
    local.put(other, io.BytesIO(b"confidentiel"))
    url = local.presigned_get(key)
    other_url = local.presigned_get(other)
    forged = url.rsplit(".", 1)[0] + "." + other_url.rsplit(".", 1)[1]

    for bad in (forged, url[:-3] + "xyz", url.rsplit("/", 1)[0] + "/pas-un-jeton"):
        with requests.get(bad, timeout=10) as response:
            assert response.status_code == 403
            assert "Ce lien de téléchargement n’est pas valide." in response.text
            assert b"confidentiel" not in response.content


def test_local_download_of_a_deleted_file_is_404(local, new_key):
    key = new_key("parti.txt", local)
    local.put(key, io.BytesIO(b"x"))
    url = local.presigned_get(key)
    local.delete(key)
    with requests.get(url, timeout=10) as response:
        assert response.status_code == 404
        assert "Ce fichier n’existe plus." in response.text


def test_local_presigned_url_in_a_request_uses_the_request_host(local_server, local):
    with local_server.test_request_context(base_url="https://ptce.example.gouv.fr"):
        assert local.presigned_get("a/b.pdf").startswith("https://ptce.example.gouv.fr/stockage/fichier/")
        assert local.presigned_post("a/b.pdf", max_size=1)["url"] == "https://ptce.example.gouv.fr/stockage/depot"


# --- choosing the backend ------------------------------------------------------------------------------

def test_get_storage_follows_the_configuration_and_is_cached(_app, local_server):
    s3_store = get_storage(_app)
    assert isinstance(s3_store, S3Storage)
    assert s3_store.bucket == _app.config["S3_BUCKET"]
    assert get_storage(_app) is s3_store
    assert _app.extensions["ptce_storage"] is s3_store
    with _app.app_context():
        assert get_storage() is s3_store
        assert storage_for("s3") is s3_store

    local_store = get_storage(local_server)
    assert isinstance(local_store, LocalStorage)
    assert str(local_store.root) == os.path.realpath(local_server.config["LOCAL_STORAGE_DIR"])


def test_storage_for_finds_a_backend_that_is_not_the_configured_one(_app):
    other = storage_for("local", _app)
    assert isinstance(other, LocalStorage)
    assert str(other.root) == os.path.realpath(_app.config["LOCAL_STORAGE_DIR"])
    assert storage_for("local", _app) is other
    with pytest.raises(StorageError):
        storage_for("ftp", _app)


# --- memory: files are streamed, never held whole ----------------------------------------------------------

@pytest.fixture(scope="module")
def s3_in_another_process():
    """A moto server in its own process: the in-process one keeps uploaded bytes in this process's
    memory, which tracemalloc would count."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                process.wait()
                raise
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.mark.parametrize("name", ["local", "s3"])
def test_putting_and_reading_20mb_does_not_hold_the_file_in_memory(name, tmp_path, request):
    if name == "s3":
        store = S3Storage(bucket="ptce-memory", endpoint_url=request.getfixturevalue("s3_in_another_process"),
                          region="us-east-1", access_key_id="testing", secret_access_key="testing")
        store.client.create_bucket(Bucket="ptce-memory")
    else:
        store = LocalStorage(tmp_path / "store")
    source = tmp_path / "gros.pdf"
    sha, _ = _random_file(source, 20 * MB)
    store.put("warm-up.txt", io.BytesIO(b"x"))  # load botocore's models and open a connection first
    assert b"".join(store.iter_chunks("warm-up.txt")) == b"x"

    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        with open(source, "rb") as fileobj:
            assert store.put("gros.pdf", fileobj, content_type="application/pdf") == 20 * MB
        read_sha = _sha256(store.iter_chunks("gros.pdf"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert read_sha == sha
    assert peak - before < 5 * MB, f"peak {(peak - before) / MB:.1f} MB"
    store.delete("gros.pdf")
    store.delete("warm-up.txt")


def test_local_upload_route_streams_20mb_to_disk(tmp_path, test_settings):
    app = _local_app({"STORAGE_BACKEND": "local", "LOCAL_STORAGE_DIR": str(tmp_path / "store"),
                      "MAX_CONTENT_LENGTH": 30 * MB})
    source = tmp_path / "gros.pdf"
    sha, _ = _random_file(source, 20 * MB)
    client = app.test_client()
    with app.app_context():
        store = get_storage()
        post = store.presigned_post("dossiers/1/gros.pdf", max_size=25 * MB, content_types=["application/pdf"])
        path = urlsplit(post["url"]).path
        client.post(path, data={**post["fields"], "file": (io.BytesIO(b"%PDF"), "petit.pdf")})  # warm up

        with open(source, "rb") as fileobj:
            # The body is spooled to a temporary file (past 500 KiB), so only the route's memory is measured.
            body, length, boundary = stream_encode_multipart({**post["fields"], "file": FileStorage(fileobj, "gros.pdf")})
        with body:
            tracemalloc.start()
            try:
                before, _ = tracemalloc.get_traced_memory()
                response = client.post(path, input_stream=body, content_length=length,
                                       content_type=f"multipart/form-data; boundary={boundary}")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()

        assert response.status_code == 204
        assert store.head("dossiers/1/gros.pdf").size == 20 * MB
        assert _sha256(store.iter_chunks("dossiers/1/gros.pdf")) == sha
    assert peak - before < 5 * MB, f"peak {(peak - before) / MB:.1f} MB"
