"""Helpers of the console tests: the configured users, signing in through the real form, and waiting for a
console started as its own process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from streamlit.testing.v1 import AppTest

from feedback.store import FeedbackStore
from ui.console import ENTRY
from ui.console.resources import Services

PASSWORD = "correct horse battery"
USERS = {
    "ava": {"role": "agent", "tenant": "ledgerly", "name": "Ava"},
    "nora": {"role": "analyst", "tenant": "*", "name": "Nora"},
    "lena": {"role": "analyst", "tenant": "ledgerly", "name": "Lena"},
    "sam": {"role": "admin", "tenant": "*", "name": "Sam"},
    "wendy": {"role": "widget", "tenant": "ledgerly", "name": "Widget key"},
}
TIMEOUT = 120
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Console:
    """The hosted services and where their state lives."""

    services: Services
    data_dir: Path

    @property
    def store(self) -> FeedbackStore:
        """The feedback store the console writes to."""
        return self.services.store

    @property
    def db(self) -> Path:
        """The SQLite file of the feedback store (for plain SQL)."""
        return self.data_dir / "feedback.db"


def login(username: str, password: str = PASSWORD) -> AppTest:
    """The console after signing in as ``username`` (through the real sign-in form)."""
    at = AppTest.from_file(str(ENTRY), default_timeout=TIMEOUT)
    at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    at.button(key="login_submit").click().run()
    assert not at.exception, at.exception
    return at


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 120) -> None:
    """Return once ``url`` answers 200; fail with the end of ``log`` if ``process`` exits or time runs out."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)


@contextmanager
def launched_console(state: Path, log: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """`python -m ui.console.launch` (the console and the API in one process) over the data dir ``state``, its
    output in ``log``, with the environment's ``DESKPILOT_`` variables replaced by ``env``; yields (console
    url, API url) once both answer, and stops the process afterwards."""
    console_port, api_port = free_port(), free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DESKPILOT_")} | (env or {})
    command = [sys.executable, "-m", "ui.console.launch", "--data-dir", str(state)]
    command += ["--port", str(console_port), "--api-port", str(api_port)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT)
        try:
            api, console = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{console_port}"
            wait_until_up(f"{api}/readyz", process, log, seconds=180)
            wait_until_up(f"{console}/_stcore/health", process, log, seconds=180)
            yield console, api
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def smtp_env(host: str, port: int) -> dict[str, str]:
    """The settings that make a launched console deliver replies to a plain SMTP server on loopback."""
    return {
        "DESKPILOT_SMTP_HOST": host,
        "DESKPILOT_SMTP_PORT": str(port),
        "DESKPILOT_SMTP_SECURITY": "none",  # loopback, no login
        "DESKPILOT_SMTP_FROM": "Ledgerly Support <support@ledgerly.example>",
    }
