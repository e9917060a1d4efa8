"""The public surface under abuse, over a live API (uvicorn on loopback, real store and index): oversized and
chunked bodies, spoofed proxy headers, naive datetimes, odd paths."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import psutil

from tests.ui.conftest import LiveApi

MB = 1024 * 1024


class _PeakRss:
    """Samples this process's RSS every few milliseconds (the server runs in a thread of this process)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _chunked_post(base_url: str, path: str, total: int, chunk: int = 64 * 1024) -> tuple[bytes, int]:
    """POSTs up to ``total`` bytes as a chunked body over a raw socket, no credentials, reading the reply
    while sending, and stops sending once the reply has come; returns (the reply's bytes, bytes sent)."""
    where = urlsplit(base_url)
    sock = socket.create_connection((where.hostname, where.port), timeout=30)
    reply = bytearray()
    done = threading.Event()

    def read() -> None:
        try:
            while data := sock.recv(65536):
                reply.extend(data)
        except OSError:
            pass
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    head = f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: application/json\r\n"
    sock.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
    piece = f"{chunk:x}\r\n".encode() + b"9" * chunk + b"\r\n"
    sent = 0
    try:
        while sent < total and not reply and not done.is_set():
            sock.sendall(piece)
            sent += chunk
        if sent >= total:
            sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server closed the connection: the reply (if any) is in
        pass
    done.wait(30)
    sock.close()
    return bytes(reply), sent


def test_chunked_body_over_the_limit_is_refused_before_auth_without_reading_it(live_api: LiveApi) -> None:
    """A 50 MB chunked body without any key gets 413 (not 401 after reading it all), the server stops reading
    it, and the server's memory does not grow by more than 20 MB."""
    limit = live_api.settings.api.max_body_bytes
    with _PeakRss() as rss:
        reply, sent = _chunked_post(live_api.base_url, "/v1/answer", 50 * MB)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"request body over" in reply and b"x-request-id" in reply.lower()
    # The socket buffers on both sides hold a few MB; the rest of the 50 MB is never sent.
    assert sent < 20 * MB, f"the client could send {sent / MB:.1f} MB before the server refused"
    assert rss.peak - rss.start < 20 * MB, f"server RSS grew by {(rss.peak - rss.start) / MB:.1f} MB"
    # A chunked body under the limit still reaches the route (which then asks for credentials).
    small, _ = _chunked_post(live_api.base_url, "/v1/answer", limit // 2, chunk=1024)
    assert small.startswith(b"HTTP/1.1 4") and not small.startswith(b"HTTP/1.1 413"), small[:200]


def test_declared_content_length_over_the_limit_is_refused_without_a_key(live_api: LiveApi) -> None:
    """A Content-Length over the limit is refused before any byte of the body is read, without credentials."""
    where = urlsplit(live_api.base_url)
    with socket.create_connection((where.hostname, where.port), timeout=10) as sock:
        sock.sendall(
            f"POST /v1/feedback HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Length: {50 * MB}\r\n"
            "Content-Type: application/json\r\n\r\n".encode()
        )
        started = time.monotonic()
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413") and time.monotonic() - started < 5, reply[:200]
