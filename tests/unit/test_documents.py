"""Content checks of uploaded documents (no app, no services): type sniffing, zip markers read forward
from a stream, PDF pages, file names and sizes, the clamd protocol (real clamd when installed).

The sample builders here make real small files; ``tests/integration/test_attachments.py`` uses them too.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from ptce_aap import clamd
from ptce_aap.clamd import (
    ClamdScanError,
    ClamdStream,
    ClamdUnavailable,
    ScanResult,
    parse_address,
    parse_reply,
)
from ptce_aap.domain import filetypes
from ptce_aap.domain.filetypes import (
    EXTENSIONS,
    clean_filename,
    extension_of,
    key_filename,
    mime_for,
    pdf_page_count,
    sniff,
    verify_content,
)
from ptce_aap.domain.formatting import format_size
from ptce_aap.services.attachment_processing import analyse

NNBSP = "\u202f"
PDF = "application/pdf"
DOCX = EXTENSIONS["docx"]
XLSX = EXTENSIONS["xlsx"]
ODT = EXTENSIONS["odt"]
ODS = EXTENSIONS["ods"]
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


# --- Sample files ---------------------------------------------------------------------------------

def pdf_bytes(pages: int = 3) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def png_bytes() -> bytes:
    """A valid 1×1 PNG."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def jpeg_bytes() -> bytes:
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"


def exe_bytes() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 400 + b"This program cannot be run in DOS mode."


def ole_bytes() -> bytes:
    return filetypes.OLE_MAGIC + b"\x00" * 1024


class _Unseekable(io.RawIOBase):
    """A write-only stream that cannot seek: zipfile then writes data descriptors (flag bit 3)."""

    def __init__(self):
        self.buffer = bytearray()

    def writable(self):
        return True

    def write(self, data):
        self.buffer += data
        return len(data)


def zip_bytes(entries: list[tuple[str, bytes]], *, stored_first: bool = False, streamed: bool = False) -> bytes:
    target = _Unseekable() if streamed else io.BytesIO()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for i, (name, data) in enumerate(entries):
            method = zipfile.ZIP_STORED if stored_first and i == 0 else zipfile.ZIP_DEFLATED
            if streamed:
                with archive.open(zipfile.ZipInfo(name), "w") as out:
                    out.write(data)
            else:
                archive.writestr(name, data, compress_type=method)
    return bytes(target.buffer) if streamed else target.getvalue()


CONTENT_TYPES = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'


def docx_bytes(*, extra: list[tuple[str, bytes]] | None = None, streamed: bool = False,
               content_types_first: bool = True) -> bytes:
    entries = [("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", b"<Relationships/>"),
               ("word/document.xml", b"<w:document>Bonjour</w:document>")]
    if not content_types_first:
        entries = entries[1:] + entries[:1]
    return zip_bytes(entries + (extra or []), streamed=streamed)


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active["A1"] = "Budget prévisionnel"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def odf_bytes(mime: str = ODT) -> bytes:
    return zip_bytes([("mimetype", mime.encode()), ("META-INF/manifest.xml", b"<manifest/>"),
                      ("content.xml", b"<office:document-content/>")], stored_first=True)


