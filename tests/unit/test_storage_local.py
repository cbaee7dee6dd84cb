"""LocalStorage on its own (no app, no services): key safety, atomic writes, metadata, tokens."""

from __future__ import annotations

import io
import os

import pytest
from flask import Flask

from ptce_aap.storage import (
    EmptyFileError,
    FileTooLargeError,
    InvalidKeyError,
    LocalStorage,
    ObjectInfo,
    ObjectNotFoundError,
    StorageError,
    content_disposition,
    validate_key,
)
from ptce_aap.storage import base as storage_base
from ptce_aap.storage import routes as storage_routes
from ptce_aap.tokens import STORAGE_DOWNLOAD as GET_TOKEN
from ptce_aap.tokens import STORAGE_UPLOAD as POST_TOKEN
from ptce_aap.tokens import TokenError, TokenExpired, read_token

BAD_KEYS = [
    "",
    "../secret.txt",
    "dossiers/../../etc/passwd",
    "dossiers/..",
    "a..b.pdf",
    "/etc/passwd",
    "dossiers\\12\\statuts.pdf",
    "dossiers/12/statuts\x00.pdf",
    "dossiers/12/statuts\n.pdf",
    "dossiers//statuts.pdf",
    "dossiers/12/",
    "./statuts.pdf",
    ".meta/dossiers/statuts.pdf.json",
    "dossiers/.hidden",
    "x" * 301,
]


@pytest.fixture
def store(tmp_path):
    return LocalStorage(tmp_path / "store", secret_key="unit-test-secret")


@pytest.fixture
def outside(tmp_path):
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(b"not yours")
    return folder


def _read(store, key) -> bytes:
    return b"".join(store.iter_chunks(key))


def _leftovers(root) -> list[str]:
    return sorted(name for _, _, files in os.walk(root) for name in files if name.startswith(".tmp-"))


@pytest.mark.parametrize("key", ["statuts.pdf", "dossiers/12/3f2a-statuts.pdf", "a/b/c/d", "exports/2025 été.csv"])
def test_validate_key_accepts_relative_paths(key):
    assert validate_key(key) == key


@pytest.mark.parametrize("key", BAD_KEYS)
def test_validate_key_refuses_unsafe_keys(key):
    with pytest.raises(InvalidKeyError):
        validate_key(key)


@pytest.mark.parametrize("key", BAD_KEYS)
def test_local_storage_refuses_unsafe_keys_for_every_operation(store, key):
    operations = [
        lambda: store.put(key, io.BytesIO(b"x")),
        lambda: store.open_stream(key),
        lambda: store.iter_chunks(key),
        lambda: store.head(key),
        lambda: store.exists(key),
        lambda: store.delete(key),
        lambda: store.copy(key, "ok/dst"),
        lambda: store.copy("ok/src", key),
    ]
    for operation in operations:
        with pytest.raises(InvalidKeyError):
            operation()
    assert not store.root.exists() or _leftovers(store.root) == []


def test_local_storage_never_follows_a_symlink_out_of_its_root(store, outside):
    store.root.mkdir(parents=True)
    (store.root / "evil").symlink_to(outside, target_is_directory=True)
    (store.root / "link.txt").symlink_to(outside / "secret.txt")

    store.put("inside.txt", io.BytesIO(b"inside"))
    for key in ("evil/secret.txt", "evil/new.txt", "link.txt"):
        with pytest.raises(InvalidKeyError):
            store.put(key, io.BytesIO(b"overwritten"))
        with pytest.raises(InvalidKeyError):
            store.copy("inside.txt", key)
        with pytest.raises(InvalidKeyError):
            store.copy(key, "stolen.txt")
        with pytest.raises(InvalidKeyError):
            store.open_stream(key)
        with pytest.raises(InvalidKeyError):
            store.head(key)
        with pytest.raises(InvalidKeyError):
            store.delete(key)

    with pytest.raises(InvalidKeyError):
        list(store.iter_keys("evil"))
    assert list(store.iter_keys("dossiers")) == []
    assert sorted(os.listdir(outside)) == ["secret.txt"]
    assert (outside / "secret.txt").read_bytes() == b"not yours"
    assert not store.exists("stolen.txt")


def test_local_storage_root_itself_is_not_a_key(store):
    with pytest.raises(InvalidKeyError):
        store.path(".")
    with pytest.raises(InvalidKeyError):
        store.path("")


