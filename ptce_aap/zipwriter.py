"""A ZIP writer whose memory does not grow with the number of members.

``zipfile.ZipFile`` keeps a ``ZipInfo`` per member (~1.5 KiB each with the list that holds them) to write the
central directory at the end: 45 MiB for 30,000 files. ``SpoolingZipWriter`` writes each member's central
directory record to a temporary file as soon as the member is complete, then appends that file to the archive
when it is closed; only a few counters stay in memory.

The archive is plain ZIP (APPNOTE 6.3): DEFLATE members streamed chunk by chunk (``zlib``), names in UTF-8
(general purpose flag bit 11), and, for every member, ZIP64 sizes in its local header and central record
(``zipfile``'s ``force_zip64``: a member's size is not known before it is read); the local header's CRC and
sizes are written when the member is complete (the output must be seekable: a temporary file). The ZIP64 end
records are added only when the archive needs them (65,535 members or more, or offsets past 4 GiB).
"""

from __future__ import annotations

import shutil
import struct
import tempfile
import time
import zlib
from collections.abc import Iterable
from typing import BinaryIO

_LOCAL = struct.Struct("<4sHHHHHLLLHH")
_CENTRAL = struct.Struct("<4sBBHHHHHLLLHHHHHLL")
_END = struct.Struct("<4sHHHHLLH")
_END64 = struct.Struct("<4sQHHLLQQQQ")
_LOCATOR64 = struct.Struct("<4sLQL")
_MAX32 = 0xFFFFFFFF
_MAX16 = 0xFFFF
_UTF8 = 0x800
_DEFLATED = 8
_VERSION = 45  # ZIP64
_UNIX = 3
_FILE_MODE = 0o100644 << 16  # a regular file, rw-r--r--


def _dos_time(moment: time.struct_time) -> tuple[int, int]:
    year = max(moment.tm_year, 1980)
    return ((moment.tm_hour << 11) | (moment.tm_min << 5) | (moment.tm_sec // 2),
            ((year - 1980) << 9) | (moment.tm_mon << 5) | moment.tm_mday)


class SpoolingZipWriter:
    """``with SpoolingZipWriter(out) as archive: archive.add("folder/name.pdf", chunks)``: ``out`` is a seekable
    binary file, left open (positioned at the end of the archive) when the writer is closed."""

    def __init__(self, out: BinaryIO, *, level: int = 6):
        self.out = out
        self.level = level
        self.count = 0
        self._central = tempfile.TemporaryFile()  # noqa: SIM115 (closed in ``close``)
        self._start = out.tell()
        self._dos_time, self._dos_date = _dos_time(time.localtime())

    def add(self, name: str, chunks: Iterable[bytes]) -> int:
        """Write one member, reading ``chunks`` as it goes; returns its uncompressed size. An exception from
        ``chunks`` leaves the archive as it was before this call (the member's bytes are cut off)."""
        encoded = name.encode("utf-8")
        offset = self.out.tell()
        header = _LOCAL.pack(b"PK\x03\x04", _VERSION, _UTF8, _DEFLATED, self._dos_time, self._dos_date, 0,
                             _MAX32, _MAX32, len(encoded), 20)
        self.out.write(header + encoded + struct.pack("<HHQQ", 1, 16, 0, 0))
        compressor = zlib.compressobj(self.level, zlib.DEFLATED, -15)
        crc = size = compressed = 0
        try:
            for chunk in chunks:
                crc = zlib.crc32(chunk, crc)
                size += len(chunk)
                data = compressor.compress(chunk)
                compressed += len(data)
                self.out.write(data)
        except BaseException:
            self.out.seek(offset)
            self.out.truncate()
            raise
        data = compressor.flush()
        compressed += len(data)
        self.out.write(data)
        end = self.out.tell()
        self.out.seek(offset + 14)
        self.out.write(struct.pack("<L", crc))
        self.out.seek(offset + _LOCAL.size + len(encoded) + 4)
        self.out.write(struct.pack("<QQ", size, compressed))
        self.out.seek(end)
        relative = offset - self._start
        extra = struct.pack("<HHQQ", 1, 16 + (8 if relative >= _MAX32 else 0), size, compressed)
        if relative >= _MAX32:
            extra += struct.pack("<Q", relative)
        self._central.write(_CENTRAL.pack(
            b"PK\x01\x02", _VERSION, _UNIX, _VERSION, _UTF8, _DEFLATED, self._dos_time, self._dos_date, crc,
            _MAX32, _MAX32, len(encoded), len(extra), 0, 0, 0, _FILE_MODE, min(relative, _MAX32))
            + encoded + extra)
        self.count += 1
        return size

    def close(self) -> None:
        if self._central is None:
            return
        directory_offset = self.out.tell() - self._start
        self._central.seek(0)
        shutil.copyfileobj(self._central, self.out, 1 << 16)
        directory_size = self.out.tell() - self._start - directory_offset
        self._central.close()
        self._central = None
        if self.count >= _MAX16 or directory_offset >= _MAX32 or directory_size >= _MAX32:
            end64 = self.out.tell() - self._start
            self.out.write(_END64.pack(b"PK\x06\x06", _END64.size - 12, _VERSION, _VERSION, 0, 0, self.count,
                                       self.count, directory_size, directory_offset))
            self.out.write(_LOCATOR64.pack(b"PK\x06\x07", 0, end64, 1))
        self.out.write(_END.pack(b"PK\x05\x06", 0, 0, min(self.count, _MAX16), min(self.count, _MAX16),
                                 min(directory_size, _MAX32), min(directory_offset, _MAX32), 0))

    def __enter__(self) -> SpoolingZipWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        elif self._central is not None:
            self._central.close()
            self._central = None
