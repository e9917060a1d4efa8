"""`python -m ui.console.launch`: the API and the console in one process over one embedded index."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from feedback.settings import FeedbackSettings
from feedback.store import FeedbackStore
from tests.console.support import free_port, wait_until_up
from ui.settings import AppSettings
from ui.wiring import Retrieval

REPO = Path(__file__).resolve().parents[2]


def test_console_and_api_share_one_index_in_one_process(sample_state: Path, tmp_path: Path) -> None:
    state = tmp_path / "state"
    shutil.copytree(sample_state, state)
    with FeedbackStore.open(FeedbackSettings(data_dir=state)) as store:
        _, key = store.create_api_key("ledgerly", "agent", "launch test")
    console_port, api_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESKPILOT_")}
    log = tmp_path / "launch.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ui.console.launch",
                "--port",
                str(console_port),
                "--api-port",
                str(api_port),
                "--data-dir",
                str(state),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(f"http://127.0.0.1:{api_port}/readyz", process, log)
            wait_until_up(f"http://127.0.0.1:{console_port}/_stcore/health", process, log)
            answer = httpx.post(
                f"http://127.0.0.1:{api_port}/v1/answer",
                json={"question": "How long does the password reset link stay valid?"},
                headers={"X-API-Key": key},
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["citations"] and not answer.json()["abstained"]
            page = httpx.get(f"http://127.0.0.1:{console_port}/", timeout=10)
            assert page.status_code == 200 and '<div id="root">' in page.text
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
    assert code == 0, log.read_text(errors="replace")[-3000:]
    with Retrieval(AppSettings.load(state)) as retrieval:  # the index lock was released on the way out
        assert retrieval.index.count() > 0