def test_put_writes_atomically_and_keeps_type_and_md5(store):
    size = store.put("dossiers/1/statuts.pdf", io.BytesIO(b"%PDF-1.7 statuts"), content_type="application/pdf")

    assert size == 16
    assert store.path("dossiers/1/statuts.pdf").read_bytes() == b"%PDF-1.7 statuts"
    assert store.head("dossiers/1/statuts.pdf") == ObjectInfo(
        size=16, content_type="application/pdf", etag="1fc0653e5732d18fccab5a8faeaa05e3")
    assert _leftovers(store.root) == []


def test_put_without_type_stores_octet_stream(store):
    store.put("a/b", io.BytesIO(b"x"))
    assert store.head("a/b").content_type == "application/octet-stream"


def test_put_reads_the_file_in_chunks_not_whole(store):
    class RecordingReader(io.BytesIO):
        sizes: list[int]

        def read(self, size=-1):
            self.sizes.append(size)
            return super().read(size)

    reader = RecordingReader(b"x" * 200_000)
    reader.sizes = []
    store.put("big.bin", reader)
    assert set(reader.sizes) == {64 * 1024}


def test_failed_put_keeps_nothing_and_leaves_the_previous_object(store):
    store.put("dossiers/1/budget.xlsx", io.BytesIO(b"version 1"), content_type="text/plain")

    class BrokenReader:
        def __init__(self):
            self.calls = 0

        def read(self, size=-1):
            self.calls += 1
            if self.calls > 2:
                raise OSError("connexion perdue")
            return b"y" * size

    with pytest.raises(OSError, match="connexion perdue"):
        store.put("dossiers/1/budget.xlsx", BrokenReader())

    assert _read(store, "dossiers/1/budget.xlsx") == b"version 1"
    assert store.head("dossiers/1/budget.xlsx").content_type == "text/plain"
    assert _leftovers(store.root) == []


def test_write_chunks_stops_past_max_size_and_keeps_nothing(store):
    consumed = []

    def chunks():
        for i in range(100):
            consumed.append(i)
            yield b"z" * 1000

    with pytest.raises(FileTooLargeError) as excinfo:
        store.write_chunks("upload.bin", chunks(), max_size=2500)

    assert excinfo.value.max_size == 2500
    assert consumed == [0, 1, 2]  # stopped while receiving, not after
    assert not store.exists("upload.bin")
    assert _leftovers(store.root) == []


def test_write_chunks_refuses_an_empty_file_when_asked(store):
    with pytest.raises(EmptyFileError):
        store.write_chunks("empty.bin", iter([b""]), min_size=1)
    assert not store.exists("empty.bin")
    assert _leftovers(store.root) == []


def test_copy_writes_a_new_file_with_its_own_metadata(store):
    store.put("incoming/1/abc", io.BytesIO(b"%PDF-1.7 statuts"), content_type="application/pdf")
    store.copy("incoming/1/abc", "dossiers/1/abc/statuts.pdf")

    assert store.head("dossiers/1/abc/statuts.pdf") == ObjectInfo(
        size=16, content_type="application/pdf", etag="1fc0653e5732d18fccab5a8faeaa05e3")
    assert store.path("dossiers/1/abc/statuts.pdf").stat().st_ino != store.path("incoming/1/abc").stat().st_ino
    assert _read(store, "incoming/1/abc") == b"%PDF-1.7 statuts"
    assert _leftovers(store.root) == []

    store.put("incoming/1/abc", io.BytesIO(b"MZ replaced"), content_type="application/x-msdownload")
    store.delete("incoming/1/abc")
    assert _read(store, "dossiers/1/abc/statuts.pdf") == b"%PDF-1.7 statuts"


def test_copy_sets_the_type_asked_for(store):
    store.put("a", io.BytesIO(b"x"), content_type="application/octet-stream")
    store.copy("a", "b", content_type="image/png")
    assert (store.head("a").content_type, store.head("b").content_type) == ("application/octet-stream", "image/png")


def test_copy_reads_the_source_opened_even_if_it_is_replaced_meanwhile(store, monkeypatch):
    store.put("incoming/src", io.BytesIO(b"A" * 200_000))
    real_write = store.write_chunks

    def write_while_replaced(key, chunks, **kwargs):
        real_write("incoming/src", iter([b"B" * 10]))  # an upload renamed over the source mid-copy
        return real_write(key, chunks, **kwargs)

    monkeypatch.setattr(store, "write_chunks", write_while_replaced)
    store.copy("incoming/src", "final")
    assert _read(store, "final") == b"A" * 200_000