class CountingStream(io.BytesIO):
    """A stream that remembers how many bytes were read from it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


# --- Type checks ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("ext", "make"), [
    ("pdf", pdf_bytes), ("png", png_bytes), ("jpg", jpeg_bytes), ("jpeg", jpeg_bytes), ("docx", docx_bytes),
    ("xlsx", xlsx_bytes), ("odt", lambda: odf_bytes(ODT)), ("ods", lambda: odf_bytes(ODS)),
    ("odp", lambda: odf_bytes(EXTENSIONS["odp"])), ("doc", ole_bytes), ("xls", ole_bytes), ("ppt", ole_bytes),
])
def test_verify_content_accepts_each_allowed_type(ext, make):
    verdict = verify_content(EXTENSIONS[ext], io.BytesIO(make()))
    assert verdict.ok, verdict
    assert verdict.mime == (EXTENSIONS[ext] if ext not in {"doc", "xls", "ppt"} else verdict.mime)
    assert verdict.reason == ""


@pytest.mark.parametrize(("make", "detected", "reason"), [
    (png_bytes, "image/png", "une image PNG"),
    (exe_bytes, "application/x-msdownload", "un programme exécutable"),
    (lambda: b"<html><body>hello</body></html>", None, "un fichier de type inconnu"),
    (lambda: zip_bytes([("a.txt", b"a")]), "application/zip", "une archive ZIP"),
])
def test_verify_content_refuses_a_pdf_that_is_something_else(make, detected, reason):
    verdict = verify_content(PDF, io.BytesIO(make()))
    assert (verdict.ok, verdict.mime, verdict.reason) == (False, detected, reason)


def test_docx_that_is_a_plain_zip_or_a_spreadsheet_is_refused():
    plain = verify_content(DOCX, io.BytesIO(zip_bytes([("notes.txt", b"rien")])))
    assert (plain.ok, plain.reason) == (False, "une archive ZIP")
    spreadsheet = verify_content(DOCX, io.BytesIO(xlsx_bytes()))
    assert (spreadsheet.ok, spreadsheet.mime, spreadsheet.reason) == (False, XLSX, "un classeur Excel (.xlsx)")


def test_docx_without_content_types_marker_is_refused():
    fake = zip_bytes([("word/document.xml", b"<w:document/>")])
    assert verify_content(DOCX, io.BytesIO(fake)).ok is False


def test_docx_marker_found_when_not_first_and_with_data_descriptors():
    assert verify_content(DOCX, io.BytesIO(docx_bytes(content_types_first=False))).ok
    streamed = docx_bytes(streamed=True)
    assert zipfile.ZipFile(io.BytesIO(streamed)).infolist()[0].flag_bits & 0x08  # really bit 3
    assert verify_content(DOCX, io.BytesIO(streamed)).ok


def test_zip_check_reads_only_the_beginning_of_a_large_document():
    import os

    data = docx_bytes(extra=[("word/media/image1.bin", os.urandom(2 * 1024 * 1024))])
    stream = CountingStream(data)
    assert verify_content(DOCX, stream).ok
    assert stream.bytes_read <= 128 * 1024 < len(data)


def test_docx_that_is_an_ole_container_is_refused_with_a_hint():
    verdict = verify_content(DOCX, io.BytesIO(ole_bytes()))
    assert (verdict.ok, verdict.reason) == (
        False, "un document Office protégé par un mot de passe ou d'un ancien format")


def test_odf_checks_the_mimetype_entry():
    assert verify_content(ODS, io.BytesIO(odf_bytes(ODS))).ok
    wrong = verify_content(ODS, io.BytesIO(odf_bytes(ODT)))
    assert (wrong.ok, wrong.mime, wrong.reason) == (False, ODT, "un texte OpenDocument (.odt)")
    not_first = zip_bytes([("content.xml", b"<x/>"), ("mimetype", ODT.encode())])
    assert verify_content(ODT, io.BytesIO(not_first)).ok is False


def test_old_office_needs_the_ole_signature():
    assert verify_content(EXTENSIONS["doc"], io.BytesIO(ole_bytes())).ok
    refused = verify_content(EXTENSIONS["doc"], io.BytesIO(pdf_bytes()))
    assert (refused.ok, refused.reason) == (False, "un document PDF")


def test_sniff_of_empty_and_unknown_content():
    assert sniff(b"") is None
    assert sniff(b"just some text") is None
    assert sniff(pdf_bytes()) == PDF


# --- PDF pages and the single pass ------------------------------------------------------------------

def test_pdf_page_count_with_and_without_pypdf(monkeypatch):
    four_pages = pdf_bytes(4)
    assert pdf_page_count(io.BytesIO(four_pages)) == 4
    assert pdf_page_count(io.BytesIO(b"%PDF-1.4 broken")) is None
    monkeypatch.setitem(sys.modules, "pypdf", None)  # import fails as if not installed
    assert pdf_page_count(io.BytesIO(four_pages)) is None


def test_analyse_hashes_sizes_and_counts_in_one_pass():
    data = pdf_bytes(2)
    chunks = [data[i:i + 1000] for i in range(0, len(data), 1000)]
    result = analyse(iter(chunks), expected_mime=PDF, scanner=None)
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert (result.verdict.ok, result.page_count, result.scan) == (True, 2, None)


# --- Names, sizes ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "clean"), [
    ("Budget prévisionnel.pdf", "Budget prévisionnel.pdf"),
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\julie\\Statuts.PDF", "Statuts.PDF"),
    ("facture\u202efdp.exe", "facturefdp.exe"),  # bidi override removed: what you see is what it is
    ("  .htaccess ", "htaccess"),
    ("rapport.pdf. . ", "rapport.pdf"),
    ("a\x00b\nc.pdf", "abc.pdf"),
    ("", ""),
    (None, ""),
])
def test_clean_filename(raw, clean):
    assert clean_filename(raw) == clean


def test_clean_filename_keeps_the_extension_of_long_names():
    name = clean_filename("x" * 500 + ".docx")
    assert len(name) == 200 and name.endswith("x.docx")


def test_key_filename_is_ascii_and_safe():
    assert key_filename("Budget prévisionnel 2025 – été.pdf") == "Budget-previsionnel-2025-ete.pdf"
    assert key_filename("été") == "ete"
    assert key_filename("????.pdf") == "fichier.pdf"


def test_extension_and_mime_mapping():
    assert mime_for("Statuts.PDF") == PDF
    assert mime_for("photo.JPG") == "image/jpeg"
    assert mime_for("outil.exe") is None
    assert mime_for("sans-extension") is None
    assert extension_of("archive.tar.gz") == "gz"
    assert set(EXTENSIONS) == {"pdf", "png", "jpg", "jpeg", "doc", "docx", "xls", "xlsx", "ppt", "pptx",
                               "odt", "ods", "odp"}


@pytest.mark.parametrize(("size", "text"), [
    (1, "1 octet"), (12, "12 octets"), (1000, f"1{NNBSP}000 octets"), (2048, "2 ko"), (1536, "1,5 ko"),
    (20 * 1024 * 1024, "20 Mo"), (int(1.25 * 1024 * 1024), "1,2 Mo"), (1500 * 1024 * 1024, f"1{NNBSP}500 Mo"),
    (None, "—"),
])
def test_file_size_in_french(size, text):
    assert format_size(size) == text


# --- clamd ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("reply", "result"), [
    ("stream: OK", ScanResult(False)),
    ("stream: Eicar-Test-Signature FOUND", ScanResult(True, "Eicar-Test-Signature")),
    ("stream: eicar.com.UNOFFICIAL FOUND", ScanResult(True, "eicar.com.UNOFFICIAL")),
])
def test_parse_reply(reply, result):
    assert parse_reply(reply) == result


def test_parse_reply_errors():
    with pytest.raises(ClamdScanError):
        parse_reply("INSTREAM size limit exceeded. ERROR")
    with pytest.raises(ClamdUnavailable):
        parse_reply("")


def test_parse_address():
    assert parse_address("127.0.0.1:3310") == ("127.0.0.1", 3310)
    assert parse_address("[::1]:3310") == ("::1", 3310)
    with pytest.raises(ValueError):
        parse_address("clamd")


def test_clamd_unreachable_raises_unavailable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ClamdUnavailable):
        ClamdStream(f"127.0.0.1:{port}", timeout=2)


def test_clamd_closing_early_is_read_as_its_answer():
    """A server that answers after a few bytes and hangs up (as clamd does past StreamMaxLength)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve():
        conn, _addr = server.accept()
        conn.recv(100)
        conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    stream = ClamdStream(f"127.0.0.1:{server.getsockname()[1]}", timeout=5)
    time.sleep(0.2)
    for _ in range(50):
        stream.send(b"x" * 65536)
    with pytest.raises(ClamdScanError, match="size limit exceeded"):
        stream.result()
    thread.join(5)
    server.close()


