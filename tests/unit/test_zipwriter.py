"""``ptce_aap.zipwriter``: archives that ``zipfile`` and ``unzip`` read back byte for byte, UTF-8 names, the ZIP64
end records past 65,535 members, a failed member cut off, and memory that does not grow with the members."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import tracemalloc
import zipfile

import pytest

from ptce_aap.zipwriter import SpoolingZipWriter


def _write(members) -> bytes:
    out = io.BytesIO()
    with SpoolingZipWriter(out) as archive:
        for name, chunks in members:
            archive.add(name, chunks)
    return out.getvalue()


def _unzip_test(data: bytes, tmp_path) -> None:
    if shutil.which("unzip") is None:
        return
    path = tmp_path / "a.zip"
    path.write_bytes(data)
    result = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "No errors detected" in result.stdout, result.stdout + result.stderr


def test_members_read_back_identical(tmp_path):
    big = os.urandom(300_000)  # incompressible, several chunks
    members = {"00012 Pôle du Val/Statuts.pdf": [b"%PDF-1.4 " * 500, b"fin"],
               "00012 Pôle du Val/vide": [],
               "00013 Pôle « Sud »/données.bin": [big[:100_000], big[100_000:]]}
    data = _write(members.items())
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert archive.namelist() == list(members)
    for name, chunks in members.items():
        assert archive.read(name) == b"".join(chunks)
        info = archive.getinfo(name)
        assert info.flag_bits & 0x800 and info.compress_type == zipfile.ZIP_DEFLATED
    _unzip_test(data, tmp_path)


def test_a_member_whose_source_fails_is_cut_off():
    def failing():
        yield b"first chunk"
        raise OSError("storage down")

    out = io.BytesIO()
    with SpoolingZipWriter(out) as archive:
        archive.add("a.txt", [b"a"])
        with pytest.raises(OSError):
            archive.add("b.txt", failing())
        archive.add("c.txt", [b"c"])
    result = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    assert result.testzip() is None
    assert {n: result.read(n) for n in result.namelist()} == {"a.txt": b"a", "c.txt": b"c"}


def test_more_than_65535_members_get_the_zip64_end_records(tmp_path):
    n = 65_600
    data = _write((f"{i // 6:05d}/f{i}.pdf", [b"x"]) for i in range(n))
    assert b"PK\x06\x06" in data[-200:] and b"PK\x06\x07" in data[-200:]
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert len(archive.infolist()) == n
    assert archive.read(f"{(n - 1) // 6:05d}/f{n - 1}.pdf") == b"x"
    _unzip_test(data, tmp_path)


def test_memory_does_not_grow_with_the_members():
    def peak(n: int) -> int:
        with tempfile.TemporaryFile() as out:  # on disk, as the build writes it
            tracemalloc.start()
            with SpoolingZipWriter(out) as archive:
                for i in range(n):
                    archive.add(f"{i // 6:05d} Pôle/fichier {i}.pdf", [b"%PDF" + b"0" * 100])
            result = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return result

    small, large = peak(2_000), peak(20_000)
    assert large < small + 200_000, (small, large)  # zipfile: ~1.5 KiB a member, i.e. +27 MB here