def test_failed_copy_keeps_nothing_and_leaves_the_destination(store):
    store.put("dst", io.BytesIO(b"kept"), content_type="text/plain")
    with pytest.raises(ObjectNotFoundError):
        store.copy("missing", "dst")
    assert _read(store, "dst") == b"kept" and store.head("dst").content_type == "text/plain"
    assert _leftovers(store.root) == []


def test_iter_keys_lists_regular_files_only(store, outside):
    store.put("incoming/1/a", io.BytesIO(b"x"))
    store.put("incoming/2/b", io.BytesIO(b"x"))
    store.put("dossiers/1/c", io.BytesIO(b"x"))
    (store.root / "incoming" / "1" / ".tmp-upload.part").write_bytes(b"half")  # a write in progress
    (store.root / "incoming" / "link").symlink_to(outside / "secret.txt")
    (store.root / "incoming" / "folder-link").symlink_to(outside, target_is_directory=True)

    assert list(store.iter_keys("incoming")) == ["incoming/1/a", "incoming/2/b"]
    assert list(store.iter_keys("incoming/1/")) == ["incoming/1/a"]
    assert list(store.iter_keys("absent")) == []
    old = os.path.getmtime(store.path("incoming/1/a")) - 7200
    os.utime(store.path("incoming/1/a"), (old, old))
    assert list(store.iter_keys("incoming", modified_before=old + 1)) == ["incoming/1/a"]
    for folder in ("", "/", ".meta", ".."):
        with pytest.raises(InvalidKeyError):  # never the whole store, nor its own files
            list(store.iter_keys(folder))


def test_head_of_a_file_dropped_by_hand_guesses_its_type(store):
    store.root.mkdir(parents=True)
    (store.root / "notice.pdf").write_bytes(b"%PDF")
    assert store.head("notice.pdf") == ObjectInfo(size=4, content_type="application/pdf", etag=None)


def test_head_ignores_stale_metadata(store):
    store.put("note.txt", io.BytesIO(b"first"), content_type="text/plain")
    store.path("note.txt").write_bytes(b"changed by hand")
    assert store.head("note.txt") == ObjectInfo(size=15, content_type="text/plain", etag=None)


def test_missing_objects(store):
    assert store.head("nothing/here.pdf") is None
    assert store.exists("nothing/here.pdf") is False
    with pytest.raises(ObjectNotFoundError):
        store.open_stream("nothing/here.pdf")
    with pytest.raises(FileNotFoundError):  # ObjectNotFoundError is a FileNotFoundError too
        store.iter_chunks("nothing/here.pdf")
    store.delete("nothing/here.pdf")  # no error


def test_a_folder_is_not_an_object(store):
    store.put("dossiers/1/statuts.pdf", io.BytesIO(b"x"))
    assert store.head("dossiers/1") is None
    assert store.exists("dossiers") is False
    with pytest.raises(ObjectNotFoundError):
        store.open_stream("dossiers/1")
    store.delete("dossiers/1")
    assert store.exists("dossiers/1/statuts.pdf")


def test_delete_removes_file_and_metadata(store):
    store.put("a/b.pdf", io.BytesIO(b"x"), content_type="application/pdf")
    store.delete("a/b.pdf")
    store.delete("a/b.pdf")
    assert store.exists("a/b.pdf") is False
    assert not (store.root / ".meta" / "a" / "b.pdf.json").exists()


def test_iter_chunks_closes_the_file_when_abandoned(store):
    store.put("big.bin", io.BytesIO(b"x" * 300_000))
    chunks = store.iter_chunks("big.bin", chunk_size=1000)
    assert next(chunks) == b"x" * 1000
    chunks.close()  # what a WSGI server does with a response iterable; filterwarnings=error catches leaks


def test_healthcheck_creates_the_folder(store):
    assert store.healthcheck() == "ok"
    assert store.root.is_dir()
    assert os.listdir(store.root) == []