@contextlib.contextmanager
def running_clamd(folder: Path):
    """clamd with a custom hash signature of EICAR (no signature database ships here). Yields host:port."""
    clamd, sigtool = shutil.which("clamd") or "/usr/sbin/clamd", shutil.which("sigtool")
    if not Path(clamd).exists() or not sigtool:
        pytest.skip("clamd/sigtool not installed (Debian packages clamav clamav-daemon)")
    database = folder / "db"
    database.mkdir()
    (folder / "eicar.com").write_bytes(EICAR)
    signature = subprocess.run([sigtool, "--md5", str(folder / "eicar.com")], check=True, capture_output=True,
                               text=True).stdout
    (database / "custom.hdb").write_text(signature)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    conf = folder / "clamd.conf"
    conf.write_text(f"DatabaseDirectory {database}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nForeground yes\n"
                    f"LogFile {folder / 'clamd.log'}\nPidFile {folder / 'clamd.pid'}\nStreamMaxLength 5M\n")
    process = subprocess.Popen([clamd, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                    sock.sendall(b"zPING\0")
                    if sock.recv(16).startswith(b"PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "clamd.log").read_text() if (folder / "clamd.log").exists() else ""
                pytest.fail(f"clamd did not start: {log[-2000:]}")
            time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture(scope="module")
def clamd_address(tmp_path_factory):
    with running_clamd(tmp_path_factory.mktemp("clamd")) as address:
        yield address


def test_real_clamd_finds_eicar_also_inside_a_docx(clamd_address):
    assert clamd.scan_bytes(clamd_address, b"Bonjour, ceci est un fichier sain.") == ScanResult(False)
    found = clamd.scan_bytes(clamd_address, EICAR)
    assert found.infected and "eicar" in found.signature.lower()
    infected_docx = docx_bytes(extra=[("word/media/eicar.com", EICAR)])
    result = analyse(iter([infected_docx]), expected_mime=DOCX, scanner=ClamdStream(clamd_address))
    assert result.verdict.ok and result.scan.infected


def test_real_clamd_over_stream_max_length_is_a_scan_error(clamd_address):
    stream = ClamdStream(clamd_address)
    for _ in range(6 * 16):  # 6 MB > StreamMaxLength 5M
        stream.send(b"\0" * 65536)
    with pytest.raises(ClamdScanError, match="size limit exceeded"):
        stream.result()
