"""A clamd client speaking ``zINSTREAM`` over TCP (``CLAMD_ADDRESS = "host:port"``).

``ClamdStream`` scans a file as it streams by (``send(chunk)`` then ``result()``); ``scan_bytes`` scans a
small content in one go. Unreachable: ``ClamdUnavailable`` (retry later); an error answer:
``ClamdScanError`` (retrying will not help).
"""

from __future__ import annotations

import contextlib
import socket
import struct
from dataclasses import dataclass


class ClamdUnavailable(Exception):  # noqa: N818
    """clamd could not be reached or hung up before answering: try again later."""


class ClamdScanError(Exception):
    """clamd answered with an error (e.g. "INSTREAM size limit exceeded"): retrying will not help."""


@dataclass(frozen=True)
class ScanResult:
    infected: bool
    signature: str | None = None


def parse_address(address: str) -> tuple[str, int]:
    """``"host:port"`` (or ``"[::1]:3310"``) → ``(host, port)``."""
    host, sep, port = address.strip().rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"CLAMD_ADDRESS must be host:port, not {address!r}")
    return host.strip("[]"), int(port)


class ClamdStream:
    """One ``zINSTREAM`` scan: ``send(chunk)`` as the file streams by, then ``result()``.

    Chunks are framed by a 4-byte big-endian length; four zero bytes end the stream. Past its
    ``StreamMaxLength`` clamd answers "size limit exceeded" and closes the socket: a broken pipe while
    sending is therefore not an error by itself — the reply is read and tells what happened.
    """

    max_chunk = 1024 * 1024

    def __init__(self, address: str, *, timeout: float = 30.0):
        host, port = parse_address(address)
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
            self.sock.sendall(b"zINSTREAM\0")
        except OSError as exc:
            raise ClamdUnavailable(f"clamd {address}: {exc}") from exc
        self.address = address
        self.closed_by_peer = False

    def send(self, chunk: bytes) -> None:
        if self.closed_by_peer:
            return
        view = memoryview(chunk)
        try:
            for start in range(0, len(view), self.max_chunk):
                part = view[start:start + self.max_chunk]
                self.sock.sendall(struct.pack("!L", len(part)) + part)
        except (BrokenPipeError, ConnectionResetError):
            self.closed_by_peer = True
        except OSError as exc:
            self.close()
            raise ClamdUnavailable(f"clamd {self.address}: {exc}") from exc

    def result(self) -> ScanResult:
        try:
            if not self.closed_by_peer:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.sock.sendall(b"\0\0\0\0")
            reply = bytearray()
            while not reply.endswith(b"\0"):
                try:
                    data = self.sock.recv(4096)
                except ConnectionResetError:
                    break
                if not data:
                    break
                reply += data
        except OSError as exc:
            raise ClamdUnavailable(f"clamd {self.address}: {exc}") from exc
        finally:
            self.close()
        return parse_reply(reply.rstrip(b"\0\n").decode("utf-8", "replace"), self.address)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def parse_reply(text: str, address: str = "clamd") -> ScanResult:
    """``stream: OK`` / ``stream: Eicar-Signature FOUND`` / ``… ERROR``."""
    if not text:
        raise ClamdUnavailable(f"{address}: no answer")
    body = text.split(":", 1)[1].strip() if ":" in text else text.strip()
    if body == "OK":
        return ScanResult(infected=False)
    if body.endswith(" FOUND"):
        return ScanResult(infected=True, signature=body.removesuffix(" FOUND").strip())
    raise ClamdScanError(f"{address}: {text}")


def scan_bytes(address: str, data: bytes) -> ScanResult:
    """Scan a small content in one go (tests, health checks)."""
    stream = ClamdStream(address)
    stream.send(data)
    return stream.result()