def test_healthcheck_raises_when_the_folder_cannot_be_used(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(OSError):
        LocalStorage(tmp_path / "a-file" / "store").healthcheck()


@pytest.mark.parametrize(("filename", "expected"), [
    (None, "attachment"),
    ("statuts.pdf", 'attachment; filename="statuts.pdf"'),
    ("Budget prévisionnel 2025 – été.pdf",
     "attachment; filename=\"Budget previsionnel 2025 _ ete.pdf\"; "
     "filename*=UTF-8''Budget%20pr%C3%A9visionnel%202025%20%E2%80%93%20%C3%A9t%C3%A9.pdf"),
    ('liste "signée"\r\n.pdf',
     "attachment; filename=\"liste _signee_.pdf\"; filename*=UTF-8''liste%20%22sign%C3%A9e%22.pdf"),
    ("../../etc/passwd", 'attachment; filename=".._.._etc_passwd"'),
])
def test_content_disposition_encodes_french_names(filename, expected):
    assert content_disposition(filename) == expected


# --- signed URLs and policies (need an app only to build URLs) -------------------------------------------

@pytest.fixture
def url_app():
    app = Flask("storage-unit")
    app.config["PUBLIC_BASE_URL"] = "http://plateforme.example/"
    app.register_blueprint(storage_routes.bp)
    with app.app_context():
        yield app


def _token_from(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_presigned_get_points_to_the_download_route(store, url_app):
    url = store.presigned_get("a/b.pdf", filename="été.pdf", content_type="application/pdf")
    assert url.startswith("http://plateforme.example/stockage/fichier/")
    claims = store.load_token(_token_from(url), GET_TOKEN)
    assert claims["k"] == "a/b.pdf"
    assert claims["f"] == "été.pdf"
    assert claims["t"] == "application/pdf"


def test_presigned_post_gives_s3_like_fields(store, url_app, monkeypatch):
    monkeypatch.setattr(storage_base, "_now", lambda: 1_000_000.0)
    post = store.presigned_post("a/b.pdf", max_size=1000, content_types=["application/pdf"], expires=600)
    assert post["url"] == "http://plateforme.example/stockage/depot"
    assert set(post["fields"]) == {"key", "policy", "Content-Type"}
    assert post["fields"]["key"] == "a/b.pdf"
    assert post["fields"]["Content-Type"] == "application/pdf"
    claims = store.load_token(post["fields"]["policy"], POST_TOKEN)
    assert claims == {"k": "a/b.pdf", "m": 1000, "t": ["application/pdf"], "e": 1_000_600}


def test_presigned_post_with_several_types_lets_the_browser_send_the_type(store, url_app):
    post = store.presigned_post("a/b", max_size=10, content_types=["application/pdf", "image/png"])
    assert set(post["fields"]) == {"key", "policy"}


def test_tokens_expire(store, url_app, monkeypatch):
    url = store.presigned_get("a/b.pdf", expires=300)
    real_now = storage_base._now()
    monkeypatch.setattr(storage_base, "_now", lambda: real_now + 299)
    assert store.load_token(_token_from(url), GET_TOKEN)["k"] == "a/b.pdf"
    monkeypatch.setattr(storage_base, "_now", lambda: real_now + 302)
    with pytest.raises(TokenExpired):
        store.load_token(_token_from(url), GET_TOKEN)


def test_tokens_are_refused_when_tampered_or_from_elsewhere(store, url_app):
    token = _token_from(store.presigned_get("a/b.pdf"))
    policy = store.presigned_post("a/b.pdf", max_size=10)["fields"]["policy"]
    other = LocalStorage(store.root, secret_key="another-secret")

    with pytest.raises(TokenError):
        store.load_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), GET_TOKEN)
    with pytest.raises(TokenError):
        store.load_token(policy, GET_TOKEN)  # an upload policy is not a download link
    with pytest.raises(TokenError):
        store.load_token(token, POST_TOKEN)
    with pytest.raises(TokenError):
        other.load_token(token, GET_TOKEN)


def test_expiry_is_capped_at_seven_days(store, url_app, monkeypatch):
    monkeypatch.setattr(storage_base, "_now", lambda: 0.0)
    policy = store.presigned_post("a/b", max_size=10, expires=10**9)["fields"]["policy"]
    assert read_token(POST_TOKEN, policy, secret_key=store.secret_key)["e"] == 7 * 24 * 3600


def test_signing_needs_a_secret_key(tmp_path, url_app):
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).presigned_get("a/b.pdf")
