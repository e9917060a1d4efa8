"""A live deskpilot API over the indexed sample help center, with a SQLite feedback store and keys per role."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from feedback.store import FeedbackStore
from ui.api.server import uvicorn_config
from ui.api.settings import ApiSettings
from ui.serve import Served, serving
from ui.settings import AppSettings

ROLES = ("widget", "agent", "analyst", "admin")
ALLOWED_ORIGIN = "https://help.ledgerly.example"


@dataclass
class LiveApi:
    """The running API: its URL, plaintext keys per role for ledgerly (``keys``) and parcelpoint (``other``)."""

    base_url: str
    served: Served
    keys: dict[str, str]
    other: dict[str, str]
    settings: AppSettings
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def store(self) -> FeedbackStore:
        """The feedback store the API writes to."""
        return self.served.store

    def count(self, kind: str, tenant: str) -> int:
        """Rows of one kind (interaction, feedback, edit, escalation) stored for ``tenant``."""
        c = self.store.counts(tenant)
        return {
            "interaction": c.interactions,
            "feedback": c.votes_up + c.votes_down,
            "edit": c.edits,
            "escalation": sum(c.escalations_by_status.values()),
        }[kind]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def live_api(sample_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """`deskpilot serve`'s app on a free loopback port, in a thread (uvicorn), over a copy of the sample index."""
    state = tmp_path_factory.mktemp("api") / "state"
    shutil.copytree(sample_state, state)
    base = AppSettings.load(state)
    settings = AppSettings(
        ingest=base.ingest,
        retrieval=base.retrieval,
        assistant=base.assistant,
        feedback=base.feedback,
        api=ApiSettings(
            cors_origins={"ledgerly": [ALLOWED_ORIGIN]},
            rate_limit_per_key=600,
            rate_limit_per_client=6000,
            rate_limit_widget_per_visitor=600,
            rate_limit_widget_per_tenant=6000,
        ),
    )
    with serving(settings, demo=True, drain_every_s=0.5) as served:
        keys = {r: served.store.create_api_key("ledgerly", r, f"test {r}")[1] for r in ROLES}
        other = {r: served.store.create_api_key("parcelpoint", r, f"test {r}")[1] for r in ROLES}
        with on_loopback(served.app, settings.api) as url:
            yield LiveApi(url, served, keys, other, settings)


@contextmanager
def on_loopback(app: FastAPI, settings: ApiSettings) -> Iterator[str]:
    """``app`` served by uvicorn as `deskpilot serve` configures it (``ui.api.server``), on a free loopback
    port in a thread; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(uvicorn_config(app, settings, "127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not start within 30 s")
        time.sleep(0.1)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis (``make services`` starts it); ``DESKPILOT_TEST_REDIS_URL`` may point elsewhere."""
    import os

    import redis

    url = os.environ.get("DESKPILOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"no Redis at {url} ({exc}); start it with `make services`")
    return url
