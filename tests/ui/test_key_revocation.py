"""A revoked API key is refused from the very next request: by the API of the process that revoked it, and
through Redis by every replica sharing it (real uvicorn servers, the real store, the machine's Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import httpx
import pytest
from typer.testing import CliRunner

from feedback.store import FeedbackStore
from tests.ui.conftest import LiveApi, on_loopback
from ui.api.app import create_app
from ui.api.recorder import KeyCache, StoreRecorder
from ui.api.revocation import RedisEpoch
from ui.api.settings import ApiSettings
from ui.cli import app as cli


def _status(url: str, key: str) -> int:
    return httpx.get(f"{url}/v1/interactions?page_size=1", headers={"X-API-Key": key}, timeout=30).status_code


def test_a_key_revoked_in_this_process_is_refused_on_the_next_request(live_api: LiveApi) -> None:
    """The console revokes through the store the API runs on: the key that just worked gets 401 next."""
    key_id, key = live_api.store.create_api_key("ledgerly", "analyst", "revoked at once")
    assert [_status(live_api.base_url, key) for _ in range(3)] == [200] * 3  # verified and cached
    assert live_api.store.revoke_api_key(key_id, actor="test")
    assert _status(live_api.base_url, key) == 401


@pytest.fixture
def replicas(live_api: LiveApi, redis_url: str) -> Iterator[list[str]]:
    """Two more API replicas over the same database, each with its own store connection and key cache,
    sharing Redis (``DESKPILOT_REDIS_URL``); yields their base URLs."""
    settings = ApiSettings(redis_url=redis_url, rate_limit_per_key=1000, rate_limit_per_client=1000)
    service = live_api.served.app.state.service
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            store = stack.enter_context(FeedbackStore.open(live_api.settings.feedback))
            keys = KeyCache(store, epoch=RedisEpoch(redis_url))
            app = create_app(service, StoreRecorder(store, live_api.served.writer), keys, settings)
            urls.append(stack.enter_context(on_loopback(app, settings)))
        yield urls


def test_a_key_revoked_by_the_cli_is_refused_at_once_by_every_replica_sharing_redis(
    live_api: LiveApi, replicas: list[str], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`deskpilot keys revoke` in another process's store: both replicas, which had the key cached, refuse it
    on their next request."""
    key_id, key = live_api.store.create_api_key("ledgerly", "analyst", "revoked everywhere")
    assert [_status(url, key) for url in replicas for _ in range(2)] == [200] * 4
    monkeypatch.setenv("DESKPILOT_REDIS_URL", redis_url)
    data_dir = str(live_api.settings.feedback.data_dir)
    result = CliRunner().invoke(cli, ["keys", "revoke", key_id, "--data-dir", data_dir])
    assert result.exit_code == 0, result.output
    assert [_status(url, key) for url in replicas] == [401, 401]
    # Another key, verified before the revoke, is checked once more and still works on both.
    _, other = live_api.store.create_api_key("ledgerly", "analyst", "still valid")
    assert [_status(url, other) for url in replicas] == [200, 200]


def test_replicas_without_a_reachable_redis_verify_every_key_against_the_store(live_api: LiveApi) -> None:
    """When Redis does not answer, no cached key is trusted: a revoke is still seen at once."""
    settings = ApiSettings(rate_limit_per_key=1000, rate_limit_per_client=1000)
    with FeedbackStore.open(live_api.settings.feedback) as store:
        keys = KeyCache(store, epoch=RedisEpoch("redis://127.0.0.1:1/0"))
        app = create_app(
            live_api.served.app.state.service, StoreRecorder(store, live_api.served.writer), keys, settings
        )
        key_id, key = live_api.store.create_api_key("ledgerly", "analyst", "no redis")
        with on_loopback(app, settings) as url:
            assert _status(url, key) == 200
            live_api.store.revoke_api_key(key_id, actor="test")  # another store: no local announcement
            assert _status(url, key) == 401
